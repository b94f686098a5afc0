"""`pipeline-recorder serve` as a user starts it: a real process, settings from flags and environment, and a
graceful stop on SIGTERM / Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from http_runs import completed_run, running_run

from support import free_port, wait_until


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    code = "from pipeline_recorder.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, "serve", *args], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def reachable(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def stopped_gracefully(server: subprocess.Popen[str], sig: int) -> bool:
    """uvicorn finishes its shutdown (open streams closed, lifespan ended), then exits by the signal it got."""
    code = server.wait(20)
    output = server.stdout.read() if server.stdout is not None else ""
    return code in (0, -sig) and "Finished server process" in output


def test_serve_takes_settings_from_the_environment_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    run_id = completed_run(tmp_path)
    port = free_port()
    server = start([], {"PIPELINE_RECORDER_PORT": str(port), "PIPELINE_RECORDER_BASE_PATH": str(tmp_path),
                        "PIPELINE_RECORDER_TOKEN": "env-token-123"})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: reachable(url + "/openapi.json"), timeout=30, what="serve to listen")
        assert httpx.get(f"{url}/api/pipeline/{run_id}/status").json()["run_id"] == run_id
        assert httpx.get(f"{url}/api/pipeline/runs").status_code == 401
        listed = httpx.get(f"{url}/api/pipeline/runs", headers={"Authorization": "Bearer env-token-123"})
        assert [r["run_id"] for r in listed.json()["runs"]] == [run_id]
        # An open event stream of a running run must not keep the server from stopping.
        live = running_run(tmp_path)
        with httpx.Client(timeout=10) as client, client.stream("GET", f"{url}/api/pipeline/{live.run_id}/events"):
            server.send_signal(signal.SIGTERM)
            assert stopped_gracefully(server, signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_serve_flags_win_over_the_environment_and_bad_values_are_refused(tmp_path: Path) -> None:
    port = free_port()
    server = start(["--port", str(port), "--base-path", str(tmp_path)],
                   {"PIPELINE_RECORDER_PORT": "1", "PIPELINE_RECORDER_BASE_PATH": "/nonexistent"})
    try:
        wait_until(lambda: reachable(f"http://127.0.0.1:{port}/openapi.json"), timeout=30, what="serve to listen")
        server.send_signal(signal.SIGINT)
        assert stopped_gracefully(server, signal.SIGINT)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    bad = subprocess.run([sys.executable, "-c", "from pipeline_recorder.cli import main; main()", "serve",
                          "--token", "short"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "at least 8 characters" in bad.stdout + bad.stderr


def test_serve_logs_requests_only_with_access_log(tmp_path: Path) -> None:
    """Off by default (a viewer polls each run it shows: a line per poll would cost more than the poll), on with
    ``--access-log`` or PIPELINE_RECORDER_ACCESS_LOG=1."""
    run_id = completed_run(tmp_path)
    logged = {}
    for name, args, env in (("default", [], {}), ("flag", ["--access-log"], {}),
                            ("variable", [], {"PIPELINE_RECORDER_ACCESS_LOG": "1"})):
        port = free_port()
        server = start(["--port", str(port), "--base-path", str(tmp_path), *args], env)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda url=url: reachable(url + "/openapi.json"), timeout=30, what="serve to listen")
            assert httpx.get(f"{url}/api/pipeline/{run_id}/status").status_code == 200
            server.send_signal(signal.SIGTERM)
            server.wait(20)
            logged[name] = f"GET /api/pipeline/{run_id}/status HTTP/1.1\" 200" in (server.stdout.read() if
                                                                                  server.stdout else "")
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert logged == {"default": False, "flag": True, "variable": True}
