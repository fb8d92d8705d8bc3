"""The Celery scale-out (jobs.queue: celery, Redis as the broker): real `qa worker` processes
taking their jobs through Redis, on SQLite and on PostgreSQL. A worker killed with SIGKILL mid-call
loses nothing and nothing is done twice; jobs whose message never reached the broker are sent by
the sweep; a broker out of reach never loses an upload."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import SAMPLES, rows_per_call, settings_file, wait_for_job
from sqlalchemy import select

from qa.config import Config, JobsConfig
from qa.db.models import Call, Job, Scoring, Transcript
from qa.db.session import Database
from qa.work.celery_queue import waiting_messages
from qa.work.ingest import ingest_file
from qa.work.jobs import retry

QA = Path(sys.executable).parent / "qa"
CALLS = ["c03_bare_wei", "c04_no_closing", "c05_ni_not_nin"]


@pytest.fixture
def celery_config(db_config: Config, redis_server: str) -> Iterator[Config]:
    """`db_config` on the Celery queue: a queue of the test's own on the test Redis, emptied after."""
    queue = f"qa-test-{uuid.uuid4().hex[:8]}"
    jobs = JobsConfig(queue="celery", broker_url=redis_server, celery_queue=queue,
                      heartbeat_s=0.5, stale_after_s=3, max_attempts=3)
    yield db_config.model_copy(update={"jobs": jobs})
    redis.Redis.from_url(redis_server).delete(queue)


def _worker(config: Config, name: str) -> subprocess.Popen[bytes]:
    settings = settings_file(config, jobs=config.jobs.model_dump())
    return subprocess.Popen([str(QA), "--config", str(settings), "worker", "--name", name],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _ingest(db: Database, config: Config, names: list[str]) -> list[int]:
    return [ingest_file(db, config, SAMPLES / "calls" / f"{name}.wav", f"{name}.wav").call_id for name in names]


def _wait_until_scored(db: Database, call_ids: list[int], workers: list[subprocess.Popen[bytes]],
                       timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with db.session() as session:
            states = set(session.scalars(select(Call.state).where(Call.id.in_(call_ids))))
        if states == {"scored"}:
            return
        for worker in workers:
            assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, f"calls still {states} after {timeout_s} s"
        time.sleep(0.3)


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM: Celery's warm shutdown (the current call first); every worker must end cleanly."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        output = worker.communicate(timeout=60)[0].decode()
        assert worker.returncode == 0, output


@pytest.mark.slow
def test_a_killed_celery_worker_loses_nothing_and_nothing_is_done_twice(
        migrated_db: Database, celery_config: Config) -> None:
    call_ids = _ingest(migrated_db, celery_config, CALLS)
    assert waiting_messages(celery_config) == len(CALLS)  # one message per upload
    first = _worker(celery_config, "first")
    killed = wait_for_job(migrated_db, "running:asr")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    others = [_worker(celery_config, name) for name in ("second", "third")]
    try:
        _wait_until_scored(migrated_db, call_ids, others)
    finally:
        _stop(others)
    with migrated_db.session() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
    assert [j.state for j in jobs] == ["done"] * len(CALLS)  # no job added, none lost
    assert {j.id: j.attempts for j in jobs}[killed.id] == 2  # taken back after its heartbeat went quiet
    assert {j.worker for j in jobs} <= {"second", "third"}
    assert rows_per_call(migrated_db, Transcript) == dict.fromkeys(call_ids, 1)  # exactly once each
    assert rows_per_call(migrated_db, Scoring) == dict.fromkeys(call_ids, 1)
    assert waiting_messages(celery_config) == 0


@pytest.mark.slow
def test_jobs_queued_without_a_message_are_sent_by_the_sweep(migrated_db: Database, celery_config: Config) -> None:
    """As when the broker was down or emptied while calls were uploaded: the jobs are in the
    database only, and a worker's sweep sends their messages."""
    database_queue = celery_config.model_copy(update={"jobs": JobsConfig()})
    call_ids = _ingest(migrated_db, database_queue, CALLS[:2])
    assert waiting_messages(celery_config) == 0
    worker = _worker(celery_config, "sweeper")
    try:
        _wait_until_scored(migrated_db, call_ids, [worker])
    finally:
        _stop([worker])
    assert rows_per_call(migrated_db, Transcript) == dict.fromkeys(call_ids, 1)


def test_an_unreachable_broker_loses_no_upload(migrated_db: Database, celery_config: Config,
                                               caplog: pytest.LogCaptureFixture) -> None:
    unreachable = celery_config.model_copy(update={"jobs": celery_config.jobs.model_copy(
        update={"broker_url": "redis://127.0.0.1:9/0"})})
    with caplog.at_level(logging.WARNING, logger="qa.work.celery_queue"):
        result = ingest_file(migrated_db, unreachable, SAMPLES / "calls" / f"{CALLS[0]}.wav", "c03.wav")
    assert result.created
    assert "did not take 1 job message" in caplog.text
    with migrated_db.session() as session:
        assert session.get_one(Call, result.call_id).state == "queued"
        assert session.scalars(select(Job.state)).all() == ["queued"]


def test_a_retried_call_is_announced(migrated_db: Database, celery_config: Config) -> None:
    database_queue = celery_config.model_copy(update={"jobs": JobsConfig()})
    [call_id] = _ingest(migrated_db, database_queue, CALLS[:1])
    with migrated_db.session() as session:
        session.get_one(Call, call_id).state = "failed"
    assert waiting_messages(celery_config) == 0
    retry(migrated_db, celery_config, call_id)
    assert waiting_messages(celery_config) == 1
