"""Recording into a recorder server from another machine: ``RemoteRecorder`` (recorder.py), the retried,
idempotent sending of each write (transport.py) and the offline spool (spool.py)."""

from .recorder import RemoteRecorder
from .spool import RunSpool, default_spool_root

__all__ = ["RemoteRecorder", "RunSpool", "default_spool_root"]
