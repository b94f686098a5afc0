"""The shared store: runs as objects in an S3-protocol bucket, coordinated by PostgreSQL, for many machines.

- ``config``: the ``s3://bucket/prefix`` URL and the database URL, checked.
- ``objects``: the bucket (obstore): puts, streamed multipart puts, Range reads, listing; its errors mapped.
- ``migrations``: the database schema, created and changed by numbered migrations.
- ``database``: the connection pool, the mapping of database errors, the LISTEN connection.
- ``runs``: creating runs, reading documents incrementally, recording a commit, leases.
- ``transaction``: the per-run transaction (row lock, sequence claim, conditional metadata.json put, commit).
- ``staging``: entity bytes hashed (large streams uploaded in parts) before the transaction.
- ``listing``: newest-first listings with the folder index's filters and cursors.
- ``changes``: followers woken by NOTIFY from any machine.
- ``leases``: the thread renewing this process's leases.
- ``store``: ``SharedStore``, the Store implementation callers open (``open_store("s3://...")``).
"""

from .config import DATABASE_URL_ENV, SharedStoreConfig, is_shared_store_url, parse_store_url
from .store import SharedStore, open_shared_store

__all__ = ["DATABASE_URL_ENV", "SharedStore", "SharedStoreConfig", "is_shared_store_url", "open_shared_store",
           "parse_store_url"]
