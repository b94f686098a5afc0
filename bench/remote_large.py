"""Benchmark: a 1 GB entity streamed into a server over loopback, and how much the server's memory grows.

One real server (``pipeline-recorder serve``, its own process); a RemoteRecorder saves a 1 GB file (a pathlib.Path:
streamed from disk, never read whole) as one entity. The server's resident memory is read from /proc before the
upload and its peak (VmHWM, the high-water mark since start) after it; printed: the growth, the throughput, and
whether the stored entity has the file's size and sha256.

    .venv/bin/python bench/remote_large.py             # 1 GB
    .venv/bin/python bench/remote_large.py --mb 256

Target (issue 11): growth < 64 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "remote"))

from remote_harness import metadata, server

from pipeline_recorder import RemoteRecorder, new_run_id


def memory_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp, server(Path(tmp) / "server") as srv:
        source = Path(tmp) / "video.mp4"
        digest = hashlib.sha256()
        block = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4096
        with open(source, "wb") as f:
            written = 0
            while written < args.mb * 1024 * 1024:
                chunk = block[: args.mb * 1024 * 1024 - written]
                f.write(chunk)
                digest.update(chunk)
                written += len(chunk)
        assert srv.process is not None
        pid = srv.process.pid
        rec = RemoteRecorder(srv.url, new_run_id(), "bench", "eco", "kids", spool_dir=Path(tmp) / "spool",
                             heartbeat=False)
        rec.save_entity("input", "warm up")
        before = memory_kb(pid, "VmRSS")
        start = time.perf_counter()
        rec.save_entity("output_video", source)
        elapsed = time.perf_counter() - start
        peak = memory_kb(pid, "VmHWM")
        entity = metadata(Path(tmp) / "server", rec.run_id)["entities"][-1]
        rec.close()
    growth_mb = (peak - before) / 1024
    print(f"entity: {args.mb} MB in {elapsed:.1f} s ({args.mb / elapsed:.0f} MB/s)")
    print(f"server RSS before: {before / 1024:.0f} MB, peak during the upload: {peak / 1024:.0f} MB, "
          f"growth {growth_mb:.1f} MB (target < 64 MB)")
    print(f"stored: {entity['filename']}, size matches: {entity['size'] == written}, "
          f"sha256 matches: {entity['sha256'] == digest.hexdigest()}")


if __name__ == "__main__":
    main()
