"""`qa worker` on the Celery queue (jobs.queue: celery): a Celery worker in this process that
processes one queued job per message, and the sweep beside it (see qa/work/celery_queue.py for why
messages name no job)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select

from qa.access import JobState
from qa.db.models import Job
from qa.work.celery_queue import TASK, announce, app_of, waiting_messages
from qa.work.jobs import Worker, requeue_stale

log = logging.getLogger(__name__)

MAX_SWEEP_INTERVAL_S = 30.0


class _Sweep(threading.Thread):
    """Beside a Celery worker: takes back the jobs of dead workers and sends the messages that
    queued jobs lack (see the module's docstring), and trains a model version when one is wanted."""

    def __init__(self, runner: Worker) -> None:
        super().__init__(name="qa-sweep", daemon=True)
        self.runner = runner
        self.stopped = threading.Event()

    def run(self) -> None:
        jobs = self.runner.config.jobs
        interval = min(MAX_SWEEP_INTERVAL_S, jobs.stale_after_s / 2)
        while True:
            try:
                self.sweep()
            except Exception:  # a database or broker away for a while: the next sweep tries again
                log.warning("sweep of the job queue failed", exc_info=True)
            self.runner.learn_if_wanted()
            if self.stopped.wait(interval):
                return

    def sweep(self) -> None:
        config, db = self.runner.config, self.runner.db
        requeued, _parked = requeue_stale(db, config.jobs.stale_after_s, config.jobs.max_attempts)
        announce(config, requeued)
        if waiting_messages(config):
            return
        with db.session() as session:
            queued = session.scalar(select(func.count(Job.id)).where(Job.state == JobState.QUEUED)) or 0
        if queued:
            log.info("%d queued job(s) and no message in the broker: sending %d", queued, queued)
            announce(config, queued)


def run_celery_worker(runner: Worker) -> None:
    """Consume the configured queue in this process, one job at a time with `runner` (its models
    loaded once), the sweep beside it; return on SIGTERM (after the current call) or Ctrl-C."""
    config = runner.config
    app = app_of(config)

    @app.task(name=TASK)
    def process_next() -> None:
        runner.run_next()

    sweep = _Sweep(runner)
    sweep.start()
    try:
        app.worker_main(["worker", "--pool", "solo", "--queues", config.jobs.celery_queue,
                         "--hostname", f"qa@{runner.name}", "--without-gossip", "--without-mingle",
                         "--loglevel", "WARNING"])
    except SystemExit as exc:  # Celery's command line ends by exiting; a clean end is not an error
        if exc.code:
            raise
    finally:
        sweep.stopped.set()
