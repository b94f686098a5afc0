"""`verify [--repair]`, `gc`, `export`, `import`: operations on the store (a folder, or any store by ``--store``)."""

from __future__ import annotations

import contextlib
import errno
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import ValidationError
from ..ops import trash
from ..ops.archive import export_runs
from ..ops.importing import import_archive
from ..ops.leftovers import MADE_BY, Leftover, find_leftovers, finish_leftovers, store_uploads
from ..ops.listing import resolve_run_id
from ..ops.repair import repair_leftovers, repair_run
from ..ops.retention import GcPlan, GcRules, parse_statuses, plan_gc, remove_run
from ..ops.timespec import format_moment, parse_duration
from ..ops.verify import Finding, check_store
from ..stores.base import Store
from ..stores.folder import FolderStore
from . import app, research
from .display import console, styled_status
from .exit_codes import ExitCode, reported
from .options import Json, ServerChoice, StoreChoice, with_option_groups
from .remote import ServerClient


def _finding_line(finding: Finding) -> str:
    where = finding.run_id or "store"
    tag = "fixable with --repair" if finding.fixable else "not fixable"
    return f"{where}: {finding.message} [{tag}]"


@app.command()
@with_option_groups
def verify(
    run_ids: Annotated[list[str] | None, typer.Argument(
        metavar="RUN_ID", help="Runs to check, by id or a unique start of one (default: every run, and the "
                                    "store's leftovers).")] = None,
    *,
    source: StoreChoice,
    repair: Annotated[bool, typer.Option(
        "--repair", help="Rebuild lost or corrupt metadata.json from the entity and step files, remove leftover "
                         "temp files and half-done gc/import/run creation folders (on the shared store: abandoned "
                         ".staging-* uploads). Never deletes an entity file.")] = False,
    as_json: Json = False,
) -> None:
    """Check runs on disk, and with --repair fix what the files allow.

    Checks that metadata.json parses and follows the format, that every listed entity exists with its size and
    sha256, that no entity file is unlisted and that no temp file was left behind.
    Exit code 0 when all is clean (after --repair: when nothing remains), else 1.

    Example: pipeline-recorder verify --repair
    """
    with reported(), contextlib.closing(source.open()) as store:
        ids = list(dict.fromkeys(resolve_run_id(store, text) for text in run_ids)) if run_ids else None
        actions: list[str] = []
        if repair:
            if ids is None:
                actions.extend(repair_leftovers(store))
            # The shared store keeps every document in its database: only its abandoned uploads are repaired.
            if isinstance(store, FolderStore):
                for run_id in ids if ids is not None else sorted(store.run_ids()):
                    result = repair_run(store, run_id)
                    actions.extend(f"{run_id}: {action}" for action in result.actions)
        result_check = check_store(store, ids)
        findings = result_check.findings
        if as_json:
            typer.echo(json.dumps({"runs_checked": len(result_check.runs), "clean": not findings,
                                   "actions": actions, "findings": [f.to_dict() for f in findings]}, indent=2))
        else:
            for action in actions:
                typer.echo(f"repaired {action}")
            for finding in findings:
                typer.echo(_finding_line(finding))
            noted = [f"{run.run_id}: {note}" for run in result_check.runs for note in run.notes]
            for note in noted:
                typer.echo(f"note {note}")
            runs = len(result_check.runs)
            if not findings:
                typer.echo(f"checked {runs} run(s): all clean")
            else:
                fixable = sum(1 for f in findings if f.fixable)
                hint = " (run again with --repair to fix them)" if fixable and not repair else ""
                typer.echo(f"checked {runs} run(s): {len(findings)} problem(s), {fixable} fixable{hint}")
        if findings:
            raise typer.Exit(int(ExitCode.PROBLEMS))


@app.command()
@with_option_groups
def gc(
    *,
    source: StoreChoice,
    older_than: Annotated[str | None, typer.Option(
        "--older-than", metavar="AGE", help="Runs unchanged for longer than AGE (30d, 12h, 90m, 2w).")] = None,
    keep_last: Annotated[int | None, typer.Option(
        "--keep-last", metavar="N", min=0, help="Always keep the N newest runs.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", metavar="S1,S2", help="Only runs with one of these statuses (completed, failed, blocked, "
                                          "cancelled, interrupted).")] = None,
    delete: Annotated[bool, typer.Option(
        "--delete", "--yes", "-y", help="Remove the runs. Without it gc only prints what would go (dry run).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Only print what would be removed (the default).")] = False,
    kind: Annotated[str | None, typer.Option(
        "--kind", metavar="KIND", help="Only runs of this kind (retention per kind, e.g. classroom).")] = None,
    session: Annotated[str | None, typer.Option(
        "--session", metavar="SESSION", help="Only runs of this session_id (retention per session).")] = None,
    trash_older_than: Annotated[str, typer.Option(
        "--trash-older-than", metavar="AGE", help="Empty the trash of runs deleted longer ago than AGE (runs "
                                                  "`delete` moved there; 0s empties it all).")] = "7d",
    as_json: Json = False,
) -> None:
    """Remove old runs (retention) and empty the trash; a dry run unless --delete is given.

    Removes the runs that match every given rule, never a run that is still running. Also finishes what an
    interrupted gc, import, run creation or entity save left behind (temp files only once their run's writers are
    gone, or after an hour untouched).

    Runs deleted with `delete` stay in the trash, restorable, for --trash-older-than (7d); every gc --delete
    deletes for good those deleted longer ago. Without a rule for runs (--older-than, --keep-last, --status) gc
    only empties the trash and finishes leftovers.

    Retention per kind or session: --kind and --session restrict every rule to those runs.

    Example: pipeline-recorder gc --older-than 30d --status failed,cancelled --keep-last 100 --delete
    """
    with reported(), contextlib.closing(source.open()) as store:
        now = datetime.now(UTC)
        trash_age = parse_duration(trash_older_than)
        rules = (older_than, keep_last, status, kind, session)
        plan = plan_gc(store, GcRules(older_than=parse_duration(older_than) if older_than is not None else None,
                                      keep_last=keep_last,
                                      statuses=parse_statuses(status) if status is not None else None,
                                      kind=kind, session_id=session),
                       now=now) if any(rule is not None for rule in rules) else GcPlan()
        act = delete and not dry_run
        # -- the trash: deleted runs past their age are deleted for good (ops/trash.py) --
        expired = trash.expired(store, now=now, older_than=trash_age)
        purged = trash.empty_trash(store, expired) if act else []
        leftovers = _leftovers(store, act)
        removed: list[str] = []
        kept_running: list[str] = []
        if act:
            for doomed in plan.remove:
                try:
                    (removed if remove_run(store, doomed.run_id) else kept_running).append(doomed.run_id)
                except LookupError:
                    continue  # removed meanwhile by someone else
        if as_json:
            typer.echo(json.dumps({
                "dry_run": not act,
                "runs": [{"run_id": d.run_id, "status": d.status, "timestamp": d.timestamp,
                          "config_name": d.config_name, "reason": d.reason} for d in plan.remove],
                "removed": removed, "spared_running": [*plan.spared_running, *kept_running],
                "unreadable": plan.unreadable, "leftovers": [str(item.path) for item in leftovers],
                "trash": [{"run_id": t.run_id, "trashed_at": trash.trashed_at_iso(t)} for t in expired],
                "purged": purged}, indent=2))
        else:
            out = console()
            if plan.remove:
                table = Table(box=None, header_style="bold")
                for name in ("RUN ID", "STARTED", "CONFIG", "STATUS", "WHY"):
                    table.add_column(name, no_wrap=True)
                for d in plan.remove:
                    table.add_row(d.run_id, format_moment(d.timestamp), d.config_name, styled_status(d.status),
                                  d.reason)
                out.print(table)
            verb = "finished removing" if act else "would finish removing"
            for item in leftovers:
                out.print(f"{verb} {item.name} (left by an interrupted {MADE_BY[item.kind]})", highlight=False)
            if plan.spared_running or kept_running:
                out.print(f"{len(plan.spared_running) + len(kept_running)} running run(s) left alone", highlight=False)
            if plan.unreadable:
                out.print(f"{len(plan.unreadable)} unreadable run(s) left alone; check them with "
                          "`pipeline-recorder verify`", highlight=False)
            for trashed in expired:
                out.print(f"{'deleted' if act else 'would delete'} {trashed.run_id} from the trash (deleted "
                          f"{format_moment(trash.trashed_at_iso(trashed))})", highlight=False)
            if act:
                out.print(f"removed {len(removed)} run(s), emptied {len(purged)} from the trash", highlight=False)
            else:
                out.print(f"dry run: {len(plan.remove)} run(s) would be removed and {len(expired)} emptied from the "
                          "trash; add --delete to do it", highlight=False)


def _leftovers(store: Store, act: bool) -> list[Leftover]:
    """What interrupted writers and operations left (finished when ``act``): a folder store's folders and temp
    files, a shared store's abandoned upload objects."""
    found = (finish_leftovers if act else find_leftovers)(store.runs_dir, temp_files=True) \
        if isinstance(store, FolderStore) else []
    return [*found, *store_uploads(store, remove=act)]


@app.command("export")
@with_option_groups
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE",
                                         help="Archive to write: *.zip or *.tar.gz (with --table: the table).")],
    run_ids: Annotated[list[str] | None, typer.Argument(
        metavar="RUN_ID", help="Runs to export, by id or a unique start of one (or select them with --session, "
                               "--user, --device, --kind, --since, --until).")] = None,
    *,
    source: StoreChoice,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    remote: ServerChoice,
    # -- research exports (cli/research.py) --
    session: research.Session = None,
    user: research.User = None,
    device: research.Device = None,
    kind: research.Kind = None,
    since: research.Since = None,
    until: research.Until = None,
    table: research.TableFormat = None,
    pseudonymise: research.Pseudonymise = False,
    pseudonym_key: research.PseudonymKey = None,
    no_text: research.NoText = False,
) -> None:
    """Export runs into a zip or tar.gz archive with a manifest of every file's size and sha256.

    Select many runs by session, user, device, kind and start time (combined), write them as a table of their
    entities with --table csv|parquet, and protect the people in them with --pseudonymise and --no-text
    (docs/RESEARCH.md). A selection that matches no run is an error (exit 3).
    With --server, one run is downloaded from that server's export route as a zip.

    Example: pipeline-recorder export 528e5af9-59b3-4551-b101-27e13dd6e43e -o run.zip

    Example: pipeline-recorder export --session class-4b --table csv --pseudonymise --no-text -o class-4b.csv
    """
    with reported():
        ids = run_ids or []
        options = research.ResearchOptions(
            research.Selection.parse(session_id=session, user_id=user, device_id=device, kind=kind, since=since,
                                     until=until),
            table, pseudonymise, pseudonym_key, no_text)
        if remote.server is not None:
            if options.wanted or len(ids) != 1 or output.suffix.lower() != ".zip":
                raise ValidationError("with --server, export takes one RUN_ID and an --output FILE ending in .zip "
                                      "(the server exports one run per archive; research exports run on the store)")
            with ServerClient(remote.server, remote.token) as client:
                run_id = client.resolve(ids[0])
                size = client.export(run_id, output, overwrite=force)
            typer.echo(f"exported run {run_id} from {remote.server} to {output} ({size} bytes)")
            return
        with contextlib.closing(source.open()) as store:
            if options.wanted:
                typer.echo(research.research_export(store, options, ids, output, force=force))
                return
            if not ids:
                raise ValidationError("name the runs to export, or select them with --session, --user, --device, "
                                      "--kind, --since or --until")
            names = export_runs(store, [resolve_run_id(store, text) for text in ids], output, overwrite=force)
        runs = len({name.split("/")[0] for name in names if "/" in name})
        typer.echo(f"exported {runs} run(s), {len(names) - 1} file(s) and a manifest to {output}")


@app.command("import")
@with_option_groups
def import_command(
    archive: Annotated[Path, typer.Argument(metavar="FILE", help="An archive made by `pipeline-recorder export`.")],
    *,
    source: StoreChoice,
) -> None:
    """Import the runs of an export archive, after checking every checksum.

    Refuses (exit 4, nothing written) unsafe member names (../, absolute paths, links, devices), tampered files
    and runs that already exist.

    Example: pipeline-recorder import run.zip --base-path /srv/recorder
    """
    with reported():
        if not archive.is_file():
            raise FileNotFoundError(errno.ENOENT, f"archive {archive} does not exist or is not a file")
        with contextlib.closing(source.open()) as store:
            imported = import_archive(store, archive)
            for run_id in imported:
                typer.echo(f"imported {run_id} into {store.location(run_id)}")
        typer.echo(f"imported {len(imported)} run(s)")

