"""The store's idempotency ledger (``Store.idempotency()``), on every kind of store: a keyed write's answer and
intent are kept for any process of the store, one call per key at a time across processes, a killed holder frees
its key, and the records go with their run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.idempotency import IdempotencyBusyError, IdempotencyKeyReusedError
from pipeline_recorder.stores import Store

WORKERS = Path(__file__).with_name("store_workers.py")


def _run(store: Store) -> str:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
    rec.save_entity("input", "x")
    return rec.run_id


def _holder(store: Store, run_id: str, key: str) -> subprocess.Popen[str]:
    """A process that holds ``key`` (with an intent recorded) until it is given a line."""
    process = subprocess.Popen([sys.executable, str(WORKERS), "key", store.url, run_id, key], text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert json.loads(process.stdout.readline()) == "holding"
    return process


def test_an_answer_is_given_again_to_every_later_call_with_the_key(any_store: Store) -> None:
    run_id = _run(any_store)
    ledger = any_store.idempotency()
    with ledger.claim(run_id, "key-1", "fp") as claim:
        assert claim.answer is None and claim.intent is None
        claim.finish(201, {"entity": {"sequence": 2}})
    with ledger.claim(run_id, "key-1", "fp") as again:
        assert again.answer is not None
        assert (again.answer.status, again.answer.body) == (201, {"entity": {"sequence": 2}})
    with ledger.claim(run_id, "key-2", "fp") as other:
        assert other.answer is None
    with pytest.raises(IdempotencyKeyReusedError), ledger.claim(run_id, "key-1", "another request"):
        pass


def test_a_call_waits_for_the_key_held_by_another_process_and_then_gets_its_answer(any_store: Store) -> None:
    run_id = _run(any_store)
    holder = _holder(any_store, run_id, "shared-key")
    ledger = any_store.idempotency()
    try:
        waited = ledger.wait_seconds
        ledger.wait_seconds = 0.3
        try:
            with pytest.raises(IdempotencyBusyError), ledger.claim(run_id, "shared-key", "fingerprint"):
                pass
        finally:
            ledger.wait_seconds = waited
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        # This claim may start before the holder answered: it waits for the key, then reads the answer.
        with ledger.claim(run_id, "shared-key", "fingerprint") as claim:
            assert claim.answer is not None and claim.answer.body == {"by": holder.pid}
        assert json.loads(holder.stdout.readline()) == "released"
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_frees_its_key_and_leaves_its_intent(any_store: Store) -> None:
    run_id = _run(any_store)
    holder = _holder(any_store, run_id, "killed-key")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with any_store.idempotency().claim(run_id, "killed-key", "fingerprint") as claim:
        assert claim.answer is None
        assert claim.intent == {"after": 0, "type": "input", "metadata": {}}


def test_the_records_go_with_their_run(any_store: Store) -> None:
    run_id = _run(any_store)
    with any_store.idempotency().claim(run_id, "k", "fp") as claim:
        claim.finish(200, {"ok": True})
    any_store.delete_run(run_id)
    LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=any_store).close()
    with any_store.idempotency().claim(run_id, "k", "fp") as fresh:
        assert fresh.answer is None and fresh.intent is None
