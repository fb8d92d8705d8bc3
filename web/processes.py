"""Serving from several processes: gunicorn (Linux, macOS) with threaded workers, and the calls
processed by a process of their own.

One Python process serves on one core whatever its threads (bench/web_load.py: 50 reviewers on
10,000 calls missed p95 < 300 ms that way). The app is built once, before gunicorn forks its
workers, so each starts at once and shares the loaded tables; each then opens its own database
connections. The processing worker is not a thread of a web process: a web process may be
restarted by gunicorn at any time, and the models' memory belongs in one place.
"""

from __future__ import annotations

import gc
import multiprocessing
from typing import Any

import click
from flask import Flask

from qa.config import Config
from qa.db.session import Database
from qa.work.jobs import work_until_terminated

SHUTDOWN_WAIT_S = 30  # a web process still answering after this is stopped (gunicorn's graceful_timeout)


def serve_processes(app: Flask, config: Config, database: Database, bind: str, processes: int, threads: int,
                    process_calls: bool) -> None:
    """Serve `app` from `processes` gunicorn workers of `threads` threads each, and, with
    `process_calls`, a processing worker beside them; return when gunicorn is stopped (SIGTERM,
    Ctrl-C), after the processing worker has finished its current call."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # not on Windows
        raise click.ClickException("serving from several processes needs gunicorn (Linux, macOS); "
                                   "set web.processes to 1 here") from exc

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    def after_fork(_server: Any, _worker: Any) -> None:
        database.engine.dispose(close=False)  # the parent's pooled connections are not this process's

    options = {"bind": bind, "workers": processes, "worker_class": "gthread", "threads": threads,
               "preload_app": True, "post_fork": after_fork, "graceful_timeout": SHUTDOWN_WAIT_S,
               "accesslog": None, "proc_name": "qa-serve"}
    worker = None
    if process_calls:
        worker = multiprocessing.get_context("spawn").Process(
            target=work_until_terminated, args=(config,), name="qa-worker")
        worker.start()
    gc.freeze()  # what the app loaded lives as long as the server: shared by the forks, never collected
    try:
        Server().run()
    finally:
        if worker is not None:
            worker.terminate()  # SIGTERM: the current call is finished first
            worker.join()
