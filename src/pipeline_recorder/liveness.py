"""Who writes a run, and whether that process still lives.

A run records its owner: pid, host, the machine's boot id and the process's start time. A reader on the same host
decides that the owner is gone when the boot id differs (the machine restarted), the pid no longer exists, is a
zombie (killed, not yet reaped), or now belongs to a process that started at another time (pid reuse). Owners on
other hosts are assumed alive.

``owner`` is the process that last wrote the run; ``writers`` lists the last few distinct writing processes (several
processes may write one run), and the run counts as live while any of them lives.

A writer on another machine, recording through a server, is recorded by its lease id instead (leases.py), and its
liveness is the store's lease (a record without a host is never judged here).
"""

from __future__ import annotations

import os
import socket
from functools import cache
from typing import Any

from . import leases


@cache
def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


MAX_WRITERS = 8
# State letters of /proc/PID/stat for a process that has exited: zombie, dead.
_DEAD_STATES = frozenset({b"Z", b"X", b"x"})


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); None if it is gone.

    A zombie (killed, waiting for its parent to reap it) counts as gone: it will never write again.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and ')', so split after its last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in _DEAD_STATES:
        return None
    return int(fields[19])


_owners: dict[int, dict[str, Any]] = {}


def current_owner() -> dict[str, Any]:
    """This process as an owner record (computed once per process; a forked child gets its own), or the lease of
    the remote writer this thread writes for (leases.writing_as)."""
    lease = leases.current_lease()
    if lease is not None:
        return lease
    pid = os.getpid()
    owner = _owners.get(pid)
    if owner is None:
        owner = {"pid": pid, "host": socket.gethostname(), "boot_id": boot_id(),
                 "start_ticks": process_start_ticks(pid)}
        _owners.clear()
        _owners[pid] = owner
    return dict(owner)


def with_writer(writers: object, owner: dict[str, Any]) -> list[dict[str, Any]]:
    """``writers`` with ``owner`` moved to the end: the last MAX_WRITERS distinct writing processes."""
    listed = writers if isinstance(writers, list) else []
    kept = [w for w in listed if isinstance(w, dict) and not leases.same_writer(w, owner)]
    owner = leases.carry_over(next((w for w in listed if leases.same_writer(w, owner)), None), owner)
    return [*kept, owner][-MAX_WRITERS:]


def run_is_alive(doc: dict[str, Any]) -> bool:
    """False only when it is certain that every recorded writer of the run has died."""
    writers = doc.get("writers")
    if isinstance(writers, list) and writers:
        return any(owner_is_alive(owner) for owner in writers)
    return owner_is_alive(doc.get("owner"))


def owner_is_alive(owner: object) -> bool:
    """False only when it is certain that the recorded owner process has died."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return True
    if owner.get("boot_id") and boot_id() and owner.get("boot_id") != boot_id():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    ticks = process_start_ticks(pid)
    if ticks is None:
        return False
    recorded = owner.get("start_ticks")
    return not (isinstance(recorded, int) and recorded != ticks)
