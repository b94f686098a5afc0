"""The PostgreSQL side of the shared store: a pool of connections, the one mapping of its errors, and the listener
that turns NOTIFY messages from any machine into wake-ups of this process's followers.

A connection is checked before it is handed out (one short round trip), so after the database restarts the first
request gets a fresh connection instead of a dead one: service resumes by itself. While the database cannot be
reached, every call fails within seconds with a StorageError saying so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ...errors import StorageError
from .migrations import migrate

log = logging.getLogger(__name__)

CHANNEL = "pipeline_recorder_runs"  # NOTIFY payload: "{run_id} {revision}"
_CONNECT_TIMEOUT = 3  # seconds: an unreachable database is reported, not waited for
_GETCONN_TIMEOUT = 5.0


@contextlib.contextmanager
def database_errors(what: str) -> Iterator[None]:
    """Turn the database's failures into a StorageError that says what could not be done and why."""
    try:
        yield
    except PoolTimeout as exc:
        raise StorageError(0, f"could not {what}: the database cannot be reached (no connection within "
                              f"{_GETCONN_TIMEOUT:.0f} s)") from exc
    except psycopg.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StorageError(0, f"could not {what}: the database failed ({first_line[:300]})") from exc
    except psycopg.InterfaceError as exc:
        raise StorageError(0, f"could not {what}: the database connection was lost ({exc})") from exc


class Database:
    """A connection pool to one database, migrated to the newest schema when it is opened."""

    def __init__(self, url: str, *, max_size: int = 16) -> None:
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, timeout=_GETCONN_TIMEOUT,
                                   kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT,
                                           # Which process a connection serves, for operators (pg_stat_activity).
                                           "application_name": f"pipeline-recorder {os.getpid()}"},
                                   check=ConnectionPool.check_connection, name="pipeline-recorder")
        with database_errors("open the database"):
            # Connect once up front so that a wrong URL or a database that is down is reported here.
            with psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as conn:
                migrate(conn)
            self.pool.open(wait=False)

    @contextlib.contextmanager
    def connection(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit; open a transaction with ``conn.transaction()``)."""
        with database_errors(what), self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self.pool.close()


class Listener:
    """One LISTEN connection per process: calls ``on_change(run_id, revision)`` for every NOTIFY of CHANNEL, from
    its own thread. When the connection is lost it reconnects (every half second to two seconds) and then calls
    ``on_change(None, 0)`` once: a change may have been missed, and followers read again."""

    def __init__(self, url: str, on_change: Callable[[str | None, int], None]) -> None:
        self._url = url
        self._on_change = on_change
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="pipeline-recorder-listen", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Whether the LISTEN is in place (notifications from now on are seen)."""
        return self._ready.wait(timeout)

    def _run(self) -> None:
        delay = 0.5
        missed = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT,
                                     application_name=f"pipeline-recorder {os.getpid()} listen") as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    delay = 0.5
                    if missed:
                        self._on_change(None, 0)
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            self._dispatch(notify.payload)
            except (psycopg.Error, OSError) as exc:
                if self._stop.is_set():
                    return
                self._ready.clear()
                missed = True
                log.warning("the database's change notifications were lost (%s); reconnecting", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)
            finally:
                self._conn = None

    def _dispatch(self, payload: str) -> None:
        run_id, _, revision = payload.partition(" ")
        try:
            number = int(revision)
        except ValueError:
            return  # not one of ours
        try:
            self._on_change(run_id, number)
        except Exception:  # a follower's failure must not end the listener for all others
            log.exception("a change follower failed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
