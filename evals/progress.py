"""One progress bar for long runs (generation, evaluation): a count, elapsed time, ETA and live fields."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def progress_bar(
    label: str, total: int, completed: int = 0, enabled: bool = True, **fields: str
) -> Iterator[Callable[..., None]]:
    """Show a rich progress bar on stderr; yield ``update(completed=None, advance=0, **fields)``.

    Args:
        label: the word in front of the bar ("eval", "synth test").
        total: the number of items.
        completed: items already done (a resumed run).
        enabled: False shows nothing (``--quiet``, tests) but still accepts updates.
        **fields: extra live values shown after the ETA, e.g. ``giou="-"``; update them by keyword.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    extra = [TextColumn(f"{name} {{task.fields[{name}]}}") for name in fields]
    progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("eta"), TimeRemainingColumn(), *extra, console=Console(stderr=True),
                        disable=not enabled)  # fmt: skip
    with progress:
        task = progress.add_task(label, total=total, completed=completed, **fields)

        def update(completed: int | None = None, advance: int = 0, **values: Any) -> None:
            progress.update(task, completed=completed, advance=advance or None, **values)

        yield update
