"""The demo's centre without its minutes of speech recognition: the 12 samples stored as recorded
calls (their truth transcripts scored by the real engine, their audio copied, agents and teams from
samples/metadata.csv), the demo users (with the tests' password), then the lived-in months built by
qa.demo_history exactly as `qa demo` builds them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from webworld import PASSWORD_HASH, SAMPLES, World, add_call, open_test_database

from qa.cli.demo import reset_demo_users
from qa.config import Config
from qa.db.models import Agent, Team, User
from qa.demo_history import build_history
from qa.scoring.loader import load_rules
from qa.tally.policy import load_policy
from qa.work.ingest import read_metadata_csv


def build_demo(config: Config) -> World:
    config, db = open_test_database(config)
    world = World(config, db, load_rules())
    sheet = read_metadata_csv(SAMPLES / "metadata.csv")
    zone = ZoneInfo(config.timezone)
    with db.session() as session:
        for row in sheet.rows.values():
            team = session.scalar(select(Team).where(Team.name == row.team)) or Team(name=row.team)
            if session.scalar(select(Agent).where(Agent.code == row.agent_code)) is None:
                session.add(Agent(code=row.agent_code, name=row.agent_name, team=team))
            session.flush()
        world.agents = {a.code: a.id for a in session.scalars(select(Agent))}
    for name, row in sorted(sheet.rows.items()):
        assert row.started_at is not None and row.agent_code is not None
        started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=zone)
        add_call(world, name.removesuffix(".wav"), name.removesuffix(".wav"), row.agent_code, started)
    reset_demo_users(db)
    with db.session() as session:
        for user in session.scalars(select(User)):
            user.password_hash = PASSWORD_HASH
        world.users = {u.username: u.id for u in session.scalars(select(User))}
    policy = load_policy(config.tally.policy, known_items={item.id for _, item in world.rules.items()})
    build_history(db, config, world.rules, policy, lambda line: None)
    return world
