"""Scale-out on Celery with Redis (jobs.queue: celery): `qa worker` processes on any machine that
reaches the broker and the database share the calls, GPU machines included.

The jobs table stays the one record of what is to be done. A Celery message names no job, only
"a job is queued": the worker that receives it claims the oldest queued job with the fenced
update the database queue uses (`claim_next`). So a message lost or delivered twice loses nothing
and does nothing twice: a message too many finds nothing to claim; messages too few are made up
by the sweep, which takes back jobs whose worker died (their heartbeat went quiet, as on the
database queue) and, when the broker holds no message while jobs are queued, sends one per
queued job. A message is acknowledged when its job has ended and a worker reserves one at a time,
so no message waits behind a busy worker or dies with it.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

from qa.config import Config
from qa.errors import QAError

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

TASK = "qa.process_next"


class CeleryMissingError(QAError, RuntimeError):
    """jobs.queue is celery but Celery is not installed."""

    code = "celery_missing"


@lru_cache(maxsize=4)
def celery_app(broker_url: str, queue: str) -> Celery:
    """The Celery app of one broker and queue (cached: a connection pool per process)."""
    try:
        from celery import Celery
    except ImportError as exc:
        raise CeleryMissingError("jobs.queue is celery but Celery is not installed: "
                                 "pip install 'qa-callcentre[celery]'") from exc
    app = Celery("qa", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_acks_late=True,  # acknowledged when the job has ended: a killed worker's message is not lost
        worker_prefetch_multiplier=1,  # with late acks: a worker holds only the message it works on
        task_ignore_result=True,  # results live in the database
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def app_of(config: Config) -> Celery:
    return celery_app(config.jobs.broker_url, config.jobs.celery_queue)


def announce(config: Config, jobs: int = 1) -> None:
    """Tell the Celery workers that `jobs` more jobs are queued (and committed); nothing to do on
    the database queue. A broker out of reach is logged, not raised: the jobs are safe in the
    database, and a worker's sweep sends their messages once the broker is back."""
    if config.jobs.queue != "celery" or jobs <= 0:
        return
    app = app_of(config)
    try:
        with app.producer_or_acquire() as producer:
            for _ in range(jobs):
                app.send_task(TASK, producer=producer)
    except Exception as exc:  # kombu and redis raise many kinds; each means the same here
        log.warning("the broker %s did not take %d job message(s) (%s); the jobs stay queued in the database",
                    config.jobs.broker_url, jobs, exc)


def waiting_messages(config: Config) -> int:
    """Messages in the broker's queue that no worker has taken yet."""
    with app_of(config).connection_for_read() as connection:
        return connection.default_channel.queue_declare(queue=config.jobs.celery_queue).message_count
