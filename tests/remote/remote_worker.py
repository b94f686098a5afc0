"""A worker process for the remote tests: records one pipeline-shaped run, through a server (RemoteRecorder) or
into a local store (LivePipelineRecorder), and prints one JSON line per acknowledged write.

    remote_worker.py --server URL RUN_ID [--spool DIR] [--retry S] [--extra N] [--hold-after K]
    remote_worker.py --local BASE RUN_ID [--extra N]

``--hold-after K`` stops after K extra entities, says so, and waits (for a kill -9). ``--runs N`` records N runs
(RUN_ID-0 ... RUN_ID-{N-1}).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline_recorder import LivePipelineRecorder, RemoteRecorder

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
EXPECTED = ["input", "translation", "safety", "interception", "safety_pre_output", "output_image"]


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def record(rec: Any, extra: int, hold_after: int | None) -> None:
    rec.set_state(0, "pipeline_starting")
    say(op="entity", filename=rec.save_entity("input", "Ein kleiner Hund spielt im Garten 🐕"))
    rec.set_state(1, "translation_and_safety")
    say(op="entity", filename=rec.save_entity("translation", "A small dog plays in the garden"))
    say(op="entity", filename=rec.save_entity("safety", {"safe": True, "codes": [], "level": "kids"}))
    rec.set_state(2, "interception")
    say(op="entity", filename=rec.save_entity("interception", "A puppy in a sunny garden, watercolour",
                                              {"config": "stillepost", "iterations": 1, "model_used": "embedded"}))
    for index in range(extra):
        if hold_after is not None and index == hold_after:
            say(op="holding")
            time.sleep(3600)  # killed here by the test
        say(op="entity", filename=rec.save_entity("step", f"step {index}", {"index": index}))
    rec.set_state(3, "pre_output_safety")
    say(op="entity", filename=rec.save_entity("safety_pre_output", [{"safe": True}]))
    rec.set_state(4, "media_generation")
    say(op="entity", filename=rec.save_entity("output_image", PNG, {"format": "png"}))
    with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as f:
        f.write(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 64)
    say(op="entity", filename=rec.save_entity("output_audio", Path(f.name)))
    with open(f.name, "rb") as stream:
        say(op="entity", filename=rec.save_entity("output_audio", stream))
    Path(f.name).unlink()
    say(op="entity", filename=rec.save_error(4, "note", "a recorded error that does not end the run",
                                             {"why": "testing"}))
    rec.mark_complete()
    say(op="finished")


def main() -> None:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--server")
    where.add_argument("--local")
    parser.add_argument("run_id")
    parser.add_argument("--spool")
    parser.add_argument("--token")
    parser.add_argument("--retry", type=float, default=20.0)
    parser.add_argument("--extra", type=int, default=0)
    parser.add_argument("--hold-after", type=int)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--flush", type=float, default=0.0, help="wait this long for the spool to be sent")
    args = parser.parse_args()
    run_ids = [args.run_id] if args.runs is None else [f"{args.run_id}-{i}" for i in range(args.runs)]
    for run_id in run_ids:
        if args.server:
            rec: Any = RemoteRecorder(args.server, run_id, "stillepost", "eco", "kids", token=args.token,
                                      expected_outputs=EXPECTED, spool_dir=args.spool, retry_seconds=args.retry)
        else:
            rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=args.local,
                                       expected_outputs=EXPECTED)
        say(op="created", run_id=run_id)
        record(rec, args.extra, args.hold_after)
        if args.server:
            rec.close(timeout=args.flush)
    sys.exit(0)


if __name__ == "__main__":
    main()
