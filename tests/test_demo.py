"""`qa demo`, the README's first command: every sample processed, users of each role, the lived-in
months (text-level calls reviewed, appealed, tallied, learned from), and a rerun that changes nothing."""

from __future__ import annotations

from pathlib import Path

from conftest import SAMPLES, run_qa
from sqlalchemy import func, select

from qa.config import Config
from qa.db.models import Appeal, AuditEntry, Call, Job, LearnedModel, PublishedTally, User
from qa.db.session import open_database
from qa.demo_history import PER_SAMPLE, months


def test_demo_processes_every_sample_and_prints_accounts(tmp_path: Path, models_dir: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    first = run_qa(config, "demo", "--no-serve")
    assert first.exit_code == 0, first.output
    calls = len(list((SAMPLES / "calls").glob("*.wav")))
    database = open_database(config)
    with database.session() as session:
        states = session.scalars(select(Call.state).where(Call.audio_path != "")).all()
        assert states == ["scored"] * calls  # the recorded samples wait in the inspectors' queue
        text_level = session.scalars(select(Call).where(Call.audio_path == "")).all()
        assert len(text_level) == PER_SAMPLE * calls
        assert all(c.transcript.data["audio"]["text_only"] for c in text_level)
        confirmed = [c for c in text_level if c.state == "confirmed"]
        assert 0.3 * len(text_level) < len(confirmed) < 0.7 * len(text_level)
        reviewers = {c.review.inspector.username for c in confirmed}
        assert reviewers == {"inspector", "inspector2"}
        overrides = session.scalars(select(AuditEntry).where(AuditEntry.action == "set_verdict")).all()
        assert overrides and all("演示数据" in e.after["comment"] for e in overrides)
        assert sorted(session.scalars(select(Appeal.state))) == ["open", "open", "rejected", "upheld"]
        assert [(p.month, p.version) for p in session.scalars(select(PublishedTally))] == [(str(months()[0]), 1)]
        assert session.scalar(select(LearnedModel.state)) == "ready"
        audit = session.scalar(select(func.count(AuditEntry.id)))
        assert {u.role for u in session.scalars(select(User))} == {"agent", "inspector", "manager", "admin"}
        fatal = session.scalar(select(Call).where(Call.original_name == "c11_refusal_taboo.wav"))
        assert fatal.fatal and fatal.score == 0
    for username in ("admin", "manager", "inspector", "inspector2", "a1006"):
        assert username in first.output

    again = run_qa(config, "demo", "--no-serve")
    assert again.exit_code == 0, again.output
    with database.session() as session:
        assert session.scalar(select(func.count(Call.id))) == calls + len(text_level)
        assert session.scalar(select(func.count(Job.id))) == calls  # the same audio is not queued twice
        assert session.scalar(select(func.count(AuditEntry.id))) == audit  # nothing reviewed, filed or published again
        assert session.scalar(select(func.count(LearnedModel.id))) == 1
    database.dispose()
