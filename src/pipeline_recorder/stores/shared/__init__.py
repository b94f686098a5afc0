"""The shared store: runs as objects in an S3-protocol bucket, coordinated by PostgreSQL, for many machines.

- ``config``: the ``s3://bucket/prefix`` URL and the database URL, checked.
- ``objects``: the bucket (obstore): puts, streamed multipart puts, Range reads, listing; its errors mapped.
- ``migrations``: the database schema, created and changed by numbered migrations.
- ``database``: the connection pool, the mapping of database errors, the LISTEN connection.
- ``runs``: creating runs, the per-run transaction (sequence claim, conditional metadata.json put, commit),
  reading documents incrementally, leases.
- ``content``: entity content encoded and hashed (large streams staged in parts) before the transaction.
- ``listing``: newest-first listings with the folder index's filters and cursors.
- ``changes``: followers woken by NOTIFY from any machine.
- ``leases``: the thread renewing this process's leases.
- ``store`` and ``recorder``: ``SharedStore`` and ``SharedRecorder``, what callers use.
"""

from .config import DATABASE_URL_ENV, SharedStoreConfig, is_shared_store_url, parse_store_url
from .recorder import SharedRecorder
from .store import DEFAULT_LEASE_SECONDS, SharedStore

__all__ = ["DATABASE_URL_ENV", "DEFAULT_LEASE_SECONDS", "SharedRecorder", "SharedStore", "SharedStoreConfig",
           "is_shared_store_url", "parse_store_url"]
