"""Running `pipeline-recorder` the way a user does (a subprocess) and building runs for it to work on."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, new_run_id

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPELINE_RECORDER_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    env.update(extra or {})
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline_recorder.cli", *args]


def cli(*args: str, cwd: Path | None = None, timeout: float = 60, env: dict[str, str] | None = None) -> Result:
    done = subprocess.run(cli_command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=cli_env(env))
    return Result(done.returncode, done.stdout, done.stderr)


def make_run(base: Path, *, status: str | None = "completed", config: str = "stillepost", user: str = "anonymous",
             entities: Sequence[tuple[str, object]] = (("input", "Hallo Welt"), ("translation", "Hello world"),
                                                       ("safety", {"safe": True, "codes": []})),
             expected: Sequence[str] | None = None) -> LivePipelineRecorder:
    """A run with the given entities, ended with ``status`` (None: left running, owned by this live process)."""
    rec = LivePipelineRecorder(new_run_id(), config, "eco", "kids", user, base_path=base,
                               expected_outputs=list(expected) if expected is not None
                               else list(dict.fromkeys(t for t, _ in entities)))
    rec.set_state(1, "translation_and_safety")
    for entity_type, content in entities:
        rec.save_entity(entity_type, content)  # type: ignore[arg-type]
    if status is not None:
        rec.finish(status)
    return rec


def make_interrupted_run(base: Path) -> str:
    """A run whose writing process died without ending it (it reads as ``interrupted``)."""
    code = ("import sys; from pipeline_recorder import LivePipelineRecorder, new_run_id; "
            "r = LivePipelineRecorder(new_run_id(), 'stillepost', 'eco', 'kids', base_path=sys.argv[1]); "
            "r.save_entity('input', 'x'); print(r.run_id)")
    done = subprocess.run([sys.executable, "-c", code, str(base)], capture_output=True, text=True, check=True,
                          timeout=60)
    return done.stdout.strip()



def files_under(folder: Path) -> dict[str, bytes]:
    """Every regular file below ``folder`` (relative path -> content), to prove what changed and what did not."""
    found = {}
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


def run_files(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in os.listdir(folder) if not n.startswith(".")}


def build_zip(path: Path, members: dict[str, bytes], *, manifest: bool = True, links: dict[str, str] | None = None,
              tamper: str | None = None) -> None:
    """A zip export with ``members``; ``tamper`` names a member whose bytes change after the manifest was made."""
    files = [{"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
             for name, data in members.items()]
    with zipfile.ZipFile(path, "w") as zf:
        if manifest:
            zf.writestr("manifest.json", json.dumps({"format": "pipeline-recorder-export", "version": 1,
                                                     "runs": [], "files": files}))
        for name, data in members.items():
            zf.writestr(name, data + b"!" if name == tamper else data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)


def genuine_members(tmp_path: Path) -> dict[str, bytes]:
    rec = make_run(tmp_path / "src")
    return {f"{rec.run_id}/{name}": data for name, data in run_files(rec.run_folder).items()}
