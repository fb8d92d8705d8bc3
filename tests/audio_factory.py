"""Write test recordings in real codecs with PyAV, so decoding is tested on genuine files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 440.0, level: float = 0.3) -> np.ndarray:
    """(channels, n) float32 test signal; channel i gets a different pitch so channels differ."""
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([level * np.sin(2 * np.pi * freq * (i + 1) * t) for i in range(channels)]).astype(np.float32)


def _as_sample_format(samples: np.ndarray, fmt: str) -> np.ndarray:
    if fmt.startswith("s16"):
        return (samples * 32767).astype(np.int16)
    if fmt.startswith("s32"):
        return (samples * 2147483647).astype(np.int32)
    return samples.astype(np.float32)


def encode(samples: np.ndarray, rate: int, path: Path, codec: str, container: str | None = None,
           options: dict[str, str] | None = None) -> Path:
    """Encode (channels, n) float samples to `path` with an ffmpeg encoder and its `options`."""
    channels = samples.shape[0]
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout, options=options or {})
        fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = stream.codec_context.frame_size or 1024
        pcm = _as_sample_format(samples, fmt)
        for start in range(0, samples.shape[1], frame_size):
            chunk = np.ascontiguousarray(pcm[:, start:start + frame_size])
            if chunk.shape[1] < frame_size and stream.codec_context.frame_size:
                chunk = np.pad(chunk, ((0, 0), (0, frame_size - chunk.shape[1])))
            if fmt.endswith("p"):
                frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout=layout)
            else:
                frame = av.AudioFrame.from_ndarray(chunk.T.reshape(1, -1), format=fmt, layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
