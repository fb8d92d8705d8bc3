"""The weekly QA report: the week's deductions, agents, training focus and trend worked out by
hand, `qa report weekly` with its workbook, and the page (SQLite and PostgreSQL).

ISO week 2026-W47 runs from Monday 16 to Sunday 22 November, Shanghai time. Its calls, all
confirmed: A01 on the 16th (H fails) and 17th (H and I fail), A02 on the 18th (H) and on Sunday
the 22nd at 23:30 (I). Not in it: A02's call at 00:10 on Monday the 23rd (W48) and A01's on the
10th (W46, failing H: last week's one deduction). H = greeting.hello, I = greeting.introduce.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from conftest import run_qa
from flask.testing import FlaskClient
from openpyxl import load_workbook
from tallyworld import Centre
from webworld import app_for_tests, login, open_test_database

from qa.config import Config
from qa.scoring.loader import load_rules
from qa.tally.period import Week, WeekError
from qa.tally.weekly import weekly_report

HELLO, INTRO = "greeting.hello", "greeting.introduce"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def centre(db_config: Config) -> Iterator[Centre]:
    _, db = open_test_database(db_config)
    centre = Centre(db, load_rules())
    centre.agent("A01", "张三", "一组")
    centre.agent("A02", "李四", "二组")
    centre.user("insp1", "inspector")
    centre.user("a01", "agent", agent="A01")
    centre.calls = [
        centre.call("A01", "2026-11-16 10:00", (HELLO,)),
        centre.call("A01", "2026-11-17 10:00", (HELLO, INTRO)),
        centre.call("A02", "2026-11-18 10:00", (HELLO,)),
        centre.call("A02", "2026-11-22 23:30", (INTRO,)),
        centre.call("A02", "2026-11-23 00:10", (INTRO,)),
        centre.call("A01", "2026-11-10 10:00", (HELLO,)),
    ]
    yield centre
    db.dispose()


def test_weeks() -> None:
    assert str(Week.parse("2026-W47")) == "2026-W47" and str(Week.parse("2026-W47").shift(-1)) == "2026-W46"
    assert str(Week.parse("2026-W01").shift(-1)) == "2025-W52"
    assert str(Week.parse("2026-W47").monday) == "2026-11-16"
    for bad in ("2026-47", "2026-W54", "W47"):
        with pytest.raises(WeekError):
            Week.parse(bad)


def test_the_week_by_hand(centre: Centre) -> None:
    hello = centre.items[HELLO][1].deduct
    intro = centre.items[INTRO][1].deduct
    with centre.db.session() as session:
        report = weekly_report(session, Week(2026, 47), SHANGHAI)
    assert (report.figures.calls, report.figures.confirmed, report.figures.fatal_calls) == (4, 4, 0)
    assert report.figures.mean == pytest.approx(100 - (3 * hello + 2 * intro) / 4)
    assert (report.previous.calls, report.previous.mean) == (1, 100 - hello)
    assert [(d.item, d.calls, d.previous_calls, d.points, d.examples) for d in report.deductions] == [
        (HELLO, 3, 1, 3 * hello, centre.calls[0:3]),
        (INTRO, 2, 0, 2 * intro, [centre.calls[1], centre.calls[3]])]
    assert [(a.code, a.calls, a.failed_items, a.points, a.top_item) for a in report.agents] == [
        ("A01", 2, 3, 2 * hello + intro, centre.items[HELLO][1].name),
        ("A02", 2, 2, hello + intro, centre.items[HELLO][1].name)]
    assert [(d.item, codes) for d, codes in report.training] == [(HELLO, ["A01", "A02"]), (INTRO, ["A01", "A02"])]


def test_qa_report_weekly(centre: Centre, db_config: Config) -> None:
    out = db_config.data_dir.parent / "week.xlsx"
    result = run_qa(db_config, "report", "weekly", "--week", "2026-W47", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2026-W47: 4 calls (4 confirmed)" in result.output and "previous week 1 calls" in result.output
    book = load_workbook(out)
    assert book.sheetnames == ["概况", "扣分项目", "坐席", "培训建议"]
    rows = list(book["扣分项目"].iter_rows(values_only=True))
    assert rows[1][:7] == (HELLO, centre.items[HELLO][1].name, "greeting", None, 3, 3 * centre.items[HELLO][1].deduct, 1)
    assert [row[0] for row in book["坐席"].iter_rows(min_row=2, values_only=True)] == ["A01", "A02"]
    assert run_qa(db_config, "report", "weekly", "--week", "2026-47").exit_code == 2


@pytest.fixture
def client(centre: Centre, db_config: Config) -> FlaskClient:
    return app_for_tests(db_config, centre.db).test_client()


def test_the_weekly_page(centre: Centre, client: FlaskClient) -> None:
    login(client, "a01")
    assert client.get("/reports/weekly/2026-W47").status_code == 403
    client.post("/logout")
    login(client, "insp1")
    assert client.get("/reports/weekly").headers["Location"].startswith("/reports/weekly/20")
    html = client.get("/reports/weekly/2026-W47").get_data(as_text=True)
    assert "data-chart" in html and "质检周报" in html and "培训重点" in html
    assert f'href="/calls/{centre.calls[0]}"' in html and f'href="/calls/{centre.calls[4]}"' not in html
    download = client.get("/reports/weekly/2026-W47.xlsx")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert client.get("/reports/weekly/2026-W99").status_code == 404
