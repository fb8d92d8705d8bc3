"""Shared fixtures: the repository's sample calls, the built models, and test databases."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import Config
from qa.db.models import Job
from qa.db.session import Database, open_database, upgrade
from qa.modelstore.manifest import default_models_dir

SAMPLES = REPO_ROOT / "samples"
pytest_plugins = ["webworld"]  # the review, web and browser tests' call centre (world, app, client)


def sample_truth(call_id: str) -> dict:
    return json.loads((SAMPLES / "truth" / f"{call_id}.json").read_text(encoding="utf-8"))


def all_truths() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SAMPLES / "truth").glob("*.json"))]


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = default_models_dir()
    if not (path / "whisper-base" / "model.bin").is_file():
        pytest.fail(f"models are not built in {path}: run ./install.sh (qa models install)")
    return path


# --- Databases: every storage and job test runs on SQLite and on PostgreSQL -------------------

POSTGRES_URL = os.environ.get("QA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means the same: no usable server
        return " ".join(str(exc).split())[:300]
    finally:
        engine.dispose()
    return None


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose server or browser is missing on this machine; under CI (QA_CI=1),
    where everything must be there, fail instead so nothing is silently left out."""
    if os.environ.get("QA_CI") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test server's URL; skips (fails when QA_CI=1) when it cannot be reached."""
    problem = _postgres_problem()
    if problem:
        unavailable(f"PostgreSQL at {POSTGRES_URL} is not usable (set QA_TEST_POSTGRES_URL): {problem}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own, dropped after the test."""
    from sqlalchemy import create_engine, make_url, text

    schema = f"qa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


REDIS_URL = os.environ.get("QA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The test Redis server's URL (the Celery broker); skips (fails when QA_CI=1) when it cannot
    be reached."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # any failure means the same: no usable server
        unavailable(f"Redis at {REDIS_URL} is not usable (set QA_TEST_REDIS_URL): {exc}")
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def db_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    """Settings with a data directory of the test's own and an empty database: SQLite in that
    directory, or a fresh PostgreSQL schema."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Config(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def migrated_db(db_config: Config) -> Iterator[Database]:
    """The database of `db_config`, migrated to the current schema."""
    database = open_database(db_config)
    upgrade(database)
    yield database
    database.dispose()


def settings_file(config: Config, **sections: object) -> Path:
    """A qa.yaml beside `config`'s data directory naming its data directory and database, plus
    `sections` (e.g. jobs={...}), for `qa` run as a user would run it."""
    settings = config.data_dir.parent / "qa.yaml"
    settings.write_text(yaml.safe_dump({"data_dir": str(config.data_dir), "database_url": config.database_url,
                                        **sections}), encoding="utf-8")
    return settings


def run_qa(config: Config, *args: str, stdin: str | None = None) -> Result:
    """Run the `qa` command on `config`'s data directory and database, through a settings file."""
    from qa.cli.main import main

    return CliRunner().invoke(main, ["--config", str(settings_file(config)), *args], input=stdin)


# --- Jobs run by real worker processes ---------------------------------------------------------


def wait_for_job(db: Database, condition: str, timeout_s: float = 120) -> Job:
    """The first job whose state/stage reads `condition` ("running:asr"), waiting for it."""
    state, stage = condition.split(":")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with db.session() as session:
            job = session.scalars(select(Job).where(Job.state == state, Job.stage == stage)).first()
        if job is not None:
            return job
        time.sleep(0.1)
    raise AssertionError(f"no job reached {condition} in {timeout_s} s")


def rows_per_call(db: Database, model: type) -> dict[int, int]:
    """How many rows of `model` (Transcript, Scoring) each call has: one each when nothing was done twice."""
    with db.session() as session:
        return dict(session.execute(select(model.call_id, func.count()).group_by(model.call_id)).all())
