"""Decode any recording ffmpeg can read into 16 kHz float32 channels, and refuse bad ones clearly."""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

from qa.config import AudioConfig
from qa.errors import CallError
from qa.files import sha256_of

# Tags a PBX writes are not always UTF-8 (GBK titles, stray bytes). PyAV up to 18 decodes them
# strictly unless told `metadata_errors="ignore"`, and would refuse the file with a
# UnicodeDecodeError; PyAV 19 no longer has that option (av.open raises TypeError on it) and never
# raises: it decodes every tag as UTF-8 with surrogateescape. The tags are not read here either
# way, so the option is passed only where the API has it. (pyproject.toml holds PyAV below 19 for
# its AMR decoding; this keeps decoding working when that pin is lifted.)
_OPEN_OPTIONS: dict[str, Any] = (
    {"metadata_errors": "ignore"} if hasattr(av.container.Container, "metadata_errors") else {})


class _SampleFile:
    """Decoded samples kept in an unnamed temporary file (interleaved float32 frames), so that
    a long call is on disk, not in memory: each stage reads the stretch it works on, and a worker's
    memory stays that of one stretch however long the call. The file goes when it is closed."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        # read back with pread; open as long as the recording is, closed by close()
        self.handle = tempfile.TemporaryFile(prefix="qa-audio-", buffering=0)  # noqa: SIM115
        self.size = 0  # frames written
        self.peak = 0.0  # the largest absolute sample so far
        self.difference = 0.0  # the largest difference between the two channels so far

    def append(self, chunk: np.ndarray) -> None:
        """Add (channels, n) samples at the end."""
        self.peak = max(self.peak, float(np.abs(chunk).max(initial=0.0)))
        if self.channels == 2:
            self.difference = max(self.difference, float(np.abs(chunk[0] - chunk[1]).max(initial=0.0)))
        self.handle.write(np.ascontiguousarray(chunk.T, dtype=np.float32).tobytes())
        self.size += chunk.shape[1]

    def silence(self, count: int) -> None:
        self.append(np.zeros((self.channels, count), dtype=np.float32))

    def close(self) -> None:
        self.handle.close()

    def read(self, start: int, end: int) -> np.ndarray:
        """(end - start, channels) samples; safe from several threads at once (positional reads)."""
        frame = 4 * self.channels
        data = os.pread(self.handle.fileno(), (end - start) * frame, start * frame)
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self.channels)


@dataclass
class DecodedAudio:
    """The call's audio at `sample_rate`, at most two channels, read a stretch at a time.

    The samples live in a temporary file (see _SampleFile) until `close()`, or until the object is
    collected; `window` and `mono` read the stretch a stage needs.
    """

    path: str
    sha256: str
    sample_rate: int
    source_rate: int
    source_channels: int
    codec: str
    container: str
    length: int  # samples per channel
    channels: int
    _store: _SampleFile = field(repr=False)
    note: str | None = None
    warnings: list[str] = field(default_factory=list)  # what was repaired while decoding, for the reviewer

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    def window(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """(channels, n) float32 samples start:end (the whole call by default: short calls only)."""
        start, end, _ = slice(start, end).indices(self.length)
        frames = self._store.read(start, max(start, end))
        return np.ascontiguousarray(frames[:, :self.channels].T)

    def mono(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """Samples start:end mixed down to one channel."""
        window = self.window(start, end)
        return window.mean(axis=0) if self.channels > 1 else window[0]

    def close(self) -> None:
        """Remove the samples' temporary file; the audio cannot be read afterwards."""
        self._store.close()

    def __enter__(self) -> DecodedAudio:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def pieces(self, longest_s: float) -> list[tuple[int, int]]:
        """(start, end) sample ranges of at most `longest_s` covering the call, for stages whose
        memory grows with what they are given. Each cut is at the quietest 0.1 s of the last tenth
        of its piece, so that it falls between words."""
        longest, step, length = int(longest_s * self.sample_rate), self.sample_rate // 10, self.length
        bounds, start = [], 0
        while length - start > longest:
            search = self.mono(start + longest - longest // 10, start + longest)
            energy = np.square(search[: len(search) // step * step].reshape(-1, step)).sum(axis=1)
            cut = start + longest - longest // 10 + int(np.argmin(energy)) * step + step // 2
            bounds.append((start, cut))
            start = cut
        return [*bounds, (start, length)]


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


# AMR's comfort-noise (DTX/SID) frames are not implemented in FFmpeg's own AMR decoders, which
# refuse every packet of a call's silences; the opencore decoders shipped with PyAV decode them.
PREFERRED_DECODERS = {"amrnb": "libopencore_amrnb", "amrwb": "libopencore_amrwb"}
BAD_PACKETS_WARN = 0.05  # share of packets that could not be decoded above which the call carries a warning
DUPLICATED_MONO = 1e-3  # stereo whose channels never differ by more than this share of the peak is mono


def _decoder(stream: av.audio.stream.AudioStream) -> AudioCodecContext:
    """The stream's own decoder, or one that decodes more of it (PREFERRED_DECODERS)."""
    preferred = PREFERRED_DECODERS.get(stream.codec_context.name)
    if preferred not in av.codecs_available:
        return stream.codec_context
    context = cast(AudioCodecContext, av.CodecContext.create(preferred, "r"))
    context.sample_rate = stream.rate
    context.layout = stream.codec_context.layout
    return context


def _finite(frame: av.AudioFrame) -> tuple[av.AudioFrame, int]:
    """The frame with NaN and ±inf samples (only float formats can hold them) set to 0, and how many
    there were: one NaN would otherwise make the whole call's peak NaN, and so "silent"."""
    if frame.format.name not in ("flt", "fltp", "dbl", "dblp"):
        return frame, 0
    data = frame.to_ndarray()
    bad = ~np.isfinite(data)
    count = int(bad.sum())
    if not count:
        return frame, 0
    data[bad] = 0
    clean = av.AudioFrame.from_ndarray(data, format=frame.format.name, layout=frame.layout.name)
    clean.sample_rate, clean.pts, clean.time_base = frame.sample_rate, frame.pts, frame.time_base
    return clean, count


@dataclass
class _Decoding:
    """What decoding a stream found besides the samples."""

    packets: int = 0
    bad_packets: int = 0
    non_finite: int = 0


def _limit(config: AudioConfig) -> str:
    return f"the {config.max_duration_s / 3600:g} h limit (audio.max_duration_s)"


def _decode_into(samples: _SampleFile, container: av.container.InputContainer, stream: av.audio.stream.AudioStream,
                 path: Path, config: AudioConfig) -> _Decoding:
    """Decode `stream` into `samples`, skipping undecodable packets (their time kept as silence)."""
    resampler = av.AudioResampler(format="fltp", layout="stereo" if samples.channels == 2 else "mono",
                                  rate=config.sample_rate)
    max_samples = int(config.max_duration_s * config.sample_rate)
    decoder = _decoder(stream)
    found = _Decoding()
    try:
        for packet in container.demux(stream):
            found.packets += packet.size > 0
            try:
                frames = decoder.decode(packet)
            except av.error.FFmpegError:  # e.g. a frame type this decoder lacks: skipped, its time kept
                found.bad_packets += 1
                if packet.duration and packet.time_base:
                    samples.silence(int(packet.duration * packet.time_base * config.sample_rate))
                continue
            for frame in frames:
                frame, count = _finite(frame)
                found.non_finite += count
                for out in resampler.resample(frame):
                    samples.append(out.to_ndarray())
                    if samples.size > max_samples:
                        raise CallError(path, f"longer than {_limit(config)}")
        for out in resampler.resample(None):
            samples.append(out.to_ndarray())
    except av.error.FFmpegError as exc:
        done = samples.size / config.sample_rate
        raise CallError(path, f"corrupt or truncated audio: decoding failed after {done:.1f} s ({exc})") from exc
    return found


def _check(samples: _SampleFile, found: _Decoding, container_name: str, path: Path, config: AudioConfig) -> list[str]:
    """Refuse what cannot be a call; the warnings a usable one carries."""
    if found.bad_packets and found.bad_packets == found.packets:
        raise CallError(path, f"corrupt audio: none of its {found.packets} packets could be decoded")
    if samples.size == 0:
        raise CallError(path, "zero-length recording: no audio samples")
    duration = samples.size / config.sample_rate
    if container_name == "wav" and (missing := _wav_missing_bytes(path)):
        raise CallError(path, f"truncated file: {missing} bytes of audio declared in the header are missing "
                              f"({duration:.1f} s present)")
    peak_dbfs = 20 * np.log10(samples.peak) if samples.peak > 0 else float("-inf")
    if peak_dbfs < config.silence_dbfs:
        raise CallError(path, f"silent recording: peak level {peak_dbfs:.0f} dBFS over {duration:.1f} s")
    warnings = []
    if found.bad_packets > BAD_PACKETS_WARN * found.packets:
        warnings.append(f"{found.bad_packets} of {found.packets} audio packets could not be decoded "
                        "and count as silence")
    if found.non_finite:
        warnings.append(f"{found.non_finite} non-finite samples (NaN or infinite) set to 0")
    return warnings


def load_audio(path: str | Path, config: AudioConfig | None = None) -> DecodedAudio:
    """Decode `path`; raise CallError with a one-line reason for anything unusable.

    A packet that cannot be decoded is skipped and its time kept as silence; the count is in
    `warnings` when it is over BAD_PACKETS_WARN of the packets, as is any non-finite sample set to 0.
    """
    config = config or AudioConfig()
    path = Path(path)
    if not path.exists():
        raise CallError(path, "no such file")
    if not path.is_file():
        raise CallError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise CallError(path, "empty file (0 bytes)")
    try:
        container = av.open(str(path), "r", **_OPEN_OPTIONS)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise CallError(path, f"not a readable audio file ({exc.__class__.__name__}: {exc})") from exc
    with container:
        if not container.streams.audio:
            raise CallError(path, "the file has no audio stream")
        stream = container.streams.audio[0]
        declared_s = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / av.time_base if container.duration else 0.0)
        if declared_s > config.max_duration_s:  # refused before decoding
            raise CallError(path, f"{declared_s / 3600:.1f} h long, over {_limit(config)}")
        source_channels = stream.channels or 1
        samples = _SampleFile(2 if source_channels == 2 else 1)
        try:
            found = _decode_into(samples, container, stream, path, config)
            warnings = _check(samples, found, container.format.name, path, config)
        except BaseException:
            samples.close()
            raise
        codec, container_name = stream.codec_context.name, container.format.name
        source_rate = stream.rate or config.sample_rate
    note, channels = None, samples.channels
    if source_channels > 2:
        note = f"{source_channels} channels mixed down to mono"
    elif channels == 2 and samples.difference < DUPLICATED_MONO * max(samples.peak, 1e-9):
        note, channels = "both channels carry the same signal: treated as mono", 1
    return DecodedAudio(
        path=str(path),
        sha256=sha256_of(path),
        sample_rate=config.sample_rate,
        source_rate=source_rate,
        source_channels=source_channels,
        codec=codec,
        container=container_name,
        length=samples.size,
        channels=channels,
        _store=samples,
        note=note,
        warnings=warnings,
    )
