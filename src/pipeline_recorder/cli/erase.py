"""`erase --user U` / `--device D`: delete for good everything the store knows of one user or device (ops/erase.py)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ValidationError
from ..ops.erase import erase, plan_erasure
from . import app
from .display import human_size
from .exit_codes import ExitCode, reported
from .options import Json, StoreChoice, with_option_groups


@app.command("erase")
@with_option_groups
def erase_command(
    user: Annotated[str | None, typer.Option("--user", "-u", metavar="USER",
                                             help="Erase every run of this user_id.")] = None,
    device: Annotated[str | None, typer.Option("--device", metavar="DEVICE",
                                               help="Erase every run of this device_id.")] = None,
    spool: Annotated[Path | None, typer.Option(
        "--spool", metavar="DIR", help="Also remove those runs' spooled writes from this remote-recorder spool "
                                       "folder.")] = None,
    *,
    source: StoreChoice,
    delete: Annotated[bool, typer.Option(
        "--delete", help="Erase. Without it erase only prints what it would erase (dry run).")] = False,
    as_json: Json = False,
) -> None:
    """Erase everything of one user or device for good (GDPR erasure); a dry run unless --delete is given.

    Deletes their runs (in place and in the trash, with every file of them), the store's index rows of them and,
    with --spool, their spooled writes; then appends an entry to the store's erasure log (when, a salted hash of
    the user or device, how many runs and bytes; never the id or any content). A run still running is left, and
    reported: erase again once it has ended (exit 1 until then). Exports already downloaded are not the store's
    to erase (docs/RESEARCH.md, Privacy).

    Example: pipeline-recorder erase --user kind-17 --delete
    """
    with reported():
        if (user is None) == (device is None):
            raise ValidationError("say whose records to erase: --user USER or --device DEVICE (one of them)")
        selector, value = ("user_id", user) if user is not None else ("device_id", device)
        assert value is not None
        with contextlib.closing(source.open()) as store:
            plan = plan_erasure(store, selector, value, spool)
            result = erase(store, plan) if delete else None
        left = result.left_running if result is not None else plan.running
        if as_json:
            typer.echo(json.dumps({
                "dry_run": result is None, "selector": selector, "runs": plan.runs, "trashed_runs": plan.trashed,
                "spooled": [str(path) for path in plan.spooled], "bytes": plan.bytes, "left_running": left,
                "unreadable": plan.unreadable, "audit": result.audit if result is not None else None}, indent=2))
        else:
            what = (f"{len(plan.runs)} run(s), {len(plan.trashed)} in the trash, {len(plan.spooled)} spooled, "
                    f"{human_size(plan.bytes)}")
            if result is None:
                for run_id in [*plan.runs, *plan.trashed]:
                    typer.echo(f"would erase {run_id}")
                typer.echo(f"dry run: would erase {what}; add --delete to erase them")
            else:
                typer.echo(f"erased {what}; the erasure log has an entry for it")
            for run_id in left:
                typer.echo(f"left {run_id}: it is still running; erase again once it has ended", err=True)
            for run_id in plan.unreadable:
                typer.echo(f"unreadable run {run_id}: cannot tell whose it is; check it with `pipeline-recorder "
                           "verify`", err=True)
        if left:
            raise typer.Exit(int(ExitCode.PROBLEMS))
