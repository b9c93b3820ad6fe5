"""How the command line reports failures: one line naming the problem and the fix, and an exit code.

Exit codes: 0 ok; 2 bad input (`tools.errors.InputError`); 3 a backend unreachable or failing after retries
(`tools.errors.BackendError`); 130 interrupted (finished outputs stay intact). Running out of memory is
exit 2 with a message, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: MESSAGE`` in red on stderr and return the exit to raise."""
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
            raise fail(str(e), e.exit_code) from None
        except MemoryError:  # numpy's _ArrayMemoryError included: a size the machine cannot hold, not a bug
            raise fail("out of memory: the input is too large for this machine in one piece; for a large image "
                       "search it window by window (socio segment --raster IMAGE --vectors LAYERS), and for socio "
                       "eval use fewer --workers", 2) from None  # fmt: skip
        except KeyboardInterrupt:
            raise fail("interrupted; finished outputs are intact, rerun to continue", 130) from None

    return wrapper  # type: ignore[return-value]
