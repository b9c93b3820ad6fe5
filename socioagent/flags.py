"""The real flags of every ``socio`` command, read from the command tree (for checks and fuzzing).

`command_flags` walks the typer app as click sees it, so what it lists is exactly what the command line
accepts: the test that every flag named in an error message exists (`tests/test_error_flags.py`) and the CLI
fuzzer (`bench/bench_fuzz.py`) both read it.
"""

from __future__ import annotations

from typing import Any

FlagSpec = tuple[str, str, tuple[str, ...]]
"""A flag: its spelling (``--max-retries``), its kind (bool, int, float, path, str) and its choices, if any."""


def _kind(param: Any) -> tuple[str, tuple[str, ...]]:
    """Return a parameter's kind from its annotation (typer keeps it in ``type_descriptor``)."""
    import enum
    import typing
    from pathlib import Path

    if getattr(param, "is_flag", False):
        return "bool", ()
    ann = getattr(getattr(param, "type_descriptor", None), "annotation", str)
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if args and typing.get_origin(ann) is not typing.Literal:
        ann = args[0]
    if typing.get_origin(ann) is typing.Literal:
        return "str", tuple(str(c) for c in typing.get_args(ann))
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return "str", tuple(str(m.value) for m in ann)
    kinds = {bool: "bool", int: "int", float: "float", Path: "path"}
    return kinds.get(ann, "str"), ()


def command_flags(app: Any) -> dict[tuple[str, ...], list[FlagSpec]]:
    """Return every leaf command's path (``("train", "grpo")``) and its flags (``--help`` left out)."""
    import typer.main

    out: dict[tuple[str, ...], list[FlagSpec]] = {}

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
            return
        flags: list[FlagSpec] = []
        for p in cmd.params:
            kind, choices = _kind(p)
            for o in (*p.opts, *getattr(p, "secondary_opts", ())):
                if o.startswith("--") and o != "--help":
                    flags.append((o, "bool" if o in getattr(p, "secondary_opts", ()) else kind, choices))
        out[path] = flags

    walk(typer.main.get_command(app), ())
    return out


def flag_names(app: Any) -> dict[str, set[str]]:
    """Return ``{"segment": {"--sat", ...}, "train grpo": {...}}``: every command's flag spellings."""
    return {" ".join(p): {f for f, _, _ in flags} for p, flags in command_flags(app).items()}
