"""`qa serve --processes 2`: gunicorn's web processes share sign-ins (one key, one database), a
processing worker of its own scores queued calls beside them, and SIGTERM stops them all. A real
server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLES, settings_file
from liveserver import served
from werkzeug.security import generate_password_hash

from qa.config import Config
from qa.db.models import Call, User
from qa.db.session import Database
from qa.work.ingest import ingest_file

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on Linux, macOS")]


def _children(pid: int) -> list[str]:
    """The command lines of a process's children."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode() for child in children]


def test_several_web_processes_and_a_processing_worker(migrated_db: Database, db_config: Config) -> None:
    with migrated_db.session() as session:
        session.add(User(username="insp", password_hash=generate_password_hash("pw-123456"), role="inspector"))
    call_id = ingest_file(migrated_db, db_config, SAMPLES / "calls" / "c04_no_closing.wav", "c04.wav").call_id
    with served(settings_file(db_config), "--processes", "2") as server:
        client = server.client()
        server.sign_in(client, "insp", "pw-123456")
        for _ in range(8):  # whichever process answers knows the signed-in inspector
            with client.open(server.base + "/queue") as response:
                assert response.url == server.base + "/queue", "sent to sign in again"
        children = _children(server.process.pid)
        assert sum(" serve " in child for child in children) == 2, children  # gunicorn's forks
        assert sum("spawn_main" in child for child in children) == 1, children  # the processing worker

        deadline = time.monotonic() + 240
        while True:
            with migrated_db.session() as session:
                if session.get_one(Call, call_id).state == "scored":
                    break
            assert time.monotonic() < deadline, "the queued call was not scored by the processing worker"
            time.sleep(0.3)
        with client.open(f"{server.base}/calls/{call_id}") as response:
            assert response.status == 200 and "c04.wav" in response.read().decode()
