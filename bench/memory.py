"""Peak memory of `qa worker` by recording length: does it stay flat as calls get longer?

For each length, writes a telephone recording of that many hours (8 kHz FLAC, mono or stereo:
faint noise with a sample call's speech every --every minutes, so recognition stays cheap while
decoding, voice detection, diarization and the waveform see the whole length), stores it in a
fresh data directory with `qa ingest`, and runs `qa worker --once` under /usr/bin/time -v. Prints
the peak resident memory (maximum RSS) of the worker, its wall time and how the call ended.

    python bench/memory.py [--hours 0.5 1 2 4] [--channels 1|2] [--every 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import yaml

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.speech.audio import load_audio

RATE = 8000
SPEECH = REPO_ROOT / "samples" / "calls" / "c03_bare_wei.wav"  # 19.5 s, agent and customer
NOISE_LEVEL = 0.002  # about -54 dBFS: a quiet line, below any voice detector's threshold
QA = Path(sys.executable).parent / "qa"


def write_recording(path: Path, hours: float, channels: int, every_min: float) -> Path:
    """`hours` of faint noise at 8 kHz with the sample call's speech every `every_min` minutes,
    written block by block so that making it holds one block, not the recording."""
    speech = load_audio(SPEECH).window()[:, ::2]  # 16 kHz -> 8 kHz, as on the telephone line
    speech = speech if channels == 2 and speech.shape[0] == 2 else np.repeat(speech[:1], channels, axis=0)
    block_s = every_min * 60
    blocks = int(np.ceil(hours * 3600 / block_s))
    rng = np.random.default_rng(0)
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=RATE, layout=layout)
        for index in range(blocks):
            length = int(min(block_s, hours * 3600 - index * block_s) * RATE)
            block = (NOISE_LEVEL * rng.standard_normal((channels, length))).astype(np.float32)
            said = min(length, speech.shape[1])
            block[:, :said] += speech[:, :said]
            pcm = np.ascontiguousarray((np.clip(block, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout=layout)
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def measure(folder: Path, hours: float, channels: int, every_min: float) -> dict[str, str]:
    """Ingest one recording of `hours` into a fresh data directory and run the worker on it."""
    data = folder / f"data-{hours:g}h"
    settings = folder / f"qa-{hours:g}h.yaml"
    settings.write_text(yaml.safe_dump({"data_dir": str(data)}), encoding="utf-8")
    recording = write_recording(folder / f"call-{hours:g}h.flac", hours, channels, every_min)
    for command in (["db", "upgrade"], ["ingest", str(recording)]):
        subprocess.run([str(QA), "--config", str(settings), *command], check=True, capture_output=True)
    run = subprocess.run(["/usr/bin/time", "-v", str(QA), "--config", str(settings), "worker", "--once"],
                         capture_output=True, text=True)
    peak_kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", run.stderr)
    said = [line.strip() for line in (run.stdout + run.stderr).splitlines()]
    outcome = next((line for line in said if line.startswith(("scored", "done", "failed"))), f"exit {run.returncode}")
    recording.unlink()
    return {"hours": f"{hours:g}", "peak": f"{int(peak_kb[1]) / 1024 ** 2:.2f} GB" if peak_kb else "?",
            "wall": wall[1] if wall else "?", "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[0.5, 1, 2, 4])
    parser.add_argument("--channels", type=int, choices=[1, 2], default=1)
    parser.add_argument("--every", type=float, default=10.0, help="minutes between speech passages")
    parser.add_argument("--keep", type=Path, help="keep the data directories here (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-bench-memory-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"qa worker --once, one {'stereo' if args.channels == 2 else 'mono'} 8 kHz FLAC call per length, "
              f"speech every {args.every:g} min")
        print(f"{'hours':>6} {'peak RSS':>10} {'wall':>10}  outcome")
        for hours in args.hours:
            row = measure(folder, hours, args.channels, args.every)
            print(f"{row['hours']:>6} {row['peak']:>10} {row['wall']:>10}  {row['outcome'][:150]}", flush=True)


if __name__ == "__main__":
    main()
