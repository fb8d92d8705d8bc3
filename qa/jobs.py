"""Background processing of calls: a queue of jobs in the database that survives crashes.

A worker claims the oldest queued job, runs the speech pipeline on the stored audio, scores the
transcript and stores everything in one transaction at the end, committing the stage it is in as
it goes so the web app can show progress. Every write a worker makes to its job is fenced by the
claim (job id, state 'running' and the attempt number it claimed): a worker presumed dead whose
job was requeued and claimed again cannot overwrite the newer run's results.

On the Celery queue (jobs.queue: celery, qa/celery_worker.py) each message makes a `Worker`
claim and run the oldest queued job the same way: the database stays the record of the work.
"""

from __future__ import annotations

import contextlib
import hashlib
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

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from qa.asr import ModelMissingError
from qa.celery_queue import announce
from qa.config import Config, WebConfig
from qa.db.models import AuditEntry, Call, ItemVerdict, Job, Scoring, Transcript, utcnow
from qa.db.session import Database, open_database, rows_matched
from qa.errors import CallError
from qa.learning.predict import active_version, predict_new_scoring, refresh_predictions
from qa.learning.versions import train_if_wanted
from qa.peaks import cached_peaks
from qa.pipeline import SpeechPipeline
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules
from qa.scoring.scorecard import Scorecard
from qa.store import audio_file
from qa.transcript import Transcript as TranscriptData

log = logging.getLogger(__name__)

# Share of the job done when each stage begins (ASR takes about nine tenths of the time, bench/asr.py).
STAGE_PROGRESS = {"decode": 0.0, "asr": 0.05, "diarize": 0.85, "score": 0.95}
# Inspector queue order (calls.risk, highest first), in tiers that never overlap; see risk_of.
FATAL_RISK = 10_000.0
RISK_PER_POINT = 10.0
MAX_DOUBT_RISK = 9.99
DEFAULT_SAMPLE_RATE = WebConfig().review_sample_rate
SCHEDULE_CHECK_S = 300.0  # how often an idle worker asks whether scheduled retraining is due
PREDICT_WHEN_IDLE = 200  # calls an idle worker predicts with a newly active model version per poll
UNKNOWN = object()  # a worker that has just started does not know which version predicted the queue

OnUpdate = Callable[[Job, Call], None]


class JobLost(Exception):
    """This worker's claim on a job is no longer valid: it was requeued as stale and claimed again."""


def risk_of(card: Scorecard, review_below: float) -> float:
    """How urgently an inspector should look at a call (higher first), in three tiers:

    risk = 10 000 × [a fatal item failed]
         + 10 × (points deducted by failed items)
         + doubt, where doubt = Σ over verdicts that are not 'na' of max(0, review_below − confidence)
           / review_below, capped at 9.99.

    So a fatal failure outranks any number of deductions, one deducted point outranks any amount
    of doubt, and among calls alike in both the least certain comes first.
    """
    deducted = sum(v.deduct for v in card.verdicts if v.verdict == "fail")
    shortfall = sum(max(0.0, review_below - v.confidence) for v in card.verdicts if v.verdict != "na")
    doubt = shortfall / review_below if review_below > 0 else 0.0
    return FATAL_RISK * card.fatal + RISK_PER_POINT * deducted + min(MAX_DOUBT_RISK, doubt)


def is_sampled(card: Scorecard, sha256: str, rate: float) -> bool:
    """Whether a passing call (no item failed) is drawn for review: reproducibly, from its audio hash.

    The draw is the first 64 bits of SHA-256("review-sample:" + audio SHA-256) as a fraction of 2^64.
    """
    if any(v.verdict == "fail" for v in card.verdicts):
        return False
    draw = int(hashlib.sha256(f"review-sample:{sha256}".encode()).hexdigest()[:16], 16) / 2**64
    return draw < rate


def claim_next(db: Database, worker_name: str) -> Job | None:
    """Take the oldest queued job for `worker_name`, or None when there is none.

    PostgreSQL skips rows another worker holds (FOR UPDATE SKIP LOCKED); SQLite, which has no row
    locks, relies on the UPDATE … WHERE state = 'queued' matching one row: when another worker took
    the job first nothing matches and the next job is tried.
    """
    while True:
        with db.session() as session:
            job_id = session.scalars(
                select(Job.id).where(Job.state == "queued").order_by(Job.created_at, Job.id).limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if job_id is None:
                return None
            taken = rows_matched(session.execute(
                update(Job).where(Job.id == job_id, Job.state == "queued")
                .values(state="running", worker=worker_name, attempts=Job.attempts + 1, started_at=utcnow(),
                        heartbeat_at=utcnow(), finished_at=None, stage="", progress=0.0, error="")
                .execution_options(synchronize_session=False)
            ))
            if taken:
                job = session.get_one(Job, job_id)
                session.execute(update(Call).where(Call.id == job.call_id).values(state="processing", error=""))
                return job


def _fenced(session: Session, job: Job, **values: Any) -> None:
    """Update this worker's job only while its claim holds (every such write is also a heartbeat);
    mirror the values on `job`."""
    values["heartbeat_at"] = utcnow()
    updated = rows_matched(session.execute(
        update(Job).where(Job.id == job.id, Job.state == "running", Job.attempts == job.attempts)
        .values(**values).execution_options(synchronize_session=False)
    ))
    if not updated:
        raise JobLost(f"job {job.id} (attempt {job.attempts}) was taken over by another worker")
    for key, value in values.items():
        setattr(job, key, value)


def store_scorecard(session: Session, call: Call, card: Scorecard, rules: RuleSet, sample_rate: float) -> Scoring:
    """Record a scoring of `call`: a Scoring row, the call's item verdicts replaced by the new ones
    (keeping an inspector's decision on an item that is still there), and the call's score, grade,
    queue order (risk) and sampling."""
    data = card.to_dict()
    scoring = Scoring(call_id=call.id, scorecard=data, score=card.score, grade=card.grade, fatal=card.fatal,
                      checklists=card.checklists)
    session.add(scoring)
    session.flush()
    decided = {v.item: (v.final_verdict, v.comment, v.reviewed_by) for v in session.scalars(
        select(ItemVerdict).where(ItemVerdict.call_id == call.id, ItemVerdict.final_verdict.is_not(None)))}
    session.execute(delete(ItemVerdict).where(ItemVerdict.call_id == call.id))
    for position, verdict in enumerate(data["verdicts"]):
        final, comment, reviewer = decided.get(verdict["item"], (None, "", None))
        session.add(ItemVerdict(
            call_id=call.id, scoring_id=scoring.id, position=position, item=verdict["item"], area=verdict["area"],
            name=verdict["name"], auto_verdict=verdict["verdict"], confidence=verdict["confidence"],
            deduct=verdict["deduct"], fatal=verdict["fatal"], evidence=verdict["evidence"], reason=verdict["reason"],
            final_verdict=final, comment=comment, reviewed_by=reviewer,
        ))
    session.expire(call, ["verdicts"])
    call.score, call.grade, call.fatal = card.score, card.grade, card.fatal
    call.risk = risk_of(card, rules.template.review_below_confidence)
    call.sampled = is_sampled(card, call.sha256, sample_rate)
    return scoring


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
            _fenced(session, job, state="done", stage="done", progress=1.0, finished_at=utcnow())
            scored = session.get_one(Call, call.id)
            session.add(Transcript(call_id=scored.id, data=transcript.to_dict()))
            store_scorecard(session, scored, card, rules, config.web.review_sample_rate)
            predict_new_scoring(session, scored, transcript, rules)
            scored.duration, scored.state, scored.error = transcript.audio["duration"], "scored", ""
        call = scored
        _warm_peaks(path, call, config)
    except JobLost as exc:
        log.warning("%s; its result is discarded", exc)
        return job
    except (ModelMissingError, KeyboardInterrupt):  # not the call's fault: back in the queue for later
        with db.session() as session:
            _fenced(session, job, state="queued", worker="", stage="", progress=0.0, started_at=None)
            session.execute(update(Call).where(Call.id == call.id).values(state="queued"))
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
            _fenced(session, job, state="failed", error=reason, finished_at=utcnow())
            call = session.get_one(Call, call.id)
            call.state, call.error = "failed", reason
    except JobLost as exc:
        log.warning("%s; its failure is not recorded", exc)
    return call


def requeue_stale(db: Database, older_than_s: float, max_attempts: int) -> tuple[int, int]:
    """Take back running jobs whose worker has given no sign of life for `older_than_s` (it was
    killed, or its machine went away): back to the queue, or, after `max_attempts` such deaths,
    parked as failed with the reason (a call that kills its worker every time, e.g. out of
    memory, must not stop the queue). Returns (requeued, parked)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    stale = (Job.state == "running", func.coalesce(Job.heartbeat_at, Job.started_at) < cutoff)
    reason = (f"处理中断 {max_attempts} 次（进程被终止或内存不足？），已停止自动重试；"
              "排除原因后可点“重试”")
    with db.session() as session:
        parked = session.scalars(
            update(Job).where(*stale, Job.attempts >= max_attempts)
            .values(state="failed", error=reason, finished_at=utcnow())
            .returning(Job.call_id).execution_options(synchronize_session=False)).all()
        if parked:
            session.execute(update(Call).where(Call.id.in_(parked)).values(state="failed", error=reason))
        requeued = session.scalars(
            update(Job).where(*stale).values(state="queued", worker="", stage="", progress=0.0, started_at=None)
            .returning(Job.call_id).execution_options(synchronize_session=False)).all()
        if requeued:
            session.execute(update(Call).where(Call.id.in_(requeued)).values(state="queued"))
    if requeued or parked:
        log.warning("jobs without a heartbeat for %.0f s: %d requeued, %d parked after %d attempts",
                    older_than_s, len(requeued), len(parked), max_attempts)
    return len(requeued), len(parked)


def retry(db: Database, config: Config, call_id: int) -> Job:
    """Queue a failed call for processing again (a new job; the failed one stays as history),
    and announce it to the Celery workers when they take the jobs."""
    with db.session() as session:
        retried = rows_matched(session.execute(
            update(Call).where(Call.id == call_id, Call.state == "failed").values(state="queued", error="")
        ))
        if not retried:
            call = session.get(Call, call_id)
            raise ValueError(f"call {call_id} does not exist" if call is None
                             else f"call {call_id} is {call.state}; only failed calls are retried")
        job = Job(kind="process", call_id=call_id, state="queued")
        session.add(job)
    announce(config)
    return job


def rescore(db: Database, rules: RuleSet, call_ids: list[int] | None = None,
            sample_rate: float = DEFAULT_SAMPLE_RATE) -> list[int]:
    """Score stored transcripts again (after a checklist change), without transcribing again.

    Every call with a transcript that is not confirmed (or those of `call_ids`) gets a new Scoring
    and new item verdicts; confirmed calls keep theirs. An inspector's decisions on items that are
    still there are kept, the change is written to the audit log, and an open review's version is
    raised so an inspector working on the old verdicts reloads. Returns the ids re-scored.
    """
    query = select(Call.id).join(Transcript).where(Call.state != "confirmed").order_by(Call.id)
    if call_ids is not None:
        query = query.where(Call.id.in_(call_ids))
    with db.session() as session:
        ids = list(session.scalars(query))
    for call_id in ids:
        with db.session() as session:
            call = session.get_one(Call, call_id)
            assert call.transcript is not None  # the query joined Transcript
            before = {"score": call.score, "grade": call.grade, "fatal": call.fatal}
            transcript = TranscriptData.from_dict(call.transcript.data)
            scoring = store_scorecard(session, call, score_transcript(transcript, rules, call.direction),
                                     rules, sample_rate)
            predict_new_scoring(session, call, transcript, rules)
            if call.review is not None:
                call.review.updated_at = utcnow()
            session.add(AuditEntry(action="rescore", entity="call", entity_id=call.id, call_id=call.id, before=before,
                                   after={"score": call.score, "grade": call.grade, "fatal": call.fatal,
                                          "scoring_id": scoring.id, "checklists": scoring.checklists}))
    return ids


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
