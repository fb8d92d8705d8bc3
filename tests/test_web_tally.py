"""The tally pages: who may see them, what they show, recording entries, publishing and
versions, exports, and an agent's published month on their scorecard (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from tallyworld import Centre
from test_tally import build_november
from test_tally_exports import EXPECTED, _summary
from webworld import app_for_tests, login, open_test_database

from qa.config import Config
from qa.db.models import ItemVerdict, TallyEntry, User
from qa.review.actions import decide_appeal, file_appeal

PAGES = ["/tally/2026-11", "/tally/2026-11/agents/1", "/tally/2026-11/export.xlsx", "/tally/2026-11/export.csv"]


@pytest.fixture
def centre(db_config: Config) -> Iterator[Centre]:
    _, db = open_test_database(db_config)
    built = build_november(db)
    yield built
    db.dispose()


@pytest.fixture
def client(centre: Centre, db_config: Config) -> FlaskClient:
    return app_for_tests(db_config, centre.db).test_client()


def test_only_managers_see_the_tally(centre: Centre, client: FlaskClient) -> None:
    assert client.get("/tally/2026-11").status_code == 302  # to the sign-in page
    for username in ("a02", "insp1"):
        login(client, username)
        for path in PAGES:
            assert client.get(path).status_code == 403, (username, path)
        assert client.post("/tally/2026-11/publish", data={"note": ""}).status_code == 403
        assert client.post("/tally/2026-11/entries", data={"agent": 1, "kind": "praise"}).status_code == 403
        client.post("/logout")
    login(client, "boss")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/tally/2026-13").status_code == 404
    assert client.get("/tally/2026-11/v9").status_code == 404


def test_the_month_page(centre: Centre, client: FlaskClient) -> None:
    login(client, "boss")
    html = client.get("/tally/2026-11").get_data(as_text=True)
    for shown in ("草稿", "服务之星", "末位", "+356", "-500", "全中心", "data-chart", "更少高压线项"):
        assert shown in html, shown
    rows = html.split('data-agent="')[1:]
    assert [r.split('"')[0] for r in rows] == ["A01", "A02", "A04", "A05", "A06", "A03", "A07", "A08"]
    a05 = client.get(f"/tally/2026-11/agents/{centre.agents['A05']}").get_data(as_text=True)
    assert "解除劳动合同" in a05 and "第二次服务态度投诉" in a05 and "/calls/" in a05


def test_entries_and_adjustments_from_the_page(centre: Centre, client: FlaskClient) -> None:
    login(client, "boss")
    agent = centre.agents["A06"]
    refused = client.post("/tally/2026-11/entries", data={"agent": agent, "kind": "adjustment", "yuan": "50",
                                                          "note": ""}, follow_redirects=True)
    assert "人工调整需要填写原因" in refused.get_data(as_text=True)
    with centre.db.session() as session:
        assert session.scalar(select(func.count(TallyEntry.id)).where(TallyEntry.agent_id == agent)) == 0
    done = client.post("/tally/2026-11/entries", data={"agent": agent, "kind": "praise", "quantity": "2",
                                                       "note": "两位客户表扬"}, follow_redirects=True)
    assert "已为 A06 记录" in done.get_data(as_text=True)
    page = client.get(f"/tally/2026-11/agents/{agent}").get_data(as_text=True)
    assert "客户点名表扬" in page and "boss：两位客户表扬" in page


def test_publish_versions_and_the_agents_own_month(centre: Centre, client: FlaskClient) -> None:
    login(client, "a02")
    assert "月度考核" not in client.get(f"/agents/{centre.agents['A02']}").get_data(as_text=True)  # nothing published
    client.post("/logout")
    login(client, "boss")
    published = client.post("/tally/2026-11/publish", data={"note": ""})
    assert published.status_code == 302 and published.headers["Location"].endswith("/tally/2026-11/v1")
    assert "第 1 版" in client.get("/tally/2026-11/v1").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get("/tally/2026-11/v1/export.xlsx").data), read_only=True)
    assert _summary([list(r) for r in book["月度汇总"].iter_rows(values_only=True)]) == EXPECTED
    csv_text = client.get("/tally/2026-11/v1/export.csv?table=teams").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("班组,坐席数") and "全中心" in csv_text
    client.post("/logout")

    login(client, "a02")
    mine = client.get(f"/agents/{centre.agents['A02']}").get_data(as_text=True)
    assert "月度考核" in mine and "共 6 人排名" in mine and "服务态度差评或投诉" in mine and "-100" in mine
    assert client.get(f"/agents/{centre.agents['A01']}").status_code == 403
    # The appeal upheld after publication: version 1 stays, the draft shows what changed.
    with centre.db.session() as session:
        verdict = session.scalars(select(ItemVerdict).where(ItemVerdict.item == "forbidden.bu_zhidao")).one()
        appeal = file_appeal(session, session.get(User, centre.users["a02"]), verdict, "语境")
        decide_appeal(session, session.get(User, centre.users["insp2"]), appeal, True, "成立", centre.rules.template)
    client.post("/logout")
    login(client, "boss")
    draft = client.get("/tally/2026-11").get_data(as_text=True)
    assert "自第 1 版发布后有变化" in draft and "A02 李四 · 排名: 2 → 1" in draft
    page = client.get("/tally/2026-11/v1").get_data(as_text=True)
    assert 'data-agent="A01"' in page.split('class="list ranking"')[1].split("<tbody>")[1][:400]
    refused = client.post("/tally/2026-11/publish", data={"note": ""}, follow_redirects=True)
    assert "新版本需要说明" in refused.get_data(as_text=True)
    second = client.post("/tally/2026-11/publish", data={"note": "A02 申诉成立"})
    assert second.headers["Location"].endswith("/tally/2026-11/v2")
    v2 = client.get("/tally/2026-11/v2").get_data(as_text=True)
    assert "A02 申诉成立" in v2 and "v1" in v2 and "v2" in v2
    client.post("/logout")
    login(client, "a02")
    assert "第 2 版" in client.get(f"/agents/{centre.agents['A02']}").get_data(as_text=True)
