"""The house rules that tools check: types (mypy, settings in pyproject.toml) and lint with import
order (ruff). Run as tests so that `./test.sh`, and with it CI, fails on a new type error or lint
finding; both tools are pinned in the `test` extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_mypy_finds_no_type_errors_in_the_product() -> None:
    done = _run("mypy")  # files and strictness from [tool.mypy]: qa/ and web/
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_ruff_finds_nothing_to_lint() -> None:
    done = _run("ruff", "check", "qa", "web", "bench", "tests", "samples")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
