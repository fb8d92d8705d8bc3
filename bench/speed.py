"""Whole-process speed of `qa transcribe` against a plain faster-whisper script, as a centre would
compare them: from the shell, on the same files, each a fresh process (imports and model loading
included), run in turn A B A B so that a busy machine slows both alike.

The plain script is what a centre writes without this product:

    WhisperModel(dir, device="cpu", compute_type="int8")
    model.transcribe(path, language="zh", vad_filter=True, word_timestamps=True)   # --baseline defaults

or the same with the product's own recognition settings (--baseline pipeline: beam size, VAD
silence, prompt, threads). The product also diarizes, aligns, finds roles and drops unlikely words.

    python bench/speed.py                      # the bundled samples' mono and stereo calls
    python bench/speed.py --rounds 3 FILE ...  # your own recordings (mono and stereo told apart)
    python bench/speed.py --startup            # also `qa --help` and `qa score` start-up

Prints per file the median wall time of each and their ratio, then the median ratio for mono
and for stereo files. A benchmark, not a test: figures depend on the machine (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import load_config
from qa.speech.asr import recognition_threads

QA = Path(sys.executable).parent / "qa"
SAMPLES = REPO_ROOT / "samples" / "calls"

PLAIN = """
import sys
from faster_whisper import WhisperModel
model_dir, path, mode, threads, beam, silence_ms, prompt = sys.argv[1:8]
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=int(threads))
options = dict(language="zh", vad_filter=True, word_timestamps=True)
if mode == "pipeline":
    options.update(beam_size=int(beam), vad_parameters={"min_silence_duration_ms": int(silence_ms)},
                   initial_prompt=prompt or None, condition_on_previous_text=False)
segments, _ = model.transcribe(path, **options)
print(sum(len(s.words or []) for s in segments))
"""


@dataclass
class FileResult:
    path: str
    channels: int
    duration: float
    product_s: list[float]
    plain_s: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.product_s) / statistics.median(self.plain_s)


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(paths: list[Path], rounds: int, baseline: str) -> list[FileResult]:
    config = load_config(None)
    asr = config.asr
    plain = [sys.executable, "-c", PLAIN, str(config.asr_model_path())]
    threads = recognition_threads(asr.cpu_threads) if baseline == "pipeline" else 0  # 0: faster-whisper's default
    settings = [baseline, str(threads), str(asr.beam_size), str(asr.vad_min_silence_ms), asr.initial_prompt or ""]
    results = []
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            channels, duration = stream.codec_context.channels, float(container.duration or 0) / av.time_base
        result = FileResult(str(path), channels, duration, [], [])
        for _ in range(rounds):
            result.product_s.append(_timed([str(QA), "transcribe", str(path)]))
            result.plain_s.append(_timed([*plain, str(path), *settings]))
        results.append(result)
        print(f"{path.name:34} {channels}ch {duration:6.1f} s   qa transcribe "
              f"{statistics.median(result.product_s):6.2f} s   plain {statistics.median(result.plain_s):6.2f} s   "
              f"ratio {result.ratio:.2f}x", flush=True)
    return results


def startup(rounds: int) -> dict[str, float]:
    """Median wall time of `qa --help` and of `qa score` on one transcript."""
    transcript = {"schema": "qa.transcript/1", "call_id": "startup", "audio": {"duration": 4.0, "channels": 2},
                  "asr": {}, "diarization": {}, "roles": {"agent": "agent", "speakers": {}, "confidence": 1.0},
                  "segments": [], "turns": [{"speaker": "agent", "role": "agent", "start": 0.0, "end": 2.0,
                                             "text": "您好，很高兴为您服务", "words": []}], "timings": {}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "call.json"
        path.write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
        return {name: statistics.median(_timed(command) for _ in range(rounds)) for name, command in (
            ("qa --help", [str(QA), "--help"]), ("qa score", [str(QA), "score", str(path)]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="recordings (default: the bundled samples)")
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs per file (default 2)")
    parser.add_argument("--baseline", choices=("defaults", "pipeline"), default="defaults",
                        help="plain faster-whisper with its defaults, or with the pipeline's recognition settings")
    parser.add_argument("--startup", action="store_true", help="also time `qa --help` and `qa score`")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    paths = args.files or sorted(SAMPLES.glob("*.wav"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; baseline: plain faster-whisper ({args.baseline}); {args.rounds} rounds A B")
    results = measure(paths, args.rounds, args.baseline)
    summary: dict[str, float] = {}
    for channels, label in ((1, "mono"), (2, "stereo")):
        ratios = [r.ratio for r in results if r.channels == channels]
        if ratios:
            summary[label] = statistics.median(ratios)
            print(f"median ratio qa transcribe / plain faster-whisper, {label} ({len(ratios)} files): "
                  f"{summary[label]:.2f}x")
    if args.startup:
        for name, seconds in startup(max(3, args.rounds)).items():
            summary[name] = seconds
            print(f"start-up {name}: {seconds:.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "files": [r.__dict__ for r in results]}, indent=2),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
