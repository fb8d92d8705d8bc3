"""Calibration sessions: who may do what, blind rating, agreement and kappa worked out by hand,
agreed verdicts, closing; and the pages (SQLite and PostgreSQL).

Three calls, items greeting.hello (H) and greeting.introduce (I), two inspectors:

| call | insp1 H, I | insp2 H, I |
| --- | --- | --- |
| 1 | fail, pass | fail, pass |
| 2 | fail, pass | pass, pass |
| 3 | pass, pass | pass, fail |

H: agreement 2/3; insp1 fails 2/3, insp2 1/3: chance agreement 2/3·1/3 + 1/3·2/3 = 4/9, kappa
(2/3 − 4/9) / (1 − 4/9) = 0.4. I: agreement 2/3; chance 1·2/3 = 2/3, kappa 0. All six: observed
4/6, chance (2/6)² + (4/6)² = 5/9, kappa (2/3 − 5/9) / (4/9) = 0.25. Disagreements: call 2 H,
call 3 I.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from tallyworld import Centre
from webworld import app_for_tests, login, open_test_database

from qa.config import Config
from qa.db.models import CalibrationDecision, CalibrationSession, User
from qa.learning.calibration import close, create_session, decide, rate, results
from qa.review.actions import InvalidAction, PermissionDenied
from qa.scoring.loader import load_rules

HELLO, INTRO = "greeting.hello", "greeting.introduce"
RATINGS = {"insp1": [("fail", "pass"), ("fail", "pass"), ("pass", "pass")],
           "insp2": [("fail", "pass"), ("pass", "pass"), ("pass", "fail")]}


@pytest.fixture
def centre(db_config: Config) -> Iterator[Centre]:
    _, db = open_test_database(db_config)
    centre = Centre(db, load_rules())
    centre.agent("A01", "张三", "一组")
    for name, role in (("insp1", "inspector"), ("insp2", "inspector"), ("boss", "manager")):
        centre.user(name, role)
    centre.user("a01", "agent", agent="A01")
    centre.calls = [centre.call("A01", f"2026-11-0{day} 10:00", (HELLO,), passed=(INTRO,)) for day in (2, 3, 4)]
    yield centre
    db.dispose()


def _user(session, name: str) -> User:  # session: a Session
    return session.scalars(select(User).where(User.username == name)).one()


def _rated_session(centre: Centre) -> int:
    with centre.db.session() as session:
        cal = create_session(session, _user(session, "boss"), "十一月校准", centre.calls)
        for name, given in RATINGS.items():
            for call_id, (hello, intro) in zip(centre.calls, given, strict=True):
                rate(session, _user(session, name), cal, call_id, {HELLO: hello, INTRO: intro})
        return cal.id


def test_agreement_and_kappa(centre: Centre) -> None:
    cal_id = _rated_session(centre)
    with centre.db.session() as session:
        found = results(session, session.get_one(CalibrationSession, cal_id))
    assert [r.username for r in found.raters] == ["insp1", "insp2"]
    hello, intro = found.items
    assert (hello.item.id, hello.agreement, hello.kappa) == (HELLO, 2 / 3, pytest.approx(0.4))
    assert (intro.item.id, intro.agreement, intro.kappa) == (INTRO, 2 / 3, pytest.approx(0.0))
    assert found.kappa == pytest.approx(0.25)
    assert [(c.call_id, c.item.id) for c in found.disagreements] == [(centre.calls[1], HELLO), (centre.calls[2], INTRO)]


def test_who_may_do_what(centre: Centre) -> None:
    cal_id = _rated_session(centre)
    with centre.db.session() as session:
        cal = session.get_one(CalibrationSession, cal_id)
        boss, insp1, agent = (_user(session, name) for name in ("boss", "insp1", "a01"))
        with pytest.raises(PermissionDenied):
            create_session(session, insp1, "x", centre.calls)
        with pytest.raises(InvalidAction, match="not processed or unknown"):
            create_session(session, boss, "x", [centre.calls[0], 99_999])
        with pytest.raises(PermissionDenied):
            rate(session, agent, cal, centre.calls[0], {HELLO: "pass", INTRO: "pass"})
        with pytest.raises(InvalidAction, match="no verdict for greeting.introduce"):
            rate(session, insp1, cal, centre.calls[0], {HELLO: "pass"})
        with pytest.raises(PermissionDenied):
            decide(session, insp1, cal, centre.calls[1], HELLO, "fail")
        decide(session, boss, cal, centre.calls[1], HELLO, "fail", "开场白缺“您好”")
        decide(session, boss, cal, centre.calls[1], HELLO, "pass")  # changed, still one decision
        close(session, boss, cal)
        with pytest.raises(InvalidAction, match="closed"):
            rate(session, insp1, cal, centre.calls[0], {HELLO: "pass", INTRO: "pass"})
    with centre.db.session() as session:
        decisions = session.scalars(select(CalibrationDecision)).all()
        assert [(d.call_id, d.item, d.verdict) for d in decisions] == [(centre.calls[1], HELLO, "pass")]


@pytest.fixture
def client(centre: Centre, db_config: Config) -> FlaskClient:
    return app_for_tests(db_config, centre.db).test_client()


def test_the_calibration_pages(centre: Centre, client: FlaskClient) -> None:
    login(client, "insp1")
    assert client.post("/calibration", data={"title": "x", "calls": "1"}).status_code == 403
    client.post("/logout")
    login(client, "boss")
    created = client.post("/calibration", data={"title": "十一月校准", "calls": " ".join(map(str, centre.calls))})
    cal_url = created.headers["Location"]
    cal_id = int(re.search(r"/calibration/(\d+)", cal_url)[1])
    client.post("/logout")
    for name, given in RATINGS.items():
        login(client, name)
        listing = client.get(cal_url).get_data(as_text=True)
        assert listing.count("未给出") == 3  # each sees only their own progress
        for call_id, (hello, intro) in zip(centre.calls, given, strict=True):
            form = client.get(f"{cal_url}/calls/{call_id}").get_data(as_text=True)
            assert 'checked' not in form  # nothing filled in: neither the automatic verdict nor a colleague's
            saved = client.post(f"{cal_url}/calls/{call_id}", data={f"v:{HELLO}": hello, f"v:{INTRO}": intro})
            assert saved.status_code == 302
        assert client.get(cal_url).get_data(as_text=True).count("已给出") == 3
        client.post("/logout")
    login(client, "a01")
    assert client.get(cal_url).status_code == 403
    client.post("/logout")
    login(client, "boss")
    page = client.get(cal_url).get_data(as_text=True)
    assert "0.25" in page and "0.40" in page and "66.7%" in page
    assert page.count('class="inline-form"') == 2  # one agreed-verdict form per disagreement
    client.post(f"/calibration/{cal_id}/decide", data={"call": centre.calls[2], "item": INTRO, "verdict": "pass"})
    client.post(f"/calibration/{cal_id}/close")
    with centre.db.session() as session:
        assert session.get_one(CalibrationSession, cal_id).closed_at is not None
        assert [d.verdict for d in session.scalars(select(CalibrationDecision))] == ["pass"]
