"""The product's errors: one base, so that the command line and the web app each turn any of them
into a message in one place (qa/cli/main.py, web/errors.py), and errors that name the call they
concern, so a batch can report them in one line and go on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pydantic import ValidationError


class QAError(Exception):
    """A refusal or failure the user can act on. `code` names its kind (stable, for scripts and the
    web app's translated messages), `params` fill the message; str() is the message itself.

    Each kind keeps the built-in class it always had beside this one (ValueError for bad input,
    RuntimeError for what is missing), so callers that catch those still do."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may name a finer kind than its class
        self.params = params


class CallError(QAError):
    """Processing one call failed for a reason the user can act on."""

    code = "call"

    def __init__(self, path: str | Path, reason: str) -> None:
        reason = " ".join(reason.split())  # decoder messages may span lines; reports are one line
        super().__init__(f"{path}: {reason}", path=str(path), reason=reason)
        self.path = str(path)
        self.reason = reason


def validation_problems(exc: ValidationError, limit: int | None = None) -> str:
    """A pydantic validation error in one line: each problem's location and message (the first
    `limit` of them), joined by "; "."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:limit])
