"""Optional backend: the full pyannote.audio pipeline (`pip install -e .[pyannote]`, pulls torch).

Used only when `diarization.backend: pyannote` names a local pipeline directory or config
file: pyannote's own embedding model is on no package index, so the user provides it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from qa.config import DiarizationConfig
from qa.errors import QAError
from qa.speech.types import SpeakerSegment


class PyannoteUnavailableError(QAError, RuntimeError):
    """pyannote.audio is not installed or no local pipeline is configured."""

    code = "pyannote_unavailable"


@lru_cache(maxsize=1)
def _load_pipeline(location: str) -> Any:
    try:
        from pyannote.audio import Pipeline
    except ImportError as exc:
        raise PyannoteUnavailableError(
            "diarization.backend is 'pyannote' but pyannote.audio is not installed: "
            "pip install -e '.[pyannote]'"
        ) from exc
    return Pipeline.from_pretrained(location)


def diarize_with_pyannote(audio: np.ndarray, sample_rate: int, config: DiarizationConfig) -> list[SpeakerSegment]:
    if not config.pyannote_pipeline:
        raise PyannoteUnavailableError(
            "diarization.backend is 'pyannote' but diarization.pyannote_pipeline names no local pipeline"
        )
    import torch

    pipeline = _load_pipeline(config.pyannote_pipeline)
    counts: dict[str, int] = (
        {"num_speakers": config.num_speakers}
        if config.num_speakers
        else {"min_speakers": 1, "max_speakers": config.max_speakers}
    )
    output = pipeline({"waveform": torch.from_numpy(audio)[None], "sample_rate": sample_rate}, **counts)
    annotation = getattr(output, "speaker_diarization", output)  # pyannote.audio 4 wraps the annotation
    names: dict[str, str] = {}
    segments = []
    for turn, _, label in annotation.itertracks(yield_label=True):
        speaker = names.setdefault(label, f"S{len(names)}")
        segments.append(SpeakerSegment(speaker, float(turn.start), float(turn.end)))
    return segments
