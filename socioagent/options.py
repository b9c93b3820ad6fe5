"""The backend flags of every command, generated from `agent.backends.BackendConfig`: described once.

``@backend_options()`` on a typer command adds one ``--flag`` per config field (help text from the field's
description, shown under a "Backends" panel) and hands the command a validated ``backend: BackendConfig``
instead. A validation error becomes one `InputError` (exit 2) that names the flags.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import typer

from agent.backends import BackendConfig, flag

F = TypeVar("F", bound=Callable[..., Any])

PANEL = "Backends"


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

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn, eval_str=True)
        if "backend" not in sig.parameters:
            raise ValueError(f"{fn.__name__} must take a `backend: BackendConfig` parameter")
        own = [p for p in sig.parameters.values() if p.name != "backend"]
        clash = {p.name for p in own} & (set(BackendConfig.model_fields) - skip)
        if clash:
            raise ValueError(f"{fn.__name__} defines {sorted(clash)}, which the backend flags already provide")
        added = []
        for name, field in BackendConfig.model_fields.items():
            if name in skip:
                continue
            option = typer.Option(flag(name), help=field.description, rich_help_panel=PANEL, show_default=True)
            added.append(
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=defaults.get(name, field.default),
                    annotation=Annotated[field.annotation, option],
                )
            )

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in list(kwargs) if k in BackendConfig.model_fields}
            kwargs["backend"] = BackendConfig.parse(**values)
            return fn(*args, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
