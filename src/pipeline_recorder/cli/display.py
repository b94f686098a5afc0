"""Showing a run as it happens: a rich progress bar (stage, step, progress) and one line per entity.

``show_events`` consumes the same events from the local store (``pipeline_recorder.events.follow_sync``) and
from a server's ``/events`` stream, so ``run`` and ``watch`` look the same either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..events import END, ENTITY, STATE, STATUS, Event

STATUS_STYLES = {"completed": "green", "running": "cyan", "failed": "red", "blocked": "magenta",
                 "cancelled": "yellow", "interrupted": "yellow"}


def console(stderr: bool = False) -> Console:
    """A console that does not wrap long ids when output goes to a file or pipe."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=200, soft_wrap=True)


def human_size(size: object) -> str:
    if not isinstance(size, int):
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _fraction(state: dict[str, Any]) -> tuple[int, int] | None:
    done, _, total = str(state.get("progress", "")).partition("/")
    return (int(done), int(total)) if done.isdigit() and total.isdigit() else None


def styled_status(status: object) -> str:
    text = str(status)
    return f"[{STATUS_STYLES.get(text, 'white')}]{text}[/]"


def show_events(events: Iterable[Event], out: Console) -> str | None:
    """Render the events until ``end``; returns the final status (None if the stream stopped before ``end``)."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=out, transient=False)
    final: str | None = None
    task = progress.add_task("starting", total=None)
    # The bar appears with the first event, so an error before it (unknown run, no server) prints alone.
    started = False
    try:
        for event in events:
            if not started:
                progress.start()
                started = True
            data = event.data if isinstance(event.data, dict) else {}
            if event.event == ENTITY:
                progress.console.print(
                    f"  [bold]+[/] {data.get('filename')}  {data.get('type')}  {data.get('mime_type', '')}  "
                    f"{human_size(data.get('size'))}", highlight=False)
            elif event.event == STATE:
                fraction = _fraction(data)
                description = f"stage {data.get('stage')} {data.get('step')}"
                if fraction is not None:
                    progress.update(task, description=description, completed=fraction[0], total=fraction[1])
                else:
                    progress.update(task, description=description)
            elif event.event == STATUS and data.get("status") != "running":
                progress.console.print(f"  status {styled_status(data.get('status'))}", highlight=False)
            elif event.event == END:
                final = str(data.get("status"))
                break
    finally:
        if started:
            progress.stop()
    return final
