"""A small call centre in a temporary database, for the review, web and browser tests.

Real models, real migrations, real sample audio, and scorecards from scoring the samples' truth
transcripts with the default checklists: nothing is mocked.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import Config, WebConfig
from qa.db.models import Agent, Call, Team, Transcript, User
from qa.db.session import Database, open_database, upgrade
from qa.evaluation import transcript_from_truth
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules
from qa.work.jobs import store_scorecard  # the worker's own way of storing a scoring
from web.app import create_app

SAMPLES = REPO_ROOT / "samples"
PASSWORD = "correct horse 马"
SCRIPT = "<script>alert(1)</script>"
# Fast hashing for tests only; the product uses werkzeug's default.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@dataclass
class World:
    config: Config
    db: Database
    rules: RuleSet
    users: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


def open_test_database(config: Config) -> tuple[Config, Database]:
    """`config` with a fixed session key, and its database migrated to the current schema."""
    config = config.model_copy(update={"web": WebConfig(secret_key="test-secret")})
    db = open_database(config)
    upgrade(db)
    return config, db


def truth(sample: str) -> dict[str, Any]:
    return json.loads((SAMPLES / "truth" / f"{sample}.json").read_text(encoding="utf-8"))


def add_call(world: World, key: str, sample: str, agent_code: str | None, started_at: datetime,
             customer_text: str | None = None) -> int:
    """Store `sample` as a scored call; `customer_text` replaces the customer's first turn."""
    data = copy.deepcopy(truth(sample))
    if customer_text is not None:
        first = next(t for t in data["turns"] if t["role"] == "customer")
        first["text"] = customer_text
    transcript = transcript_from_truth(data)
    card = score_transcript(transcript, world.rules, data["direction"])
    source = SAMPLES / "calls" / f"{sample}.wav"
    relative = f"audio/{sample}.wav"
    target = world.config.data_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    with world.db.session() as session:
        agent = session.get(Agent, world.agents[agent_code]) if agent_code else None
        call = Call(sha256=hashlib.sha256(f"{sample}:{key}".encode()).hexdigest(), audio_path=relative,
                    original_name=f"{sample}.wav", agent=agent, direction=data["direction"], started_at=started_at,
                    duration=data["duration"], state="scored")
        session.add(call)
        session.flush()
        session.add(Transcript(call_id=call.id, data=transcript.to_dict()))
        store_scorecard(session, call, card, world.rules, 0.0)
        world.calls[key] = call.id
    return world.calls[key]


def add_people(world: World) -> None:
    with world.db.session() as session:
        team = Team(name="一组")
        for code, name in (("A1001", "张三"), ("A2002", "李四")):
            agent = Agent(code=code, name=name, team=team)
            session.add(agent)
            session.flush()
            world.agents[code] = agent.id
        people = [("agent1", "agent", "A1001", "张三"), ("agent2", "agent", "A2002", "李四"),
                  ("insp1", "inspector", None, "王质检"), ("insp2", "inspector", None, "赵质检"),
                  ("manager1", "manager", None, "陈主管"), ("admin1", "admin", None, "管理员")]
        for username, role, code, display in people:
            user = User(username=username, password_hash=PASSWORD_HASH, role=role, display_name=display,
                        agent_id=world.agents[code] if code else None)
            session.add(user)
            session.flush()
            world.users[username] = user.id


def build_world(config: Config) -> World:
    """Two agents in one team, two inspectors, a manager, an admin, and five scored calls."""
    config, db = open_test_database(config)
    world = World(config, db, load_rules())
    add_people(world)
    add_call(world, "good", "c01_inbound_good", "A1001", datetime(2026, 10, 9, 2, 30, tzinfo=UTC))
    add_call(world, "bad", "c06_bu_zhidao", "A1001", datetime(2026, 11, 3, 6, 0, tzinfo=UTC))
    add_call(world, "other", "c07_arguing", "A2002", datetime(2026, 11, 4, 7, 15, tzinfo=UTC))
    add_call(world, "xss", "c01_inbound_good", "A1001", datetime(2026, 11, 5, 1, 0, tzinfo=UTC), f"你好{SCRIPT}")
    add_call(world, "fatal", "c11_refusal_taboo", "A2002", datetime(2026, 11, 6, 3, 0, tzinfo=UTC))
    return world


def login(client: FlaskClient, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def world(db_config: Config) -> Iterator[World]:
    """The world on SQLite and on PostgreSQL (conftest's db_config)."""
    built = build_world(db_config)
    yield built
    built.db.dispose()


def app_for_tests(config: Config, db: Database) -> Flask:
    """The app on `db` with CSRF checks off (the browser tests keep them on)."""
    app = create_app(config.model_copy(update={"web": config.web.model_copy(update={"secret_key": "t"})}), db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return app


@pytest.fixture
def app(world: World) -> Flask:
    return app_for_tests(world.config, world.db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
