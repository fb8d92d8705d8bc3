"""Speech recognition with faster-whisper: words with times, in Simplified Chinese.

The model is loaded from a local directory only (built by `qa models install` or named in the
configuration), so nothing is fetched at run time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import opencc

from qa.config import AsrConfig
from qa.types import Word

log = logging.getLogger(__name__)


class ModelMissingError(RuntimeError):
    """A model directory is absent or incomplete; says how to build it."""


@dataclass(frozen=True)
class AsrRuntime:
    """Where and how the model runs, chosen once per process."""

    device: str
    compute_type: str


def choose_runtime(config: AsrConfig) -> AsrRuntime:
    """CUDA float16 where a GPU is visible to CTranslate2, else CPU int8; both overridable."""
    import ctranslate2

    device = config.device
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute_type = config.compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return AsrRuntime(device, compute_type)


@lru_cache(maxsize=2)
def _load_model(model_dir: str, device: str, compute_type: str, cpu_threads: int) -> Any:
    from faster_whisper import WhisperModel

    path = Path(model_dir)
    if not (path / "model.bin").is_file():
        raise ModelMissingError(
            f"Whisper model not found in {path}: run `qa models install` (or set asr.model to a "
            "CTranslate2 Whisper model directory)"
        )
    return WhisperModel(
        str(path), device=device, compute_type=compute_type, cpu_threads=cpu_threads,
        local_files_only=True,
    )


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


class Transcriber:
    """Turns 16 kHz mono audio into words; one instance per model and settings."""

    def __init__(self, config: AsrConfig, model_dir: Path) -> None:
        self.config = config
        self.runtime = choose_runtime(config)
        self.model_dir = model_dir
        self.model = _load_model(
            str(model_dir), self.runtime.device, self.runtime.compute_type, config.cpu_threads
        )

    def describe(self) -> dict[str, Any]:
        return {
            "model": str(self.model_dir),
            "device": self.runtime.device,
            "compute_type": self.runtime.compute_type,
            "language": self.config.language,
        }

    def transcribe(self, audio: np.ndarray) -> list[Word]:
        """Words of the audio; an automatically chosen GPU that cannot run falls back to the CPU.

        CTranslate2 sees a GPU through the driver but loads cuBLAS/cuDNN only at the first
        inference, so a machine with a GPU and the wrong CUDA libraries fails only here.
        """
        try:
            return self._transcribe(audio)
        except RuntimeError as exc:
            unusable_gpu = any(lib in str(exc).lower() for lib in ("cuda", "cublas", "cudnn"))
            if not (unusable_gpu and self.runtime.device == "cuda" and self.config.device == "auto"):
                raise
            log.warning("the GPU cannot run the model (%s); using the CPU instead", exc)
            self.runtime = AsrRuntime("cpu", "int8")
            self.model = _load_model(str(self.model_dir), "cpu", "int8", self.config.cpu_threads)
            return self._transcribe(audio)

    def _transcribe(self, audio: np.ndarray) -> list[Word]:
        cfg = self.config
        options: dict[str, Any] = {
            "language": cfg.language,
            "beam_size": cfg.beam_size,
            "word_timestamps": True,
            "vad_filter": cfg.vad_filter,
            "vad_parameters": {"min_silence_duration_ms": cfg.vad_min_silence_ms},
            "initial_prompt": cfg.initial_prompt,
            "hotwords": " ".join(cfg.hotwords) or None,
            "condition_on_previous_text": False,
        }
        if self.runtime.device == "cuda":
            from faster_whisper import BatchedInferencePipeline

            options.pop("condition_on_previous_text")
            segments, _ = BatchedInferencePipeline(self.model).transcribe(
                audio, batch_size=cfg.batch_size, **options
            )
        else:
            segments, _ = self.model.transcribe(audio, **options)
        convert = _to_simplified().convert if cfg.to_simplified else (lambda s: s)
        words = []
        for segment in segments:
            for w in segment.words or []:
                text = convert(w.word.strip())
                if text:
                    words.append(Word(text, round(w.start, 3), round(w.end, 3), round(w.probability, 4)))
        return words
