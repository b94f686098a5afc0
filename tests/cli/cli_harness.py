"""Running `pipeline-recorder` the way a user does (a subprocess) and building runs for it to work on."""

from __future__ import annotations

import os
import subprocess
import sys
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
