"""`run` and `watch`: start or follow a pipeline run from the terminal."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ValidationError
from ..events import Event, follow_sync
from ..ops.listing import resolve_run_id, where_label
from ..registry import SERVER_ENV
from ..remote.registry import TOKEN_ENV
from ..stores.base import Store
from . import app
from .display import console, show_events, styled_status
from .exit_codes import ExitCode, for_status, reported
from .options import (
    BasePath,
    ConfigDirs,
    DatabaseUrl,
    RunIdArgument,
    Server,
    ServerChoice,
    StoreChoice,
    StoreUrl,
    Token,
    check_choice,
    open_cli_store,
    with_option_groups,
)
from .remote import ServerClient

MEDIA_PREFIX = "output_"


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


def _server_result(client: ServerClient, run_id: str, status: str | None) -> str:
    """Print why a run on a server did not complete and its result; where it is."""
    _print_reason(client, run_id, status)
    if status is not None:
        _print_result(client.status(run_id), lambda name: client.text_entity(run_id, name),
                      lambda name: client.file_url(run_id, name))
    return f"status: {client.url}/api/pipeline/{run_id}/status"


def _print_result(doc: dict[str, Any], read_text: Callable[[str], str], locate: Callable[[str], str]) -> None:
    """The pipeline's final output (its last interception text) and where each media output is."""
    entities = doc.get("entities") or []
    texts = [entity for entity in entities if entity.get("type") == "interception"]
    out = console()
    if texts:
        text = read_text(str(texts[-1]["filename"])).strip()
        out.print("output: " + text.replace("\n", "\n        "), highlight=False, markup=False)
    for entity in entities:
        if str(entity.get("type", "")).startswith(MEDIA_PREFIX):
            out.print(f"{entity['type']}: {locate(str(entity['filename']))}", highlight=False, markup=False,
                      soft_wrap=True)


def _local_result(store: Store, run_id: str) -> None:
    doc = store.read_metadata(run_id)
    records = {str(entity["filename"]): entity for entity in doc["entities"]}

    def read_text(filename: str) -> str:
        entity = store.open_entity(run_id, records[filename])  # the store's safe opener, checked against the record
        with entity.file as f:
            return f.read().decode("utf-8", errors="replace")

    _print_result(doc, read_text, lambda filename: f"{store.location(run_id)}/{filename}")


def _store_events(store: Store, run_id: str) -> Iterator[Event]:
    # Heartbeats are for HTTP clients; the terminal needs only the run's own events.
    return (event for event in follow_sync(store, run_id) if event.id is not None)


@app.command()
@with_option_groups
def watch(run_id: RunIdArgument, *, source: StoreChoice, remote: ServerChoice) -> None:
    """Follow a run live: a progress bar (stage, step, progress) and a line per entity, until it ends.

    Exit code: 0 completed, 10 failed, 11 blocked, 12 cancelled, 13 interrupted (see docs/CLI.md).

    Example: pipeline-recorder watch 528e5af9
    """
    with reported():
        if remote.server is not None:
            with ServerClient(remote.server, remote.token) as client:
                run_id = client.resolve(run_id)
                status = show_events(client.events(run_id), console())
                where = f"status: {client.url}/api/pipeline/{run_id}/status"
                _print_reason(client, run_id, status)
        else:
            with contextlib.closing(source.open()) as store:
                run_id = resolve_run_id(store, run_id)
                status = show_events(_store_events(store, run_id), console())
                where = f"{where_label(store, run_id)}: {store.location(run_id)}"
                reason = store.read_metadata(run_id).get("status_reason") \
                    if status not in (None, "completed") else None
            if reason:
                console().print(f"reason: {reason}", highlight=False)
    _finish(run_id, status, where)


@app.command()
def run(
    config: Annotated[str, typer.Argument(metavar="CONFIG", help="The pipeline config's name (e.g. stillepost).")],
    input_text: Annotated[str, typer.Argument(metavar="TEXT", help="The input text.")],
    mode: Annotated[str, typer.Option("--mode", "-m", metavar="MODE", help="Execution mode: eco (local backends) "
                                      "or fast (remote API backends).")] = "eco",
    safety: Annotated[str, typer.Option("--safety", metavar="LEVEL",
                                        help="Safety level: kids, youth, adult or off.")] = "kids",
    user: Annotated[str, typer.Option("--user", metavar="USER", help="User id recorded with the run.")] = "anonymous",
    base_path: BasePath = Path("."),
    store_url: StoreUrl = None,
    database: DatabaseUrl = None,
    configs: ConfigDirs = None,
    server: Server = None,
    token: Token = None,
    here: Annotated[bool, typer.Option(
        "--here", help="Run the pipeline in this process (with this machine's backends) also when a server is "
                       "named: the run is then recorded through that server, as by a worker that shares no store "
                       "with it.")] = False,
) -> None:
    """Run a pipeline and record it, with a live progress bar; prints the output, the run id and where it is.

    With --server URL the server runs it, and its events are followed; with --here as well, it runs here and is
    recorded through the server.
    Exit code: 0 completed, 10 failed, 11 blocked, 12 cancelled (see docs/CLI.md).

    Example: pipeline-recorder run stillepost "Ein kleiner Hund spielt im Garten" --mode eco --safety kids
    """
    with reported(api_terms=True):
        from ..runner.pipeline import EXECUTION_MODES, validate_run_settings
        from ..runner.safety import SAFETY_LEVELS

        check_choice("--mode", mode, EXECUTION_MODES)
        check_choice("--safety", safety, SAFETY_LEVELS)
        if not input_text.strip():
            raise ValidationError("TEXT must not be empty: give the input text after CONFIG")
        validate_run_settings(mode, safety, input_text)  # the runner's own rules, also before asking a server
        from .local_run import run_locally

        if server is not None and not here:
            with ServerClient(server, token) as client:
                answer = client.execute(config, input_text, mode, safety, user)
                run_id = str(answer["run_id"])
                console().print(f"run {run_id} started on {client.url}", highlight=False)
                status = show_events(client.events(run_id), console())
                where = _server_result(client, run_id, status)
        elif server is not None:
            # The runner records through the server named by PIPELINE_RECORDER_SERVER (registry.open_recorder).
            os.environ[SERVER_ENV] = server
            if token:
                os.environ[TOKEN_ENV] = token
            with ServerClient(server, token) as client:
                unused = open_cli_store(base_path, None, None)  # the runner records remotely, not here
                run_id, status = run_locally(config, input_text, mode, safety, user, unused, configs or [],
                                             client.events)
                where = _server_result(client, run_id, status)
        else:
            with contextlib.closing(open_cli_store(base_path, store_url, database)) as store:
                run_id, status = run_locally(config, input_text, mode, safety, user, store, configs or [],
                                             lambda run_id: _store_events(store, run_id))
                where = f"{where_label(store, run_id)}: {store.location(run_id)}"
                _local_result(store, run_id)
    _finish(run_id, status, where)
