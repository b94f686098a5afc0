"""The write routes on the shared store, through several replicas: a retry with the same Idempotency-Key through
another replica answers what the first call answered -- while the first call still runs there, after it answered,
and after the replica that took it was killed -- and the run holds the entity once."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

import httpx
import psycopg
from shared_helpers import Replica

from pipeline_recorder.stores.shared import SharedStore
from support import wait_until

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _create(url: str) -> str:
    answer = httpx.post(f"{url}/api/pipeline/runs", timeout=30,
                        json={"config_name": "stillepost", "execution_mode": "eco", "safety_level": "kids"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


def _polling_for_a_key(shared: SharedStore, replica: Replica) -> bool:
    """Whether the replica is waiting for an Idempotency-Key another call holds: its key connection keeps trying
    the key's advisory lock (which the holder has)."""
    with psycopg.connect(shared.config.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query LIKE "
                           "'SELECT pg_try_advisory_lock%%'", (f"pipeline-recorder {replica.process.pid} keys",)
                           ).fetchone()
    return bool(row and row[0])


def _holds_a_key(shared: SharedStore, replica: Replica) -> bool:
    with psycopg.connect(shared.config.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
                           "l.locktype = 'advisory' AND l.granted AND a.application_name = %s",
                           (f"pipeline-recorder {replica.process.pid} keys",)).fetchone()
    return bool(row and row[0])


def test_a_retry_through_another_replica_while_the_first_call_runs_gets_its_answer(
        shared: SharedStore, replicas: list[Replica]) -> None:
    first_replica, second_replica = replicas[0], replicas[1]
    run_id = _create(first_replica.url)
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield PNG[:8]
        release.wait(60)
        yield PNG[8:]

    headers = {"Content-Type": "application/octet-stream", "Idempotency-Key": "across-replicas",
               "Pipeline-Writer": "worker-1"}
    answers: dict[str, httpx.Response] = {}
    first = threading.Thread(target=lambda: answers.__setitem__("first", httpx.post(
        f"{first_replica.url}/api/pipeline/{run_id}/entity/output_image", content=slow_body(), headers=headers,
        timeout=90)))
    first.start()
    wait_until(lambda: _holds_a_key(shared, first_replica), 60, "the first replica to hold the key")
    retry = threading.Thread(target=lambda: answers.__setitem__("retry", httpx.post(
        f"{second_replica.url}/api/pipeline/{run_id}/entity/output_image", content=PNG, headers=headers,
        timeout=90)))
    retry.start()
    wait_until(lambda: _polling_for_a_key(shared, second_replica), 60, "the second replica to wait for the key")
    release.set()
    first.join(90)
    retry.join(90)
    assert answers["first"].status_code == 201, answers["first"].text
    assert answers["retry"].status_code == 201, answers["retry"].text
    assert answers["retry"].json() == answers["first"].json()
    assert answers["retry"].headers.get("Idempotent-Replayed") == "true"
    assert [e["filename"] for e in shared.read_metadata(run_id)["entities"]] == ["01_output_image.png"]

    # A third call with the key, through the third replica, after the first replica was killed: the same answer.
    os.kill(first_replica.process.pid, signal.SIGKILL)
    first_replica.process.wait(30)
    late = httpx.post(f"{replicas[2].url}/api/pipeline/{run_id}/entity/output_image", content=PNG, headers=headers,
                      timeout=30)
    assert late.status_code == 201 and late.json() == answers["first"].json()
    assert len(shared.read_metadata(run_id)["entities"]) == 1


def test_a_key_held_by_a_killed_replica_is_taken_over_and_stored_once(
        shared: SharedStore, replicas: list[Replica]) -> None:
    doomed, survivor = replicas[0], replicas[1]
    run_id = _create(survivor.url)
    headers = {"Content-Type": "text/plain", "Idempotency-Key": "killed-mid-call", "Pipeline-Writer": "worker-2"}
    stuck = threading.Event()

    def endless() -> Iterator[bytes]:
        yield b"Ein kleiner "
        stuck.wait(60)  # the replica is killed while it waits for the rest
        yield b"Hund"

    caller = threading.Thread(target=lambda: _ignore_errors(lambda: httpx.post(
        f"{doomed.url}/api/pipeline/{run_id}/entity/input", content=endless(), headers=headers, timeout=90)))
    caller.start()
    wait_until(lambda: _holds_a_key(shared, doomed), 60, "the doomed replica to hold the key")
    os.kill(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait(30)
    stuck.set()
    caller.join(90)
    retry = httpx.post(f"{survivor.url}/api/pipeline/{run_id}/entity/input", content=b"Ein kleiner Hund",
                       headers=headers, timeout=60)
    assert retry.status_code == 201, retry.text
    again = httpx.post(f"{survivor.url}/api/pipeline/{run_id}/entity/input", content=b"Ein kleiner Hund",
                       headers=headers, timeout=60)
    assert again.json() == retry.json() and again.headers.get("Idempotent-Replayed") == "true"
    doc = shared.read_metadata(run_id)
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt"]


def _ignore_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the replica it talked to was killed
        call()
