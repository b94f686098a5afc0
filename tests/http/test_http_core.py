"""The framework-free pieces of the HTTP layer and the change feed, tested without a server."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from http_runs import completed_run, running_run

from pipeline_recorder import RunStore, errors
from pipeline_recorder.events import Event, diff, event_id, events_since, follow_sync, parse_last_event_id
from pipeline_recorder.http import settings as settings_module
from pipeline_recorder.http import sse
from pipeline_recorder.http.errors import response_for, status_for
from pipeline_recorder.http.ranges import RangeError, parse_range
from pipeline_recorder.http.security import Guard, disposition
from pipeline_recorder.http.settings import HEARTBEAT_SECONDS, Settings

# -- ranges -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("bytes=0-9", (0, 10)), ("bytes=5-", (5, 95)), ("bytes=-10", (90, 10)),
    ("bytes=-500", (0, 100)), ("bytes=90-500", (90, 10)), ("bytes=0-0", (0, 1)), ("bytes=0-1, 4-5", None),
    (" bytes = 1-2 ", (1, 2)),
])
def test_parse_range_accepts_single_byte_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=5-1", "bytes=x-1", "bytes=", "bytes=-",
                                    "pages=1-2", "bytes=1-2,x", "bytes=99999999999999999999-", "bytes=1"])
def test_parse_range_refuses_malformed_or_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeError):
        parse_range(header, 100)


def test_any_range_of_an_empty_file_is_unsatisfiable() -> None:
    with pytest.raises(RangeError):
        parse_range("bytes=-5", 0)


# -- SSE framing and the change feed -------------------------------------------------------------------------------


def test_sse_frame_puts_id_event_and_one_line_json_data() -> None:
    framed = sse.frame(Event(9, "entity", {"text": "two\nlines"}))
    assert framed == b'id: 9\nevent: entity\ndata: {"text": "two\\nlines"}\n\n'
    assert sse.frame(Event(None, "heartbeat", None)) == b": heartbeat\n\n"


def _doc(revision: int, entities: int, status: str = "running", step: str = "x") -> dict[str, object]:
    return {"revision": revision, "status": status, "current_state": {"stage": 0, "step": step, "progress": "0/1"},
            "entities": [{"sequence": i + 1, "type": "input", "revision": i + 2} for i in range(entities)]}


def test_events_since_nothing_is_every_entity_then_state_status_and_end_when_ended() -> None:
    events = events_since(_doc(5, 2, "completed"))
    assert [e.event for e in events] == ["entity", "entity", "state", "status", "end"]
    assert [e.id for e in events] == [event_id(2, "entity"), event_id(3, "entity"), event_id(5, "state"),
                                      event_id(5, "status"), event_id(5, "end")]


def test_events_since_an_id_skips_what_the_client_has() -> None:
    doc = _doc(6, 3)
    after_second = event_id(3, "entity")
    assert [e.data["sequence"] for e in events_since(doc, after_second) if e.event == "entity"] == [3]
    assert [e.event for e in events_since(doc, event_id(6, "status"))] == []


def test_diff_sends_new_entities_and_changed_state_and_status_only() -> None:
    old, new = _doc(3, 2), _doc(5, 3, "completed", step="done")
    assert [e.event for e in diff(old, new)] == ["entity", "state", "status", "end"]
    assert diff(old, old) == []


def test_diff_of_a_writer_dying_sends_only_end_so_no_event_id_repeats() -> None:
    running = _doc(4, 2)
    sent = events_since(running)  # a client connected: ..., state and status of revision 4
    interrupted = {**running, "status": "interrupted"}  # liveness: same revision, the writer died
    more = diff(running, interrupted)
    assert [(e.event, e.data) for e in more] == [("end", {"status": "interrupted"})]
    ids = [e.id for e in [*sent, *more]]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize("value", ["x", "-1", "1.0", "1" * 30])
def test_last_event_id_must_be_one_of_ours(value: str) -> None:
    with pytest.raises(errors.ValidationError):
        parse_last_event_id(value)


def test_follow_sync_yields_the_feed_and_stops_watching_when_done(tmp_path: Path) -> None:
    rec = running_run(tmp_path)
    store = RunStore(tmp_path)
    got: list[Event] = []
    opened = threading.Event()

    def consume() -> None:
        for event in follow_sync(store, rec.run_id, heartbeat=0.2):
            got.append(event)
            if event.event == "status":
                opened.set()

    thread = threading.Thread(target=consume)
    thread.start()
    assert opened.wait(10)
    assert store.watches.active() >= 1
    rec.save_entity("input", "hallo")
    rec.mark_complete()
    thread.join(10)
    assert not thread.is_alive()
    kinds = [e.event for e in got if e.event != "heartbeat"]
    assert kinds == ["state", "status", "entity", "state", "status", "end"]
    assert [e.data["sequence"] for e in got if e.event == "entity"] == [1]
    assert store.watches.active() == 0


def test_follow_sync_of_an_unknown_run_raises_run_not_found(tmp_path: Path) -> None:
    with pytest.raises(errors.RunNotFoundError):
        next(follow_sync(RunStore(tmp_path), "nope"))


def test_follow_sync_of_an_ended_run_needs_no_waiting(tmp_path: Path) -> None:
    run_id = completed_run(tmp_path)
    assert [e.event for e in follow_sync(RunStore(tmp_path), run_id)][-1] == "end"


# -- errors, security, settings -----------------------------------------------------------------------------------


def test_every_error_of_the_tree_maps_to_a_client_or_storage_status_never_500() -> None:
    classes = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.RecorderError)]
    for cls in classes:
        if cls is errors.RecorderError:
            continue
        status = status_for(cls("x") if cls is not errors.StorageError else cls(28, "full"))
        assert status is not None and status != 500, cls


def test_a_bug_is_a_500_that_reveals_nothing() -> None:
    response = response_for(RuntimeError("secret detail /etc/x"))
    assert response.status == 500 and b"secret" not in response.body  # type: ignore[operator]


@pytest.mark.parametrize(("filename", "mime", "expected"), [
    ("06_output_image.png", "image/png", 'inline; filename="06_output_image.png"'),
    ("07_drawing.svg", "image/svg+xml", 'attachment; filename="07_drawing.svg"'),
    ('a"b\r\nc.html', "text/html", 'attachment; filename="a_b__c.html"'),
    ("..\\..\\x.bin", "application/octet-stream", 'attachment; filename="_.._x.bin"'),
])
def test_content_disposition_is_sanitised_and_never_inline_for_active_types(filename: str, mime: str,
                                                                             expected: str) -> None:
    assert disposition(filename, mime) == expected


def test_host_allow_list_accepts_loopback_with_any_port_and_configured_names() -> None:
    guard = Guard(Settings(allowed_hosts=("recorder.lan",)))
    for ok in ("127.0.0.1:80", "localhost", "[::1]:17801", "recorder.lan:8080", "Recorder.LAN"):
        assert guard.check_host(ok) is None, ok
    for bad in ("evil.example", "127.0.0.1:x", "[::1", "", None, "localhost.evil:80", "127.0.0.1 :80"):
        assert guard.check_host(bad) is not None, bad


def test_token_guard_needs_the_exact_bearer_token() -> None:
    guard = Guard(Settings(token="s3cret-token"))
    assert guard.check_token("Bearer s3cret-token") is None
    for bad in (None, "", "Bearer wrong", "Basic s3cret-token", "s3cret-token"):
        refused = guard.check_token(bad)
        assert refused is not None and refused.status == 401


def test_settings_come_from_the_environment_and_flags_win() -> None:
    env = {"PIPELINE_RECORDER_HOST": "0.0.0.0", "PIPELINE_RECORDER_PORT": "9000",
           "PIPELINE_RECORDER_BASE_PATH": "/srv/runs", "PIPELINE_RECORDER_TOKEN": "abcdefgh12",
           "PIPELINE_RECORDER_CORS_ORIGINS": "https://a.example, https://b.example"}
    settings = Settings.from_env(env, port=9100)
    assert (settings.host, settings.port, str(settings.base_path), settings.token) == (
        "0.0.0.0", 9100, "/srv/runs", "abcdefgh12")
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    with pytest.raises(errors.ValidationError, match="PIPELINE_RECORDER_PORT"):
        Settings.from_env({"PIPELINE_RECORDER_PORT": "eighty"})


# Each setting the settings table documents: the text put in its variable, and the value that must come of it.
SETTING_SAMPLES: dict[str, tuple[str, object]] = {
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("9001", 9001),
    "base_path": ("/srv/runs", Path("/srv/runs")),
    "store": ("s3://bucket/prefix", "s3://bucket/prefix"),
    "config_dirs": ("/srv/a:/srv/b:", (Path("/srv/a"), Path("/srv/b"))),
    "workers": ("3", 3),
    "token": ("abcdefgh12", "abcdefgh12"),
    "allowed_hosts": ("a.example, b.example,", ("a.example", "b.example")),
    "cors_origins": ("https://a.example", ("https://a.example",)),
    "min_safety_level": (" kids ", "kids"),
    "max_entity_bytes": ("1000", 1000),
    "lease_seconds": ("2.5", 2.5),
}


def test_every_variable_the_settings_table_documents_sets_its_setting_and_no_other_is_read() -> None:
    assert settings_module.__doc__ is not None
    rows = [line.split("|") for line in settings_module.__doc__.splitlines()
            if line.startswith("| ") and "PIPELINE_RECORDER_" in line]
    documented = {cells[1].strip(): cells[2].strip() for cells in rows}
    assert set(documented) == set(SETTING_SAMPLES)
    settings = Settings.from_env({documented[name]: text for name, (text, _) in SETTING_SAMPLES.items()})
    assert {name: getattr(settings, name) for name in SETTING_SAMPLES} == {
        name: value for name, (_, value) in SETTING_SAMPLES.items()}
    # heartbeat_seconds has no variable (tests and hosts set it in code)
    assert Settings.from_env({"PIPELINE_RECORDER_HEARTBEAT_SECONDS": "1"}).heartbeat_seconds == HEARTBEAT_SECONDS


def test_the_core_imports_no_web_framework() -> None:
    code = ("import sys, pipeline_recorder.events, pipeline_recorder.http.handlers; "
            "bad = [m for m in ('fastapi', 'starlette', 'flask', 'werkzeug') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
