"""The CPU cores the speech models may use, which both recognition and diarization size their
threads by."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the system tells it, e.g. under taskset
    or a container's CPU set), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
