"""One contract, both adapters: every route and error of the HTTP API against a real FastAPI and a real Flask
server on a free loopback port."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from http_runs import SVG, completed_run, folder_state, metadata, png_bytes
from http_servers import Live

ERROR_KEYS = {"error"}


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS and isinstance(body["error"], str)
    for word in words:
        assert word in body["error"]


# -- /status ------------------------------------------------------------------------------------------------------


def test_status_answers_the_stored_metadata_with_an_etag(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/status")
    assert response.status_code == 200
    stored = metadata(live.base, live.run_id)
    assert stored["owner"]["pid"] and stored["writers"]  # the file says who writes the run; the API never does
    assert response.json() == {key: value for key, value in stored.items() if key not in ("owner", "writers")}
    assert response.headers["etag"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_status_with_the_current_etag_answers_304_without_a_body(live: Live) -> None:
    etag = live.client.get(f"/api/pipeline/{live.run_id}/status").headers["etag"]
    response = live.client.get(f"/api/pipeline/{live.run_id}/status", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_status_etag_changes_when_the_run_changes(live: Live) -> None:
    from pipeline_recorder import load_recorder

    run_id = completed_run(live.base)
    first = live.client.get(f"/api/pipeline/{run_id}/status").headers["etag"]
    doc_path = live.base / "pipeline_runs" / run_id / "metadata.json"
    doc = json.loads(doc_path.read_bytes())
    doc["revision"] += 1
    doc_path.write_text(json.dumps(doc))  # as a repair tool would rewrite it
    assert load_recorder(run_id, live.base) is not None
    response = live.client.get(f"/api/pipeline/{run_id}/status", headers={"If-None-Match": first})
    assert response.status_code == 200
    assert response.headers["etag"] != first


def test_status_since_a_revision_lists_only_later_entities_with_the_whole_state(live: Live) -> None:
    doc = metadata(live.base, live.run_id)
    cut = doc["entities"][2]["revision"]
    response = live.client.get(f"/api/pipeline/{live.run_id}/status", params={"since": cut})
    assert response.status_code == 200
    body = response.json()
    assert [e["sequence"] for e in body["entities"]] == [e["sequence"] for e in doc["entities"][3:]]
    assert body["current_state"] == doc["current_state"] and body["status"] == "completed"
    assert body["revision"] == doc["revision"]


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", ""])
def test_status_with_a_malformed_since_is_a_400_naming_the_parameter(live: Live, since: str) -> None:
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/status?since={since}"), 400, "since")


def test_unknown_run_is_a_404_naming_the_run(live: Live) -> None:
    assert_error(live.client.get("/api/pipeline/no-such-run/status"), 404, "no-such-run")


def test_malformed_run_id_is_a_400_saying_what_is_accepted(live: Live) -> None:
    assert_error(live.client.get("/api/pipeline/-bad!/status"), 400, "run id")


# -- entities -----------------------------------------------------------------------------------------------------


def test_entity_by_type_is_the_latest_with_its_mime_type(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/entity/translation")
    assert response.status_code == 200
    assert response.text == "A little dog"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_entity_index_picks_one_of_several_in_sequence_order(live: Live) -> None:
    first = live.client.get(f"/api/pipeline/{live.run_id}/entity/translation", params={"index": 0})
    assert first.text == "A small dog"
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/entity/translation", params={"index": 5}),
                 404, "index 5")
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/entity/translation", params={"index": "x"}),
                 400, "index")


def test_json_entity_is_application_json(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/entity/safety")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"safe": True, "codes": []}


def test_png_entity_is_served_inline_as_image_png_with_etag_and_last_modified(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/entity/output_image")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == png_bytes()
    assert response.headers["etag"] == f'"{hashlib.sha256(png_bytes()).hexdigest()}"'
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"].startswith("inline;")
    again = live.client.get(f"/api/pipeline/{live.run_id}/entity/output_image",
                            headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_svg_entity_is_only_ever_an_attachment(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/entity/drawing")
    assert response.status_code == 200
    assert response.content == SVG
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["content-security-policy"]


def test_unknown_entity_type_is_404_and_malformed_type_is_400(live: Live) -> None:
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/entity/output_video"), 404, "output_video")
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/entity/Bad-Type"), 400, "entity type")


# -- Range ------------------------------------------------------------------------------------------------------


def test_range_answers_206_with_exactly_the_bytes_asked(live: Live) -> None:
    url = f"/api/pipeline/{live.run_id}/entity/output_image"
    data = png_bytes()
    response = live.client.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == data[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert response.headers["content-length"] == "10"
    suffix = live.client.get(url, headers={"Range": "bytes=-7"})
    assert suffix.status_code == 206 and suffix.content == data[-7:]
    open_end = live.client.get(url, headers={"Range": f"bytes={len(data) - 3}-"})
    assert open_end.content == data[-3:]


@pytest.mark.parametrize("header", ["bytes=99999-", "bytes=abc", "bytes=5-2", "bytes=-0", "items=0-1"])
def test_unsatisfiable_or_malformed_range_is_416_with_the_size(live: Live, header: str) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/entity/output_image", headers={"Range": header})
    assert_error(response, 416, "Range")
    assert response.headers["content-range"] == f"bytes */{len(png_bytes())}"


def test_several_ranges_or_a_stale_if_range_get_the_whole_file(live: Live) -> None:
    url = f"/api/pipeline/{live.run_id}/entity/output_image"
    several = live.client.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == png_bytes()
    stale = live.client.get(url, headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == png_bytes()


# -- /file and /entities ------------------------------------------------------------------------------------------


def test_file_serves_exactly_a_listed_filename(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/file/02_translation.txt")
    assert response.status_code == 200 and response.text == "A small dog"


def test_file_refuses_names_not_listed_even_if_present_on_disk(live: Live) -> None:
    folder = live.base / "pipeline_runs" / live.run_id
    (folder / "99_input.txt").write_text("unlisted")
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/file/99_input.txt"), 404, "99_input.txt")
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/file/metadata.json"), 400, "filename")
    assert_error(live.client.get(f"/api/pipeline/{live.run_id}/file/.lock"), 400, "filename")


def test_entities_list_each_with_a_url_by_type_and_a_url_of_exactly_it(live: Live) -> None:
    folder = live.base / "pipeline_runs" / live.run_id
    before = folder_state(folder)
    response = live.client.get(f"/api/pipeline/{live.run_id}/entities")
    assert response.status_code == 200
    body = response.json()
    doc = metadata(live.base, live.run_id)
    assert body["run_id"] == live.run_id and body["entity_count"] == len(doc["entities"])
    for listed, stored in zip(body["entities"], doc["entities"], strict=True):
        assert {k: v for k, v in listed.items() if k not in ("url", "file_url")} == stored
        assert listed["url"] == f"/api/pipeline/{live.run_id}/entity/{stored['type']}"
        exact = live.client.get(listed["file_url"])
        assert hashlib.sha256(exact.content).hexdigest() == stored["sha256"]
    assert folder_state(folder) == before  # listing changed nothing stored


# -- listing ------------------------------------------------------------------------------------------------------

SUMMARY_KEYS = {"run_id", "config_name", "execution_mode", "safety_level", "user_id", "status", "timestamp",
                "updated_at", "finished_at", "current_state", "progress", "entity_count",
                "kind", "session_id", "device_id", "tags"}


def test_runs_are_listed_newest_first_with_the_summary_shape(live: Live) -> None:
    response = live.client.get("/api/pipeline/runs")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"runs", "next_cursor"}
    assert body["runs"] and all(set(run) == SUMMARY_KEYS for run in body["runs"])
    stamps = [run["timestamp"] for run in body["runs"]]
    assert stamps == sorted(stamps, reverse=True)


def test_runs_filter_by_config_and_user_and_page_with_a_cursor(live: Live) -> None:
    made = [completed_run(live.base, config_name="paging", user_id=f"u{i % 2}") for i in range(3)]
    page1 = live.client.get("/api/pipeline/runs", params={"config_name": "paging", "limit": 2}).json()
    assert len(page1["runs"]) == 2 and page1["next_cursor"]
    page2 = live.client.get("/api/pipeline/runs", params={"config_name": "paging", "limit": 2,
                                                           "cursor": page1["next_cursor"]}).json()
    assert page2["next_cursor"] is None
    assert [r["run_id"] for r in page1["runs"] + page2["runs"]] == list(reversed(made))
    only_u1 = live.client.get("/api/pipeline/runs", params={"config_name": "paging", "user_id": "u1"}).json()
    assert [r["run_id"] for r in only_u1["runs"]] == [made[1]]
    completed = live.client.get("/api/pipeline/runs", params={"status": "completed", "limit": 200}).json()
    assert {r["status"] for r in completed["runs"]} == {"completed"}


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "201"}, {"limit": "x"}, {"status": "done"},
                                    {"since": "yesterday"}, {"cursor": "garbage!"}])
def test_runs_with_a_bad_parameter_is_a_400_naming_it(live: Live, params: dict[str, str]) -> None:
    name = next(iter(params))
    assert_error(live.client.get("/api/pipeline/runs", params=params), 400, name)


def test_a_broken_or_half_deleted_run_folder_breaks_no_route(live: Live) -> None:
    runs = live.base / "pipeline_runs"
    (runs / "broken-run").mkdir(exist_ok=True)
    (runs / "broken-run" / "metadata.json").write_text("{not json")
    (runs / "half-deleted").mkdir(exist_ok=True)
    assert live.client.get("/api/pipeline/runs", params={"limit": 200}).status_code == 200
    assert_error(live.client.get("/api/pipeline/broken-run/status"), 409, "broken-run")
    assert_error(live.client.get("/api/pipeline/broken-run/entities"), 409)
    assert_error(live.client.get("/api/pipeline/broken-run/events"), 409)
    assert_error(live.client.get("/api/pipeline/half-deleted/status"), 404, "half-deleted")
    assert_error(live.client.get("/api/pipeline/half-deleted/entity/input"), 404)
    assert live.client.get(f"/api/pipeline/{live.run_id}/status").status_code == 200


# -- errors and headers everywhere --------------------------------------------------------------------------------


def test_unknown_api_route_is_a_json_404(live: Live) -> None:
    assert_error(live.client.get("/api/pipeline/x/nothing-here"), 404, "route")


def test_execute_with_a_body_that_is_not_json_is_a_400(live: Live) -> None:
    response = live.client.post("/api/schema/pipeline/execute", content=b"{nope",
                                headers={"Content-Type": "application/json"})
    assert_error(response, 400, "JSON")


def test_foreign_host_header_is_refused_and_loopback_names_with_any_port_are_served(live: Live) -> None:
    path = f"/api/pipeline/{live.run_id}/status"
    assert_error(live.client.get(path, headers={"Host": "evil.example"}), 400, "evil.example")
    assert_error(live.client.get(path, headers={"Host": "127.0.0.1.evil.example:80"}), 400)
    for host in ("localhost:1234", "127.0.0.1", "[::1]:17801", "LOCALHOST"):
        assert live.client.get(path, headers={"Host": host}).status_code == 200, host


def test_cors_is_off_by_default(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/status", headers={"Origin": "https://other.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = live.client.options(f"/api/pipeline/{live.run_id}/status", headers={
        "Origin": "https://other.example", "Access-Control-Request-Method": "GET"})
    assert_error(preflight, 403, "CORS")
