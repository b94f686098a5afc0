"""Hostile-input script: schemathesis over the whole API (at least 1,000 generated requests) and the
path-traversal matrix, against real servers on loopback ports (FastAPI/uvicorn and the Flask blueprint/werkzeug).

schemathesis generates requests from the published OpenAPI document for every operation and checks each answer:
no 5xx, status code, content type, headers and body inside the schema. The store holds a completed run (text,
JSON, PNG, SVG), a running run and an interrupted one, so generated ids sometimes hit real runs. The traversal
matrix is the one of tests/http/test_http_safety.py (every route with a run id, type or filename x 28 payloads,
links planted in and as run folders): nothing outside the store may be served, and nothing may answer 5xx.

    .venv/bin/python bench/faults_schemathesis.py                     # >= 1,000 cases per adapter, both adapters
    .venv/bin/python bench/faults_schemathesis.py --cases 3000 --adapter fastapi

`make test` runs the same checks with 15 cases per operation (tests/http/test_http_openapi.py) and the matrix
(tests/http/test_http_safety.py). Exit code 0 when nothing failed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "http"), str(ROOT / "tests")]

import schemathesis  # noqa: E402
from http_runs import completed_run, orphaned_run, running_run  # noqa: E402
from http_servers import serve  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_http_safety import PASSWD_MARK, PAYLOADS, SECRET, Store, raw_request, routes  # noqa: E402

from pipeline_recorder.http.settings import Settings  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def fuzz(url: str, schema_url: str, cases: int, prefix: str = "/") -> tuple[int, Counter[int], list[str]]:
    """Run at least ``cases`` generated requests over every operation whose path starts with ``prefix``;
    (requests, status counts, failures)."""
    loaded = schemathesis.openapi.from_url(schema_url)
    operations = [op for op in (result.ok() for result in loaded.get_all_operations()) if op.path.startswith(prefix)]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    calls = 0
    round_seed = 0
    while calls < cases:  # operations with few distinct inputs stop early; later rounds use another seed
        per_operation = max(10, math.ceil((cases - calls) / len(operations)))
        for operation in operations:

            @seed(round_seed)
            @given(case=operation.as_strategy())
            @settings(max_examples=per_operation, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None, derandomize=False)
            def check(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=url, timeout=30)
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # a FailureGroup: recorded, and the run goes on to count them all
                    failures.append(f"{case.operation.method.upper()} {case.operation.path}: {str(exc)[:300]}")

            check()
        round_seed += 1
    return calls, statuses, failures


def traversal(url: str, store: Store, adapter: str) -> tuple[int, Counter[int], list[str]]:
    statuses: Counter[int] = Counter()
    failures = []
    tried = 0
    for method, template in routes(store.run_id, adapter):
        for payload in PAYLOADS:
            status, body = raw_request(url, method, template.replace("{x}", payload))
            tried += 1
            statuses[status] += 1
            if status >= 500 or SECRET.encode() in body or PASSWD_MARK.encode() in body:
                failures.append(f"{method} {template} with {payload!r}: {status}")
    return tried, statuses, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="generated requests per adapter (default 1000)")
    parser.add_argument("--adapter", choices=("fastapi", "flask", "both"), default="both")
    args = parser.parse_args()
    adapters = ("fastapi", "flask") if args.adapter == "both" else (args.adapter,)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="faults_schemathesis-") as tmp:
        root = Path(tmp)
        base = root / "fuzz"
        completed_run(base)
        keep = running_run(base)
        orphaned_run(base)
        (root / "hostile").mkdir()
        hostile = Store(root / "hostile")
        for adapter in adapters:
            settings_ = Settings(base_path=base, heartbeat_seconds=0.3)
            with serve("fastapi", settings_) as schema_host, serve(adapter, settings_) as url:
                started = time.perf_counter()
                # The blueprint carries the API; the viewer pages (/, /runs/..., /static/...) are FastAPI's only.
                prefix = "/" if adapter == "fastapi" else "/api/"
                calls, statuses, failures = fuzz(url, f"{schema_host}/openapi.json", args.cases, prefix)
                rows.append({"adapter": adapter, "what": "schemathesis", "requests": calls,
                             "5xx": sum(n for s, n in statuses.items() if s >= 500), "failures": len(failures),
                             "statuses": dict(sorted(statuses.items())),
                             "seconds": round(time.perf_counter() - started, 1)})
                problems += [f"{adapter}: {f}" for f in failures]
            with serve(adapter, Settings(base_path=hostile.base, heartbeat_seconds=0.3)) as url:
                started = time.perf_counter()
                tried, statuses, failures = traversal(url, hostile, adapter)
                rows.append({"adapter": adapter, "what": "traversal matrix", "requests": tried,
                             "5xx": sum(n for s, n in statuses.items() if s >= 500), "failures": len(failures),
                             "statuses": dict(sorted(statuses.items())),
                             "seconds": round(time.perf_counter() - started, 1)})
                problems += [f"{adapter}: {f}" for f in failures]
        keep.close()
    print("| adapter | what | requests | 5xx | failed checks | statuses | seconds |\n|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['adapter']} | {row['what']} | {row['requests']} | {row['5xx']} | {row['failures']} | "
              f"{row['statuses']} | {row['seconds']} |")
    for problem in dict.fromkeys(problems):
        print("PROBLEM:", problem)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
