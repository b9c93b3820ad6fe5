"""The ``socio`` command line: segment, demo, synth, eval, tools, models.

Exit codes: 0 ok; 2 bad input (missing or unreadable file, size mismatch, empty query, bad flag);
3 a backend unreachable or failing after retries. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from agent.backends import BackendConfig
from socioagent.errors import handle_errors
from socioagent.options import backend_options

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
@backend_options()
def segment(
    sat: Annotated[Path, typer.Option(help="satellite image: PNG, JPEG or GeoTIFF (CRS kept)")],
    map: Annotated[Path, typer.Option(help="digital map image of the same window and size")],
    query: Annotated[str, typer.Option(help="what to find: a name, a class ('schools') or a function")],
    backend: BackendConfig,
    layers: Annotated[Path | None, typer.Option(help="vector layers (GeoJSON/GeoPackage) for the map policy")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("socio_out"),
    json_out: Annotated[bool, typer.Option("--json", help="also print result.json to stdout")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
) -> None:
    """Find QUERY in one scene and write mask.png, overlay.png, result.json and instances.geojson to --out."""
    from agent.outputs import result_document, write_outputs
    from agent.run import run_query
    from tools.errors import InputError
    from tools.scene import load_scene

    scene = load_scene(sat, map, layers)
    if not query.strip():
        raise InputError("the query is empty; say what to find, e.g. --query 'schools'")
    b = backend.build()
    result = run_query(scene, query, **b.run_kwargs(), on_event=_progress_printer(quiet))
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
@backend_options()
def demo(
    backend: BackendConfig,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("demo_out"),
) -> None:
    """Find a place in a generated SynthCity scene with the offline default (or the backends you pick)."""
    from socioagent.demo import run_demo

    run_demo(out, backend)


@app.command("tools")
@handle_errors
def list_tools(
    format: Annotated[
        str,
        typer.Option(
            help="openai (tool schemas), mcp (MCP tool definitions), langchain (StructuredTool schemas) or names"
        ),
    ] = "openai",
) -> None:
    """Print the agent's tools: OpenAI tool schemas, MCP tool definitions, LangChain tool schemas, or names."""
    from tools import REGISTRY
    from tools.errors import InputError

    if format == "openai":
        doc: Any = REGISTRY.openai_schemas()
    elif format == "mcp":
        doc = REGISTRY.mcp_schemas()
    elif format == "langchain":
        from tools.registry import ToolContext
        from tools.scene_store import SceneStore

        doc = [{"name": t.name, "description": t.description, "args_schema": t.tool_call_schema.model_json_schema()}
               for t in REGISTRY.langchain_tools(ToolContext(store=SceneStore()))]  # fmt: skip
    elif format == "names":
        for t in REGISTRY.list():
            sys.stdout.write(f"{t.name}\t{t.description.splitlines()[0]}\n")
        return
    else:
        raise InputError(f"unknown --format {format!r}; choose openai, mcp, langchain or names")
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


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


def _register_commands() -> None:
    """Register ``socio synth``, ``socio eval`` and ``socio train`` (their modules import little at the top)."""
    from socioagent.eval_command import eval_command
    from socioagent.synth_command import synth_command
    from socioagent.train_command import train_app

    app.command("synth")(handle_errors(synth_command))
    app.command("eval")(handle_errors(eval_command))
    app.add_typer(train_app, name="train")


_register_commands()


def main() -> None:
    """Run the ``socio`` app (the console-script entry point)."""
    app()


if __name__ == "__main__":
    main()
