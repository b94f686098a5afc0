"""Hostile uploads against `pipeline-recorder serve` as a user runs it: anonymous 100 MB bodies to a server with a
token, and over-limit bodies (declared and chunked) to one without; the server's RSS before and after, and how much
of each body the client had sent when the answer came.

    .venv/bin/python bench/http_uploads.py                 # 4 uploads of 100 MB at once per case

A server that reads a body before checking the token or the limit answers only once all of it was sent, and holds
it in memory; one that checks first answers after a few pieces, whatever the client still means to send.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests" / "http"),
                str(Path(__file__).resolve().parents[1] / "tests")]

from http_raw import EarlyAnswer, post_slowly  # noqa: E402

from reliability.reliability_harness import rss_bytes  # noqa: E402
from support import free_port, wait_until  # noqa: E402

MB = 1_000_000
TOKEN = "bench-token-123456"


def serve(base: Path, port: int, token: str | None) -> subprocess.Popen[bytes]:
    env_token = ["--token", token] if token else []
    return subprocess.Popen([sys.executable, "-c", "from pipeline_recorder.cli import main; main()", "serve",
                             "--port", str(port), "--base-path", str(base), *env_token],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_case(token: str | None, chunked: bool, uploads: int, size: int) -> tuple[list[EarlyAnswer], int, int]:
    """(answers, server RSS before, after) of ``uploads`` bodies of ``size`` bytes sent at once."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = serve(Path(tmp), port, token)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _answers(url), timeout=60, what="serve to listen")
            before = rss_bytes(server.pid)
            with ThreadPoolExecutor(uploads) as pool:
                futures = [pool.submit(post_slowly, url, "/api/schema/pipeline/execute", size,
                                       {"Content-Type": "application/json"}, chunked=chunked) for _ in range(uploads)]
                answers = [future.result() for future in futures]
            return answers, before, rss_bytes(server.pid)
        finally:
            server.terminate()
            server.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    print(f"{args.uploads} uploads of {args.megabytes} MB at once to POST /api/schema/pipeline/execute")
    print(f"{'case':<44}{'status':>8}{'MB sent at answer (max)':>26}{'RSS before':>12}{'RSS after':>11}")
    for token, chunked in ((TOKEN, False), (TOKEN, True), (None, False), (None, True)):
        answers, before, after = one_case(token, chunked, args.uploads, args.megabytes * MB)
        case = f"{'anonymous, token set' if token else 'no token, over 1 MB limit'}, " \
               f"{'chunked' if chunked else 'Content-Length'}"
        statuses = sorted({answer.status for answer in answers})
        sent = max(answer.sent_before_answer for answer in answers) / MB
        print(f"{case:<44}{','.join(map(str, statuses)):>8}{sent:>26.1f}{before / MB:>11.0f}M{after / MB:>10.0f}M")


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/api/schema/configs", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
