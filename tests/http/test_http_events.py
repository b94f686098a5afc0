"""The live event stream (SSE) on both adapters: order, ids, resume, heartbeat, end, interrupted runs."""

from __future__ import annotations

import signal
import subprocess
import sys

from http_runs import metadata, orphaned_run, running_run
from http_servers import Live
from http_sse import SSEReader

from pipeline_recorder import new_run_id
from support import wait_until


def events_url(live: Live, run_id: str) -> str:
    return f"{live.url}/api/pipeline/{run_id}/events"


def test_an_ended_run_streams_its_entities_state_status_then_end_and_closes(live: Live) -> None:
    reader = SSEReader(events_url(live, live.run_id)).start()
    reader.join()
    assert reader.error is None and reader.status == 200
    assert reader.content_type is not None and reader.content_type.startswith("text/event-stream")
    doc = metadata(live.base, live.run_id)
    assert reader.kinds() == ["entity"] * len(doc["entities"]) + ["state", "status", "end"]
    assert [e.data for e in reader.events if e.event == "entity"] == doc["entities"]
    assert reader.events[-3].data == doc["current_state"]
    assert reader.events[-2].data == {"status": "completed"}
    assert reader.events[-1].data == {"status": "completed"}
    ids = [e.id for e in reader.events]
    assert all(isinstance(i, int) for i in ids) and ids == sorted(set(ids))  # type: ignore[type-var]
    assert reader.closed_by_server


def test_entities_saved_while_connected_arrive_in_order_and_end_closes_the_stream(live: Live) -> None:
    rec = running_run(live.base)
    reader = SSEReader(events_url(live, rec.run_id)).start()
    wait_until(lambda: "status" in reader.kinds(), what="the opening events")
    assert reader.events[-1].data == {"status": "running"}
    rec.save_entity("input", "hallo")
    wait_until(lambda: reader.kinds().count("entity") == 1, what="the first entity")
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("translation", "hello")
    rec.mark_complete()
    reader.join()
    assert reader.closed_by_server
    doc = rec.get_status()
    entities = [e.data for e in reader.events if e.event == "entity"]
    assert entities == doc["entities"]
    assert reader.events[-1].event == "end" and reader.events[-1].data == {"status": "completed"}
    assert [e.data for e in reader.events if e.event == "state"][-1] == doc["current_state"]
    ids = [e.id for e in reader.events]
    assert ids == sorted(ids)  # type: ignore[type-var]


def test_reconnecting_with_last_event_id_gets_exactly_what_was_missed(live: Live) -> None:
    rec = running_run(live.base)
    rec.save_entity("input", "one")
    first = SSEReader(events_url(live, rec.run_id)).start()
    wait_until(lambda: "status" in first.kinds(), what="the opening events")
    first.stop()
    last_id = first.events[-1].id
    seen = [e.data["sequence"] for e in first.events if e.event == "entity"]
    rec.save_entity("translation", "two")
    rec.save_entity("translation", "three")
    rec.mark_complete()
    second = SSEReader(events_url(live, rec.run_id), headers={"Last-Event-ID": str(last_id)}).start()
    second.join()
    resumed = [e.data["sequence"] for e in second.events if e.event == "entity"]
    assert seen == [1] and resumed == [2, 3]
    assert all(e.id > last_id for e in second.events)  # type: ignore[operator]
    assert second.kinds()[-1] == "end"
    # Resuming after the last entity sends no entity again, but still ends the stream.
    after_all = SSEReader(events_url(live, rec.run_id), headers={"Last-Event-ID": str(second.events[-1].id)})
    after_all.start().join()
    assert after_all.kinds() == ["end"]


def test_an_idle_stream_sends_heartbeat_comments(live: Live) -> None:
    rec = running_run(live.base)
    reader = SSEReader(events_url(live, rec.run_id)).start()
    wait_until(lambda: reader.comments.count("heartbeat") >= 2, what="two heartbeats")
    assert "entity" not in reader.kinds()
    rec.mark_complete()
    reader.join()
    assert reader.kinds()[-1] == "end"


def test_a_run_whose_writer_died_streams_then_ends_as_interrupted(live: Live) -> None:
    run_id = orphaned_run(live.base)
    reader = SSEReader(events_url(live, run_id)).start()
    reader.join()
    assert reader.kinds() == ["entity", "state", "status", "end"]
    assert reader.events[-1].data == {"status": "interrupted"}


def test_a_follower_sees_the_writer_killed_mid_run_as_interrupted(live: Live) -> None:
    run_id = new_run_id()
    code = ("import sys; from pipeline_recorder import LivePipelineRecorder as R; "
            "r = R(sys.argv[1], 'stillepost', 'eco', 'kids', base_path=sys.argv[2]); "
            "r.save_entity('input', 'x'); print('ready', flush=True); sys.stdin.read()")
    writer = subprocess.Popen([sys.executable, "-c", code, run_id, str(live.base)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        reader = SSEReader(events_url(live, run_id)).start()
        wait_until(lambda: "status" in reader.kinds(), what="the opening events")
        assert reader.events[-1].data == {"status": "running"}
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        reader.join()
        assert reader.events[-1].event == "end" and reader.events[-1].data == {"status": "interrupted"}
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def test_events_of_an_unknown_run_is_a_json_404_and_a_bad_last_event_id_a_400(live: Live) -> None:
    response = live.client.get("/api/pipeline/no-such-run/events")
    assert response.status_code == 404 and "no-such-run" in response.json()["error"]
    bad = live.client.get(f"/api/pipeline/{live.run_id}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]


def test_many_followers_of_one_run_all_get_every_entity(live: Live) -> None:
    rec = running_run(live.base)
    readers = [SSEReader(events_url(live, rec.run_id)).start() for _ in range(8)]
    wait_until(lambda: all("status" in r.kinds() for r in readers), what="all opening events")
    for i in range(5):
        rec.save_entity("translation", f"t{i}")
    rec.mark_complete()
    for reader in readers:
        reader.join()
        assert [e.data["sequence"] for e in reader.events if e.event == "entity"] == [1, 2, 3, 4, 5]
        assert reader.kinds()[-1] == "end"
