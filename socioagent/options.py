"""Command-line flags generated from typed configs, so that every option is described once, in its field.

- ``@backend_options()`` adds one ``--flag`` per `agent.backends.BackendConfig` field (shown under a
  "Backends" panel) and hands the command a validated ``backend: BackendConfig``.
- ``@config_options(Model, "cfg")`` adds one ``--flag`` per scalar field of a pydantic settings model (the
  trainer's `train.config.SFTConfig` / `GRPOConfig`), every one defaulting to "unset", and hands the command
  the dict of the flags the user gave, ``cfg_values``, to build the model from (so that an unset flag keeps the
  model's own default or a preset's value).

Validation errors become one `InputError` (exit 2) that names the flags.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import BaseModel

from agent.backends import BackendConfig, flag

F = TypeVar("F", bound=Callable[..., Any])

SCALARS = (str, int, float, bool, Path)


def _wrap(
    fn: Callable[..., Any], param: str, added: list[inspect.Parameter], build: Callable[[dict[str, Any]], Any]
) -> Callable[..., Any]:
    sig = inspect.signature(fn, eval_str=True)
    if param not in sig.parameters:
        raise ValueError(f"{fn.__name__} must take a `{param}` parameter")
    own = [p for p in sig.parameters.values() if p.name != param]
    clash = {p.name for p in own} & {p.name for p in added}
    if clash:
        raise ValueError(f"{fn.__name__} defines {sorted(clash)}, which the generated flags already provide")
    names = {p.name for p in added}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        kwargs[param] = build(values)
        return fn(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    return wrapper


def backend_options(exclude: Iterable[str] = (), **defaults: Any) -> Callable[[F], F]:
    """Add BackendConfig's fields as flags to a typer command that takes ``backend: BackendConfig``.

    Args:
        exclude: fields the command does not offer (they keep their config default).
        **defaults: command-specific defaults for some fields (e.g. ``refine=0``).
    """
    skip = set(exclude)
    unknown = (skip | set(defaults)) - set(BackendConfig.model_fields)
    if unknown:
        raise ValueError(f"not BackendConfig fields: {sorted(unknown)}")
    added = []
    for name, field in BackendConfig.model_fields.items():
        if name in skip:
            continue
        option = typer.Option(flag(name), help=field.description, rich_help_panel="Backends", show_default=True)
        added.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(name, field.default),
                                       annotation=Annotated[field.annotation, option]))  # fmt: skip

    def decorate(fn: F) -> F:
        return _wrap(fn, "backend", added, lambda values: BackendConfig.parse(**values))  # type: ignore[return-value]

    return decorate


def _flag_type(annotation: Any) -> tuple[Any, str] | None:
    """Return (the type typer parses, a note on allowed values) for a scalar field, or None for other fields."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if len(args) != 1:
            return None
        annotation = args[0]
    if typing.get_origin(annotation) is Literal:
        choices = typing.get_args(annotation)
        return str, f" (one of: {', '.join(map(str, choices))})"
    if annotation in SCALARS:
        return annotation, ""
    return None


def config_options(model: type[BaseModel], param: str, exclude: Iterable[str] = (), panel: str = "Settings") -> Any:
    """Add a settings model's scalar fields as flags; the command gets ``{param}`` = the given values.

    Nested models and tuples are left to the command (e.g. ``--lora`` for `LoRASettings`). Every flag defaults
    to unset (None), and only the flags the user gives reach the dict.
    """
    skip = set(exclude)
    added = []
    for name, field in model.model_fields.items():
        parsed = None if name in skip else _flag_type(field.annotation)
        if parsed is None:
            continue
        kind, note = parsed
        default = field.default if not callable(field.default_factory) else None
        help_text = f"{field.description or ''}{note} (default: {default})"
        option = typer.Option(flag(name), help=help_text, rich_help_panel=panel, show_default=False)
        added.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                       annotation=Annotated[kind | None, option]))  # fmt: skip

    def decorate(fn: F) -> F:
        return _wrap(fn, param, added, lambda values: {k: v for k, v in values.items() if v is not None})  # type: ignore[return-value]

    return decorate
