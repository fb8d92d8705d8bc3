"""The database: migrations match the models, sessions commit or roll back, SQLite settings, and
the `qa db` / `qa users` commands, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from conftest import run_qa
from sqlalchemy import select, text
from werkzeug.security import check_password_hash

from qa.cli.main import main
from qa.config import Config
from qa.db.models import Agent, Base, Team, User
from qa.db.session import Database, alembic_config, current_revision, head_revision, open_database, upgrade


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # checked by the next test instead
def test_upgrade_builds_exactly_the_models_schema(migrated_db: Database) -> None:
    with migrated_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(migrated_db) == head_revision() == "0006"


def test_the_tally_indexes_exist(migrated_db: Database) -> None:
    """Expression and partial indexes, which autogenerate cannot compare."""
    listing = {"sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
               "postgresql": "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"}
    with migrated_db.engine.connect() as connection:
        found = set(connection.execute(text(listing[migrated_db.dialect])).scalars())
    assert {"ix_calls_state_time", "ix_item_verdicts_failed"} <= found


def test_upgrade_from_0001_keeps_the_calls(db_config: Config) -> None:
    database = open_database(db_config)
    command.upgrade(alembic_config(database), "0001")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO calls (sha256, audio_path, original_name, state, error, grade, fatal, "
                                "risk, sampled, customer_number, created_at, updated_at) VALUES ('x', 'a', 'a.wav', "
                                "'queued', '', '', false, 0, false, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    upgrade(database)
    with database.session() as session:
        assert session.execute(text("SELECT original_name, satisfaction FROM calls")).all() == [("a.wav", None)]
    database.dispose()


def test_upgrade_again_changes_nothing(migrated_db: Database) -> None:
    with migrated_db.session() as session:
        session.add(Team(name="一组"))
    upgrade(migrated_db)
    with migrated_db.session() as session:
        assert session.scalars(select(Team.name)).all() == ["一组"]


def test_session_commits_or_rolls_back(migrated_db: Database) -> None:
    with pytest.raises(RuntimeError), migrated_db.session() as session:
        session.add(Team(name="rolled back"))
        session.flush()
        raise RuntimeError("boom")
    with migrated_db.session() as session:
        session.add(Team(name="kept"))
    with migrated_db.session() as session:
        assert session.scalars(select(Team.name)).all() == ["kept"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "new" / "data")
    database = open_database(config)
    upgrade(database)
    assert (config.data_dir / "qa.db").is_file()
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    with pytest.raises(Exception, match="FOREIGN KEY"), database.session() as session:
        session.add(Agent(code="A1", name="", team_id=999))
    database.dispose()


# --- commands -----------------------------------------------------------------------------------

def test_commands_refuse_a_database_not_upgraded(db_config: Config) -> None:
    result = run_qa(db_config, "users", "list")
    assert result.exit_code == 1
    assert "run `qa db upgrade`" in result.output


def test_db_upgrade_command(db_config: Config) -> None:
    first = run_qa(db_config, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "schema revision 0006 (was empty)" in first.output
    again = run_qa(db_config, "db", "upgrade")
    assert "already up to date" in again.output


def test_users_are_stored_with_hashed_passwords(db_config: Config) -> None:
    run_qa(db_config, "db", "upgrade")
    added = run_qa(db_config, "users", "add", "zhang", "--role", "inspector", "--name", "张质检", "--password-stdin",
               stdin="s3cret-质检\n")
    assert added.exit_code == 0, added.output
    agent = run_qa(db_config, "users", "add", "wei", "--role", "agent", "--agent-code", "A1001", "--name", "王伟",
               stdin="pw-one\npw-one\n")  # typed at the prompt, twice
    assert agent.exit_code == 0, agent.output

    assert run_qa(db_config, "users", "add", "zhang", "--role", "admin", "--password-stdin",
              stdin="x\n").output.endswith("user zhang already exists\n")
    assert "--agent-code is required" in run_qa(db_config, "users", "add", "li", "--role", "agent",
                                            "--password-stdin", stdin="x\n").output
    assert "the password is empty" in run_qa(db_config, "users", "add", "li", "--role", "admin", "--password-stdin",
                                         stdin="\n").output
    changed = run_qa(db_config, "users", "passwd", "zhang", "--password-stdin", stdin="new-pass\n")
    assert changed.exit_code == 0, changed.output
    assert "no user nobody" in run_qa(db_config, "users", "passwd", "nobody", "--password-stdin", stdin="x\n").output

    listing = run_qa(db_config, "users", "list").output
    assert "zhang" in listing and "inspector" in listing and "A1001" in listing

    database = open_database(db_config)
    with database.session() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        assert set(users) == {"zhang", "wei"}
        zhang, wei = users["zhang"], users["wei"]
        assert "new-pass" not in zhang.password_hash and check_password_hash(zhang.password_hash, "new-pass")
        assert not check_password_hash(zhang.password_hash, "s3cret-质检")
        assert check_password_hash(wei.password_hash, "pw-one")
        assert wei.role == "agent" and wei.agent is not None and wei.agent.code == "A1001"
        assert wei.agent.name == "王伟" and zhang.display_name == "张质检"
    database.dispose()


@pytest.mark.parametrize("command", [
    ["db"], ["db", "upgrade"], ["db", "revision"], ["users"], ["users", "add"], ["users", "list"],
    ["users", "passwd"], ["ingest"], ["worker"], ["rescore"], ["retry"], ["agreement"], ["learn"],
    ["learn", "train"], ["learn", "list"], ["learn", "show"], ["learn", "activate"], ["learn", "suggestions"],
    ["learn", "accept"], ["learn", "reject"], ["checklist", "copy"],
])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 4
