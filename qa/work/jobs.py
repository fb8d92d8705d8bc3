"""Background processing of calls: a queue of jobs in the database that survives crashes.

A worker claims the oldest queued job, runs the speech pipeline on the stored audio, scores the
transcript and stores everything in one transaction at the end, committing the stage it is in as
it goes so the web app can show progress. Every write a worker makes to its job is fenced by the
claim (job id, state 'running' and the attempt number it claimed): a worker presumed dead whose
job was requeued and claimed again cannot overwrite the newer run's results.

On the Celery queue (jobs.queue: celery, qa/work/celery_worker.py) each message makes a `Worker`
claim and run the oldest queued job the same way: the database stays the record of the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qa.access import CallState, JobState
from qa.config import Config
from qa.db.models import Call, Job, Transcript, utcnow
from qa.db.session import Database, open_database, rows_matched
from qa.errors import CallError, QAError
from qa.learning.predict import active_version, predict_new_scoring, refresh_predictions
from qa.learning.versions import train_if_wanted
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules
from qa.speech.asr import ModelMissingError
from qa.speech.peaks import cached_peaks
from qa.speech.pipeline import SpeechPipeline
from qa.work.celery_queue import announce
from qa.work.ingest import audio_file
from qa.work.persist import store_scorecard

log = logging.getLogger(__name__)

# Share of the job done when each stage begins (ASR takes about nine tenths of the time, bench/asr.py).
STAGE_PROGRESS = {"decode": 0.0, "asr": 0.05, "diarize": 0.85, "score": 0.95}
SCHEDULE_CHECK_S = 300.0  # how often an idle worker asks whether scheduled retraining is due
PREDICT_WHEN_IDLE = 200  # calls an idle worker predicts with a newly active model version per poll
UNKNOWN = object()  # a worker that has just started does not know which version predicted the queue

OnUpdate = Callable[[Job, Call], None]


class RetryRefused(QAError, ValueError):
    """A call that cannot be queued again: there is no such call, or it has not failed."""

    code = "retry_refused"


class JobLost(QAError):
    """This worker's claim on a job is no longer valid: it was requeued as stale and claimed again."""

    code = "job_lost"


def claim_next(db: Database, worker_name: str) -> Job | None:
    """Take the oldest queued job for `worker_name`, or None when there is none.

    PostgreSQL skips rows another worker holds (FOR UPDATE SKIP LOCKED); SQLite, which has no row
    locks, relies on the UPDATE … WHERE state = 'queued' matching one row: when another worker took
    the job first nothing matches and the next job is tried.
    """
    while True:
        with db.session() as session:
            job_id = session.scalars(
                select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.created_at, Job.id).limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if job_id is None:
                return None
            taken = rows_matched(session.execute(
                update(Job).where(Job.id == job_id, Job.state == JobState.QUEUED)
                .values(state=JobState.RUNNING, worker=worker_name, attempts=Job.attempts + 1, started_at=utcnow(),
                        heartbeat_at=utcnow(), finished_at=None, stage="", progress=0.0, error="")
                .execution_options(synchronize_session=False)
            ))
            if taken:
                job = session.get_one(Job, job_id)
                session.execute(update(Call).where(Call.id == job.call_id).values(state=CallState.PROCESSING, error=""))
                return job


def _fenced(session: Session, job: Job, **values: Any) -> None:
    """Update this worker's job only while its claim holds (every such write is also a heartbeat);
    mirror the values on `job`."""
    values["heartbeat_at"] = utcnow()
    updated = rows_matched(session.execute(
        update(Job).where(Job.id == job.id, Job.state == JobState.RUNNING, Job.attempts == job.attempts)
        .values(**values).execution_options(synchronize_session=False)
    ))
    if not updated:
        raise JobLost(f"job {job.id} (attempt {job.attempts}) was taken over by another worker")
    for key, value in values.items():
        setattr(job, key, value)


class _Heartbeat:
    """While a call is processed, a thread records every `interval_s` that this worker is alive,
    so that a job whose worker was killed is recognised within jobs.stale_after_s however long
    the call is. It stops by itself once the claim is lost."""

    def __init__(self, db: Database, job: Job, interval_s: float) -> None:
        self.db, self.job, self.interval_s = db, job, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat job {job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with self.db.session() as session:
                    _fenced(session, self.job)  # a fenced write with nothing else is a heartbeat
            except JobLost:
                return
            except Exception:  # a busy database must not kill the thread: the next beat tries again
                log.warning("heartbeat of job %s not recorded", self.job.id, exc_info=True)


def run_job(db: Database, config: Config, rules: RuleSet, pipeline: SpeechPipeline, job: Job,
            on_update: OnUpdate | None = None) -> Job:
    """Process a claimed job: transcribe, score and store; the job ends 'done' or 'failed'.

    A recording that cannot be processed (CallError) fails with its one-line reason, any other
    error with the exception's text; neither stops the caller. Missing models (ModelMissingError)
    and Ctrl-C are not the call's fault: the job goes back to the queue and the exception is raised.
    `on_update(job, call)` is told of every committed stage and of the end.
    """
    with db.session() as session:
        call = session.get_one(Call, job.call_id)
    notify = on_update or (lambda _job, _call: None)

    def enter(stage: str) -> None:
        with db.session() as session:
            _fenced(session, job, stage=stage, progress=STAGE_PROGRESS[stage])
        notify(job, call)

    try:
        path = audio_file(config, call)
        if not path.is_file():
            raise CallError(call.original_name, "the stored recording is missing from the data directory")
        with _Heartbeat(db, job, config.jobs.heartbeat_s):
            transcript = pipeline.process(path, on_stage=enter)
        transcript.call_id = str(call.id)
        enter("score")
        card = score_transcript(transcript, rules, call.direction)
        with db.session() as session:
            _fenced(session, job, state=JobState.DONE, stage="done", progress=1.0, finished_at=utcnow())
            scored = session.get_one(Call, call.id)
            session.add(Transcript(call_id=scored.id, data=transcript.to_dict()))
            store_scorecard(session, scored, card, rules, config.review.sample_rate)
            predict_new_scoring(session, scored, transcript, rules)
            scored.duration, scored.state, scored.error = transcript.audio.duration, CallState.SCORED, ""
        call = scored
        _warm_peaks(path, call, config)
    except JobLost as exc:
        log.warning("%s; its result is discarded", exc)
        return job
    except (ModelMissingError, KeyboardInterrupt):  # not the call's fault: back in the queue for later
        with db.session() as session:
            _fenced(session, job, state=JobState.QUEUED, worker="", stage="", progress=0.0, started_at=None)
            session.execute(update(Call).where(Call.id == call.id).values(state=CallState.QUEUED))
        raise
    except CallError as exc:  # the decoder names the stored file; people know the call by its name
        call = _fail(db, job, call, exc.reason.replace(str(audio_file(config, call)), call.original_name))
    except Exception as exc:  # one bad call must not stop the queue; the reason is kept on the call
        log.exception("job %s (call %s) failed", job.id, call.id)
        call = _fail(db, job, call, " ".join(f"{type(exc).__name__}: {exc}".split()))
    notify(job, call)
    return job


def _warm_peaks(path: Path, call: Call, config: Config) -> None:
    """Draw the call's waveform now, so that opening the call page never decodes audio; the page
    computes it itself if this fails."""
    try:
        cached_peaks(path, call.sha256, config)
    except Exception:  # never the call's failure: it is scored and stored
        log.warning("waveform of call %s not cached", call.id, exc_info=True)


def _fail(db: Database, job: Job, call: Call, reason: str) -> Call:
    """Record the reason on the job and the call (unless another worker has taken the job over)."""
    try:
        with db.session() as session:
            _fenced(session, job, state=JobState.FAILED, error=reason, finished_at=utcnow())
            call = session.get_one(Call, call.id)
            call.state, call.error = CallState.FAILED, reason
    except JobLost as exc:
        log.warning("%s; its failure is not recorded", exc)
    return call


def requeue_stale(db: Database, older_than_s: float, max_attempts: int) -> tuple[int, int]:
    """Take back running jobs whose worker has given no sign of life for `older_than_s` (it was
    killed, or its machine went away): back to the queue, or, after `max_attempts` such deaths,
    parked as failed with the reason (a call that kills its worker every time, e.g. out of
    memory, must not stop the queue). Returns (requeued, parked)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    stale = (Job.state == JobState.RUNNING, func.coalesce(Job.heartbeat_at, Job.started_at) < cutoff)
    reason = (f"处理中断 {max_attempts} 次（进程被终止或内存不足？），已停止自动重试；"
              "排除原因后可点“重试”")
    with db.session() as session:
        parked = session.scalars(
            update(Job).where(*stale, Job.attempts >= max_attempts)
            .values(state=JobState.FAILED, error=reason, finished_at=utcnow())
            .returning(Job.call_id).execution_options(synchronize_session=False)).all()
        if parked:
            session.execute(update(Call).where(Call.id.in_(parked)).values(state=CallState.FAILED, error=reason))
        requeued = session.scalars(
            update(Job).where(*stale).values(state=JobState.QUEUED, worker="", stage="", progress=0.0, started_at=None)
            .returning(Job.call_id).execution_options(synchronize_session=False)).all()
        if requeued:
            session.execute(update(Call).where(Call.id.in_(requeued)).values(state=CallState.QUEUED))
    if requeued or parked:
        log.warning("jobs without a heartbeat for %.0f s: %d requeued, %d parked after %d attempts",
                    older_than_s, len(requeued), len(parked), max_attempts)
    return len(requeued), len(parked)


def retry(db: Database, config: Config, call_id: int) -> Job:
    """Queue a failed call for processing again (a new job; the failed one stays as history),
    and announce it to the Celery workers when they take the jobs."""
    with db.session() as session:
        retried = rows_matched(session.execute(
            update(Call).where(Call.id == call_id, Call.state == CallState.FAILED).values(state=CallState.QUEUED, error="")
        ))
        if not retried:
            call = session.get(Call, call_id)
            raise RetryRefused(f"call {call_id} does not exist" if call is None
                               else f"call {call_id} is {call.state}; only failed calls are retried")
        job = Job(kind="process", call_id=call_id, state=JobState.QUEUED)
        session.add(job)
    announce(config)
    return job


class Worker:
    """Claims and runs jobs one at a time with one pipeline, so the models are loaded once."""

    def __init__(self, db: Database, config: Config, rules: RuleSet, *, name: str | None = None,
                 poll_s: float = 2.0, on_update: OnUpdate | None = None,
                 pipeline: SpeechPipeline | None = None) -> None:
        self.db, self.config, self.rules = db, config, rules
        self.pipeline = pipeline or SpeechPipeline(config)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.poll_s = poll_s
        self.on_update = on_update
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._schedule_checked = 0.0
        self._predicted_for: object = UNKNOWN  # the model version whose predictions are up to date

    def stop(self) -> None:
        """Finish the current job, then return from run()."""
        self._stop.set()

    def run(self, stop_when_idle: bool = False) -> int:
        """Process jobs until stopped (or, with `stop_when_idle`, until none is queued); return how many."""
        processed = 0
        while not self._stop.is_set():
            requeue_stale(self.db, self.config.jobs.stale_after_s, self.config.jobs.max_attempts)
            if self.run_next():
                processed += 1
            elif stop_when_idle:
                break
            else:
                self.learn_if_wanted()
                self._stop.wait(self.poll_s)
        return processed

    def learn_if_wanted(self) -> None:
        """Train a model version a manager asked for, or (every SCHEDULE_CHECK_S) one that is due
        (qa.learning.versions), and, after another version became active, predict the calls awaiting
        review with it, PREDICT_WHEN_IDLE per call of this (calls scored meanwhile are predicted as
        they are scored). Called while no call waits; a failure is logged, not raised."""
        check_schedule = time.monotonic() - self._schedule_checked >= SCHEDULE_CHECK_S
        if check_schedule:
            self._schedule_checked = time.monotonic()
        try:
            trained = train_if_wanted(self.db, self.config, self.rules, check_schedule)
        except Exception:  # the version is recorded as failed with its reason; calls go on
            log.warning("training a model version failed", exc_info=True)
            return
        if trained is not None:
            log.info("trained model version %s (%s)", trained.version, trained.trigger)
        try:
            with self.db.session() as session:
                active = active_version(session)
            # newly activated (here or elsewhere), or just started, and every prediction refreshed
            if (active != self._predicted_for
                    and refresh_predictions(self.db, self.rules, limit=PREDICT_WHEN_IDLE) < PREDICT_WHEN_IDLE):
                self._predicted_for = active
        except Exception:  # the next idle moment tries again
            log.warning("predicting calls awaiting review failed", exc_info=True)

    def run_next(self) -> bool:
        """Claim the oldest queued job and process it; False when none was queued."""
        job = claim_next(self.db, self.name)
        if job is None:
            return False
        run_job(self.db, self.config, self.rules, self.pipeline, job, self.on_update)
        return True

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception:  # a thread's exception would otherwise vanish with the thread
            log.exception("worker %s stopped", self.name)


def start_in_thread(db: Database, config: Config, rules: RuleSet, **options: Any) -> Worker:
    """Run a Worker in a daemon thread (for the web app); `worker.stop()` ends it after its current job.

    `options` are Worker's keyword arguments (name, poll_s, on_update, pipeline).
    """
    worker = Worker(db, config, rules, **options)
    worker.thread = threading.Thread(target=worker._run_logged, name=f"qa-worker {worker.name}", daemon=True)
    worker.thread.start()
    return worker


def work_until_terminated(config: Config) -> None:
    """Run a Worker as a process of its own (`qa serve --processes N` starts one) until SIGTERM,
    which finishes the current call first; Ctrl-C puts the current call back in the queue."""
    database = open_database(config)
    worker = Worker(database, config, load_rules(config.scoring.checklists_dir, config.scoring.template))
    signal.signal(signal.SIGTERM, lambda _signal, _frame: worker.stop())
    with contextlib.suppress(KeyboardInterrupt):
        worker.run()
    database.dispose()
