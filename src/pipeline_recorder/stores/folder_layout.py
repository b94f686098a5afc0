"""The folder store's layout: runs as folders under ``{base_path}/pipeline_runs/{run_id}/``, and its hidden names.

Hidden names start with '.', so they are never runs or entities (no run id or entity name does). In a run folder:
``.lock`` (the run lock, ``locking.py``), ``.metadata.spare`` (the document's version before the current one,
``folder_document.py``), ``.leases.json`` and ``.leases.lock`` (leases of remote writers, ``folder_leases.py``),
``.tmp-*`` (staged content, ``atomic.py``), ``.thumbnails/`` (helper files, ``folder_helpers.py``),
``.idempotency/`` (records of keyed writes, ``idempotency.py``). In ``pipeline_runs/``: the ``.create-*`` folders
new runs are made in and the ``.trash-*`` folders of removed runs (``folder_removal.py``; ``ops/leftovers.py``
finishes what a stopped process left), ``.trash/`` with the runs in the trash (``folder_trash.py``),
``.erasures.jsonl`` (``folder_erasure.py``) and ``.index/`` (the run listing, ``index/``).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_PATH_ENV = "PIPELINE_RECORDER_BASE_PATH"
# Hidden staging folders in pipeline_runs/ where new runs are made before they appear (never run ids: '.').
CREATE_PREFIX = ".create-"
TRASH_PREFIX = ".trash-"
LEASES_FILENAME = ".leases.json"
LEASES_LOCK_FILENAME = ".leases.lock"
ERASURE_LOG = ".erasures.jsonl"  # in pipeline_runs/: one JSON line per erasure (ops/erase.py)


def default_base_path() -> Path:
    return Path(os.environ.get(BASE_PATH_ENV) or ".").absolute()
