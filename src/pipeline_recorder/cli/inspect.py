"""`ls` and `show`: list runs and show one."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..index import MAX_LIMIT, RunIndex, iter_all
from ..ops.timespec import parse_moment, parse_stamp
from ..stores.folder import FolderStore
from . import app
from .display import console, human_size, styled_status
from .exit_codes import reported
from .options import BasePath, Json


def _when(value: object) -> str:
    moment = parse_stamp(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _moment(value: str | None) -> datetime | None:
    return parse_moment(value) if value is not None else None


@app.command("ls")
def list_runs(
    base_path: BasePath = Path("."),
    config: Annotated[str | None, typer.Option("--config", "-c", help="Only runs of this config.")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only runs of this user id.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="Only runs with this status: running, completed, failed, blocked, cancelled, "
                         "interrupted.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only runs started at or after this time: ISO 8601 (2025-11-04, 2025-11-04T20:00:00+00:00) or "
             "a duration ago (2d, 3h).")] = None,
    until: Annotated[str | None, typer.Option(help="Only runs started before this time (same forms).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many runs, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """List runs, newest first, as a table (or JSON with --json).

    Example: pipeline-recorder ls --status failed --since 2d
    """
    with reported():
        store = FolderStore(base_path)
        index = RunIndex(store)
        try:
            filters: dict[str, Any] = {"config_name": config, "user_id": user, "status": status,
                                       "since": _moment(since), "until": _moment(until)}
            if limit <= MAX_LIMIT:
                runs, _ = index.query(limit=limit, **filters)
            else:
                runs = list(itertools.islice(iter_all(index, **filters), limit))
        finally:
            index.close()
        if as_json:
            typer.echo(json.dumps(runs, ensure_ascii=False, indent=2))
            return
        out = console()
        if not runs:
            out.print(f"no runs in {store.runs_dir}" + (" match the filters" if any(
                v is not None for v in filters.values()) else ""), highlight=False)
            return
        table = Table(box=None, header_style="bold")
        for name in ("RUN ID", "STARTED", "CONFIG", "MODE", "SAFETY", "USER", "STATUS", "PROGRESS", "ENTITIES"):
            table.add_column(name, no_wrap=True)
        for run in runs:
            state = run.get("current_state") or {}
            table.add_row(str(run["run_id"]), _when(run.get("timestamp")), str(run.get("config_name")),
                          str(run.get("execution_mode")), str(run.get("safety_level")), str(run.get("user_id")),
                          styled_status(run.get("status")), str(state.get("progress", "-")),
                          str(run.get("entity_count", "-")))
        out.print(table)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run to show.")],
    base_path: BasePath = Path("."),
    as_json: Json = False,
) -> None:
    """Show one run: its settings, state, status and entities (or its metadata as JSON with --json).

    Example: pipeline-recorder show 528e5af9-59b3-4551-b101-27e13dd6e43e
    """
    with reported():
        store = FolderStore(base_path)
        doc = store.read_metadata(run_id)
        if as_json:
            typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
            return
        out = console()
        state = doc["current_state"]
        rows = [
            ("run", doc["run_id"]),
            ("folder", str(store.run_folder(run_id))),
            ("config", doc["config_name"]),
            ("mode / safety", f"{doc['execution_mode']} / {doc['safety_level']}"),
            ("user", doc["user_id"]),
            ("status", styled_status(doc["status"]) + (f"  ({doc['status_reason']})"
                                                       if doc.get("status_reason") else "")),
            ("state", f"stage {state.get('stage')} {state.get('step')}, progress {state.get('progress')}"),
            ("expected", ", ".join(doc["expected_outputs"]) or "-"),
            ("started", _when(doc.get("timestamp"))),
            ("updated", _when(doc.get("updated_at"))),
            ("finished", _when(doc.get("finished_at"))),
        ]
        header = Table.grid(padding=(0, 2))
        header.add_column(style="bold")
        header.add_column()
        for label, value in rows:
            header.add_row(label, value)
        out.print(header)
        if not doc["entities"]:
            out.print("no entities yet")
            return
        table = Table(box=None, header_style="bold")
        for name in ("SEQ", "TYPE", "FILE", "MIME TYPE", "SIZE", "SHA256", "SAVED"):
            table.add_column(name, no_wrap=True)
        for entity in doc["entities"]:
            table.add_row(str(entity["sequence"]), entity["type"], entity["filename"], str(entity.get("mime_type")),
                          human_size(entity.get("size")), str(entity.get("sha256", ""))[:12],
                          _when(entity.get("timestamp")))
        out.print(table)
