"""Load script: 200 SSE clients and 32 pollers (If-None-Match) for 60 s while 10 pipelines record, on a real
`pipeline-recorder serve` subprocess (loopback only).

Each pipeline is a separate recording process saving an entity every 0.25 s (text, JSON, PNG, with state
changes), so the server learns of every change through the file system, as with CLI runs or other workers. 20 SSE
clients follow each run from start to `end`; pollers poll a run's /status every 0.1 s with If-None-Match.
Checked: no errors, every SSE client got exactly the run's entities in order and `end: completed`, every poller's
last document is the final one, no error in the server log. The server's RSS is sampled once a second; the
table prints it before the clients connect, once they are connected, at its peak, at the end of the load and
after the clients are gone, plus the growth over the load as a ratio of the connected size.

    .venv/bin/python bench/load_sse.py                            # 200 clients, 32 pollers, 60 s, 10 pipelines
    .venv/bin/python bench/load_sse.py --clients 50 --pollers 8 --seconds 10

Exit code 0 when every check held.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "reliability"), str(ROOT / "tests")]

from load_scenario import MB, Load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200, help="SSE clients (default 200)")
    parser.add_argument("--pollers", type=int, default=32, help="If-None-Match pollers (default 32)")
    parser.add_argument("--pipelines", type=int, default=10, help="recording pipelines (default 10)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load (default 60)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="load_sse-"))
    base = folder / "store"
    base.mkdir()
    try:
        report = Load(base, clients=args.clients, pollers=args.pollers, pipelines=args.pipelines,
                      seconds=args.seconds).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = report.summary()
    width = max(len(key) for key in summary)
    print("| figure | value |\n|---|---|")
    for key, value in summary.items():
        print(f"| {key:<{width}} | {value} |")
    growth = (report.rss_end_of_load - report.rss_connected) / report.rss_connected
    print(f"| {'rss growth over the load':<{width}} | {growth:+.1%} of the connected size |")
    print(f"| {'rss kept after the load':<{width}} | {(report.rss_after - report.rss_before) / MB:+.1f} MB |")
    minute = [rss for t, rss in report.rss_samples]
    if minute:
        quarter = max(1, len(minute) // 4)
        first, last = max(minute[:quarter]), max(minute[-quarter:])
        print(f"| {'rss peak, first vs last quarter':<{width}} | {first / MB:.1f} MB vs {last / MB:.1f} MB |")
    for problem in report.problems[:50]:
        print("PROBLEM:", problem)
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
