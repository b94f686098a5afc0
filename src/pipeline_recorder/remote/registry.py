"""``get_recorder`` with ``PIPELINE_RECORDER_SERVER`` set: one RemoteRecorder per run and process, so that a host
app moves its recording to a central server with one environment variable (token: ``PIPELINE_RECORDER_TOKEN``)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

from ..naming import validate_run_id
from ..registry import SERVER_ENV
from .recorder import RemoteRecorder

TOKEN_ENV = "PIPELINE_RECORDER_TOKEN"
MAX_REMOTE_RECORDERS = 256

_lock = threading.Lock()
_recorders: OrderedDict[tuple[str, str], RemoteRecorder] = OrderedDict()


def remote_recorder(run_id: str, settings: dict[str, str], expected_outputs: Sequence[str] | None = None,
                    grouping: dict[str, str | None] | None = None) -> RemoteRecorder:
    """The RemoteRecorder of ``run_id`` for the server of ``PIPELINE_RECORDER_SERVER`` (made on first use; the
    server attaches to the run when it exists with the same settings, RunExistsError otherwise)."""
    server = os.environ[SERVER_ENV]
    key = (server, validate_run_id(run_id))
    with _lock:
        recorder = _recorders.get(key)
        if recorder is not None:
            _recorders.move_to_end(key)
            return recorder
    recorder = RemoteRecorder(server, run_id, settings["config_name"], settings["execution_mode"],
                              settings["safety_level"], settings["user_id"], token=os.environ.get(TOKEN_ENV) or None,
                              expected_outputs=expected_outputs, kind=(grouping or {}).get("kind"),
                              session_id=(grouping or {}).get("session_id"),
                              device_id=(grouping or {}).get("device_id"))
    evicted = []
    with _lock:
        existing = _recorders.get(key)
        if existing is not None:
            evicted.append(recorder)
            recorder = existing
        else:
            _recorders[key] = recorder
        while len(_recorders) > MAX_REMOTE_RECORDERS:
            evicted.append(_recorders.popitem(last=False)[1])
    for old in evicted:
        old.close()
    return recorder
