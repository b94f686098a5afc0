"""Benchmark: requests/s of ``GET /api/pipeline/{run_id}/status`` against a bare Starlette route returning the same
bytes, with the same load generator, connections and run, in the same invocation.

    .venv/bin/python bench/http_status.py                  # wrk, 32 connections, 7 rounds of 3 s per server
    .venv/bin/python bench/http_status.py --seconds 2 --rounds 3
    .venv/bin/python bench/http_status.py --generator asyncio   # the in-repo load generator instead of wrk

Each server is one uvicorn process without an access log, as the bare route is served; two more rows are the
server as ``pipeline-recorder serve`` runs it, by default (no access log) and with ``--access-log`` (uvicorn's
access log, here to /dev/null): the difference between them is what logging costs. The load generator is ``wrk``
(Debian package, ``make wrk``) when present, else an in-repo asyncio load generator over httpx (printed in the
table); being Python on the same CPUs, that one takes CPU from the servers it measures. Rounds alternate the servers so
that background load on this shared machine hits them alike. Printed per server: the best round (req/s and its
ratio to the bare route's best), the median of each round's ratio to the bare route of the same round, and the
server process's CPU time per request (median over rounds; the least sensitive to other load on the machine).
Target: /status >= 0.8x the bare route (32 connections, loopback); the 304 path (If-None-Match) at least as fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
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

        try:
            from pipeline_recorder.http.server import run
        except ImportError:  # a version before the header deadline (to compare with it: PYTHONPATH=old/src)
            run = uvicorn.run
        # As `serve` serves it (uvicorn with the header deadline), without the access log, as the bare route.
        run(create_app(Settings(base_path=base)), host="127.0.0.1", port=port, log_level="warning",
            access_log=False, proxy_headers=False, server_header=False)
        return
    else:
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        body = (base / "pipeline_runs" / run_id / "metadata.json").read_bytes()

        async def status(request: object) -> Response:
            return Response(body, media_type="application/json")

        app = Starlette(routes=[Route("/api/pipeline/{run_id}/status", status)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, proxy_headers=False,
                server_header=False)


def start(kind: str, base: Path, run_id: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if kind in ("serve", "serve_log"):  # the server as `pipeline-recorder serve` runs it (any log to /dev/null)
        logging = ["--access-log"] if kind == "serve_log" else []
        proc = subprocess.Popen([sys.executable, "-c", "from pipeline_recorder.cli import main; main()", "serve",
                                 "--port", str(port), "--base-path", str(base), *logging],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
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


GENERATOR = "wrk" if shutil.which("wrk") else "asyncio"


def load(url: str, seconds: float, headers: dict[str, str]) -> float:
    if GENERATOR == "wrk":
        return wrk(url, seconds, headers)
    return asyncio.run(_async_load(url, seconds, headers))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(proc: subprocess.Popen[bytes], url: str, seconds: float, headers: dict[str, str]) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request) of one round."""
    before = cpu_seconds(proc.pid)
    rate = load(url, seconds, headers)
    return rate, (cpu_seconds(proc.pid) - before) / (rate * seconds) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--generator", choices=("wrk", "asyncio"), default=None,
                        help="load generator (default: wrk when installed)")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global GENERATOR
    GENERATOR = args.generator or GENERATOR
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
        servers = {kind: start(kind, base, run_id) for kind in ("bare", "ours", "serve", "serve_log")}
        try:
            etag = httpx.get(servers["ours"][1] + path).headers["etag"]
            plan = {"bare": ("bare", {}), "ours": ("ours", {}), "ours_304": ("ours", {"If-None-Match": etag}),
                    "serve": ("serve", {}), "serve_log": ("serve_log", {})}
            results: dict[str, list[tuple[float, float]]] = {key: [] for key in plan}
            for _, url in servers.values():
                load(url + path, 1, {})  # warm-up
            for _ in range(args.rounds):
                for key, (kind, headers) in plan.items():
                    proc, url = servers[kind]
                    results[key].append(measure(proc, url + path, args.seconds, headers))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(10)
    generator = "wrk" if GENERATOR == "wrk" else "asyncio+httpx"
    print(f"GET /status of a {size}-byte metadata.json, {CONNECTIONS} connections, {generator}, "
          f"{args.rounds} rounds x {args.seconds:g} s (servers alternate within each round), {os.cpu_count()} CPUs")
    print(f"{'server':<36}{'best req/s':>11}{'vs bare':>9}{'median round':>14}{'CPU us/req':>12}{'CPU vs bare':>13}")
    rows = [("bare Starlette route (same bytes)", "bare"), ("pipeline-recorder /status 200", "ours"),
            ("pipeline-recorder /status 304", "ours_304"), ("`serve` as run (default) 200", "serve"),
            ("`serve --access-log` 200", "serve_log")]
    best = {key: max(rate for rate, _ in values) for key, values in results.items()}
    cpu = {key: statistics.median(us for _, us in values) for key, values in results.items()}
    for label, key in rows:
        # Each round's ratio against the bare route measured in the same round: robust to load that comes and goes.
        ratio = statistics.median(r[0] / b[0] for r, b in zip(results[key], results["bare"], strict=True))
        print(f"{label:<36}{best[key]:>11.0f}{best[key] / best['bare']:>8.2f}x{ratio:>13.2f}x"
              f"{cpu[key]:>12.0f}{cpu['bare'] / cpu[key]:>12.2f}x")
    print(json.dumps({"best": {k: round(v) for k, v in best.items()}, "cpu_us": {k: round(v) for k, v in cpu.items()}}))


if __name__ == "__main__":
    main()
