"""Processes the Store contract tests start, each opening the store by its URL (any store implementation):

    python store_workers.py hold URL RUN_ID      in a transaction: set step "held", say "holding", wait for a line
                                                   on stdin, commit, say "released"
    python store_workers.py enter URL RUN_ID     say "trying", enter a transaction, print the step it saw
    python store_workers.py key URL RUN_ID KEY   claim the Idempotency-Key, record an intent, say "holding", wait
                                                   for a line on stdin, record the answer {"by": pid}, say "released"
"""

from __future__ import annotations

import json
import os
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


def key(url: str, run_id: str, name: str) -> None:
    with open_store(url).idempotency().claim(run_id, name, "fingerprint") as claim:
        claim.begin({"after": 0, "type": "input", "metadata": {}})
        say("holding")
        sys.stdin.readline()
        claim.finish(201, {"by": os.getpid()})
    say("released")


if __name__ == "__main__":
    {"hold": hold, "enter": enter, "key": key}[sys.argv[1]](*sys.argv[2:])
