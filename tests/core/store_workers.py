"""Processes the Store contract tests start, each opening the store by its URL (any store implementation):

    python store_workers.py hold URL RUN_ID      in a transaction: set step "held", say "holding", wait for a line
                                                   on stdin, commit, say "released"
    python store_workers.py enter URL RUN_ID     say "trying", enter a transaction, print the step it saw
"""

from __future__ import annotations

import json
import sys

from pipeline_recorder.stores import open_store


def say(out: object) -> None:
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def hold(url: str, run_id: str) -> None:
    writer = open_store(url).writer(run_id)
    with writer.transaction() as txn:
        assert txn.document is not None
        txn.document.header["current_state"]["step"] = "held"
        txn.document.header["revision"] += 1
        say("holding")
        sys.stdin.readline()
        txn.replace_document()
    say("released")


def enter(url: str, run_id: str) -> None:
    writer = open_store(url).writer(run_id)
    say("trying")
    with writer.transaction() as txn:
        assert txn.document is not None
        say(txn.document.header["current_state"]["step"])


if __name__ == "__main__":
    {"hold": hold, "enter": enter}[sys.argv[1]](*sys.argv[2:])
