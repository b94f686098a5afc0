"""Who writes a run, and whether that process still lives.

A run records its owner: pid, host, the machine's boot id and the process's start time. A reader on the same host
decides that the owner is gone when the boot id differs (the machine restarted), the pid no longer exists, or the
pid now belongs to a process that started at another time (pid reuse). Owners on other hosts are assumed alive.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from typing import Any


@cache
def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and ')', so split after its last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return int(fields[19])


def current_owner() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "boot_id": boot_id(), "start_ticks": process_start_ticks(pid)}


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
