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
from faster_whisper.vad import VadOptions, get_speech_timestamps

from qa.config import AsrConfig
from qa.errors import QAError
from qa.speech.cpu import usable_cores
from qa.speech.types import AsrInfo, DroppedWord, Word

log = logging.getLogger(__name__)


SAMPLE_RATE = 16000


@dataclass(slots=True)
class Recognition:
    """The words kept, and the words dropped as unlikely to have been said."""

    words: list[Word]
    dropped: list[DroppedWord]


class ModelMissingError(QAError, RuntimeError):
    """A model directory is absent or incomplete; says how to build it."""

    code = "model_missing"


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


def recognition_threads(cpu_threads: int, cores: int | None = None) -> int:
    """The CPU threads recognition runs on: `asr.cpu_threads`, or for 0 (auto) half the cores
    this process may use, 1 to 4. CTranslate2's own default is 4 whatever the machine: on two
    cores that oversubscribes them, and recognition shares the cores with the diarization
    models, which run beside it on mono calls. Measured on two cores (a 26 s mono call,
    recognition alone): 2.7-3.0 s on one thread, 3.1-3.3 s on two, 3.7-7 s on four."""
    if cpu_threads > 0:
        return cpu_threads
    return max(1, min(4, (usable_cores() if cores is None else cores) // 2))


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
        str(path), device=device, compute_type=compute_type, cpu_threads=recognition_threads(cpu_threads),
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

    def describe(self, dropped: list[DroppedWord] | None = None) -> AsrInfo:
        """The transcript's record of this recogniser, with the words it dropped on one call."""
        return AsrInfo(model=str(self.model_dir), device=self.runtime.device, compute_type=self.runtime.compute_type,
                       language=self.config.language, dropped_words=dropped or [])

    def transcribe(self, audio: np.ndarray) -> Recognition:
        """Words of the audio, without those outside detected speech or in segments Whisper itself
        scores as unlikely speech (so that no invented phrase can become a verdict).

        An automatically chosen GPU that cannot run falls back to the CPU.

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

    def _transcribe(self, audio: np.ndarray) -> Recognition:
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
        speech = _speech_spans(audio)
        kept: list[Word] = []
        dropped: list[DroppedWord] = []
        for segment in segments:
            unlikely = _unlikely_speech(segment)
            for w in segment.words or []:
                text = convert(w.word.strip())
                if not text:
                    continue
                word = Word(text, round(w.start, 3), round(w.end, 3), round(w.probability, 4))
                reason = unlikely or (None if _inside_speech(word, speech) else "outside detected speech")
                if reason:
                    dropped.append(DroppedWord(word.text, word.start, word.end, reason))
                else:
                    kept.append(word)
        return Recognition(kept, dropped)


# Whisper's own signs that a segment is not speech. The first pair is Whisper's no-speech rule
# (no-speech probability over 0.6 with average log-probability under -1); a compression ratio
# over 2.4 is its repetition test; an average log-probability under -1.5 is text Whisper itself
# barely believes (looser than Whisper's -1.0 retry bar, so that noisy real speech stays).
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4
MIN_AVG_LOGPROB = -1.5
# Silero VAD, looser than the recogniser's own so that quiet word edges still count as speech.
_SPEECH_VAD = VadOptions(threshold=0.35, min_silence_duration_ms=300, speech_pad_ms=200)
MIN_SPEECH_SHARE = 0.5  # of a word's span inside detected speech, or it is not kept


def _unlikely_speech(segment: Any) -> str | None:
    """Why Whisper's own scores say a segment is not speech, or None."""
    if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < NO_SPEECH_LOGPROB:
        return f"no-speech probability {segment.no_speech_prob:.2f}"
    if segment.compression_ratio > MAX_COMPRESSION_RATIO:
        return f"repetition (compression ratio {segment.compression_ratio:.1f})"
    if segment.avg_logprob < MIN_AVG_LOGPROB:
        return f"average log-probability {segment.avg_logprob:.2f}"
    return None


def _speech_spans(audio: np.ndarray) -> np.ndarray:
    """(n, 2) start/end seconds of detected speech in 16 kHz audio."""
    spans = get_speech_timestamps(audio, _SPEECH_VAD, sampling_rate=SAMPLE_RATE)
    return np.array([[s["start"], s["end"]] for s in spans], dtype=float).reshape(-1, 2) / SAMPLE_RATE


def _inside_speech(word: Word, speech: np.ndarray) -> bool:
    overlap = np.clip(np.minimum(speech[:, 1], word.end) - np.maximum(speech[:, 0], word.start), 0, None).sum()
    return overlap >= MIN_SPEECH_SHARE * max(word.end - word.start, 1e-3)
