"""The first run of a new user: `make run` on a fresh clone installs only what serving needs and serves; a second
one on the same port says the port is taken and how to choose another; the package builds without setuptools
warnings; the project's docs stand on their own."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from cli_harness import cli, cli_env

from support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
# What `make run` must not install: the dev extra's tools (checked by distribution name in the new venv).
DEV_ONLY = ("pytest", "pytest-timeout", "hypothesis", "schemathesis", "playwright", "ruff", "mypy", "flask")


def fresh_clone(target: Path) -> Path:
    """The project's files as a clone has them (tracked and new, never ignored ones such as .venv)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop `make` and the server it started: they share the process group the test made (its id is the pid)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_run_on_a_fresh_clone_installs_only_runtime_deps_serves_and_a_second_one_says_the_port_is_taken(
        tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    port = free_port()
    env = cli_env({"PIPELINE_RECORDER_PORT": str(port)})
    log = (tmp_path / "make-run.log").open("wb")
    first = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{url}/") or first.poll() is not None, timeout=900,
                   what="`make run` to install and serve")
        assert first.poll() is None, (tmp_path / "make-run.log").read_text()
        assert "<html" in httpx.get(f"{url}/", timeout=10).text.lower()
        assert httpx.get(f"{url}/api/pipeline/runs", timeout=10).json()["runs"] == []

        installed = subprocess.run([str(clone / ".venv/bin/python"), "-m", "pip", "list", "--format=freeze"],
                                   capture_output=True, text=True, check=True).stdout.lower()
        names = {line.split("==")[0] for line in installed.splitlines()}
        assert "pipeline-recorder" in names and "uvicorn" in names
        assert not names & set(DEV_ONLY), f"make run installed dev tools: {sorted(names & set(DEV_ONLY))}"

        second = subprocess.run(["make", "run"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0
        assert "serving" not in second.stdout and "startup complete" not in second.stderr.lower()
        assert f"port {port}" in second.stderr and "already taken" in second.stderr
        assert "PIPELINE_RECORDER_PORT=" in second.stderr and "make run" in second.stderr
        assert "Errno" not in second.stderr
        assert answers(f"{url}/"), "the first server must still serve"
    finally:
        stop(first)
        log.close()


def test_serve_on_a_busy_port_exits_with_how_to_choose_another_without_saying_it_serves(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for result in (cli("serve", "--port", str(port), "--base-path", str(tmp_path)),
                       cli("serve", "--base-path", str(tmp_path), env={"PIPELINE_RECORDER_PORT": str(port)})):
            assert result.code == 1, result.text
            assert "serving" not in result.out
            assert result.err.count("\n") == 1 and result.err.startswith("error: ")
            assert f"port {port} on 127.0.0.1 is already taken" in result.err
            assert "--port" in result.err and "PIPELINE_RECORDER_PORT=" in result.err


def test_the_package_builds_without_setuptools_deprecation_warnings(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path / "wheel"),
                            str(clone)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    warnings = [line for line in (built.stdout + built.stderr).splitlines()
                if "BuildBackendWarning" in line or "SetuptoolsDeprecationWarning" in line]
    assert warnings == []


def test_readme_and_docs_never_refer_to_files_a_clone_does_not_have() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for needle in ("../shared", "DESIGN.md"):
            assert needle not in text, f"{doc.relative_to(ROOT)} refers to {needle!r}, which a clone lacks"
