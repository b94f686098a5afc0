"""A short load run (make test): 50 SSE clients and 8 pollers for about 10 s while 10 pipelines record, on a real
`pipeline-recorder serve`. The 60-second, 200-client version is bench/load_sse.py (see docs/RELIABILITY.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from load_scenario import MB, Load

# Memory the server may keep after the load beyond its warmed-up size (caches of 10 runs, allocator slack).
RSS_GROWTH_LIMIT = 40 * MB


@pytest.mark.slow
def test_sse_clients_and_pollers_under_load_see_every_entity_without_errors_and_memory_stays_bounded(
        tmp_path: Path) -> None:
    base = tmp_path / "store"
    base.mkdir()
    report = Load(base, clients=50, pollers=8, pipelines=10, seconds=10).run()
    summary = report.summary()
    assert report.problems == [], f"{summary}: " + "\n".join(report.problems[:20])
    assert report.entity_events == 50 * report.entities_per_run, summary
    assert report.polls[304] > 0, f"no poll was answered 304: {summary}"
    assert report.rss_after - report.rss_before < RSS_GROWTH_LIMIT, summary
    assert report.rss_end_of_load - report.rss_connected < RSS_GROWTH_LIMIT, summary
