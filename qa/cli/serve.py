"""`qa serve`: the web app with an in-process worker, on the configured host and port."""

from __future__ import annotations

import gc
import signal
import threading

import click

from qa.config import Config
from qa.db.session import Database

THREADS = 8  # product default: requests served at once (audio streams hold a thread while they play)


@click.command()
@click.option("--host", help="Address to listen on (default: web.host in the settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: web.port in the settings, 5000).")
@click.option("--processes", type=click.IntRange(min=1),
              help="Web server processes (default: web.processes in the settings, 1). Above 1, gunicorn serves "
                   "(Linux, macOS) and calls are processed by a process of their own.")
@click.option("--no-worker", is_flag=True, help="Do not process calls here (run `qa worker` instead).")
@click.pass_obj
def serve(config: Config, host: str | None, port: int | None, processes: int | None, no_worker: bool) -> None:
    """Serve the web app: bring the database schema up to date, start a background worker, serve.

    Inspectors review at http://HOST:PORT/; create users first with `qa users add`.
    """
    from qa.db.session import open_database, upgrade

    database = open_database(config)
    upgrade(database)
    serve_app(config, database, host, port, worker=not no_worker, processes=processes)


def serve_app(config: Config, database: Database, host: str | None, port: int | None, worker: bool,
              processes: int | None = None) -> None:
    """Serve the app on an up-to-date database, processing calls beside it unless told otherwise:
    one process (waitress, the worker a thread of it) or several (see web/processes.py)."""
    from waitress import serve as waitress_serve

    from qa.scoring.loader import ChecklistError
    from qa.tally.policy import PolicyError
    from qa.work.jobs import start_in_thread
    from web.app import create_app
    from web.settings import RULES

    processes = processes or config.web.processes
    try:
        app = create_app(config, database)
    except ChecklistError as exc:
        raise click.ClickException(f"the checklists cannot be used:\n{exc}") from exc
    except PolicyError as exc:
        raise click.ClickException(f"the reward-and-penalty policy cannot be used:\n{exc}") from exc
    host, port = host or config.web.host, port or config.web.port
    click.echo(f"Serving on http://{host}:{port}/ (data in {config.data_dir})")
    if worker and config.jobs.queue == "celery":
        click.echo("jobs.queue is celery: calls are processed by `qa worker` processes, not by this server")
        worker = False
    if processes > 1:
        from web.processes import serve_processes

        serve_processes(app, config, database, f"{host}:{port}", processes, THREADS, process_calls=worker)
        return
    runner = start_in_thread(database, config, app.config[RULES]) if worker else None
    # What is loaded by now (models' tables, pinyin tables: ~200,000 long-lived objects) lives as
    # long as the server: keeping it out of garbage collection avoids ~100 ms pauses on requests.
    gc.freeze()
    terminated = threading.Event()

    def stop_serving(_signal: int, _frame: object) -> None:
        # SystemExit is what waitress's loop lets through (it swallows other exceptions) and
        # answers by closing the server, so serve() returns.
        terminated.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_serving)
    # waitress refuses bodies over 1 GB by default: the app's own limit (MAX_CONTENT_LENGTH)
    # decides, with its message, up to a megabyte of form fields beyond it.
    waitress_serve(app, host=host, port=port, threads=THREADS,
                   max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 2**20)
    if terminated.is_set() and runner is not None and runner.thread is not None:
        click.echo("SIGTERM: finishing the current call, then stopping")
        runner.stop()
        runner.thread.join()
