"""Decode any recording ffmpeg can read into 16 kHz float32 channels, and refuse bad ones clearly."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from qa.config import AudioConfig
from qa.errors import CallError
from qa.files import sha256_of


@dataclass
class DecodedAudio:
    """The call's audio at `sample_rate`; `samples` has shape (channels, n), at most two channels."""

    path: str
    sha256: str
    samples: np.ndarray
    sample_rate: int
    source_rate: int
    source_channels: int
    codec: str
    container: str
    note: str | None = None

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0) if self.channels > 1 else self.samples[0]


def _wav_missing_bytes(path: Path) -> int:
    """How many bytes a RIFF/WAVE file's data chunk declares beyond the end of the file.

    ffmpeg clamps the declared length to the file size, so a cut WAV file would otherwise look
    complete; the header is the only witness.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        while chunk := fh.read(8):
            if len(chunk) < 8:
                return 0
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):  # streamed WAV: length unknown
                    return 0
                return max(0, fh.tell() + chunk_size - size)
            fh.seek(chunk_size + (chunk_size & 1), 1)
    return 0


def _is_duplicated_mono(samples: np.ndarray) -> bool:
    """Stereo files whose two channels carry the same signal are mono calls in disguise."""
    left, right = samples
    scale = max(float(np.abs(left).max()), float(np.abs(right).max()), 1e-9)
    return float(np.abs(left - right).max()) / scale < 1e-3


def load_audio(path: str | Path, config: AudioConfig | None = None) -> DecodedAudio:
    """Decode `path`; raise CallError with a one-line reason for anything unusable."""
    config = config or AudioConfig()
    path = Path(path)
    if not path.exists():
        raise CallError(path, "no such file")
    if not path.is_file():
        raise CallError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise CallError(path, "empty file (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise CallError(path, f"not a readable audio file ({exc.__class__.__name__}: {exc})") from exc
    with container:
        if not container.streams.audio:
            raise CallError(path, "the file has no audio stream")
        stream = container.streams.audio[0]
        declared_s = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / av.time_base if container.duration else 0.0)
        if declared_s > config.max_duration_s:  # refused before decoding: memory stays small
            raise CallError(path, f"{declared_s / 3600:.1f} h long, over the {config.max_duration_s / 3600:g} h limit "
                                  "(audio.max_duration_s)")
        source_channels = stream.channels or 1
        layout = "stereo" if source_channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=config.sample_rate)
        chunks: list[np.ndarray] = []
        decoded = 0
        max_samples = int(config.max_duration_s * config.sample_rate)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray()
                    decoded += chunk.shape[1]
                    if decoded > max_samples:
                        raise CallError(
                            path, f"longer than the {config.max_duration_s / 3600:g} h limit (audio.max_duration_s)"
                        )
                    chunks.append(chunk)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            done = sum(c.shape[1] for c in chunks) / config.sample_rate
            raise CallError(path, f"corrupt or truncated audio: decoding failed after {done:.1f} s ({exc})") from exc
        codec = stream.codec_context.name
        container_name = container.format.name
        source_rate = stream.rate or config.sample_rate

    if not chunks or sum(c.shape[1] for c in chunks) == 0:
        raise CallError(path, "zero-length recording: no audio samples")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    duration = samples.shape[1] / config.sample_rate
    if container_name == "wav" and (missing := _wav_missing_bytes(path)):
        raise CallError(path, f"truncated file: {missing} bytes of audio declared in the header are missing "
                              f"({duration:.1f} s present)")
    peak = float(np.abs(samples).max())
    peak_dbfs = 20 * np.log10(peak) if peak > 0 else float("-inf")
    if peak_dbfs < config.silence_dbfs:
        raise CallError(path, f"silent recording: peak level {peak_dbfs:.0f} dBFS over {duration:.1f} s")

    note = None
    if source_channels > 2:
        note = f"{source_channels} channels mixed down to mono"
    elif samples.shape[0] == 2 and _is_duplicated_mono(samples):
        samples = samples[:1]
        note = "both channels carry the same signal: treated as mono"
    return DecodedAudio(
        path=str(path),
        sha256=sha256_of(path),
        samples=samples,
        sample_rate=config.sample_rate,
        source_rate=source_rate,
        source_channels=source_channels,
        codec=codec,
        container=container_name,
        note=note,
    )
