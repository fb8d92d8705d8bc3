"""Workers as processes, killed and stopped: a worker killed with SIGKILL in the middle of a call
leaves its job to be taken back (by its heartbeat going quiet) and every call is processed
exactly once; SIGTERM lets the current call finish. Real models, real `qa worker` processes, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLES, rows_per_call, settings_file, wait_for_job
from sqlalchemy import select

from qa.config import Config
from qa.db.models import Call, Job, Scoring, Transcript
from qa.db.session import Database
from qa.work.ingest import ingest_file

pytestmark = pytest.mark.slow
CALLS = ["c03_bare_wei", "c04_no_closing", "c05_ni_not_nin"]
QA = Path(sys.executable).parent / "qa"


def _settings(config: Config, stale_after_s: float) -> Path:
    return settings_file(config, jobs={"heartbeat_s": 0.5, "stale_after_s": stale_after_s, "max_attempts": 3})


def _worker(settings: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(QA), "--config", str(settings), "worker", "--poll", "0.2", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _ingest(db: Database, config: Config) -> list[int]:
    return [ingest_file(db, config, SAMPLES / "calls" / f"{name}.wav", f"{name}.wav").call_id for name in CALLS]


def test_a_killed_worker_loses_nothing_and_nothing_is_done_twice(migrated_db: Database, db_config: Config) -> None:
    call_ids = _ingest(migrated_db, db_config)
    settings = _settings(db_config, stale_after_s=3)
    first = _worker(settings)
    killed = wait_for_job(migrated_db, "running:asr")  # in the middle of recognising a call
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    with migrated_db.session() as session:
        assert session.get_one(Job, killed.id).state == "running"  # nobody has noticed yet
    time.sleep(3.5)  # the heartbeat has gone quiet for longer than stale_after_s
    second = _worker(settings, "--once")
    output = second.communicate(timeout=300)[0].decode()
    assert second.returncode == 0, output

    with migrated_db.session() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        states = {c.id: c.state for c in session.scalars(select(Call))}
    assert states == dict.fromkeys(call_ids, "scored")
    assert [j.state for j in jobs] == ["done"] * len(call_ids)  # no job added, none lost
    assert {j.id: j.attempts for j in jobs}[killed.id] == 2
    assert rows_per_call(migrated_db, Transcript) == dict.fromkeys(call_ids, 1)  # exactly once each
    assert rows_per_call(migrated_db, Scoring) == dict.fromkeys(call_ids, 1)


def test_sigterm_finishes_the_current_call_then_stops(migrated_db: Database, db_config: Config) -> None:
    call_ids = _ingest(migrated_db, db_config)
    worker = _worker(_settings(db_config, stale_after_s=60))
    current = wait_for_job(migrated_db, "running:asr")
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=120)[0].decode()
    assert worker.returncode == 0, output
    assert "SIGTERM" in output
    with migrated_db.session() as session:
        jobs = {j.id: j.state for j in session.scalars(select(Job))}
        states = [session.get_one(Call, call_id).state for call_id in call_ids]
    assert jobs[current.id] == "done"
    assert states.count("scored") == 1 and states.count("queued") == len(call_ids) - 1


def test_two_workers_share_the_queue_and_heartbeats_keep_long_calls_their_own(
        migrated_db: Database, db_config: Config) -> None:
    """A call takes several seconds, far longer than stale_after_s here: only the heartbeat keeps
    the other worker from taking it back."""
    call_ids = _ingest(migrated_db, db_config)
    settings = _settings(db_config, stale_after_s=1.5)
    workers = [_worker(settings, "--once", "--name", f"w{i}") for i in (1, 2)]
    outputs = [w.communicate(timeout=300)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    with migrated_db.session() as session:
        jobs = session.scalars(select(Job)).all()
    assert [(j.state, j.attempts) for j in jobs] == [("done", 1)] * len(call_ids)
    assert rows_per_call(migrated_db, Transcript) == dict.fromkeys(call_ids, 1)
