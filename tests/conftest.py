"""Shared fixtures: the repository's sample calls and the built models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from qa.modelstore.manifest import REPO_ROOT, default_models_dir  # noqa: E402

SAMPLES = REPO_ROOT / "samples"


def sample_truth(call_id: str) -> dict:
    return json.loads((SAMPLES / "truth" / f"{call_id}.json").read_text(encoding="utf-8"))


def all_truths() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SAMPLES / "truth").glob("*.json"))]


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = default_models_dir()
    if not (path / "whisper-base" / "model.bin").is_file():
        pytest.fail(f"models are not built in {path}: run ./install.sh (qa models install)")
    return path
