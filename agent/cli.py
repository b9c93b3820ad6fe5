"""The ``socio`` command line: segment, demo, synth, eval, tools, models.

Exit codes: 0 ok; 2 bad input (missing or unreadable file, size mismatch, empty query, bad flag);
3 a backend unreachable or failing after retries. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(
    name="socio",
    help="Find socially defined places (schools, parks, 'places for healthcare') in satellite imagery by "
    "reasoning over a digital map and the image together.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="The local model registry: pull weights once, then run offline.", no_args_is_help=True)
app.add_typer(models_app, name="models")

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn socioagent errors into a one-line message and their exit code (2 input, 3 backend)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tools.errors import SocioError

        try:
            return fn(*args, **kwargs)
        except SocioError as e:
            raise _fail(str(e), e.exit_code) from None
        except KeyboardInterrupt:
            raise _fail("interrupted; finished outputs are intact, rerun to continue", 130) from None

    return wrapper  # type: ignore[return-value]


class PolicyName(StrEnum):
    """Policies selectable with --policy."""

    map = "map"
    openai = "openai"
    hf = "hf"


class SegmenterName(StrEnum):
    """Segmenters selectable with --segmenter."""

    classical = "classical"
    sam2 = "sam2"


def build_backends(
    policy: str, segmenter: str, base_url: str | None, model: str | None, checkpoint: str | None,
    prompt_dir: Path | None, device: str,
) -> tuple[Any, Any, str, str]:  # fmt: skip
    """Build the policy and segmenter a command asked for; return them with their spec strings."""
    from agent.policies import make_policy
    from tools.errors import InputError
    from tools.segmenters import make_segmenter

    kwargs: dict[str, Any] = {}
    if policy == "openai":
        kwargs = {"base_url": base_url, "model": model}
        if prompt_dir is not None:
            kwargs["prompt_dir"] = prompt_dir
        policy_spec = f"openai:{model}" if model else "openai"
    elif policy == "hf":
        if not model:
            raise InputError("--policy hf needs --model <local path or hub id>")
        kwargs = {"model": model, "device": device}
        if prompt_dir is not None:
            kwargs["prompt_dir"] = prompt_dir
        policy_spec = f"hf:{model}"
    else:
        if base_url or model:
            raise InputError("--base-url and --model are for --policy openai or hf, not the map policy")
        policy_spec = policy
    pol = make_policy(policy, **kwargs)
    if segmenter == "sam2":
        if not checkpoint:
            raise InputError(
                "--segmenter sam2 needs --checkpoint <.pt path or hub id, e.g. facebook/sam2.1-hiera-tiny>"
            )
        seg_spec = f"sam2:{checkpoint}"
        seg = make_segmenter(seg_spec, device=device)
    elif checkpoint:
        raise InputError("--checkpoint is for --segmenter sam2")
    else:
        seg_spec = segmenter
        seg = make_segmenter(seg_spec)
    return pol, seg, policy_spec, seg_spec


def _progress_printer(quiet: bool) -> Callable[[dict[str, Any]], None] | None:
    if quiet:
        return None

    def show(event: dict[str, Any]) -> None:
        if event.get("event") != "step":
            return
        node, extra = event["node"], ""
        if node in ("localize", "refine"):
            extra = f"{event.get('instances', 0)} instance(s)" + (
                "" if event.get("ok") else f", {event.get('failure')}"
            )
        elif node == "segment":
            extra = f"{event.get('masks', 0)} mask(s)" + (", reused" if event.get("reused") else "")
        typer.secho(f"  {node:<8} round {event['round']}  {event['duration_s'] * 1000:7.1f} ms  {extra}", err=True,
                    fg=typer.colors.BRIGHT_BLACK)  # fmt: skip

    return show


@app.command()
@handle_errors
def segment(
    sat: Annotated[Path, typer.Option(help="satellite image: PNG, JPEG or GeoTIFF (CRS kept)")],
    map: Annotated[Path, typer.Option(help="digital map image of the same window and size")],
    query: Annotated[str, typer.Option(help="what to find: a name, a class ('schools') or a function")],
    layers: Annotated[Path | None, typer.Option(help="vector layers (GeoJSON/GeoPackage) for the map policy")] = None,
    policy: Annotated[PolicyName, typer.Option(help="who answers the two stages")] = PolicyName.map,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1")
    ] = None,
    model: Annotated[str | None, typer.Option(help="model name (openai) or local path / hub id (hf)")] = None,
    segmenter: Annotated[SegmenterName, typer.Option(help="who draws the masks")] = SegmenterName.classical,
    checkpoint: Annotated[str | None, typer.Option(help="SAM 2 checkpoint: .pt path or pulled hub id")] = None,
    refine: Annotated[int, typer.Option(min=0, max=8, help="refine rounds after localize (0 = stage 1 only)")] = 1,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("socio_out"),
    prompt_dir: Annotated[
        Path | None, typer.Option(help="folder of prompt templates replacing the packaged ones")
    ] = None,
    device: Annotated[str, typer.Option(help="torch device for hf/sam2: auto, cpu, cuda")] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="also print result.json to stdout")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
) -> None:
    """Find QUERY in one scene and write mask.png, overlay.png, result.json and instances.geojson to --out."""
    from agent.outputs import result_document, write_outputs
    from agent.run import run_query
    from tools.scene import load_scene

    scene = load_scene(sat, map, layers)
    if not query.strip():
        from tools.errors import InputError

        raise InputError("the query is empty; say what to find, e.g. --query 'schools'")
    pol, seg, pspec, sspec = build_backends(policy.value, segmenter.value, base_url, model, checkpoint, prompt_dir,
                                            device)  # fmt: skip
    result = run_query(scene, query, policy=pol, segmenter=seg, max_rounds=refine, policy_spec=pspec,
                       segmenter_spec=sspec, on_event=_progress_printer(quiet))  # fmt: skip
    written = write_outputs(out, scene, result)
    if json_out:
        sys.stdout.write(json.dumps(result_document(result), indent=2) + "\n")
    if not quiet:
        _summary(result, written)


def _summary(result: Any, written: dict[str, Path]) -> None:
    n = len(result.instances)
    typer.secho(f"{n} instance(s) of {result.query!r}; {int(result.mask.sum())} px; "
                f"{result.format_failures} format failure(s); {result.timings.total_s:.2f} s", err=True)  # fmt: skip
    typer.secho(f"outputs: {', '.join(str(p) for p in written.values())}", err=True)


@app.command()
@handle_errors
def demo(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("demo_out"),
    refine: Annotated[int, typer.Option(min=0, max=8, help="refine rounds after localize")] = 1,
) -> None:
    """Run the offline default (map policy + classical segmenter) on a generated sample scene."""
    from agent.demo import run_demo

    run_demo(out, refine=refine)


@app.command("tools")
@handle_errors
def list_tools(
    format: Annotated[str, typer.Option(help="openai (JSON tool schemas) or names")] = "openai",
) -> None:
    """Print the agent's tools, as OpenAI tool schemas or as names with descriptions."""
    from tools import REGISTRY
    from tools.errors import InputError

    if format == "openai":
        sys.stdout.write(json.dumps(REGISTRY.openai_schemas(), indent=2) + "\n")
    elif format == "names":
        for t in REGISTRY.list():
            sys.stdout.write(f"{t.name}\t{t.description.splitlines()[0]}\n")
    else:
        raise InputError(f"unknown --format {format!r}; choose openai or names")


@models_app.command("pull")
@handle_errors
def models_pull(model_id: Annotated[str, typer.Argument(help="hub id, e.g. facebook/sam2.1-hiera-tiny")]) -> None:
    """Download a model into the local registry once; later runs load it offline."""
    from tools.models import pull

    path = pull(model_id)
    typer.echo(f"pulled {model_id} -> {path}")


@models_app.command("list")
@handle_errors
def models_list() -> None:
    """List the models in the local registry."""
    from tools.models import models_dir, pulled

    names = pulled()
    typer.echo("\n".join(names) if names else f"no models pulled yet (registry: {models_dir()})")


def _register_evals() -> None:
    """Register ``socio synth`` and ``socio eval`` (their modules import only typer at the top)."""
    from evals.command import eval_command
    from evals.synthcity.command import synth_command

    app.command("synth")(handle_errors(synth_command))
    app.command("eval")(handle_errors(eval_command))


_register_evals()


def main() -> None:
    """Run the ``socio`` app (the console-script entry point)."""
    app()


if __name__ == "__main__":
    main()
