"""Calls per hour per worker, end to end, beside plain faster-whisper on the same files.

Stores the bundled sample calls in a fresh database as an upload does, then runs one worker (the
code `qa worker` runs) until the queue is empty: each call claimed, decoded, recognised,
diarized, scored, stored with its stages committed, its waveform drawn. Then plain faster-whisper
(the worker's model and settings) transcribes the same files. The models are loaded before
either is timed. Prints calls per hour, hours of audio per hour, the real-time factor of each and
their ratio: what the product adds to recognition alone.

    python bench/throughput.py [--device auto|cpu|cuda] [--compute-type TYPE] [--batch-size N]
                               [--rounds 1] [--database-url URL] [--workers 1 2 4]

On CUDA the worker uses faster-whisper's BatchedInferencePipeline (asr.batch_size); the plain
side is always WhisperModel.transcribe, unbatched. --rounds repeats the whole queue (the calls
are re-queued) to steady the figures.

--workers N ... measures scaling instead: for each N, a queue of the sample calls (--rounds copies
of each, told apart by a RIFF comment chunk only) is processed by N `qa worker --once` processes
side by side, each pinned to an equal share of the cores where N is at most the core count (not
pinned where it is more), with the product's own thread choice for what it may use. Throughput is jobs
over the time from the first job's start to the last one's end, as the jobs table records it, so
the workers' start-up (imports, model loading, once per worker's life) is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from asr import plain_faster_whisper
from benchdb import bench_database
from sqlalchemy import delete, func, select, update

from qa.access import JobState
from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import AsrConfig
from qa.db.models import Call, Job, Transcript
from qa.db.session import open_database, upgrade
from qa.scoring.loader import load_rules
from qa.speech.asr import recognition_threads
from qa.speech.cpu import usable_cores
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
    parser.add_argument("--workers", type=int, nargs="+", help="measure scaling with this many worker processes")
    args = parser.parse_args()
    if args.workers:
        scaling(args.workers, max(args.rounds, 2), args.database_url)
        return
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


def _copies(folder: Path, rounds: int) -> list[Path]:
    """Each sample call `rounds` times as distinct files (the same audio with a RIFF comment chunk
    of its own), so that the store does not take the copies for double uploads."""
    made = []
    for path in sorted(CALLS.glob("*.wav")):
        data = path.read_bytes()
        for n in range(rounds):
            note = f"bench copy {n}".encode() + b"\0"
            note += b"\0" * (len(note) % 2)
            tagged = bytearray(data + b"LIST" + struct.pack("<I", 12 + len(note)) + b"INFOICMT"
                               + struct.pack("<I", len(note)) + note)
            tagged[4:8] = struct.pack("<I", len(tagged) - 8)
            copy = folder / f"{path.stem}-{n}.wav"
            copy.write_bytes(bytes(tagged))
            made.append(copy)
    return made


def _core_sets(workers: int) -> list[set[int] | None]:
    """The cores each worker is pinned to: an equal share where there are enough, else none."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if workers > len(cores):
        return [None] * workers
    share = len(cores) // workers
    return [set(cores[k * share:(k + 1) * share]) for k in range(workers)]


def scaling(counts: list[int], rounds: int, database_url: str | None) -> None:
    """Calls per hour with 1, 2, 4 … worker processes on one queue, and per core."""
    qa = Path(sys.executable).with_name("qa")
    cores = usable_cores()
    print(f"{cores} cores; {rounds} copies of each of the {len(list(CALLS.glob('*.wav')))} sample calls per run\n")
    print(f"{'workers':>7} {'threads':>7} {'jobs':>5} {'seconds':>8} {'calls/hour':>11} {'audio h/hour':>13} "
          f"{'per core':>9} {'vs 1':>6}")
    first: float | None = None
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="qa-bench-scaling-") as folder, \
                bench_database(database_url, Path(folder) / "data") as base:
            pinned_sets = _core_sets(count)
            threads = recognition_threads(0, cores=len(pinned_sets[0] or range(cores)))
            settings: dict[str, object] = {"data_dir": str(base.data_dir)}
            if base.database_url:
                settings["database_url"] = base.database_url
            config_file = Path(folder) / "qa.yaml"
            config_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
            db = open_database(base)
            upgrade(db)
            for path in _copies(Path(folder), rounds):
                ingest_file(db, base, path, path.name)
            log = Path(folder) / "workers.log"
            with log.open("w", encoding="utf-8") as out:
                workers = [subprocess.Popen(
                    [str(qa), "--config", str(config_file), "worker", "--once", "--name", f"bench-{k}"],
                    stdout=out, stderr=subprocess.STDOUT,
                    preexec_fn=(lambda cores=pinned: os.sched_setaffinity(0, cores)) if pinned else None)
                    for k, pinned in enumerate(pinned_sets)]
                codes = [w.wait() for w in workers]
            if any(codes):
                print(log.read_text(encoding="utf-8")[-2000:])
            with db.session() as session:
                started, finished = session.execute(select(func.min(Job.started_at), func.max(Job.finished_at))).one()
                jobs = session.scalar(select(func.count(Job.id)).where(Job.state == JobState.DONE))
                audio_s = float(session.scalar(select(func.sum(Call.duration))) or 0.0)
            db.dispose()
        if any(codes) or not started or not finished:
            print(f"{count:>7} workers: exit codes {codes}; {jobs} jobs done")
            continue
        seconds = (finished - started).total_seconds()
        per_hour = jobs * 3600 / seconds
        first = first or per_hour
        print(f"{count:>7} {threads:>7} {jobs:>5} {seconds:8.1f} {per_hour:11.0f} {audio_s / seconds:13.1f} "
              f"{per_hour / cores:9.0f} {per_hour / first:5.2f}x")


if __name__ == "__main__":
    main()
