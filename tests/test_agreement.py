"""Agreement of automatic verdicts with the inspectors' final verdicts, per item and month: the
figures worked out by hand, `qa agreement`, and the managers' page (SQLite and PostgreSQL).

November, agent A01, items greeting.hello (H) and greeting.introduce (I):

| call | H automatic → final | I automatic → final |
| --- | --- | --- |
| 1 | fail → fail | pass → pass |
| 2 | fail → pass (overridden) | — |
| 3 | pass → pass | pass → fail (overridden) |
| 4 | fail → fail | — |

H: 4 verdicts, 1 changed (agreement 75 %), automatic fails 3 of which 2 kept (precision 2/3),
final fails 2 both failed automatically (recall 100 %). I: 2 verdicts, 1 changed (50 %), no
automatic fail (precision none), 1 final fail missed (recall 0 %). A December call overriding H
is not counted in November.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from conftest import run_qa
from flask.testing import FlaskClient
from tallyworld import Centre
from webworld import app_for_tests, login, open_test_database

from qa.config import Config
from qa.learning.agreement import month_agreement
from qa.scoring.loader import load_rules
from qa.tally.period import Month, Period

HELLO, INTRO = "greeting.hello", "greeting.introduce"


@pytest.fixture
def centre(db_config: Config) -> Iterator[Centre]:
    _, db = open_test_database(db_config)
    centre = Centre(db, load_rules())
    centre.agent("A01", "张三", "一组")
    centre.user("insp1", "inspector")
    centre.user("boss", "manager")
    centre.user("a01", "agent", agent="A01")
    centre.calls = [
        centre.call("A01", "2026-11-02 10:00", (HELLO,), passed=(INTRO,)),
        centre.call("A01", "2026-11-03 10:00", (HELLO,), overrides={HELLO: "pass"}),
        centre.call("A01", "2026-11-04 10:00", passed=(HELLO, INTRO), overrides={INTRO: "fail"}),
        centre.call("A01", "2026-11-05 10:00", (HELLO,)),
        centre.call("A01", "2026-12-01 10:00", (HELLO,), overrides={HELLO: "pass"}),
    ]
    yield centre
    db.dispose()


def test_agreement_per_item(centre: Centre) -> None:
    with centre.db.session() as session:
        hello, intro = month_agreement(session, Month(2026, 11), Period(timezone="Asia/Shanghai"))
    assert (hello.item, hello.reviewed, hello.overridden_calls) == (HELLO, 4, [centre.calls[1]])
    assert (hello.true_fail, hello.false_fail, hello.missed_fail) == (2, 1, 0)
    assert (hello.agreement, hello.precision, hello.recall) == (0.75, 2 / 3, 1.0)
    assert (intro.item, intro.reviewed, intro.overridden_calls) == (INTRO, 2, [centre.calls[2]])
    assert (intro.agreement, intro.precision, intro.recall) == (0.5, None, 0.0)
    with centre.db.session() as session:
        assert month_agreement(session, Month(2026, 10), Period(timezone="Asia/Shanghai")) == []


def test_qa_agreement(centre: Centre, db_config: Config) -> None:
    result = run_qa(db_config, "agreement", "--month", "2026-11", "--format", "csv", "--calls")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["item"], r["reviewed"], r["overridden"], r["precision"], r["recall"], r["overridden_calls"])
            for r in rows] == [(HELLO, "4", "1", str(2 / 3), "1.0", str(centre.calls[1])),
                               (INTRO, "2", "1", "", "0.0", str(centre.calls[2]))]
    table = run_qa(db_config, "agreement", "--month", "2026-11")
    assert table.exit_code == 0 and "66.7%" in table.output and "75.0%" in table.output, table.output
    assert "no confirmed calls" in run_qa(db_config, "agreement", "--month", "2026-10").output
    assert run_qa(db_config, "agreement", "--month", "2026-13").exit_code == 2


@pytest.fixture
def client(centre: Centre, db_config: Config) -> FlaskClient:
    return app_for_tests(db_config, centre.db).test_client()


def test_the_agreement_pages(centre: Centre, client: FlaskClient) -> None:
    for username in ("insp1", "a01"):
        login(client, username)
        assert client.get("/agreement/2026-11").status_code == 403
        assert client.get(f"/agreement/2026-11/{HELLO}").status_code == 403
        client.post("/logout")
    login(client, "boss")
    assert client.get("/agreement").headers["Location"].startswith("/agreement/20")
    html = client.get("/agreement/2026-11").get_data(as_text=True)
    assert "data-chart" in html and "精确率" in html and "66.7%" in html and "75%" in html
    assert f'href="/agreement/2026-11/{HELLO}"' in html
    item = client.get(f"/agreement/2026-11/{HELLO}").get_data(as_text=True)
    assert f'href="/calls/{centre.calls[1]}"' in item and "质检员改判" in item
    assert f'href="/calls/{centre.calls[4]}"' not in item  # December's
    assert client.get("/agreement/2026-11/no.such.item").status_code == 404
    assert client.get("/agreement/2026-13").status_code == 404
