"""Waveform peaks for the player: decoded once on the server with the pipeline's decoder (by the
worker, right after a call is scored) and cached beside the data, so neither the browser nor a
page view decodes audio."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Config
from qa.speech.audio import load_audio

BUCKETS = 1200  # product default: about one bar per pixel of a wide player


def compute_peaks(path: Path, config: Config, buckets: int = BUCKETS) -> dict[str, Any]:
    """Per bucket, the loudest sample of the mixed-down call, scaled so the loudest bucket is 1."""
    with load_audio(path, config.audio) as audio:
        edges = np.linspace(0, audio.length, num=min(buckets, audio.length) + 1, dtype=int)
        # bucket by bucket, so that a long call is never read whole
        peaks = np.array([np.abs(audio.mono(lo, hi)).max() for lo, hi in zip(edges[:-1], edges[1:])])
    top = float(peaks.max())
    scaled = peaks / top if top > 0 else peaks
    return {"duration": round(audio.duration, 3), "peaks": [round(float(p), 3) for p in scaled]}


def cached_peaks(path: Path, sha256: str, config: Config) -> dict[str, Any]:
    """compute_peaks, kept in data_dir/cache/peaks/<sha256>.json (the audio never changes)."""
    cache = config.data_dir / "cache" / "peaks" / f"{sha256}-{BUCKETS}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    result = compute_peaks(path, config)
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, cache)
    return result
