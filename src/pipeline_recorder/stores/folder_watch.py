"""Change notifications for the folder store: one watcher thread per watched run folder, shared by every
subscriber of that run, so a hundred followers of one run cost one watch.

The watcher is ``watchfiles`` (the Rust ``notify`` crate: inotify on Linux). Its public ``watch()`` generator
starts a watcher per call and cannot hand back "watch is in place" before the first change, so the one class this
module takes from it is its engine, ``RustNotify``, behind ``FolderNotifier`` -- the only code that knows its
positional arguments.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles._rust_notify import RustNotify

from ..held import count, take_all
from ..naming import METADATA_FILENAME

# Report a change once nothing else changed for STEP_MS (latency), grouping changes for at most DEBOUNCE_MS.
STEP_MS = 5
DEBOUNCE_MS = 20
# How long one wait lasts before the thread looks at its stop flag again (it also wakes at once on stop).
WAIT_MS = 1000


class FolderNotifier:
    """Kernel notifications of one folder (not its subfolders): ``wait`` returns the names that changed."""

    def __init__(self, folder: Path) -> None:
        self._notify = RustNotify(
            [str(folder)],
            False,  # debug: no event dump on stderr
            False,  # force_polling: use inotify, never poll
            50,  # poll_delay_ms: only used when polling
            False,  # recursive: the run folder alone, no subfolders
            True,  # ignore_permission_denied: an unreadable entry must not kill the watch
        )

    def wait(self, stop: threading.Event) -> set[str]:
        """The base names that changed within WAIT_MS (empty on a timeout or when ``stop`` is set)."""
        changes = self._notify.watch(DEBOUNCE_MS, STEP_MS, WAIT_MS, stop)
        return {os.path.basename(path) for _, path in changes} if isinstance(changes, set) else set()

    def close(self) -> None:
        self._notify.close()


class _FolderWatch:
    """One notifier on one run folder, waking every subscriber when metadata.json is replaced."""

    def __init__(self, folder: Path, on_end: Callable[[_FolderWatch], None]) -> None:
        self.folder = folder
        self.subscribers: set[Callable[[], None]] = set()
        self._stop = threading.Event()
        self._on_end = on_end
        # Created here, in the subscriber's thread, so the watch is in place before the subscriber reads the run:
        # nothing written after that read can be missed.
        self._notifier = FolderNotifier(folder)
        self._thread = threading.Thread(target=self._run, name=f"watch-{folder.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if METADATA_FILENAME in self._notifier.wait(self._stop):
                    self.wake()
        except Exception:  # the folder vanished or the watcher failed: followers reread and decide
            self.wake()
        finally:
            self._notifier.close()
            self._on_end(self)

    def wake(self) -> None:
        for wake in list(self.subscribers):
            wake()

    def stop(self) -> None:
        self._stop.set()


class WatchHub:
    """The watchers of one store, one per run folder, started by the first subscriber and stopped after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[Path, _FolderWatch] = {}

    def subscribe(self, folder: Path, wake: Callable[[], None]) -> None:
        with self._lock:
            watch = self._watches.get(folder)
            if watch is None:
                watch = self._watches[folder] = _FolderWatch(folder, self._ended)
            watch.subscribers.add(wake)

    def unsubscribe(self, folder: Path, wake: Callable[[], None]) -> None:
        with self._lock:
            watch = self._watches.get(folder)
            if watch is None:
                return
            watch.subscribers.discard(wake)
            if not watch.subscribers:
                del self._watches[folder]
                watch.stop()

    def _ended(self, watch: _FolderWatch) -> None:
        """A watcher thread ended (stopped, or died on its own: then its subscribers must not wait for it)."""
        with self._lock:
            if self._watches.get(watch.folder) is watch:
                del self._watches[watch.folder]
        watch.wake()

    def active(self) -> int:
        """How many folders are being watched (for tests and diagnostics)."""
        return count(self._lock, self._watches)

    def close(self) -> None:
        for watch in take_all(self._lock, self._watches):
            watch.stop()
