"""`run --server` and `watch --server` against a real `pipeline-recorder serve` on a free loopback port, and the
event-stream client's resume after a dropped connection against a small SSE server."""

from __future__ import annotations

import json
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from cli_harness import cli, cli_command, cli_env, make_run

from pipeline_recorder import RunStore
from support import free_port, wait_until

TOKEN = "s3cret-token-for-tests"



def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/schema/configs", timeout=1).status_code in (200, 401)
    except httpx.HTTPError:
        return False


def start_server(base: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(cli_command("serve", "--host", "127.0.0.1", "--port", str(port), "--base-path",
                                          str(base)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=cli_env(env))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url) or server.poll() is not None, timeout=60, what="the server to answer")
    except BaseException:
        server.kill()
        raise
    assert server.poll() is None, "the server exited at start"
    return server, url


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("served")
    server, url = start_server(base)
    try:
        yield url, base
    finally:
        stop_server(server)


def run_id_from(out: str) -> str:
    return out.split("run ", 1)[1].split()[0]


def test_run_on_a_server_follows_its_events_to_completion(served: tuple[str, Path]) -> None:
    url, base = served
    result = cli("run", "stillepost", "Ein kleiner Hund", "--server", url)
    assert result.code == 0, result.text
    run_id = run_id_from(result.out)
    doc = RunStore(base).read_metadata(run_id)  # recorded by the server, in its store
    assert doc["status"] == "completed"
    for entity in doc["entities"]:
        assert entity["filename"] in result.out
    assert f"{url}/api/pipeline/{run_id}/status" in result.out


def test_run_on_a_server_prints_the_output_and_the_media_url(served: tuple[str, Path]) -> None:
    url, base = served
    result = cli("run", "stillepost", "Ein Baum", "--server", url)
    assert result.code == 0, result.text
    run_id = run_id_from(result.out)
    folder = RunStore(base).run_folder(run_id)
    output = result.out.split("output: ", 1)[1].splitlines()[0]
    assert output == (folder / "04_interception.txt").read_text(encoding="utf-8").strip().splitlines()[0]
    media = result.out.split("output_image: ", 1)[1].split()[0]
    assert media == f"{url}/api/pipeline/{run_id}/file/06_output_image.png"
    assert httpx.get(media).content == (folder / "06_output_image.png").read_bytes()


def test_ls_and_show_on_a_server_read_its_runs_and_take_a_prefix(served: tuple[str, Path]) -> None:
    url, base = served
    rec = make_run(base, user="ls-on-a-server")
    listed = cli("ls", "--server", url, "--user", "ls-on-a-server", "--json")
    assert listed.code == 0, listed.text
    assert [run["run_id"] for run in json.loads(listed.out)] == [rec.run_id]
    table = cli("ls", "--server", url, "--limit", "500")
    assert table.code == 0 and rec.run_id in table.out
    shown = cli("show", rec.run_id[:8], "--server", url, "--json")
    assert shown.code == 0, shown.text
    assert json.loads(shown.out)["entities"] == rec.get_status()["entities"]
    text = cli("show", rec.run_id[:8], "--server", url)
    assert f"{url}/api/pipeline/{rec.run_id}/status" in text.out and "02_translation.txt" in text.out
    unknown = cli("show", "0000dead", "--server", url)
    assert unknown.code == 3 and "0000dead" in unknown.err


def test_run_on_a_server_that_blocks_exits_11_with_the_reason(served: tuple[str, Path]) -> None:
    url, _ = served
    result = cli("run", "stillepost", "Sieg Heil 88", "--server", url)
    assert result.code == 11, result.text
    assert "reason:" in result.out and "86a" in result.out


def test_run_of_an_unknown_config_on_a_server_exits_3(served: tuple[str, Path]) -> None:
    url, _ = served
    result = cli("run", "no-such-config", "x", "--server", url)
    assert result.code == 3
    assert "no-such-config" in result.err


def test_watch_on_a_server_follows_a_live_run_written_by_another_process(served: tuple[str, Path]) -> None:
    url, base = served
    rec = make_run(base, status=None, entities=[("input", "Hallo")], expected=["input", "translation"])
    watcher = subprocess.Popen(cli_command("watch", rec.run_id, "--server", url), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        assert watcher.stdout is not None
        assert "01_input.txt" in watcher.stdout.readline()
        rec.save_entity("translation", "Hello")
        rec.mark_failed("the test says so")
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 10, err
    assert "02_translation.txt" in out and "reason: the test says so" in out


def test_watch_on_a_server_of_an_unknown_run_exits_3_and_an_unreachable_server_exits_5(
        served: tuple[str, Path]) -> None:
    url, _ = served
    unknown = cli("watch", "no-such-run", "--server", url)
    assert unknown.code == 3
    assert "not found" in unknown.err
    unreachable = cli("watch", "no-such-run", "--server", f"http://127.0.0.1:{free_port()}")
    assert unreachable.code == 5
    assert "cannot reach the server" in unreachable.err
    not_a_url = cli("watch", "x", "--server", "ftp://example")
    assert not_a_url.code == 5


def test_a_server_with_a_token_refuses_a_run_without_it_and_accepts_it_with_it(tmp_path: Path) -> None:
    server, url = start_server(tmp_path, {"PIPELINE_RECORDER_TOKEN": TOKEN})
    try:
        refused = cli("run", "haiku", "Ein Baum", "--server", url)
        assert refused.code == 5
        assert "401" in refused.err and "--token" in refused.err
        unlisted = cli("ls", "--server", url)
        assert unlisted.code == 5 and "--token" in unlisted.err
        listed = cli("ls", "--server", url, "--json", env={"PIPELINE_RECORDER_TOKEN": TOKEN})
        assert listed.code == 0 and json.loads(listed.out) == []
        accepted = cli("run", "haiku", "Ein Baum", "--server", url, env={"PIPELINE_RECORDER_TOKEN": TOKEN})
        assert accepted.code == 0, accepted.text
    finally:
        stop_server(server)


class _DroppingSse(BaseHTTPRequestHandler):
    """Sends the first two events and drops the connection; on a reconnect sends what follows Last-Event-ID."""

    events: ClassVar[list[tuple[int, str, dict[str, object]]]] = [
        (4, "entity", {"filename": "01_input.txt", "type": "input", "size": 5}),
        (5, "state", {"stage": 0, "step": "pipeline_starting", "progress": "1/2"}),
        (8, "entity", {"filename": "02_translation.txt", "type": "translation", "size": 5}),
        (11, "end", {"status": "completed"}),
    ]
    seen_last_ids: ClassVar[list[str | None]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.endswith("/status"):  # watch first asks which run the id (or prefix) names
            body = json.dumps({"run_id": "some-run"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        last = self.headers.get("Last-Event-ID")
        type(self).seen_last_ids.append(last)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        after = int(last) if last else -1
        pending = [e for e in self.events if e[0] > after]
        for event_id, name, data in pending[:2] if last is None else pending:
            self.wfile.write(f": keep-alive\nid: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True


def test_watch_resumes_a_dropped_event_stream_with_last_event_id_and_sees_nothing_twice() -> None:
    _DroppingSse.seen_last_ids = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DroppingSse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = cli("watch", "some-run", "--server", f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 0, result.text
    assert _DroppingSse.seen_last_ids == [None, "5"]
    assert result.out.count("01_input.txt") == 1 and result.out.count("02_translation.txt") == 1


def test_export_on_a_server_downloads_the_runs_zip_by_prefix_and_refuses_to_overwrite(
        served: tuple[str, Path], tmp_path: Path) -> None:
    url, base = served
    rec = make_run(base, user="export-on-a-server")
    target = tmp_path / "run.zip"
    exported = cli("export", rec.run_id[:10], "--server", url, "-o", str(target))
    assert exported.code == 0, exported.text
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        stored = archive.read(f"{rec.run_id}/02_translation.txt")
    assert f"{rec.run_id}/metadata.json" in names
    assert stored == (rec.run_folder / "02_translation.txt").read_bytes()
    again = cli("export", rec.run_id, "--server", url, "-o", str(target))
    assert again.code != 0 and "--force" in again.err
    tar = cli("export", rec.run_id, "--server", url, "-o", str(tmp_path / "run.tar.gz"))
    assert tar.code != 0 and ".zip" in tar.err and not (tmp_path / "run.tar.gz").exists()
    unknown = cli("export", "0000dead", "--server", url, "-o", str(tmp_path / "none.zip"))
    assert unknown.code == 3 and not (tmp_path / "none.zip").exists()
