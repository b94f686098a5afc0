"""Recording processes that the reliability tests start (and kill).

    python reliability_workers.py writer BASE RUN_ID SEED
        record into RUN_ID forever, stage by stage; one JSON ack line after each save_entity has returned
    python reliability_workers.py pipeline BASE RUN_ID COUNT INTERVAL
        a paced pipeline: COUNT entities (text, JSON, PNG) about INTERVAL s apart with state changes, then
        mark_complete; prints "ready" once the run exists, starts on a "go" line on stdin, prints "done"

An ack is printed only after ``save_entity`` returned: every acked entity is an acknowledged one.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time

from pipeline_recorder import LivePipelineRecorder

SETTINGS = ("stillepost", "eco", "kids")
TYPES = ("input", "translation", "safety", "interception", "safety_pre_output", "output_image")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


def say(out: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def content_for(rng: random.Random, tag: str, n: int) -> tuple[str, object, bytes]:
    """(entity type, content, the bytes that land on disk)."""
    kind = rng.random()
    if kind < 0.5:
        text = f"{tag}-{n} " + "word " * rng.randrange(1, 400)
        return rng.choice(("translation", "interception")), text, text.encode()
    if kind < 0.8:
        doc = {"tag": tag, "n": n, "safe": True, "pad": "x" * rng.randrange(2000)}
        return "safety", doc, json.dumps(doc, ensure_ascii=False, indent=2).encode()
    data = PNG + os.urandom(rng.randrange(1, 64 * 1024))
    return "output_image", data, data


def writer(base: str, run_id: str, seed: str) -> None:
    rng = random.Random(seed)
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=base, expected_outputs=list(TYPES))
    n = 0
    while True:
        n += 1
        if rng.random() < 0.15:
            rec.set_state(rng.randrange(5), f"step-{seed}-{n}")
            continue
        entity_type, content, data = content_for(rng, seed, n)
        filename = rec.save_entity(entity_type, content)  # type: ignore[arg-type]
        say({"run_id": run_id, "filename": filename, "sha256": hashlib.sha256(data).hexdigest()})


def pipeline(base: str, run_id: str, count: str, interval: str) -> None:
    rng = random.Random(run_id)
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=base, expected_outputs=list(TYPES))
    rec.set_state(0, "pipeline_starting")
    say({"ready": run_id})
    if sys.stdin.readline().strip() != "go":  # the load starts when every client is connected
        return
    pause = float(interval)
    start = time.monotonic()
    for n in range(int(count)):
        if n % 5 == 0:
            rec.set_state(min(4, n * 5 // int(count)), f"step-{n}")
        entity_type, content, _ = content_for(rng, run_id[:8], n)
        rec.save_entity("input" if n == 0 else entity_type, content)  # type: ignore[arg-type]
        # Paced against the start, so a slow save does not stretch the run.
        delay = start + (n + 1) * pause - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    rec.mark_complete()
    say({"done": run_id})


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "writer":
        writer(*args)
    elif command == "pipeline":
        pipeline(*args)
    else:
        raise SystemExit(f"unknown command {command!r}: writer or pipeline")


if __name__ == "__main__":
    main()
