"""Whether a file is open anywhere but here: the kernel's answer, through a write lease that is taken and let go.

Linux grants a write lease (``fcntl(F_SETLEASE, F_WRLCK)``) on a file only when no other open file description of
it exists, in any process: no reader in the middle of a read, no ``less`` left open, no mapping. Asking for one and
letting it go at once is therefore an exact test that nobody else holds the file -- what the folder store needs
before it changes a file in place that readers may once have opened (``stores/folder_document.py``).

A lease is broken by anyone who opens the file while it is held, and the kernel tells the holder by a signal. It is
held for two system calls only, and the only name of a file we ask about is a helper name of our own; still, the
signal is set to SIGURG, whose default is to be ignored, instead of SIGIO, whose default ends the process. Where
leases are unknown or refused (another file system, ``fs.leases-enable = 0``, a file owned by someone else), the
answer is "held": callers then take the way that needs no answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import signal

# Python's fcntl module names F_SETSIG only on some builds; the number is Linux's.
_F_SETSIG = getattr(fcntl, "F_SETSIG", 10)
_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)


def prepare(fd: int) -> bool:
    """Make ``fd`` fit to ask about: a broken lease is told with SIGURG (ignored by default). False where leases
    cannot be used at all."""
    try:
        fcntl.fcntl(fd, _F_SETSIG, signal.SIGURG)
    except OSError:
        return False
    return True


def held_elsewhere(fd: int) -> bool:
    """True unless the kernel confirms that no open file description of ``fd``'s file exists but ``fd``'s own
    (``fd`` must be open for writing and ``prepare``d)."""
    try:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_WRLCK)
    except OSError:  # EAGAIN: open elsewhere (or for writing twice); anything else: no leases here
        return True
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
    return False
