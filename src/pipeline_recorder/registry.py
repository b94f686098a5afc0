"""The process-wide registry behind ``get_recorder`` and ``load_recorder``: thread-safe and bounded (LRU)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

from .errors import RunNotFoundError
from .naming import validate_run_id
from .recorder import LivePipelineRecorder
from .store import RunStore

MAX_RECORDERS = 256

_lock = threading.Lock()
_recorders: OrderedDict[tuple[str, str], LivePipelineRecorder] = OrderedDict()


def _key(run_id: str, base_path: str | os.PathLike[str] | None) -> tuple[str, str]:
    return str(RunStore(base_path).runs_dir), validate_run_id(run_id)


def _remember(key: tuple[str, str], recorder: LivePipelineRecorder) -> LivePipelineRecorder:
    _recorders[key] = recorder
    _recorders.move_to_end(key)
    while len(_recorders) > MAX_RECORDERS:
        _, evicted = _recorders.popitem(last=False)
        evicted.close()
    return recorder


def get_recorder(
    run_id: str,
    config_name: str = "default",
    execution_mode: str = "eco",
    safety_level: str = "kids",
    user_id: str = "anonymous",
    base_path: str | os.PathLike[str] | None = None,
    *,
    expected_outputs: Sequence[str] | None = None,
) -> LivePipelineRecorder:
    """The live recorder of ``run_id``: the one this process already has, else a new one (creating the run)."""
    key = _key(run_id, base_path)
    with _lock:
        recorder = _recorders.get(key)
        if recorder is None:
            recorder = LivePipelineRecorder(run_id, config_name, execution_mode, safety_level, user_id, base_path,
                                            expected_outputs=expected_outputs)
        return _remember(key, recorder)


def load_recorder(run_id: str, base_path: str | os.PathLike[str] | None = None) -> LivePipelineRecorder | None:
    """A recorder for a run on disk, or None if there is no such run. Never writes to disk."""
    key = _key(run_id, base_path)
    with _lock:
        recorder = _recorders.get(key)
        if recorder is None:
            try:
                recorder = LivePipelineRecorder.open(run_id, base_path)
            except RunNotFoundError:
                return None
        return _remember(key, recorder)


def registry_size() -> int:
    with _lock:
        return len(_recorders)


def clear_registry() -> None:
    with _lock:
        while _recorders:
            _recorders.popitem()[1].close()
