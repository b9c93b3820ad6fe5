"""The ``socio`` command line: segment, demo, synth, eval, mcp, tools, models, train.

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


GEO = "Scene-scale search (--raster)"


@app.command()
@handle_errors
@backend_options()
def segment(
    query: Annotated[str, typer.Option(help="what to find: a name, a class ('schools') or a function")],
    backend: BackendConfig,
    sat: Annotated[Path | None, typer.Option(help="satellite image: PNG, JPEG or GeoTIFF (CRS kept)")] = None,
    map: Annotated[Path | None, typer.Option(help="digital map image of the same window and size")] = None,
    layers: Annotated[Path | None, typer.Option(help="vector layers (GeoJSON/GeoPackage) for the map policy")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("socio_out"),
    json_out: Annotated[bool, typer.Option("--json", help="also print result.json to stdout")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
    raster: Annotated[Path | None, typer.Option(help="a GeoTIFF/COG of any size, searched window by window",
                                                rich_help_panel=GEO)] = None,
    vectors: Annotated[Path | None, typer.Option(help="map vectors for --raster: .osm.pbf, GeoPackage, GeoJSON",
                                                 rich_help_panel=GEO)] = None,
    bbox: Annotated[str | None, typer.Option(help="search only minx,miny,maxx,maxy (lon/lat unless --bbox-crs)",
                                             rich_help_panel=GEO)] = None,
    bbox_crs: Annotated[str, typer.Option(help="CRS of --bbox", rich_help_panel=GEO)] = "EPSG:4326",
    tile: Annotated[int, typer.Option(help="window side in pixels, as the policy sees it", rich_help_panel=GEO)] = 768,
    overlap: Annotated[int, typer.Option(help="pixels shared by neighbouring windows", rich_help_panel=GEO)] = 128,
    gsd: Annotated[str, typer.Option(help="read windows at this many metres per pixel, or 'native'",
                                     rich_help_panel=GEO)] = "0.6",
    bands: Annotated[str | None, typer.Option(help="1-based bands as R,G,B, or one band (panchromatic): 3,2,1",
                                              rich_help_panel=GEO)] = None,
    stretch: Annotated[str, typer.Option(help="to 8 bits: auto, none or percentile (2-98 % of sampled windows)",
                                         rich_help_panel=GEO)] = "auto",
    scan_all: Annotated[bool, typer.Option(help="run every window, not only where the map names the query",
                                           rich_help_panel=GEO)] = False,
    outlines: Annotated[bool, typer.Option(help="use the outlines the vector data holds for places found",
                                           rich_help_panel=GEO)] = True,
    style: Annotated[str, typer.Option(help="map style of the rendered maps", rich_help_panel=GEO)] = "amap",
    ray: Annotated[str | None, typer.Option(help="run windows on Ray: --ray (local) or --ray ADDRESS",
                                            rich_help_panel=GEO)] = None,
    workers: Annotated[int | None, typer.Option(help="Ray actors (default: one per GPU, else one per CPU)",
                                                rich_help_panel=GEO)] = None,
) -> None:  # fmt: skip
    """Find QUERY in one scene (--sat/--map) or in a raster of any size (--raster; outputs in --out)."""
    from tools.errors import InputError

    if raster is not None:
        if sat is not None or map is not None or layers is not None or json_out:
            raise InputError("--raster searches a raster with --vectors; --sat, --map, --layers and --json are for "
                             "one scene: give one or the other")  # fmt: skip
        from socioagent.scene_command import scene_search_command

        gsd_value = None if gsd.strip().lower() == "native" else _positive(gsd, "--gsd")
        scene_search_command(backend, out, quiet, ray, workers, raster=raster, vectors=vectors, query=query, bbox=bbox,
                             bbox_crs=bbox_crs, tile=tile, overlap=overlap, gsd=gsd_value, bands=bands,
                             stretch=stretch, scan_all=scan_all, outlines=outlines, style=style)  # fmt: skip
        return
    if sat is None or map is None:
        raise InputError("give --sat and --map for one scene, or --raster (with --vectors) for a raster of any size")
    from agent.outputs import SEGMENT_FILES, result_document, write_outputs
    from agent.run import run_query
    from tools.outdir import OutputDir
    from tools.scene import load_scene

    od = OutputDir(out, owned=SEGMENT_FILES)  # a file, a read-only or full disk: refused before the work
    scene = load_scene(sat, map, layers)
    if not query.strip():
        raise InputError("the query is empty; say what to find, e.g. --query 'schools'")
    b = backend.build()
    result = run_query(scene, query, **b.run_kwargs(), on_event=_progress_printer(quiet))
    written = write_outputs(od, scene, result)
    if json_out:
        sys.stdout.write(json.dumps(result_document(result), indent=2) + "\n")
    _notices(result, backend.max_instances)  # even with --quiet: why nothing was found, a cap that was hit
    if not quiet:
        _summary(result, written)


def _notices(result: Any, max_instances: int) -> None:
    from agent.explain import notices

    for line in notices(result, max_instances):
        typer.secho(line, fg=typer.colors.YELLOW, err=True)


def _positive(text: str, flag: str) -> float:
    from tools.errors import InputError

    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise InputError(f"{flag} {text!r}: give a positive number of metres per pixel, or 'native'")
    return v


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
    from agent.toolbox import AGENT_REGISTRY as REGISTRY
    from tools.errors import InputError

    if format == "openai":
        doc: Any = REGISTRY.openai_schemas()
    elif format == "mcp":
        doc = REGISTRY.mcp_schemas()
    elif format == "langchain":
        from agent.toolbox import AgentToolContext
        from tools.scene_store import SceneStore

        doc = [{"name": t.name, "description": t.description, "args_schema": t.tool_call_schema.model_json_schema()}
               for t in REGISTRY.langchain_tools(AgentToolContext(store=SceneStore()))]  # fmt: skip
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
    """Register the commands whose modules import little at the top: synth, eval, mcp, serve, train, ask, chat."""
    from socioagent.ask_command import ask_command, chat_command
    from socioagent.eval_command import eval_command
    from socioagent.mcp_command import mcp_command
    from socioagent.serve_command import serve_command
    from socioagent.synth_command import synth_command
    from socioagent.train_command import train_app

    app.command("synth")(handle_errors(synth_command))
    app.command("eval")(handle_errors(eval_command))
    app.command("mcp")(handle_errors(mcp_command))
    app.command("serve")(handle_errors(serve_command))
    app.add_typer(train_app, name="train")
    app.command("ask")(handle_errors(ask_command))
    app.command("chat")(handle_errors(chat_command))


_register_commands()


def optional_value(argv: list[str], option: str, default: str) -> list[str]:
    """Return ``argv`` with ``default`` after ``option`` where it is given no value (``--ray`` alone).

    Typer cannot declare an option whose value is optional, so ``--ray`` and ``--ray ADDRESS`` both work
    through this rewrite of the command line.

    >>> optional_value(["segment", "--ray", "--query", "x"], "--ray", "local")
    ['segment', '--ray', 'local', '--query', 'x']
    """
    out = []
    for i, a in enumerate(argv):
        out.append(a)
        if a == option and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            out.append(default)
    return out


def main() -> None:
    """Run the ``socio`` app (the console-script entry point)."""
    from socioagent.scene_command import RAY_LOCAL

    app(args=optional_value(sys.argv[1:], "--ray", RAY_LOCAL))


if __name__ == "__main__":
    main()
