"""The learning page (managers only), retraining on request, activating versions, deciding on
suggested phrases, and the queue ordered and filtered by the learned model (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from learningworld import LEARNING_CHECKLISTS, LearningCentre
from sqlalchemy import select
from webworld import PASSWORD_HASH, app_for_tests, login, open_test_database

from qa.config import Config, ScoringConfig
from qa.db.models import Agent, Call, LearnedModel, PhraseDecision, User
from qa.learning.model import p_wrong
from qa.learning.predict import refresh_predictions
from qa.learning.versions import train_version
from qa.scoring.loader import load_rules


@pytest.fixture
def trained(db_config: Config) -> Iterator[tuple[Config, LearningCentre]]:
    config, db = open_test_database(db_config)
    world = LearningCentre(db, load_rules(LEARNING_CHECKLISTS), per_sample=4, confirmed=36)
    with db.session() as session:
        agent = session.scalars(select(Agent).where(Agent.code == "A1001")).one()
        session.add(User(username="a01", password_hash=PASSWORD_HASH, role="agent", agent_id=agent.id))
    train_version(db, config, world.rules)
    refresh_predictions(db, world.rules)
    yield config, world
    db.dispose()


def _client(config: Config, world: LearningCentre, user: str) -> FlaskClient:
    client = app_for_tests(config, world.db).test_client()
    login(client, user)
    return client


def test_only_managers_see_and_use_the_learning_page(trained: tuple[Config, LearningCentre]) -> None:
    config, world = trained
    for user in ("insp1", "a01"):
        client = _client(config, world, user)
        assert client.get("/learning").status_code == 403
        assert client.post("/learning/train").status_code == 403
        assert client.post("/learning/activate", data={"version": "1"}).status_code == 403
        assert client.post("/learning/phrases", data={"item": "x", "phrase": "y", "decision": "accept"}
                           ).status_code == 403
    page = _client(config, world, "boss").get("/learning").get_data(as_text=True)
    assert "版本 1" in page and "当前使用" in page and "负责" in page
    assert "data-chart" in page  # the held-out agreement chart


def test_retraining_is_requested_once_and_versions_are_switched(trained: tuple[Config, LearningCentre]) -> None:
    config, world = trained
    client = _client(config, world, "boss")
    first = client.post("/learning/train", follow_redirects=True).get_data(as_text=True)
    assert "版本 2 将由下一个空闲的处理进程训练" in first
    again = client.post("/learning/train", follow_redirects=True).get_data(as_text=True)
    assert "版本 2 正在训练或等待处理进程" in again
    client.post("/learning/activate", data={})
    with world.db.session() as session:
        assert session.scalars(select(LearnedModel.active)).all() == [False, False]
    refused = client.post("/learning/activate", data={"version": "2"}, follow_redirects=True)
    assert "模型版本 2 尚未训练" in refused.get_data(as_text=True)
    client.post("/learning/activate", data={"version": "1"})
    with world.db.session() as session:
        assert session.scalar(select(LearnedModel.version).where(LearnedModel.active)) == 1


def test_accepting_a_phrase_needs_the_centres_own_checklists(trained: tuple[Config, LearningCentre],
                                                             tmp_path: Path) -> None:
    config, world = trained
    phrase = {"item": "forbidden.not_our_business", "phrase": "负责", "decision": "accept", "version": "1"}
    refused = _client(config, world, "boss").post("/learning/phrases", data=phrase, follow_redirects=True)
    assert "qa checklist copy DIR" in refused.get_data(as_text=True)
    with world.db.session() as session:
        assert session.scalars(select(PhraseDecision)).all() == []  # the refusal recorded nothing
    own = tmp_path / "own"
    shutil.copytree(LEARNING_CHECKLISTS, own)
    settings = config.model_copy(update={"scoring": ScoringConfig(checklists_dir=own)})
    accepted = _client(settings, world, "boss").post("/learning/phrases", data=phrase, follow_redirects=True)
    assert "已把“负责”加入 forbidden.not_our_business（forbidden.yaml v2）" in accepted.get_data(as_text=True)
    assert "我们管不了, 负责]" in (own / "forbidden.yaml").read_text(encoding="utf-8")
    page = _client(settings, world, "boss").get("/learning").get_data(as_text=True)
    assert "已采纳" in page and "接受并写入检查表" in page


def test_the_queue_is_ordered_and_filtered_by_the_model(trained: tuple[Config, LearningCentre]) -> None:
    config, world = trained
    # Few of these calls' automatic verdicts are wrong (the phrase families catch most variants), so
    # the model is seldom sure enough to dispute one at the default flag: train again (the same fit)
    # flagging just below its most doubtful verdict of a risky call, so the filter has calls to show.
    with world.db.session() as session:
        risky = session.scalars(select(Call).where(Call.state == "scored", Call.risk > 0)).all()
        doubt = max(p_wrong(v.auto_verdict == "fail", v.model_p_fail)
                    for c in risky for v in c.verdicts if v.model_p_fail is not None)
    config = config.model_copy(update={"learning": config.learning.model_copy(update={"flag_above": doubt - 1e-3})})
    train_version(world.db, config, world.rules)
    refresh_predictions(world.db, world.rules)
    client = _client(config, world, "insp1")
    with world.db.session() as session:
        awaiting = session.scalars(select(Call).where(Call.state == "scored",
                                                      (Call.risk > 0) | Call.sampled | Call.disputed)).all()
        likeliest = max(awaiting, key=lambda c: (c.p_wrong, -c.id))
        disputed = {c.id for c in awaiting if c.disputed}
    page = client.get("/queue?order=wrong").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'href="/calls/(\d+)"', page)]
    assert shown[0] == likeliest.id and len(shown) == len(awaiting)
    assert "自动判定最可能出错的通话排在前面" in page
    only = client.get("/queue?order=wrong&disputed=1").get_data(as_text=True)
    assert disputed and {int(n) for n in re.findall(r'href="/calls/(\d+)"', only)} == disputed
    call_page = client.get(f"/calls/{likeliest.id}").get_data(as_text=True)
    assert "模型：不合格概率" in call_page


def test_agents_do_not_see_what_the_model_says(trained: tuple[Config, LearningCentre]) -> None:
    config, world = trained
    with world.db.session() as session:
        own = session.scalars(select(Call).join(Agent).where(Agent.code == "A1001", Call.state == "scored")).first()
        assert any(v.model_p_fail is not None for v in own.verdicts)
    world.confirm(own.id)
    page = _client(config, world, "a01").get(f"/calls/{own.id}").get_data(as_text=True)
    assert "模型" not in page
