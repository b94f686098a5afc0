"""The shortcuts for ending a run, shared by every recorder (local and remote): each is ``finish(status)``."""

from __future__ import annotations


class RunEndings:
    """``mark_complete``, ``mark_failed``, ``mark_blocked``, ``mark_cancelled`` over the recorder's ``finish``."""

    def finish(self, status: str, reason: str | None = None) -> None:
        raise NotImplementedError

    def mark_complete(self) -> None:
        self.finish("completed")

    def mark_failed(self, reason: str | None = None) -> None:
        self.finish("failed", reason)

    def mark_blocked(self, reason: str | None = None) -> None:
        self.finish("blocked", reason)

    def mark_cancelled(self, reason: str | None = None) -> None:
        self.finish("cancelled", reason)
