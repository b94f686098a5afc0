"""The shortcuts for ending a run, shared by every recorder (local and remote): each is ``finish(status)``."""

from __future__ import annotations

import abc


class RunEndings(abc.ABC):
    """``mark_complete``, ``mark_failed``, ``mark_blocked``, ``mark_cancelled`` over the recorder's ``finish``."""

    @abc.abstractmethod
    def finish(self, status: str, reason: str | None = None) -> None:
        """End the run with a terminal status (each recorder's own)."""

    def mark_complete(self) -> None:
        self.finish("completed")

    def mark_failed(self, reason: str | None = None) -> None:
        self.finish("failed", reason)

    def mark_blocked(self, reason: str | None = None) -> None:
        self.finish("blocked", reason)

    def mark_cancelled(self, reason: str | None = None) -> None:
        self.finish("cancelled", reason)
