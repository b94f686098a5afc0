"""RunIndex: an embedded SQLite index of the runs in a store, for listing and filtering at scale.

The run folders stay the source of truth; the index is a cache of one summary row per run that is rebuilt from
them when it is missing, corrupt or of another schema version, and kept fresh without reading 100,000 folders
per request::

    index = RunIndex(FolderStore(base_path))
    runs, next_cursor = index.query(status="completed", limit=50)
    more, _ = index.query(status="completed", cursor=next_cursor)

Several processes may share one index (WAL mode, a busy timeout; folder scans are serialised by a lock file so a
cold rebuild is done once). A run folder that cannot be read is skipped, never an error of the listing. When the
index file cannot be written (a read-only store), the index lives in memory for this process.

The modules, each one concern:

- ``runindex``: ``RunIndex`` (listings and counts) and ``iter_all``.
- ``query``: the listing's filters, page size and cursor, checked and turned into SQL (pure).
- ``search``: full-text search (``q``): the words a run is found by, for both stores, and the FTS5 tables.
- ``freshness``: keeping the index in step with the folders (events, scans, rechecks, sweeps); how fresh a
  listing is, is told in its docstring.
- ``inotify``: new and vanished run folders, from the kernel.
- ``summaries``: one run folder read into its summary row, and the signatures that tell when to read it again.
- ``schema``: the SQLite file: tables, schema version, opening, and recovery when it is corrupt or read-only.
"""

from ..runformat import SUMMARY_KEYS
from .query import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from .runindex import RunIndex, iter_all
from .schema import INDEX_DIRNAME, INDEX_FILENAME
from .summaries import timestamp_us

__all__ = ["DEFAULT_LIMIT", "INDEX_DIRNAME", "INDEX_FILENAME", "MAX_LIMIT", "SUMMARY_KEYS", "RunIndex",
           "decode_cursor", "encode_cursor", "iter_all", "timestamp_us"]
