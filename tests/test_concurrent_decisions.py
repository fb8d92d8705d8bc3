"""Two people acting on one appeal or one call at once, on SQLite and PostgreSQL: exactly one
wins, the other is told who acted and when (409), nothing is lost or applied twice. And ids no
database can hold are "not found", not a server error."""

from __future__ import annotations

import re
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from webworld import World, login

from qa.db.models import Appeal, AuditEntry, Call, ItemVerdict, Review, User
from qa.review.actions import AppealDecided, decide_appeal, file_appeal
from web.ids import DatabaseInt

JSON = {"Accept": "application/json"}


def _open_appeal(app: Flask, world: World) -> Appeal:
    """insp1 confirms the call with a 不知道 slip, its agent appeals the failed item."""
    inspector, agent = app.test_client(), app.test_client()
    login(inspector, "insp1")
    assert inspector.post(f"/calls/{world.calls['bad']}/confirm", data={"version": 0}).status_code == 302
    with world.db.session() as s:
        item = s.scalars(select(ItemVerdict).where(ItemVerdict.call_id == world.calls["bad"],
                                                   ItemVerdict.item == "forbidden.bu_zhidao")).one()
        appeal = file_appeal(s, s.get_one(User, world.users["agent1"]), item, "我是在礼貌询问")
    login(agent, "agent1")
    return appeal


def _decisions(world: World, appeal_id: int) -> list[AuditEntry]:
    with world.db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "decide_appeal",
                                                       AuditEntry.entity_id == appeal_id)))


def test_the_second_of_two_decisions_is_refused_with_who_and_when(app: Flask, world: World) -> None:
    appeal_id = _open_appeal(app, world).id
    with world.db.session() as first, world.db.session() as second:  # both read the appeal while open
        mine, theirs = first.get_one(Appeal, appeal_id), second.get_one(Appeal, appeal_id)
        assert mine.state == theirs.state == "open" and theirs.verdict.call.score is not None
        decide_appeal(first, first.get_one(User, world.users["manager1"]), mine, False, "录音清楚，维持", world.rules.template)
        first.commit()
        with pytest.raises(AppealDecided) as refused:
            decide_appeal(second, second.get_one(User, world.users["insp2"]), theirs, True, "语境礼貌", world.rules.template)
        second.rollback()
    assert refused.value.params["by"] == "陈主管" and refused.value.params["state"] == "rejected"
    with world.db.session() as s:
        call = s.get_one(Call, world.calls["bad"])
        item = s.get_one(Appeal, appeal_id).verdict
        assert (s.get_one(Appeal, appeal_id).state, item.final_verdict, call.score) == ("rejected", "fail", 80.0)
    assert len(_decisions(world, appeal_id)) == 1


def test_decisions_at_once_over_http_one_wins(app: Flask, world: World) -> None:
    appeal_id = _open_appeal(app, world).id
    manager, inspector = app.test_client(), app.test_client()
    login(manager, "manager1")
    login(inspector, "insp2")
    start = threading.Barrier(2)
    answers: dict[str, tuple[int, dict]] = {}

    def decide(name: str, client: FlaskClient, decision: str) -> None:
        start.wait()
        response = client.post(f"/appeals/{appeal_id}/decide", headers=JSON,
                               data={"decision": decision, "comment": f"{name} 的意见"})
        answers[name] = (response.status_code, response.get_json(silent=True) or {})

    threads = [threading.Thread(target=decide, args=("manager", manager, "rejected")),
               threading.Thread(target=decide, args=("inspector", inspector, "upheld"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for code, _ in answers.values())
    assert codes == [302, 409], answers
    loser = next(body for code, body in answers.values() if code == 409)
    with world.db.session() as s:
        appeal = s.get_one(Appeal, appeal_id)
        winner = s.get_one(User, appeal.decided_by).display_name
        call = s.get_one(Call, world.calls["bad"])
        flipped = appeal.verdict.final_verdict == "pass"
        assert (appeal.state == "upheld") == flipped  # the verdict follows the decision that won
        assert call.score == (90.0 if flipped else 80.0)
    assert loser["error"].startswith(f"{winner} 已于 ") and "本次操作未生效" in loser["error"]
    assert len(_decisions(world, appeal_id)) == 1
    page = manager.post(f"/appeals/{appeal_id}/decide", data={"decision": "upheld", "comment": "再来"})
    assert page.status_code == 409 and winner in page.get_data(as_text=True)


def test_a_save_that_loses_at_the_database_gets_409_not_500(app: Flask, world: World) -> None:
    """Both inspectors pass the version check; the second reaches the database after the first
    committed (its review row is already there), so its flush fails: same 409 as a stale save."""
    first, second = app.test_client(), app.test_client()
    login(first, "insp1")
    login(second, "insp2")
    with world.db.session() as s:
        item = s.scalars(select(ItemVerdict).where(ItemVerdict.call_id == world.calls["bad"],
                                                   ItemVerdict.item == "forbidden.bu_zhidao")).one()
    url = f"/calls/{world.calls['bad']}/items/{item.id}"
    competing: list[int] = []

    def competitor_saves_first(session: Session, *_: object) -> None:
        """Just before this request writes its review, the other inspector's save commits."""
        if competing or not any(isinstance(o, Review) for o in (*session.new, *session.dirty)):
            return
        other = threading.Thread(target=lambda: competing.append(
            second.post(url, headers=JSON, data={"verdict": "fail", "comment": "", "version": 0}).status_code))
        competing.append(0)  # this hook acts once
        other.start()  # a request of its own, outside this one's app context
        other.join()

    event.listen(Session, "before_flush", competitor_saves_first)
    try:
        lost = first.post(url, headers=JSON, data={"verdict": "pass", "comment": "客户原话", "version": 0})
    finally:
        event.remove(Session, "before_flush", competitor_saves_first)
    assert competing == [0, 200]
    assert lost.status_code == 409 and lost.json["error"].endswith("修改，请刷新后再试")
    page = first.get(f"/calls/{world.calls['bad']}")
    assert page.status_code == 200 and 'name="version" value="1"' in page.get_data(as_text=True)
    with world.db.session() as s:
        kept = s.get_one(ItemVerdict, item.id)
        assert (kept.final_verdict, kept.reviewed_by) == ("fail", world.users["insp2"])
        assert len(list(s.scalars(select(AuditEntry).where(AuditEntry.action == "set_verdict")))) == 1


PLAIN = {"month": "2026-11", "fmt": "csv"}


@pytest.mark.parametrize("huge", [2**63, 2**64, 10**30])
def test_ids_no_database_holds_are_not_found(app: Flask, world: World, huge: int) -> None:
    client = app.test_client()
    login(client, "manager1")
    checked = 0
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items() if isinstance(converter, DatabaseInt)]
        if not ids:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m, ids=ids: str(huge) if m[1] in ids else PLAIN[m[1]], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, headers=JSON)
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1
    assert checked >= 15
    entry = {"agent": str(huge), "kind": "adjustment", "points": "1", "note": "x", "call": str(huge)}
    assert client.post("/tally/2026-11/entries", data=entry).status_code == 400
    assert client.get(f"/queue?agent={huge}&team={huge}&page={huge}").status_code == 200
