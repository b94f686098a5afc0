"""The registry behind ``get_recorder`` and ``load_recorder``: thread-safe and bounded (LRU); an object
(``RecorderRegistry``), of which the process has a default one for the library's functions. Whatever else keeps
live recorders owns its registry: each HTTP app has its own (``http.writes.Writes.registry``), so two apps in one
process, or an app and its host program, never share recorders.

At most MAX_RECORDERS recorders, holding at most MAX_CACHED_ENTITIES entity records between them, are kept; the
least recently used are dropped (and their lock files closed) when a new one comes in. A dropped recorder still
works for whoever holds it, and asking again gives an equivalent one: the run's state lives on disk, not in the
registry. Disk I/O happens outside the registry's lock, so a slow disk for one run never stalls lookups of others.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .errors import RunNotFoundError
from .held import count, take_all
from .naming import validate_run_id
from .recorder import LivePipelineRecorder
from .stores import Store, store_for

if TYPE_CHECKING:
    from .remote.recorder import RemoteRecorder

MAX_RECORDERS = 256
# Recorders keep their run's entity list in memory (~1.5 KB per entity); a few huge runs must not hold gigabytes.
MAX_CACHED_ENTITIES = 200_000
# Settings of a run that get_recorder creates when the caller names none.
# Set, get_recorder records into that recorder server (remote/registry.py) instead of the local store.
SERVER_ENV = "PIPELINE_RECORDER_SERVER"
DEFAULT_SETTINGS = {"config_name": "default", "execution_mode": "eco", "safety_level": "kids", "user_id": "anonymous"}

Key = tuple[str, str]


class RecorderRegistry:
    """A bounded, thread-safe set of live recorders, one per (store, run). ``get_recorder`` and ``load_recorder``
    use the process's default one; an app that wants its own (tests, two apps in one process) makes another.
    Bounds left None follow the module's MAX_RECORDERS and MAX_CACHED_ENTITIES."""

    def __init__(self, max_recorders: int | None = None, max_entities: int | None = None) -> None:
        self._lock = threading.Lock()
        self._recorders: OrderedDict[Key, LivePipelineRecorder] = OrderedDict()
        self._max_recorders = max_recorders
        self._max_entities = max_entities

    def _bounds(self) -> tuple[int, int]:
        return (MAX_RECORDERS if self._max_recorders is None else self._max_recorders,
                MAX_CACHED_ENTITIES if self._max_entities is None else self._max_entities)

    def _cached(self, key: Key) -> LivePipelineRecorder | None:
        """The registered recorder of a run that is still stored; forgets one whose run was deleted."""
        with self._lock:
            recorder = self._recorders.get(key)
            if recorder is not None:
                self._recorders.move_to_end(key)
        if recorder is not None and not recorder.exists():
            with self._lock:
                if self._recorders.get(key) is recorder:
                    del self._recorders[key]
            recorder.close()
            return None
        return recorder

    def _remember(self, key: Key, recorder: LivePipelineRecorder) -> LivePipelineRecorder:
        """Register ``recorder`` unless another thread registered one for the run meanwhile (then return that)."""
        evicted: list[LivePipelineRecorder] = []
        max_recorders, max_entities = self._bounds()
        with self._lock:
            existing = self._recorders.get(key)
            if existing is not None and existing is not recorder:
                self._recorders.move_to_end(key)
                winner = existing
            else:
                self._recorders[key] = recorder
                self._recorders.move_to_end(key)
                winner = recorder
            cached = sum(r.cached_entity_count() for r in self._recorders.values())
            while len(self._recorders) > max_recorders or (cached > max_entities and len(self._recorders) > 1):
                dropped = self._recorders.popitem(last=False)[1]
                cached -= dropped.cached_entity_count()
                evicted.append(dropped)
        if winner is not recorder:
            recorder.close()
        for old in evicted:
            old.close()
        return winner

    def get(self, run_id: str, store: Store, given: dict[str, str | None],
            expected_outputs: Sequence[str] | None = None,
            grouping: dict[str, str | None] | None = None) -> LivePipelineRecorder:
        """The live recorder of the run: registered, else opened, else created (see ``get_recorder``);
        ``grouping`` its kind, session_id and device_id (None: not given)."""
        named: dict[str, str] = {name: value for name, value in (grouping or {}).items() if value is not None}
        recorder = self.load(run_id, store)
        if recorder is None:
            settings = {name: value if value is not None else DEFAULT_SETTINGS[name] for name, value in given.items()}
            created = LivePipelineRecorder(run_id, settings["config_name"], settings["execution_mode"],
                                           settings["safety_level"], settings["user_id"], store,
                                           expected_outputs=expected_outputs, kind=named.get("kind"),
                                           session_id=named.get("session_id"), device_id=named.get("device_id"))
            recorder = self._remember((store.url, run_id), created)
        recorder.require_settings({**{name: value for name, value in given.items() if value is not None}, **named})
        return recorder

    def load(self, run_id: str, store: Store) -> LivePipelineRecorder | None:
        """A recorder for a stored run, or None (see ``load_recorder``)."""
        key = (store.url, validate_run_id(run_id))
        recorder = self._cached(key)
        if recorder is None:
            try:
                recorder = LivePipelineRecorder.open(run_id, store)
            except RunNotFoundError:
                return None
        return self._remember(key, recorder)

    def size(self) -> int:
        return count(self._lock, self._recorders)

    def clear(self) -> None:
        """Forget every registered recorder and close what they hold open."""
        for recorder in take_all(self._lock, self._recorders):
            recorder.close()


DEFAULT_REGISTRY = RecorderRegistry()
P = ParamSpec("P")
T = TypeVar("T")


def _parameters_of(model: Callable[P, object]) -> Callable[[Callable[..., T]], Callable[P, T]]:
    """Type ``function`` as taking ``model``'s parameters (its one written list), for a function that binds them
    to that signature itself."""

    def typed(function: Callable[..., T]) -> Callable[P, T]:
        return function

    return typed


# get_recorder takes the recorder's parameters but ``lazy`` (a registered recorder is one that stores its run).
_GET_RECORDER = inspect.signature(LivePipelineRecorder).replace(return_annotation=LivePipelineRecorder)
_GET_RECORDER = _GET_RECORDER.replace(parameters=[p for p in _GET_RECORDER.parameters.values() if p.name != "lazy"])


@_parameters_of(LivePipelineRecorder)
def get_recorder(*args: Any, **kwargs: Any) -> LivePipelineRecorder:
    """The live recorder of ``run_id``: the one this process has, else the run on disk, else a new run.

    Takes the parameters of ``LivePipelineRecorder`` but ``lazy``: ``get_recorder(run_id, config_name=None,
    execution_mode=None, safety_level=None, user_id=None, base_path=None, *, expected_outputs=None, kind=None,
    session_id=None, device_id=None)``. Settings left out (None) are taken from the existing run, or from
    DEFAULT_SETTINGS for a new one (``kind`` ``"pipeline"``, no session or device). Settings given that differ from
    an existing run's raise RunExistsError, whether or not the recorder was registered.
    """
    arguments = _GET_RECORDER.bind(*args, **kwargs)  # TypeError for anything else, as a written signature gives
    arguments.apply_defaults()
    values = arguments.arguments
    run_id, base_path, expected_outputs = values["run_id"], values["base_path"], values["expected_outputs"]
    given = {name: values[name] for name in ("config_name", "execution_mode", "safety_level", "user_id")}
    grouping = {name: values[name] for name in ("kind", "session_id", "device_id")}
    if os.environ.get(SERVER_ENV):
        from .remote.registry import remote_recorder  # imported here: the local store needs no HTTP client

        named = {name: value if value is not None else DEFAULT_SETTINGS[name] for name, value in given.items()}
        return remote_recorder(run_id, named, expected_outputs, grouping)  # type: ignore[return-value]
    return DEFAULT_REGISTRY.get(run_id, store_for(base_path), given, expected_outputs, grouping)


def open_recorder(run_id: str, config_name: str, execution_mode: str, safety_level: str, user_id: str = "anonymous",
                  base_path: Store | str | os.PathLike[str] | None = None, *,
                  expected_outputs: Sequence[str] | None = None, session_id: str | None = None,
                  device_id: str | None = None) -> LivePipelineRecorder | RemoteRecorder:
    """A recorder of its own (not shared through the registry) for a writer that runs the run, such as the
    pipeline runner: a RemoteRecorder for the server of ``PIPELINE_RECORDER_SERVER`` when it is set (as
    ``get_recorder`` gives), else a local recorder on ``base_path``'s store (a folder, ``s3://...``, a Store)."""
    server = os.environ.get(SERVER_ENV)
    if server:
        from .remote.recorder import RemoteRecorder
        from .remote.registry import TOKEN_ENV

        return RemoteRecorder(server, run_id, config_name, execution_mode, safety_level, user_id,
                              token=os.environ.get(TOKEN_ENV) or None, expected_outputs=expected_outputs,
                              session_id=session_id, device_id=device_id)
    return LivePipelineRecorder(run_id, config_name, execution_mode, safety_level, user_id, base_path,
                                expected_outputs=expected_outputs, session_id=session_id, device_id=device_id)


def load_recorder(run_id: str, base_path: Store | str | os.PathLike[str] | None = None) \
        -> LivePipelineRecorder | None:
    """A recorder for a stored run, or None if there is no such run. Never writes."""
    return DEFAULT_REGISTRY.load(run_id, store_for(base_path))


def registry_size() -> int:
    """How many recorders the default registry holds now (never more than MAX_RECORDERS)."""
    return DEFAULT_REGISTRY.size()


def clear_registry() -> None:
    """Forget every recorder of the default registry and close what they hold open."""
    DEFAULT_REGISTRY.clear()


get_recorder.__signature__ = _GET_RECORDER  # type: ignore[attr-defined]  # help() and IDEs show the parameters
