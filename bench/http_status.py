"""Benchmark: requests/s of ``GET /api/pipeline/{run_id}/status`` against a bare Starlette route returning the same
bytes, with the same load generator, connections and run, in the same invocation.

    .venv/bin/python bench/http_status.py                  # wrk, 32 connections, 3 rounds of 5 s per server
    .venv/bin/python bench/http_status.py --seconds 3 --rounds 1

Each server is one uvicorn process (no access log); the load generator is ``wrk`` (Debian package) when present,
else an in-repo asyncio load generator over httpx (printed in the table). Rounds alternate the servers so that
background load on this shared machine hits them alike; the best round of each is kept.
Target (issue 3): /status >= 0.6x the bare route; the 304 path (If-None-Match) faster still.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(kind: str, port: int, base: Path, run_id: str) -> None:
    """Child process: run one server."""
    import uvicorn

    if kind == "ours":
        from pipeline_recorder.http.fastapi_app import create_app
        from pipeline_recorder.http.settings import Settings

        app = create_app(Settings(base_path=base))
    else:
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        body = (base / "pipeline_runs" / run_id / "metadata.json").read_bytes()

        async def status(request: object) -> Response:
            return Response(body, media_type="application/json")

        app = Starlette(routes=[Route("/api/pipeline/{run_id}/status", status)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start(kind: str, base: Path, run_id: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(port), str(base), run_id])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/pipeline/{run_id}/status", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def wrk(url: str, seconds: float, headers: dict[str, str]) -> float:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if match is None or non2xx is not None:
        raise RuntimeError(f"wrk failed or saw errors:\n{out}")
    return float(match.group(1))


async def _async_load(url: str, seconds: float, headers: dict[str, str]) -> float:
    count = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, headers=headers) as client:

        async def worker() -> None:
            nonlocal count
            while time.monotonic() < deadline:
                response = await client.get(url)
                if response.status_code not in (200, 304):
                    raise RuntimeError(f"status {response.status_code}")
                count += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return count / (time.monotonic() - start)


def load(url: str, seconds: float, headers: dict[str, str]) -> float:
    if shutil.which("wrk"):
        return wrk(url, seconds, headers)
    return asyncio.run(_async_load(url, seconds, headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, port, base, run_id = args.serve
        serve(kind, int(port), Path(base), run_id)
        return

    from pipeline_recorder import LivePipelineRecorder, new_run_id

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
        for kind in ("input", "translation", "safety", "interception", "safety_pre_output"):
            rec.save_entity(kind, {"text": f"{kind} of a typical run"} if "safety" in kind else f"{kind} text")
        rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
        rec.mark_complete()
        run_id = rec.run_id
        size = len((base / "pipeline_runs" / run_id / "metadata.json").read_bytes())
        path = f"/api/pipeline/{run_id}/status"
        servers = {kind: start(kind, base, run_id) for kind in ("bare", "ours")}
        try:
            etag = httpx.get(servers["ours"][1] + path).headers["etag"]
            results: dict[str, list[float]] = {"bare": [], "ours": [], "ours_304": []}
            for url in (servers["bare"][1], servers["ours"][1]):
                load(url + path, 1, {})  # warm-up
            for _ in range(args.rounds):
                results["bare"].append(load(servers["bare"][1] + path, args.seconds, {}))
                results["ours"].append(load(servers["ours"][1] + path, args.seconds, {}))
                results["ours_304"].append(load(servers["ours"][1] + path, args.seconds, {"If-None-Match": etag}))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(10)
    best = {name: max(values) for name, values in results.items()}
    generator = "wrk" if shutil.which("wrk") else "asyncio+httpx"
    print(f"GET /status of a {size}-byte metadata.json, {CONNECTIONS} connections, {generator}, "
          f"best of {args.rounds} x {args.seconds:g} s, {os.cpu_count()} CPUs")
    print(f"{'server':<34}{'req/s':>10}{'vs bare':>10}")
    rows = [("bare Starlette route (same bytes)", "bare"), ("pipeline-recorder /status 200", "ours"),
            ("pipeline-recorder /status 304", "ours_304")]
    for label, key in rows:
        print(f"{label:<34}{best[key]:>10.0f}{best[key] / best['bare']:>9.2f}x")
    print(json.dumps({key: round(value) for key, value in best.items()}))


if __name__ == "__main__":
    main()
