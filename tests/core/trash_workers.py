"""A process the trash's crash tests kill at an arbitrary moment, opening the store by its URL (any store):

    python trash_workers.py cycle URL RUN_ID...   forever: move each run to the trash and back, saying each move
    python trash_workers.py purge URL RUN_ID...   purge each trashed run, saying each
"""

from __future__ import annotations

import sys

from pipeline_recorder.stores import open_store


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cycle(url: str, *run_ids: str) -> None:
    store = open_store(url)
    while True:
        for run_id in run_ids:
            store.trash_run(run_id)
            say(f"trashed {run_id}")
            store.restore_run(run_id)
            say(f"restored {run_id}")


def purge(url: str, *run_ids: str) -> None:
    store = open_store(url)
    for run_id in run_ids:
        say(f"purging {run_id}")
        store.purge_trashed(run_id)


if __name__ == "__main__":
    {"cycle": cycle, "purge": purge}[sys.argv[1]](*sys.argv[2:])
