"""`delete`, `restore`, `trash`: moving runs to the trash and back, and listing it (rules: ops/trash.py).

`gc` (cli/ops.py) empties the trash of runs deleted longer ago than its ``--trash-older-than``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..ops import trash
from ..ops.listing import match_run_id, resolve_run_id
from ..ops.timespec import format_moment
from ..stores import Store
from . import app
from .display import console, styled_status
from .exit_codes import for_error, reported
from .options import BasePath, DatabaseUrl, Json, StoreUrl, open_cli_store

RunIds = Annotated[list[str], typer.Argument(
    metavar="RUN_ID...", help="The runs: ids, or unique starts of ids (as the viewer shows, e.g. b52002bc).")]


def _each(store: Store, texts: list[str], resolve: Callable[[str], str], act: Callable[[str], None], done: str,
          as_json: bool) -> None:
    """Resolve and act on each run in turn; one refusal stops no other. Exits with the first failure's code."""
    resolved: dict[str, str] = {}

    def step(text: str) -> None:
        resolved[text] = resolve(text)
        act(resolved[text])

    outcomes = trash.for_each(texts, step)
    if as_json:
        typer.echo(json.dumps([{"run_id": resolved.get(o.run_id, o.run_id), "done": o.error is None,
                                **({"error": str(o.error)} if o.error else {})} for o in outcomes], indent=2))
    for outcome in outcomes:
        if outcome.error is None:
            if not as_json:
                typer.echo(f"{done} {resolved[outcome.run_id]}")
        elif not as_json:
            typer.echo(f"error: {outcome.run_id}: {outcome.error}", err=True)
    failures = [o.error for o in outcomes if o.error is not None]
    if failures:
        raise typer.Exit(int(for_error(failures[0])))


@app.command()
def delete(run_ids: RunIds, base_path: BasePath = Path("."), store_url: StoreUrl = None,
           database: DatabaseUrl = None, as_json: Json = False) -> None:
    """Move runs to the trash: they leave every listing and read at once, and `restore` brings them back until
    `gc` empties the trash (by default of runs deleted more than 7 days ago).

    A run that is still running (its writer alive) is refused; an interrupted one may be deleted.

    Example: pipeline-recorder delete 528e5af9 b52002bc
    """
    with reported(), contextlib.closing(open_cli_store(base_path, store_url, database)) as store:
        _each(store, run_ids, lambda text: resolve_run_id(store, text), lambda run_id: trash.delete_run(store, run_id),
              "moved to the trash:", as_json)


@app.command()
def restore(run_ids: RunIds, base_path: BasePath = Path("."), store_url: StoreUrl = None,
            database: DatabaseUrl = None, as_json: Json = False) -> None:
    """Move runs back out of the trash, as they were when deleted.

    Example: pipeline-recorder restore 528e5af9
    """
    with reported(), contextlib.closing(open_cli_store(base_path, store_url, database)) as store:
        where = f"the trash of {store.location()}"

        def resolve(text: str) -> str:
            return match_run_id(text, [t.run_id for t in store.trashed_runs() if not t.purging], where)

        _each(store, run_ids, resolve, lambda run_id: trash.restore_run(store, run_id), "restored", as_json)


@app.command("trash")
def trash_command(base_path: BasePath = Path("."), store_url: StoreUrl = None, database: DatabaseUrl = None,
                  as_json: Json = False) -> None:
    """List the runs in the trash, most recently deleted first.

    Example: pipeline-recorder trash
    """
    with reported(), contextlib.closing(open_cli_store(base_path, store_url, database)) as store:
        listed = trash.trash_listing(store)
        if as_json:
            typer.echo(json.dumps(listed, ensure_ascii=False, indent=2))
            return
        out = console()
        if not listed:
            out.print("the trash is empty", highlight=False)
            return
        table = Table(box=None, header_style="bold")
        for name in ("RUN ID", "DELETED", "STARTED", "CONFIG", "USER", "STATUS"):
            table.add_column(name, no_wrap=True)
        for run in listed:
            table.add_row(str(run["run_id"]), format_moment(run["trashed_at"]), format_moment(run.get("timestamp")),
                          str(run.get("config_name", "?")), str(run.get("user_id", "?")),
                          styled_status(run.get("status", "?")))
        out.print(table)
        out.print(f"{len(listed)} run(s) in the trash; `pipeline-recorder restore RUN_ID` brings one back, "
                  "`pipeline-recorder gc --delete` empties what was deleted long enough ago", highlight=False)
