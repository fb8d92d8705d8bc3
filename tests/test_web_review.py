"""The review, appeal, upload and scorecard pages over HTTP, on a real temporary database."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from webworld import SAMPLES, World, add_call, login

from qa.db.models import Appeal, AuditEntry, Call, ItemVerdict, Job, User
from web.queries import QueueFilters, paginate, queue_statement

JSON = {"Accept": "application/json"}


def _verdict(w: World, call: str, item: str) -> ItemVerdict:
    with w.db.session() as s:
        return s.scalars(select(ItemVerdict).where(ItemVerdict.call_id == w.calls[call],
                                                   ItemVerdict.item == item)).one()


def _save(client: FlaskClient, w: World, call: str, item: str, verdict: str, comment: str, version: int,
          headers: dict[str, str] | None = None):
    v = _verdict(w, call, item)
    return client.post(f"/calls/{w.calls[call]}/items/{v.id}", headers=headers,
                       data={"verdict": verdict, "comment": comment, "version": version})


def test_stale_save_is_refused_with_who_and_when(app: Flask, world: World) -> None:
    first, second = app.test_client(), app.test_client()
    login(first, "insp1")
    login(second, "insp2")
    assert 'name="version" value="0"' in first.get(f"/calls/{world.calls['bad']}").get_data(as_text=True)
    saved = _save(second, world, "bad", "forbidden.bu_zhidao", "fail", "确认", 0, JSON)
    assert saved.status_code == 200 and saved.json["version"] == 1
    stale = _save(first, world, "bad", "forbidden.bu_zhidao", "pass", "误判", 0, JSON)
    assert stale.status_code == 409
    assert stale.json["error"].startswith("已被 赵质检 于 ") and stale.json["error"].endswith("修改，请刷新后再试")
    v = _verdict(world, "bad", "forbidden.bu_zhidao")
    assert (v.final_verdict, v.comment, v.reviewed_by) == ("fail", "确认", world.users["insp2"])
    first.post("/locale", data={"locale": "en"})
    page = _save(first, world, "bad", "forbidden.bu_zhidao", "pass", "误判", 0)  # a plain form post
    assert page.status_code == 409 and "Changed by 赵质检 at" in page.get_data(as_text=True)


def test_review_end_to_end_over_http(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    call = world.calls["bad"]
    saved = _save(client, world, "bad", "forbidden.not_our_business", "pass", "是转接说明", 0, JSON)
    assert saved.json["item"] == {"id": _verdict(world, "bad", "forbidden.not_our_business").id, "verdict": "pass",
                                  "label": "通过", "comment": "是转接说明", "reviewer": "王质检"}
    assert saved.json["score"] == 90.0
    refused = _save(client, world, "bad", "forbidden.bu_zhidao", "pass", "", 1, JSON)
    assert refused.status_code == 400 and "说明" in refused.json["error"]
    confirmed = client.post(f"/calls/{call}/confirm", data={"version": 1})
    assert confirmed.status_code == 302
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "通话已确认：90 分，优秀。" in page
    assert "通话确认" in page and "项目判定" in page and "是转接说明" in page  # the audit log
    with world.db.session() as s:
        row = s.get_one(Call, call)
        assert (row.state, row.score, row.grade) == ("confirmed", 90.0, "优秀")
        assert [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.call_id == call))] == [
            "set_verdict", "confirm_call"]
    assert 'name="version"' not in page  # no more review forms on a confirmed call


def test_agent_appeals_once_and_another_inspector_decides(app: Flask, world: World) -> None:
    inspector, agent, other = app.test_client(), app.test_client(), app.test_client()
    login(inspector, "insp1")
    inspector.post(f"/calls/{world.calls['bad']}/confirm", data={"version": 0})
    login(agent, "agent1")
    page = agent.get(f"/calls/{world.calls['bad']}").get_data(as_text=True)
    item = _verdict(world, "bad", "forbidden.bu_zhidao")
    assert f'action="/appeals/items/{item.id}"' in page
    filed = agent.post(f"/appeals/items/{item.id}", data={"reason": "我说的是“不知道您是否方便”"})
    assert filed.status_code == 302
    assert agent.post(f"/appeals/items/{item.id}", data={"reason": "再来一次"}).status_code == 400
    login(other, "agent2")
    assert other.post(f"/appeals/items/{item.id}", data={"reason": "x"}).status_code == 403
    with world.db.session() as s:
        appeal = s.scalars(select(Appeal)).one()
    assert "我说的是" in inspector.get("/appeals").get_data(as_text=True)
    assert inspector.post(f"/appeals/{appeal.id}/decide", data={"decision": "upheld", "comment": "同意"}).status_code == 403
    assert agent.post(f"/appeals/{appeal.id}/decide", data={"decision": "upheld", "comment": "同意"}).status_code == 403
    second = app.test_client()
    login(second, "insp2")
    decided = second.post(f"/appeals/{appeal.id}/decide", data={"decision": "upheld", "comment": "语境是礼貌询问"})
    assert decided.status_code == 302
    with world.db.session() as s:
        call = s.get_one(Call, world.calls["bad"])
        assert call.score == 90.0 and s.get_one(Appeal, appeal.id).state == "upheld"
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.call_id == call.id))]
        assert actions == ["confirm_call", "file_appeal", "decide_appeal"]
    scorecard = agent.get(f"/agents/{world.agents['A1001']}").get_data(as_text=True)
    assert "申诉成立" in scorecard and "语境是礼貌询问" in scorecard


def test_call_page_queries_do_not_grow_with_appeals_and_audit_entries(app: Flask, world: World) -> None:
    """The call page loads its call, items, appeals and audit log in a fixed number of statements."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    def page_statements(client: FlaskClient) -> int:
        statements.clear()
        assert client.get(f"/calls/{world.calls['bad']}").status_code == 200
        return len(statements)

    inspector, agent, second = app.test_client(), app.test_client(), app.test_client()
    login(inspector, "insp1")
    login(agent, "agent1")
    login(second, "insp2")
    event.listen(world.db.engine, "before_cursor_execute", seen)
    try:
        bare = page_statements(inspector)
        inspector.post(f"/calls/{world.calls['bad']}/confirm", data={"version": 0})
        for item in ("forbidden.bu_zhidao", "forbidden.not_our_business"):
            agent.post(f"/appeals/items/{_verdict(world, 'bad', item).id}", data={"reason": "理由"})
        with world.db.session() as s:
            appeal = s.scalars(select(Appeal)).first()
        second.post(f"/appeals/{appeal.id}/decide", data={"decision": "rejected", "comment": "维持"})
        with world.db.session() as s:
            assert len(s.scalars(select(Appeal)).all()) == 2
            assert len(s.scalars(select(AuditEntry).where(AuditEntry.call_id == world.calls["bad"])).all()) == 4
        assert page_statements(inspector) == page_statements(agent) == bare <= 5
    finally:
        event.remove(world.db.engine, "before_cursor_execute", seen)


def test_queue_puts_risk_first_and_mixes_in_sampled_calls(client: FlaskClient, world: World) -> None:
    add_call(world, "extra", "c02_inbound_good_explain", "A2002", datetime(2026, 11, 7, 3, 0, tzinfo=UTC))
    with world.db.session() as s:
        s.get_one(Call, world.calls["good"]).sampled = True
        s.get_one(Call, world.calls["xss"]).risk = 5.0
        s.get_one(Call, world.calls["extra"]).risk = 0.5
    login(client, "insp1")
    html = client.get("/queue").get_data(as_text=True)
    shown = sorted(world.calls, key=lambda k: html.find(f'href="/calls/{world.calls[k]}"'))
    # one sampled call after every four; "other" (c07) before "bad" (c06): the customer protested the
    # agent's manner there (你这是什么态度), which leaves its 高压线 pass in doubt (doubt_when)
    assert shown == ["fatal", "other", "bad", "xss", "good", "extra"]
    assert "抽检" in html


def test_queue_pages(world: World) -> None:
    statement = queue_statement(QueueFilters(), ZoneInfo("Asia/Shanghai"))
    with world.db.session() as s:
        first, second, beyond = (paginate(s, statement, number, per_page=2) for number in (1, 2, 9))
        assert (first.total, first.pages) == (3, 2)
        assert [c.id for c in first.items] == [world.calls["fatal"], world.calls["other"]]
        assert [c.id for c in second.items] == [c.id for c in beyond.items] == [world.calls["bad"]]


def test_queue_filters(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    only_agent = client.get(f"/queue?agent={world.agents['A2002']}").get_data(as_text=True)
    assert f'/calls/{world.calls["other"]}"' in only_agent and f'/calls/{world.calls["bad"]}"' not in only_agent
    by_item = client.get("/queue?item=forbidden.bu_zhidao").get_data(as_text=True)
    assert f'/calls/{world.calls["bad"]}"' in by_item and f'/calls/{world.calls["other"]}"' not in by_item
    by_grade = client.get("/queue?grade=不合格").get_data(as_text=True)
    assert f'/calls/{world.calls["fatal"]}"' in by_grade and f'/calls/{world.calls["bad"]}"' not in by_grade
    # 2026-11-03 06:00 UTC is 14:00 on 3 November in Shanghai; 2026-11-04 07:15 UTC is on the 4th
    by_day = client.get("/queue?from=2026-11-03&to=2026-11-03").get_data(as_text=True)
    assert f'/calls/{world.calls["bad"]}"' in by_day and f'/calls/{world.calls["other"]}"' not in by_day
    assert "2026-11-03 14:00" in by_day
    team = client.get("/queue?team=999").get_data(as_text=True)
    assert "没有待复核的通话" in team


def test_language_switch_is_kept_on_the_user(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    assert "质检队列" in client.get("/queue").get_data(as_text=True)
    assert client.post("/locale", data={"locale": "en", "next": "/queue"}).headers["Location"] == "/queue"
    assert "Review queue" in client.get("/queue").get_data(as_text=True)
    with world.db.session() as s:
        assert s.get_one(User, world.users["insp1"]).locale == "en"
    client.post("/logout")
    login(client, "insp1")
    assert "Review queue" in client.get("/queue").get_data(as_text=True)


def test_scorecard_trend_and_costliest_deductions(app: Flask, world: World) -> None:
    inspector = app.test_client()
    login(inspector, "insp1")
    for key in ("good", "bad"):
        inspector.post(f"/calls/{world.calls[key]}/confirm", data={"version": 0})
    agent = app.test_client()
    login(agent, "agent1")
    html = agent.get(f"/agents/{world.agents['A1001']}").get_data(as_text=True)
    assert 'class="chart chart-trend"' in html and "2026-10" in html and "2026-11" in html
    assert "2026-11：80 分（1 通）" in html
    first = _verdict(world, "bad", "forbidden.bu_zhidao")
    assert f'href="/calls/{world.calls["bad"]}#v{first.id}"' in html
    assert html.index("说“不知道”") < html.index("推诿")  # equal cost: in item order


def test_peaks_are_computed_once_and_cached(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    data = client.get(f"/api/calls/{world.calls['bad']}/peaks").json
    assert 500 <= len(data["peaks"]) <= 1200 and max(data["peaks"]) == 1.0 and min(data["peaks"]) >= 0
    assert abs(data["duration"] - 37) < 2
    [cached] = (world.config.data_dir / "cache" / "peaks").glob("*.json")
    assert json.loads(cached.read_text()) == data


def test_upload_reports_each_file(client: FlaskClient, world: World) -> None:
    login(client, "manager1")
    wav = (SAMPLES / "calls" / "c03_bare_wei.wav").read_bytes()
    csv = "文件,坐席工号,坐席姓名,班组,呼叫方向,开始时间\nc03.wav,A3003,周五,二组,呼入,2026-11-20 09:30:00\n"

    def upload(*files: tuple[bytes, str]):
        data = {"files": [(io.BytesIO(b), name) for b, name in files],
                "metadata": (io.BytesIO(csv.encode("gb18030")), "meta.csv")}
        return client.post("/upload", data=data, content_type="multipart/form-data").get_data(as_text=True)

    html = upload((wav, "c03.wav"), (b"", "empty.wav"))
    assert "已保存，排队处理" in html and "坐席 A3003" in html
    assert "错误" in html and "文件为空" in html
    again = upload((wav, "renamed.wav"))
    assert "已上传过" in again
    with world.db.session() as s:
        call = s.scalars(select(Call).where(Call.original_name == "c03.wav")).one()
        assert call.state == "queued" and call.agent.code == "A3003" and call.agent.team.name == "二组"
        assert len(list(s.scalars(select(Job).where(Job.call_id == call.id)))) == 1
    assert client.post("/upload", data={}, content_type="multipart/form-data").status_code == 400


def test_an_upload_over_the_limit_is_refused_with_the_limit(app: Flask, client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = client.post("/upload", data={"files": [(io.BytesIO(bytes(20_000)), "big.wav")]},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "每次最多 2 GB，请分批上传" in response.get_data(as_text=True)
    with world.db.session() as s:
        assert s.scalars(select(Call).where(Call.original_name == "big.wav")).first() is None


def test_status_lists_calls_and_retries_failed_ones(client: FlaskClient, world: World) -> None:
    with world.db.session() as s:
        failed = s.get_one(Call, world.calls["other"])
        failed.state, failed.error = "failed", "corrupt or truncated audio"
    login(client, "insp1")
    assert 'data-url="/api/status"' in client.get("/upload/status").get_data(as_text=True)
    rows = {row["id"]: row for row in client.get("/api/status").json["calls"]}
    row = rows[world.calls["other"]]
    assert row["state"] == "failed" and row["error"] == "corrupt or truncated audio" and row["state_label"] == "失败"
    assert row["retry_url"] == f"/upload/calls/{world.calls['other']}/retry"
    assert rows[world.calls["bad"]]["retry_url"] is None
    assert client.post(row["retry_url"]).status_code == 302
    with world.db.session() as s:
        assert s.get_one(Call, world.calls["other"]).state == "queued"
        retry = s.scalars(select(AuditEntry).where(AuditEntry.action == "retry")).one()
        assert retry.user_id == world.users["insp1"] and retry.before["error"] == "corrupt or truncated audio"
    client.post(row["retry_url"])
    assert "只有处理失败的通话可以重试" in client.get("/upload/status").get_data(as_text=True)
