"""`annotate`: the notes and tags of a run, changed from the command line (also of a run that has ended), in the
local store or (``--server``) through a running server's annotations route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..ops.listing import resolve_run_id
from ..registry import load_recorder
from ..runfields import check_tags
from ..stores import store_for
from . import app
from .exit_codes import reported
from .options import BasePath, Json, RunIdArgument, Server, Token
from .remote import ServerClient


def _changed_tags(current: list[str], add: list[str], remove: list[str]) -> list[str] | None:
    """The tags after adding ``add`` and removing ``remove`` (None: no tag option given)."""
    if not add and not remove:
        return None
    dropped = set(check_tags(remove))
    return [tag for tag in check_tags([*current, *add]) if tag not in dropped]


@app.command()
def annotate(
    run_id: RunIdArgument,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", "-t", metavar="TAG", help="Add this tag (repeatable; 1-64 characters, no commas).")] = None,
    untag: Annotated[list[str] | None, typer.Option(
        "--untag", metavar="TAG", help="Remove this tag (repeatable).")] = None,
    notes: Annotated[str | None, typer.Option(
        "--notes", "-n", metavar="TEXT", help="Replace the run's notes with TEXT ('' clears them; at most 10,000 "
                                              "characters).")] = None,
    base_path: BasePath = Path("."),
    server: Server = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Add or remove a run's tags and replace its notes, then print them; without options, only print them.

    Example: pipeline-recorder annotate b52002bc --tag zoo --tag 4b --notes "Lena explained her prompt"
    """
    with reported():
        add, remove = tag or [], untag or []
        if server is not None:
            with ServerClient(server, token) as client:
                run_id = client.resolve(run_id)
                status = client.status(run_id)
                tags = _changed_tags(list(status.get("tags") or []), add, remove)
                body: dict[str, Any] = {key: value for key, value in (("notes", notes), ("tags", tags))
                                        if value is not None}
                shown = client.put_json(f"/api/pipeline/{run_id}/annotations", body) if body else \
                    {"notes": status.get("notes", ""), "tags": status.get("tags", [])}
        else:
            store = store_for(base_path)
            run_id = resolve_run_id(store, run_id)
            recorder = load_recorder(run_id, store)
            if recorder is None:
                raise LookupError(f"run {run_id!r} not found")
            current = recorder.get_status()
            tags = _changed_tags(list(current["tags"]), add, remove)
            shown = recorder.annotate(notes=notes, tags=tags) if notes is not None or tags is not None else \
                {"notes": current["notes"], "tags": current["tags"]}
        if as_json:
            typer.echo(json.dumps({"run_id": run_id, "notes": shown["notes"], "tags": shown["tags"]},
                                  ensure_ascii=False, indent=2))
        else:
            typer.echo(f"run {run_id}")
            typer.echo(f"tags: {', '.join(shown['tags']) or '(none)'}")
            typer.echo(f"notes: {shown['notes'] or '(none)'}")
