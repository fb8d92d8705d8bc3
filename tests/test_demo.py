"""`qa demo`, the README's first command: every sample processed, users of each role, safe to rerun."""

from __future__ import annotations

from pathlib import Path

from conftest import SAMPLES, run_qa
from sqlalchemy import func, select

from qa.config import Config
from qa.db.models import Call, Job, User
from qa.db.session import open_database


def test_demo_processes_every_sample_and_prints_accounts(tmp_path: Path, models_dir: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    first = run_qa(config, "demo", "--no-serve")
    assert first.exit_code == 0, first.output
    calls = len(list((SAMPLES / "calls").glob("*.wav")))
    database = open_database(config)
    with database.session() as session:
        states = session.scalars(select(Call.state)).all()
        assert states == ["scored"] * calls
        assert {u.role for u in session.scalars(select(User))} == {"agent", "inspector", "manager", "admin"}
        fatal = session.scalar(select(Call).where(Call.original_name == "c11_refusal_taboo.wav"))
        assert fatal.fatal and fatal.score == 0
    for username in ("admin", "manager", "inspector", "inspector2", "a1006"):
        assert username in first.output

    again = run_qa(config, "demo", "--no-serve")
    assert again.exit_code == 0, again.output
    with database.session() as session:
        assert session.scalar(select(func.count(Call.id))) == calls
        assert session.scalar(select(func.count(Job.id))) == calls  # the same audio is not queued twice
    database.dispose()
