"""`qa serve --processes 2`: gunicorn's web processes share sign-ins (one key, one database), a
processing worker of its own scores queued calls beside them, and SIGTERM stops them all. A real
server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLES, settings_file
from werkzeug.security import generate_password_hash

from qa.config import Config
from qa.db.models import Call, User
from qa.db.session import Database
from qa.store import ingest_file

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on Linux, macOS")]
QA = Path(sys.executable).parent / "qa"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[str]:
    """The command lines of a process's children."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode() for child in children]


def _until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} not within {timeout_s} s"
        time.sleep(0.3)


def test_several_web_processes_and_a_processing_worker(migrated_db: Database, db_config: Config) -> None:
    with migrated_db.session() as session:
        session.add(User(username="insp", password_hash=generate_password_hash("pw-123456"), role="inspector"))
    call_id = ingest_file(migrated_db, db_config, SAMPLES / "calls" / "c04_no_closing.wav", "c04.wav").call_id
    port = _free_port()
    server = subprocess.Popen([str(QA), "--config", str(settings_file(db_config)), "serve", "--port", str(port),
                               "--processes", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        def answers() -> bool:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                opener.open(base + "/login", timeout=2).close()
                return True
            except OSError:
                return False
        _until(answers, 60, "the server answering")
        form = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
        body = urllib.parse.urlencode({"username": "insp", "password": "pw-123456", "csrf_token": token}).encode()
        opener.open(base + "/login", data=body).close()
        for _ in range(8):  # whichever process answers knows the signed-in inspector
            with opener.open(base + "/queue") as response:
                assert response.url == base + "/queue", "sent to sign in again"
        children = _children(server.pid)
        assert sum(" serve " in child for child in children) == 2, children  # gunicorn's forks
        assert sum("spawn_main" in child for child in children) == 1, children  # the processing worker

        def scored() -> bool:
            with migrated_db.session() as session:
                return session.get_one(Call, call_id).state == "scored"
        _until(scored, 240, "the queued call scored")
        with opener.open(f"{base}/calls/{call_id}") as response:
            assert response.status == 200 and "c04.wav" in response.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
