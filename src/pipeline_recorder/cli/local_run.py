"""``run`` in this process: the pipeline runs in a thread, recorded into a store (a folder, ``--store URL``) or
through a recorder server (``--here`` with a server), and the terminal follows the run exactly as ``watch`` does
(the store's change feed, or the server's events), so both show the same thing. Ctrl-C asks the pipeline to stop
at the next stage boundary (the run ends ``cancelled``); a second Ctrl-C leaves at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..events import Event
from ..naming import new_run_id
from ..runner.configs import ConfigCatalog
from ..runner.pipeline import RunEvent, RunOutcome, run_pipeline, validate_run_settings
from ..stores.base import Store
from .display import console, show_events


class _Worker(threading.Thread):
    """Runs one pipeline and remembers how it ended (or the error that kept it from starting)."""

    def __init__(self, **arguments: object) -> None:
        super().__init__(name="pipeline", daemon=True)
        self.arguments = arguments
        self.started_run = threading.Event()
        self.outcome: RunOutcome | None = None
        self.error: BaseException | None = None

    def progress(self, event: RunEvent) -> None:
        self.started_run.set()

    def run(self) -> None:
        try:
            self.outcome = run_pipeline(progress=self.progress, **self.arguments)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the main thread, which reports it
            self.error = exc
        finally:
            self.started_run.set()


def run_locally(config_name: str, input_text: str, mode: str, safety: str, user: str, store: Store,
                config_dirs: Sequence[Path], follow: Callable[[str], Iterator[Event]]) -> tuple[str, str | None]:
    """Run the pipeline here, recorded into ``store`` (or through the server of PIPELINE_RECORDER_SERVER, when
    set), while showing its progress from ``follow(run_id)`` (the run's events); returns (run id, final status)."""
    config = ConfigCatalog(config_dirs).get(config_name)
    validate_run_settings(mode, safety, input_text)  # bad settings: an error, and no run is recorded
    run_id = new_run_id()  # made once, here: the pipeline records under this id and we follow the same one
    cancel = threading.Event()
    worker = _Worker(config=config, input_text=input_text, execution_mode=mode, safety_level=safety,
                     base_path=store, user_id=user, run_id=run_id, cancel_event=cancel)
    worker.start()
    out = console()
    status: str | None = None
    while True:
        try:
            worker.started_run.wait()
            if worker.error is not None:
                raise worker.error
            out.print(f"run {run_id} started", highlight=False)
            status = show_events(follow(run_id), out)
            break
        except KeyboardInterrupt:
            if cancel.is_set():
                raise
            cancel.set()
            out.print("cancelling at the next stage boundary (Ctrl-C again to leave at once)", highlight=False)
    worker.join()
    if worker.error is not None:
        raise worker.error
    outcome = worker.outcome
    assert outcome is not None
    if outcome.error and outcome.status != "completed":
        out.print(f"reason: {outcome.error}", highlight=False)
    return run_id, status or outcome.status
