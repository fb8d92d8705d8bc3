#!/usr/bin/env python3
"""Re-encode the evaluation calls whose truth names AMR-NB or MP3, and write the fixed split.

generate.py runs in the synthesiser's venv, which has no ffmpeg codecs; this runs in the
project's venv (PyAV). A call's rendered mu-law WAV is replaced by `<id>.amr` (AMR-NB 12.2 kbit/s,
as cellular calls are stored) or `<id>.mp3` (16 kbit/s, as many call recorders store them).
Idempotent: calls already encoded are left alone, and each pair's half is drawn from a seed of
the pair's number, so rewriting split.csv never moves a call.

    .venv/bin/python samples/mono_eval/encode.py
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
SETTINGS = {".amr": ("libopencore_amrnb", 12200), ".mp3": ("libmp3lame", 16000)}


def encode(wav: Path, target: Path) -> None:
    """Write the WAV's 8 kHz mono speech to `target` with the codec its suffix names."""
    with av.open(str(wav)) as source:
        rate = source.streams.audio[0].rate
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in source.decode(audio=0)])
    codec, bit_rate = SETTINGS[target.suffix]
    with av.open(str(target), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        size = stream.codec_context.frame_size or 1152
        fmt = stream.codec_context.codec.audio_formats[0].name
        pcm = {"s16": audio.astype(np.int16), "s32": audio.astype(np.int32) << 16}.get(
            fmt[:3], (audio / 32768).astype(np.float32))
        pcm = np.pad(pcm, (0, -len(pcm) % size))
        for start in range(0, len(pcm), size):
            frame = av.AudioFrame.from_ndarray(pcm[None, start:start + size], format=fmt, layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_split(truths: list[dict]) -> None:
    """One call of each acoustic pair (m00/m01, m02/m03, ...) to `tune`, the other to `test`."""
    path = HERE / "split.csv"
    rows = []
    for pair in range(0, len(truths), 2):
        halves = ["tune", "test"]
        random.Random(f"mono-eval-split:{pair}").shuffle(halves)
        rows += [(t["call_id"], half) for t, half in zip(truths[pair:pair + 2], halves)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["call_id", "half"])
        writer.writerows(rows)


def main() -> int:
    truths = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((HERE / "truth").glob("*.json"))]
    for truth in truths:
        wav, target = HERE / "calls" / f"{truth['call_id']}.wav", HERE / "calls" / truth["file"]
        if target != wav and wav.exists():
            encode(wav, target)
            wav.unlink()
            print(f"{truth['call_id']} -> {target.name}", flush=True)
    write_split(truths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
