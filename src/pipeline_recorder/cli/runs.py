"""`run` and `watch`: start or follow a pipeline run from the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from ..events import Event, follow_sync
from ..stores.folder import FolderStore
from . import app
from .display import console, show_events, styled_status
from .exit_codes import ExitCode, for_status, reported
from .options import BasePath, Server, Token
from .remote import ServerClient


def _finish(run_id: str, status: str | None, where: str) -> None:
    out = console()
    if status is None:
        out.print(f"run {run_id}: the event stream ended before the run did; see {where}", highlight=False)
        raise typer.Exit(int(ExitCode.SERVER))
    out.print(f"run {run_id} {styled_status(status)}", highlight=False)
    out.print(where, highlight=False, soft_wrap=True)
    raise typer.Exit(int(for_status(status)))


def _print_reason(client: ServerClient, run_id: str, status: str | None) -> None:
    if status is not None and status != "completed":
        reason = client.status(run_id).get("status_reason")
        if reason:
            console().print(f"reason: {reason}", highlight=False)


def _store_events(store: FolderStore, run_id: str) -> Iterator[Event]:
    # Heartbeats are for HTTP clients; the terminal needs only the run's own events.
    return (event for event in follow_sync(store, run_id) if event.id is not None)


@app.command()
def watch(
    run_id: Annotated[str, typer.Argument(help="The run to follow.")],
    base_path: BasePath = Path("."),
    server: Server = None,
    token: Token = None,
) -> None:
    """Follow a run live: a progress bar (stage, step, progress) and a line per entity, until it ends.

    Exit code: 0 completed, 10 failed, 11 blocked, 12 cancelled, 13 interrupted (see docs/CLI.md).

    Example: pipeline-recorder watch 528e5af9-59b3-4551-b101-27e13dd6e43e
    """
    with reported():
        if server is not None:
            with ServerClient(server, token) as client:
                status = show_events(client.events(run_id), console())
                where = f"status: {client.url}/api/pipeline/{run_id}/status"
                _print_reason(client, run_id, status)
        else:
            store = FolderStore(base_path)
            status = show_events(_store_events(store, run_id), console())
            where = f"folder: {store.run_folder(run_id)}"
            reason = store.read_metadata(run_id).get("status_reason") if status not in (None, "completed") else None
            if reason:
                console().print(f"reason: {reason}", highlight=False)
    _finish(run_id, status, where)


@app.command()
def run(
    config: Annotated[str, typer.Argument(help="The pipeline config's name (e.g. stillepost).")],
    input_text: Annotated[str, typer.Argument(metavar="TEXT", help="The input text.")],
    mode: Annotated[str, typer.Option("--mode", "-m", help="Execution mode: eco (local backends) or fast "
                                                           "(remote API backends).")] = "eco",
    safety: Annotated[str, typer.Option("--safety", help="Safety level: kids, youth, adult or off.")] = "kids",
    user: Annotated[str, typer.Option("--user", help="User id recorded with the run.")] = "anonymous",
    base_path: BasePath = Path("."),
    configs: Annotated[list[Path] | None, typer.Option(
        "--configs", envvar="PIPELINE_RECORDER_CONFIGS", help="Extra config folder (repeatable); its configs add "
                                                              "to or override the shipped ones.")] = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Run a pipeline and record it, with a live progress bar; prints the run id and folder at the end.

    With --server URL the server runs it, and its events are followed.
    Exit code: 0 completed, 10 failed, 11 blocked, 12 cancelled (see docs/CLI.md).

    Example: pipeline-recorder run stillepost "Ein kleiner Hund spielt im Garten" --mode eco --safety kids
    """
    with reported():
        from ..runner.pipeline import validate_run_settings  # the runner's own rules, also before asking a server

        validate_run_settings(mode, safety, input_text)
        if server is not None:
            with ServerClient(server, token) as client:
                answer = client.execute(config, input_text, mode, safety, user)
                run_id = str(answer["run_id"])
                console().print(f"run {run_id} started on {client.url}", highlight=False)
                status = show_events(client.events(run_id), console())
                where = f"status: {client.url}/api/pipeline/{run_id}/status"
                _print_reason(client, run_id, status)
        else:
            from .local_run import run_locally

            run_id, status, folder = run_locally(config, input_text, mode, safety, user, base_path, configs or [])
            where = f"folder: {folder}"
    _finish(run_id, status, where)
