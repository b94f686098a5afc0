"""Retention per kind or session (``gc --kind`` / ``--session``), once per store: only the runs of that kind or
session are chosen, every other rule applies within them, and running runs are never chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.errors import ValidationError
from pipeline_recorder.ops.retention import GcRules, plan_gc, remove_run
from pipeline_recorder.stores import Store


def recorded(store: Store, *, kind: str | None = None, session: str | None = None, finish: bool = True) -> str:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
    rec.save_entity("input", "Hallo")
    with store.writer(rec.run_id).transaction() as txn:  # the fields as a host records them
        assert txn.document is not None
        if kind is not None:
            txn.document.header["kind"] = kind
        if session is not None:
            txn.document.header["session_id"] = session
        txn.document.header["revision"] += 1
        txn.replace_document()
    if finish:
        rec.mark_complete()
    return rec.run_id


def chosen(store: Store, **rules: object) -> set[str]:
    return {d.run_id for d in plan_gc(store, GcRules(**rules),  # type: ignore[arg-type]
                                            now=datetime.now(UTC) + timedelta(days=31)).remove}


def test_gc_per_kind_chooses_only_that_kind_and_applies_the_age_within_it(any_store: Store) -> None:
    classroom = [recorded(any_store, kind="classroom") for _ in range(2)]
    plain = recorded(any_store)
    running = recorded(any_store, kind="classroom", finish=False)
    assert chosen(any_store, kind="classroom", older_than=timedelta(days=30)) == set(classroom)
    assert chosen(any_store, kind="pipeline", older_than=timedelta(days=30)) == {plain}
    assert chosen(any_store, kind="classroom", older_than=timedelta(days=60)) == set()
    # the running run is the newest of the kind: it counts among the kept ones (and is never chosen anyway)
    assert chosen(any_store, kind="classroom", keep_last=1) == set(classroom)
    assert chosen(any_store, kind="classroom", keep_last=2) == {classroom[0]}  # the newer finished one is kept
    for run_id in chosen(any_store, kind="classroom"):
        assert remove_run(any_store, run_id)
    assert {any_store.run_exists(r) for r in classroom} == {False}
    assert any_store.run_exists(plain) and any_store.run_exists(running)


def test_gc_per_session_chooses_only_that_sessions_runs(any_store: Store) -> None:
    session = [recorded(any_store, session="class-4b") for _ in range(2)]
    recorded(any_store, session="class-4c")
    recorded(any_store)
    assert chosen(any_store, session_id="class-4b") == set(session)
    assert chosen(any_store, session_id="class-4b", kind="classroom") == set()


def test_gc_without_any_rule_is_refused_saying_which_rules_exist(any_store: Store) -> None:
    with pytest.raises(ValidationError, match="--kind"):
        plan_gc(any_store, GcRules(), now=datetime.now(UTC))
