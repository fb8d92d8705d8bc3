"""Calls per hour per worker, end to end, beside plain faster-whisper on the same files.

Stores the bundled sample calls in a fresh database as an upload does, then runs one worker (the
code `qa worker` runs) until the queue is empty: each call claimed, decoded, recognised,
diarized, scored, stored with its stages committed, its waveform drawn. Then plain faster-whisper
(the worker's model and settings) transcribes the same files. The models are loaded before
either is timed. Prints calls per hour, hours of audio per hour, the real-time factor of each and
their ratio: what the product adds to recognition alone.

    python bench/throughput.py [--device auto|cpu|cuda] [--compute-type TYPE] [--batch-size N]
                               [--rounds 1] [--database-url URL]

On CUDA the worker uses faster-whisper's BatchedInferencePipeline (asr.batch_size); the plain
side is always WhisperModel.transcribe, unbatched. --rounds repeats the whole queue (the calls
are re-queued) to steady the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from asr import plain_faster_whisper
from benchdb import bench_database
from sqlalchemy import delete, func, select, update

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import AsrConfig
from qa.db.models import Call, Job, Transcript
from qa.db.session import open_database, upgrade
from qa.scoring.loader import load_rules
from qa.work.ingest import ingest_file
from qa.work.jobs import Worker

CALLS = REPO_ROOT / "samples" / "calls"


def _channels(call: Path) -> int:
    return json.loads((REPO_ROOT / "samples" / "truth" / f"{call.stem}.json").read_text(encoding="utf-8"))["channels"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--compute-type", default="auto", help="CTranslate2 compute type (auto: int8 CPU, float16 GPU)")
    parser.add_argument("--batch-size", type=int, default=AsrConfig().batch_size, help="batched inference on CUDA")
    parser.add_argument("--rounds", type=int, default=1, help="times the whole queue is processed")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    files = sorted(CALLS.glob("*.wav"))
    rules = load_rules()

    with tempfile.TemporaryDirectory(prefix="qa-bench-throughput-") as folder, \
            bench_database(args.database_url, Path(folder) / "data") as base:
        config = base.model_copy(update={"asr": base.asr.model_copy(update={
            "device": args.device, "compute_type": args.compute_type, "batch_size": args.batch_size})})
        db = open_database(config)
        upgrade(db)
        worker = Worker(db, config, rules, name="bench")
        for channels in (1, 2):  # every model loaded (mono calls need the diarization models) before timing
            worker.pipeline.process(next(f for f in files if _channels(f) == channels))
        for path in files:
            ingest_file(db, config, path, path.name)
        worker_s = 0.0
        for round_number in range(args.rounds):
            if round_number:
                with db.session() as session:  # the same calls again, as new jobs
                    session.execute(delete(Transcript))
                    session.execute(update(Call).values(state="queued"))
                    session.add_all(Job(kind="process", call_id=call_id, state="queued")
                                    for call_id in session.scalars(select(Call.id)))
            started = time.perf_counter()
            processed = worker.run(stop_when_idle=True)
            worker_s += time.perf_counter() - started
            assert processed == len(files), f"round {round_number + 1}: {processed} of {len(files)} calls processed"
        with db.session() as session:
            audio_s = float(session.scalar(select(func.sum(Call.duration))) or 0.0)
            failed = session.scalar(select(func.count(Call.id)).where(Call.state != "scored"))
        asr = worker.pipeline.transcriber
        plain_s = sum(plain_faster_whisper(asr, path) for path in files for _ in range(args.rounds))
        runtime = asr.describe()
        db.dispose()

    calls = len(files) * args.rounds
    audio_total = audio_s * args.rounds
    print(f"{len(files)} sample calls × {args.rounds} round(s), {audio_s:.0f} s of audio per round; "
          f"model {Path(runtime.model).name} on {runtime.device} ({runtime.compute_type}"
          + (f", batches of {args.batch_size}" if runtime.device == "cuda" else "") + f"); {db.dialect}")
    if failed:
        print(f"warning: {failed} call(s) not scored")
    print(f"\n{'':28} {'seconds':>8} {'calls/hour':>11} {'audio h/hour':>13} {'RTF':>7}")
    for name, seconds in (("worker, end to end", worker_s), ("plain faster-whisper", plain_s)):
        print(f"{name:28} {seconds:8.1f} {calls * 3600 / seconds:11.0f} {audio_total / seconds:13.1f} "
              f"{seconds / audio_total:7.3f}")
    print(f"\nend to end / plain faster-whisper: {worker_s / plain_s:.2f}x the time "
          f"({worker_s / plain_s - 1:+.1%}: decoding, diarization, scoring, storing, waveforms)")


if __name__ == "__main__":
    main()
