"""ComfyUI as a media backend: submit a workflow to ``/prompt``, follow ``/history/{prompt_id}``, fetch ``/view``.

Workflows are JSON files next to the configs (``*.workflow.json``); string values ``{{prompt}}``, ``{{seed}}``,
``{{width}}``, ``{{height}}`` and ``{{seconds}}`` are filled in (a value that is only a placeholder becomes the
number itself).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

from ..errors import BackendError
from .http import HttpBackendClient, field
from .protocol import MediaRequest, MediaResult

_PLACEHOLDER = re.compile(r"\{\{(prompt|seed|width|height|seconds)\}\}")
# Which output list of a ComfyUI history entry holds each media kind.
OUTPUT_KEYS = {"image": ("images",), "audio": ("audio", "audios"), "video": ("videos", "gifs", "images")}
FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 1.0


def fill_workflow(workflow: Any, values: dict[str, Any]) -> Any:
    """A copy of ``workflow`` with the placeholders replaced."""
    if isinstance(workflow, dict):
        return {key: fill_workflow(value, values) for key, value in workflow.items()}
    if isinstance(workflow, list):
        return [fill_workflow(value, values) for value in workflow]
    if isinstance(workflow, str):
        whole = _PLACEHOLDER.fullmatch(workflow)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), workflow)
    return workflow


class ComfyUIBackend:
    """Makes media with a ComfyUI server, polling its history until the prompt is done or the time is up."""

    name = "comfyui"

    def __init__(self, url: str, workflow: dict[str, Any], *, workflow_name: str = "workflow",
                 timeout: float = 300.0, retries: int = 2) -> None:
        self.workflow, self.model, self.timeout = workflow, workflow_name, timeout
        self._http = HttpBackendClient(self.name, url, timeout=min(timeout, 60.0), retries=retries)
        self._pause = threading.Event()

    def close(self) -> None:
        self._pause.set()
        self._http.close()

    def generate(self, request: MediaRequest) -> MediaResult:
        values = {"prompt": request.prompt, "seed": request.seed, "width": request.width, "height": request.height,
                  "seconds": request.seconds}
        submitted = self._http.post_json("/prompt", {"prompt": fill_workflow(self.workflow, values),
                                                     "client_id": uuid.uuid4().hex})
        prompt_id = field(submitted, "prompt_id", backend=self.name, what="POST /prompt")
        if not isinstance(prompt_id, str) or not prompt_id:
            raise BackendError(self.name, f"POST /prompt answered an invalid prompt_id {prompt_id!r:.60}")
        entry = self._wait(prompt_id)
        item = self._output_item(entry, request.kind, prompt_id)
        params = {"filename": str(item.get("filename", "")), "subfolder": str(item.get("subfolder", "")),
                  "type": str(item.get("type", "output"))}
        content = self._http.get_bytes("/view", params)
        if not content:
            raise BackendError(self.name, f"GET /view for {params['filename']!r} answered an empty file")
        fmt = params["filename"].rsplit(".", 1)[-1].lower() if "." in params["filename"] else "bin"
        return MediaResult(content, fmt, self.name, self.model, {"prompt_id": prompt_id,
                                                                  "filename": params["filename"]})

    def _wait(self, prompt_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        pause = FIRST_POLL_SECONDS
        while True:
            history = self._http.get_json(f"/history/{prompt_id}")
            entry = history.get(prompt_id) if isinstance(history, dict) else None
            if isinstance(entry, dict):
                status = entry.get("status") or {}
                if isinstance(status, dict) and status.get("status_str") == "error":
                    raise BackendError(self.name, f"prompt {prompt_id} failed in ComfyUI: "
                                                  f"{str(status.get('messages'))[:300]}")
                if entry.get("outputs") and (not isinstance(status, dict) or status.get("completed", True)):
                    return entry
            if time.monotonic() >= deadline:
                raise BackendError(self.name, f"prompt {prompt_id} was not done within {self.timeout:g} s")
            # The poll interval grows so a long render costs few requests; waiting on an Event, not sleeping blind.
            self._pause.wait(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(MAX_POLL_SECONDS, pause * 2)

    def _output_item(self, entry: dict[str, Any], kind: str, prompt_id: str) -> dict[str, Any]:
        outputs = entry.get("outputs")
        if isinstance(outputs, dict):
            for node_output in outputs.values():
                if not isinstance(node_output, dict):
                    continue
                for key in OUTPUT_KEYS.get(kind, ()):
                    items = node_output.get(key)
                    if isinstance(items, list) and items and isinstance(items[0], dict):
                        return items[0]
        raise BackendError(self.name, f"prompt {prompt_id} finished without a {kind} output: {str(outputs)[:200]!r}")
