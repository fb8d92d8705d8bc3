"""Errors that name the call they concern, so a batch can report them in one line and go on."""

from __future__ import annotations

from pathlib import Path


class CallError(Exception):
    """Processing one call failed for a reason the user can act on."""

    def __init__(self, path: str | Path, reason: str) -> None:
        reason = " ".join(reason.split())  # decoder messages may span lines; reports are one line
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
