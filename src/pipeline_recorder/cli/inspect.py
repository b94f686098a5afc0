"""`ls` and `show`: list runs and show one, from the local store or (``--server``) from a running server."""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .. import runfields
from ..index import MAX_LIMIT, iter_all
from ..ops.listing import resolve_run_id, where_label
from ..ops.timespec import format_moment, parse_moment
from ..stores.base import Store
from . import app
from .display import console, human_size, styled_status
from .exit_codes import reported
from .options import Json, RunIdArgument, ServerChoice, StoreChoice, with_option_groups
from .remote import ServerClient


def _moment(value: str | None) -> datetime | None:
    return parse_moment(value) if value is not None else None


def _local_runs(store: Store, limit: int, filters: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Runs from the store's listing, and the ids of runs it could not list."""
    index = store.run_index()
    if limit <= MAX_LIMIT:
        runs, _ = index.query(limit=limit, **filters)
    else:
        runs = list(itertools.islice(iter_all(index, **filters), limit))
    return runs, index.skipped()


@app.command("ls")
@with_option_groups
def list_runs(
    *,
    source: StoreChoice,
    config: Annotated[str | None, typer.Option(
        "--config", "-c", metavar="CONFIG", help="Only runs of this config.")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", metavar="USER", help="Only runs of this user id.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", metavar="STATUS", help="Only runs with this status: running, completed, failed, blocked, "
                                           "cancelled, interrupted.")] = None,
    since: Annotated[str | None, typer.Option(
        metavar="TIME", help="Only runs started at or after this time: ISO 8601 (2025-11-04, "
                             "'2025-11-04 20:00:00+00:00') or a duration ago (2d, 3h).")] = None,
    until: Annotated[str | None, typer.Option(
        metavar="TIME", help="Only runs started before this time (same forms).")] = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most this many runs, newest first.")] = 50,
    remote: ServerChoice,
    as_json: Json = False,
    # the research fields (runfields.py)
    kind: Annotated[str | None, typer.Option(
        "--kind", metavar="KIND", help="Only runs of this kind: pipeline, or what a host named (canvas_workflow).")
    ] = None,
    session: Annotated[str | None, typer.Option(
        "--session", metavar="SESSION", help="Only runs of this session id.")] = None,
    device: Annotated[str | None, typer.Option(
        "--device", metavar="DEVICE", help="Only runs of this device id.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", metavar="TAG", help="Only runs carrying this tag.")] = None,
) -> None:
    """List runs, newest first, as a table (or JSON with --json).

    Example: pipeline-recorder ls --status failed --since 2d; pipeline-recorder ls --session class-4b --tag zoo
    """
    with reported():
        filters: dict[str, Any] = {"config_name": config, "user_id": user, "status": status,
                                   "since": _moment(since), "until": _moment(until),
                                   "kind": kind, "session_id": session, "device_id": device, "tag": tag}
        skipped: list[str] = []
        if remote.server is not None:
            with ServerClient(remote.server, remote.token) as client:
                runs = client.runs(limit, **{name: value.isoformat() if isinstance(value, datetime) else value
                                             for name, value in filters.items()})
                where = client.url
        else:
            with contextlib.closing(source.open()) as store:
                runs, skipped = _local_runs(store, limit, filters)
                where = store.location()
        if as_json:
            typer.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        else:
            _print_runs(runs, where, filtered=any(value is not None for value in filters.values()))
        for run_id in skipped:
            typer.echo(f"note: run {run_id} is not listed: its metadata.json cannot be read or is not of the format; "
                       f"`pipeline-recorder verify {run_id}` says why", err=True)


def _print_runs(runs: list[dict[str, Any]], where: str, *, filtered: bool) -> None:
    out = console()
    if not runs:
        out.print(f"no runs in {where}" + (" match the filters" if filtered else ""), highlight=False)
        return
    table = Table(box=None, header_style="bold")
    for name in ("RUN ID", "STARTED", "CONFIG", "MODE", "SAFETY", "USER", "STATUS", "PROGRESS", "ENTITIES",
                 "TAGS"):
        table.add_column(name, no_wrap=True)
    for run in runs:
        state = run.get("current_state") or {}
        tags = run.get("tags")
        table.add_row(str(run["run_id"]), format_moment(run.get("timestamp")), str(run.get("config_name")),
                      str(run.get("execution_mode")), str(run.get("safety_level")), str(run.get("user_id")),
                      styled_status(run.get("status")), str(state.get("progress", "-")),
                      str(run.get("entity_count", "-")), ", ".join(map(str, tags)) if isinstance(tags, list) else "")
    out.print(table)


@app.command()
@with_option_groups
def show(run_id: RunIdArgument, *, source: StoreChoice, remote: ServerChoice, as_json: Json = False) -> None:
    """Show one run: its settings, state, status and entities (or its metadata as JSON with --json).

    Example: pipeline-recorder show 528e5af9
    """
    with reported():
        if remote.server is not None:
            with ServerClient(remote.server, remote.token) as client:
                run_id = client.resolve(run_id)
                doc = client.status(run_id)
                where = ("status", f"{client.url}/api/pipeline/{run_id}/status")
        else:
            with contextlib.closing(source.open()) as store:
                run_id = resolve_run_id(store, run_id)
                doc = store.read_metadata(run_id)  # never through a symlinked run folder
                where = (where_label(store, run_id), store.location(run_id))
        doc = runfields.with_defaults(doc)  # a run recorded before the research fields shows their defaults
        if as_json:
            typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
            return
        _print_run(doc, where)


def _print_run(doc: dict[str, Any], where: tuple[str, str]) -> None:
    out = console()
    state = doc["current_state"]
    rows = [
        ("run", doc["run_id"]),
        where,
        ("config", doc["config_name"]),
        ("mode / safety", f"{doc['execution_mode']} / {doc['safety_level']}"),
        ("user", doc["user_id"]),
        ("status", styled_status(doc["status"]) + (f"  ({doc['status_reason']})" if doc.get("status_reason") else "")),
        ("state", f"stage {state.get('stage')} {state.get('step')}, progress {state.get('progress')}"),
        ("expected", ", ".join(doc["expected_outputs"]) or "-"),
        ("started", format_moment(doc.get("timestamp"))),
        ("updated", format_moment(doc.get("updated_at"))),
        ("finished", format_moment(doc.get("finished_at"))),
        # the research fields (runfields.py)
        ("kind", str(doc["kind"])),
        ("session / device", f"{doc['session_id'] or '-'} / {doc['device_id'] or '-'}"),
        ("models", escape(", ".join(f"{stage} {model}" for stage, model in doc["models_used"].items()) or "-")),
        ("tags", escape(", ".join(doc["tags"]) or "-")),  # people's words: never read as rich markup
        ("notes", escape(doc["notes"] or "-")),
        ("process steps", str(len(doc.get("prompting_process") or []))),
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
                      format_moment(entity.get("timestamp")))
    out.print(table)
