"""Reports open where the data is: the tally and agreement on the month of the latest confirmed
call, the weekly report on the week of the latest processed call, and an empty period says what
to do next (tests/webworld.py's calls are in 2026-10 and 2026-11, the clock is later)."""

from __future__ import annotations

from flask import Flask
from webworld import World, login

from qa.db.models import Call, User
from qa.review.actions import confirm_call


def test_reports_open_on_the_latest_period_with_calls(app: Flask, world: World) -> None:
    client = app.test_client()
    login(client, "manager1")
    assert client.get("/reports/weekly").headers["Location"].endswith("/reports/weekly/2026-W45")  # the 6 Nov call
    nothing_confirmed = client.get("/tally", follow_redirects=True).get_data(as_text=True)
    assert 'id="empty-month"' in nothing_confirmed and 'href="/queue"' in nothing_confirmed
    with world.db.session() as session:
        confirm_call(session, session.get_one(User, world.users["insp1"]), session.get_one(Call, world.calls["bad"]),
                     0, world.rules.template)
    assert client.get("/tally").headers["Location"].endswith("/tally/2026-11")
    assert client.get("/agreement").headers["Location"].endswith("/agreement/2026-11")
    later = client.get("/tally/2027-01").get_data(as_text=True)
    assert 'id="empty-month"' in later and 'href="/tally/2026-11"' in later
    empty_week = client.get("/reports/weekly/2027-W02").get_data(as_text=True)
    assert 'id="empty-week"' in empty_week and 'href="/reports/weekly/2026-W45"' in empty_week
    empty_agreement = client.get("/agreement/2027-01").get_data(as_text=True)
    assert 'href="/agreement/2026-11"' in empty_agreement
