"""Benchmark: full-text search (``q``) of 100,000 runs through RunIndex, against baselines of the same index.

    .venv/bin/python bench/search.py                      # 100,000 runs in a temp dir, removed afterwards
    .venv/bin/python bench/search.py --runs 20000 --store /tmp/search-store --keep   # reuse between runs

The runs are folders written directly (a child process): a metadata.json built by ``runformat`` listing two
text entities, ``01_input.txt`` (6 to 12 words) and ``02_interception.txt`` (12 to 24 words), drawn from a
vocabulary of 5,000 made-up words with a Zipf-like spread (a few words are in most runs, most in very few), plus
marker words of known frequency: ``everywhere`` (every run), ``half`` (50%), ``tenth`` (10%), ``rare`` (0.1%).

Measured (median, p95 of ``--repeat`` calls, each ``RunIndex.query`` with its freshness refresh): each search
against the baseline of the same index in the same run, the newest 50 without ``q``; and the cold build of the
index with the words vs reading every metadata.json with no index.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from listing import read_all, timed
from pipeline_recorder import RunStore, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.index import INDEX_DIRNAME, RunIndex
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.naming import METADATA_FILENAME

CONFIGS = [f"config-{n}" for n in range(8)]
START = datetime(2025, 1, 1, tzinfo=UTC)
MARKER = ".bench-search.json"
MARKERS = {"everywhere": 1.0, "half": 0.5, "tenth": 0.1, "rare": 0.001}
TEXT = "text/plain; charset=utf-8"


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "do", "fu", "gi", "ha", "je", "pu"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def create_store(runs_dir: Path, runs: int) -> None:
    rng = random.Random(11)
    vocab = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]  # Zipf: rank 1 is in most runs
    runs_dir.mkdir(parents=True, exist_ok=True)
    owner = {**current_owner(), "pid": 2**22 + 4321, "start_ticks": 1}
    for _ in range(runs):
        run_id = f"{rng.getrandbits(128):032x}"
        stamp = (START + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6))).isoformat()
        marks = [word for word, share in MARKERS.items() if rng.random() < share]
        texts = [" ".join(rng.choices(vocab, weights, k=rng.randint(6, 12)) + marks).capitalize(),
                 " ".join(rng.choices(vocab, weights, k=rng.randint(12, 24))).capitalize() + "."]
        header = runformat.new_header(run_id=run_id, config_name=rng.choice(CONFIGS), execution_mode="eco",
                                      safety_level="kids", user_id=f"user-{rng.randrange(1000)}",
                                      expected_outputs=["input", "interception"], owner=owner)
        header.update(timestamp=stamp, updated_at=stamp, status="completed", finished_at=stamp,
                      completed_outputs=["input", "interception"])
        header["current_state"]["progress"] = "2/2"
        folder = runs_dir / run_id
        folder.mkdir()
        entities = []
        for sequence, (entity_type, text) in enumerate(zip(("input", "interception"), texts, strict=True), 1):
            data = text.encode()
            filename = f"{sequence:02d}_{entity_type}.txt"
            (folder / filename).write_bytes(data)
            entities.append({"sequence": sequence, "type": entity_type, "filename": filename, "timestamp": stamp,
                             "metadata": {}, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                             "mime_type": TEXT, "revision": sequence + 1})
        (folder / METADATA_FILENAME).write_bytes(MetadataDocument(header, entities).to_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200, help="calls per measured query")
    parser.add_argument("--store", type=Path, help="base path to create or reuse (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the store for the next run")
    parser.add_argument("--warm", action="store_true",
                        help="with --store: query the index a previous run built (no cold build measured)")
    parser.add_argument("--create", action="store_true", help=argparse.SUPPRESS)  # internal: the writing child
    args = parser.parse_args()
    if args.create:
        create_store(Path(args.store), args.runs)
        return
    base = args.store or Path(tempfile.mkdtemp(prefix="bench-search-"))
    store = RunStore(base)
    marker = base / MARKER
    try:
        if not marker.is_file() or json.loads(marker.read_text()) != {"runs": args.runs}:
            shutil.rmtree(store.runs_dir, ignore_errors=True)
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--store", str(store.runs_dir), "--runs", str(args.runs),
                            "--create"], check=True)
            marker.write_text(json.dumps({"runs": args.runs}))
            print(f"created {args.runs} run folders in {time.perf_counter() - started:.1f} s")
        measure(store, args)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def measure(store: RunStore, args: argparse.Namespace) -> None:
    cold = naive = float("nan")
    if not args.warm:
        shutil.rmtree(store.runs_dir / INDEX_DIRNAME, ignore_errors=True)
        read_all(store)  # warm the page cache for both the build and the no-index read
        started = time.perf_counter()
        read_all(store)
        naive = time.perf_counter() - started
    index = RunIndex(store)
    started = time.perf_counter()
    index.refresh()
    if not args.warm:
        cold = time.perf_counter() - started
    vocab = vocabulary(random.Random(11))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("q: word in every run", {"q": "everywhere"}),
        ("q: word in 50% of runs", {"q": "half"}),
        ("q: word in 10% of runs", {"q": "tenth"}),
        ("q: word in 0.1% of runs", {"q": "rare"}),
        ("q: no run has it", {"q": "nowhere"}),
        ("q: prefix of 2 letters", {"q": "ka"}),
        ("q: two words (10% and 50%)", {"q": "tenth half"}),
        ("q: a vocabulary word (rank 200)", {"q": vocab[200]}),
        ("q + config_name (1 of 8)", {"q": "half", "config_name": CONFIGS[3]}),
        ("q + user_id (1 of 1000)", {"q": "half", "user_id": "user-7"}),
    ]
    baseline = timed(lambda: index.query(), args.repeat)
    rows = []
    for name, filters in cases:
        count = len(index.query(**filters, limit=200)[0])
        med, p95 = timed(lambda f=filters: index.query(**f), args.repeat)  # type: ignore[misc]
        rows.append((name, count, med, p95))
    _, cursor = index.query(q="half")
    for _ in range(19):  # page 21: 1,000 matching runs down
        _, cursor = index.query(q="half", cursor=cursor)
    med, p95 = timed(lambda: index.query(q="half", cursor=cursor), args.repeat)
    rows.append(("q: 50% word, page 21 (cursor)", 50, med, p95))

    print(f"\nRunIndex search over {index.count()} runs, {args.repeat} calls per query")
    if not args.warm:
        print(f"cold build with the words (no index file): {cold:.2f} s; reading every metadata.json without an "
              f"index: {naive:.2f} s")
    print(f"baseline (same index, newest 50 without q): median {baseline[0]:.3f} ms, p95 {baseline[1]:.3f} ms\n")
    print("| query | runs on page (of 200) | median ms | p95 ms | x baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, count, med, p95 in rows:
        print(f"| {name} | {count} | {med:.3f} | {p95:.3f} | {med / baseline[0]:.1f} |")
    worst = max(p95 for _, _, _, p95 in rows)
    print(f"\nslowest p95: {worst:.3f} ms ({'under' if worst < 50 else 'OVER'} the 50 ms target)")
    index.close()


if __name__ == "__main__":
    main()
