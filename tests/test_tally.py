"""Monthly tallies against months worked out by hand, on SQLite and PostgreSQL.

November 2026 under the bundled policy (qa/policies/default.yaml): calendar months in
Asia/Shanghai, at least 5 confirmed calls to be ranked, ties broken by fewer fatal items, then
more calls, then the higher median; still equal, the same rank. Item points are the default
checklists' (greeting.hello 5, closing.inbound_thanks 5, closing.goodbye 2, courtesy.please 2,
forbidden.bu_zhidao 10, forbidden.negative_language 2, forbidden.correcting_customer 10;
forbidden.insult is fatal: the call scores 0).

Worked by hand (score = mean confirmed call score + rule points, 2 decimals):

| agent | team | Nov calls (scores) | mean | median | rule points | score | rank | 元 |
| A01 | 一组 | 100×5, 95 | 595/6 = 99.17 | 100 | 0 | 99.17 | 1 | +6 praise×3, +50 satisfaction 6/6, +300 champion = 356 |
| A02 | 一组 | 98, 90, 98, 100×3 | 586/6 = 97.67 | 99 | −2 (2nd taboo) | 95.67 | 2 | −100 complaint |
| A04 | 二组 | 90, 100×4 | 98 | 100 | −10 (quarrel) | 88 | 3 | 0 |
| A05 | 二组 | 88×5 | 88 | 88 | 0 | 88 | 4 | −100 −200 (complaint ×2) = −300 |
| A06 | 一组 | 88×5 | 88 | 88 | 0 | 88 | 4 (tie) | 0 |
| A03 | 二组 | 0, 100×4 | 80 | 100 | 0 | 80 | 6, 末位 | −500 (insult) |
| A07 | 二组 | none | — | — | 0 | — | not ranked | +2 praise |
| A08 | 一组 | 100×3 (+1 in December) | 100 | 100 | 0 | 100 | not ranked (3 < 5) | 0 |

A04 is ahead of A05/A06 on the median (100 > 88); A05 and A06 are equal on everything and
share rank 4. 服务之星 (top 3 without fatal items): A01, A02, A04. A01's October call (10-31
23:30 local) is October's; A01's call at 11-01 00:10 local (10-31 16:10 UTC) is November's;
A08's call at 12-01 00:01 local (11-30 16:01 UTC) is December's; the one from 11-30 23:58
to 12-01 00:08 is November's: a call counts in the month it started.
Teams: 一组 20 calls, 1921/20 = 96.05, +356 −100 = 256 元; 二组 15 calls, 1330/15 = 88.67,
+2 −800 = −798 元; centre 35 calls, 3251/35 = 92.89, +358 −900 = −542 元.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tallyworld import Centre

from qa.db.models import Agent, ItemVerdict, User
from qa.db.session import Database
from qa.review.actions import InvalidAction, PermissionDenied, decide_appeal, file_appeal
from qa.scoring.loader import load_rules
from qa.tally.actions import add_entry, changes, live_tally, publish, published, versions
from qa.tally.period import Month
from qa.tally.policy import load_policy
from qa.tally.result import Tally

NOV = Month(2026, 11)
HELLO, INTRO_THANKS, GOODBYE = "greeting.hello", "closing.inbound_thanks", "closing.goodbye"
TWELVE_POINTS = (HELLO, INTRO_THANKS, GOODBYE)  # 5 + 5 + 2: the call scores 88


def build_november(db: Database) -> Centre:
    centre = Centre(db, load_rules())
    for code, name, team in [("A01", "张三", "一组"), ("A02", "李四", "一组"), ("A03", "王五", "二组"),
                             ("A04", "赵六", "二组"), ("A05", "钱七", "二组"), ("A06", "孙八", "一组"),
                             ("A07", "周九", "二组"), ("A08", "吴十", "一组")]:
        centre.agent(code, name, team)
    centre.user("insp1", "inspector")
    centre.user("insp2", "inspector")
    centre.user("boss", "manager")
    centre.user("a02", "agent", agent="A02")
    # A01: October's last evening, then six November calls, one at 00:10 on the 1st.
    centre.call("A01", "2026-10-31 23:30", (HELLO, INTRO_THANKS))
    centre.call("A01", "2026-11-01 00:10", satisfaction="satisfied")
    for day in (3, 4, 5, 6):
        centre.call("A01", f"2026-11-{day:02d} 10:00", satisfaction="satisfied")
    centre.call("A01", "2026-11-07 10:00", (HELLO,), satisfaction="satisfied")
    # A02: a taboo phrase in October (its own window), two in November, one courtesy slip.
    centre.call("A02", "2026-10-20 10:00", ("forbidden.negative_language",))
    centre.call("A02", "2026-11-02 09:00", ("forbidden.negative_language",))
    centre.call("A02", "2026-11-09 09:00", ("forbidden.bu_zhidao",))
    centre.call("A02", "2026-11-10 09:00", ("courtesy.please",))
    for day in (11, 12, 13):
        centre.call("A02", f"2026-11-{day:02d} 09:00")
    # A03: one insult (fatal; the greeting failed too on that call), four clean calls.
    centre.call("A03", "2026-11-04 15:00", ("forbidden.insult", HELLO))
    for day in (5, 6, 7, 8):
        centre.call("A03", f"2026-11-{day:02d} 15:00")
    # A04: corrected a customer once.
    centre.call("A04", "2026-11-15 11:00", ("forbidden.correcting_customer",))
    for day in (16, 17, 18, 19):
        centre.call("A04", f"2026-11-{day:02d} 11:00")
    # A05 and A06: five calls of 88 each.
    for code in ("A05", "A06"):
        for day in (20, 21, 22, 23, 24):
            centre.call(code, f"2026-11-{day:02d} 14:00", TWELVE_POINTS)
    # A08: three November calls (one two minutes before midnight at month end), one in December.
    centre.call("A08", "2026-11-29 10:00")
    centre.call("A08", "2026-11-30 10:00")
    centre.call("A08", "2026-11-30 23:58", duration=600)  # ends at 00:08 on December 1st
    centre.call("A08", "2026-12-01 00:01")
    loaded = load_policy()
    with db.session() as session:
        boss = session.get(User, centre.users["boss"])
        agent = {code: session.get(Agent, agent_id) for code, agent_id in centre.agents.items()}
        add_entry(session, loaded, boss, agent["A01"], NOV, "praise", "三位客户点名表扬", quantity=3)
        add_entry(session, loaded, boss, agent["A02"], NOV, "complaint", "客户投诉态度生硬")
        add_entry(session, loaded, boss, agent["A05"], NOV, "complaint", "两次差评", quantity=2)
        add_entry(session, loaded, boss, agent["A07"], NOV, "praise", "客户来电表扬")
    return centre


@pytest.fixture
def november(migrated_db: Database) -> Centre:
    return build_november(migrated_db)


def tally_of(db: Database, month: Month = NOV) -> Tally:
    with db.session() as session:
        return live_tally(session, load_policy(), month)


def test_the_hand_computed_month(november: Centre) -> None:
    tally = tally_of(november.db)
    got = {a.code: (a.calls, a.mean, a.median, a.points, a.score, a.rank, a.reward_yuan, a.penalty_yuan, a.net_yuan)
           for a in tally.agents}
    assert got == {
        "A01": (6, 99.17, 100, 0, 99.17, 1, 356, 0, 356),
        "A02": (6, 97.67, 99, -2, 95.67, 2, 0, -100, -100),
        "A04": (5, 98, 100, -10, 88, 3, 0, 0, 0),
        "A05": (5, 88, 88, 0, 88, 4, 0, -300, -300),
        "A06": (5, 88, 88, 0, 88, 4, 0, 0, 0),
        "A03": (5, 80, 100, 0, 80, 6, 0, -500, -500),
        "A07": (0, None, None, 0, None, None, 2, 0, 2),
        "A08": (3, 100, 100, 0, 100, None, 0, 0, 0),
    }
    assert [a.code for a in tally.agents] == ["A01", "A02", "A04", "A05", "A06", "A03", "A07", "A08"]
    by = {a.code: a for a in tally.agents}
    assert {c: a.tier for c, a in by.items()} == {"A01": "金牌客服", "A02": "金牌客服", "A04": "资深客服", "A05": "资深客服",
                                                 "A06": "资深客服", "A03": "初级客服", "A07": None, "A08": "金牌客服"}
    assert [c for c, a in by.items() if a.titles == ["服务之星"]] == ["A01", "A02", "A04"]
    assert [c for c, a in by.items() if a.bottom] == ["A03"]
    assert not by["A07"].ranked and not by["A08"].ranked
    assert by["A01"].satisfaction == 1.0 and by["A01"].rated == 6
    assert (by["A01"].previous_calls, by["A01"].previous_mean) == (1, 90)


def test_escalation_and_what_each_figure_came_from(november: Centre) -> None:
    by = {a.code: a for a in tally_of(november.db).agents}
    a02 = [(line.rule, line.occurrence, line.points, line.yuan, line.discipline) for line in by["A02"].lines]
    # October's taboo phrase is in October's window: November starts again at the first step.
    assert a02 == [("taboo", 1, 0, 0, "口头警告"), ("taboo", 2, -2, 0, None), ("complaint", 1, 0, -100, None),
                   ("service_star", 1, 0, 0, None)]
    assert by["A02"].discipline == "口头警告"
    taboo_calls = [line.calls for line in by["A02"].lines if line.rule == "taboo"]
    items = {v.call_id: v.item for v in _failed_items(november.db, by["A02"].call_ids)}
    assert [items[calls[0]] for calls in taboo_calls] == ["forbidden.negative_language", "forbidden.bu_zhidao"]
    a05 = [(line.rule, line.occurrence, line.count, line.yuan, line.discipline, line.flag) for line in by["A05"].lines]
    assert a05 == [("complaint", 1, 1, -100, None, None),
                   ("complaint", 2, 1, -200, "解除劳动合同", "第二次服务态度投诉，请主管处理")]
    a03 = by["A03"]
    assert [(line.rule, line.yuan, line.discipline, line.items) for line in a03.lines if line.kind == "rule"] == [
        ("insult", -500, "解除劳动合同", ["forbidden.insult"])]
    assert a03.flags == ["高压线：辱骂嘲讽客户，请主管处理", "末位"] and a03.fatal == 1
    praise = [line for line in by["A01"].lines if line.rule == "praise"]
    assert [(line.count, line.yuan, line.note) for line in praise] == [(3, 6, "boss：三位客户点名表扬")]
    assert sorted(line.rule for line in by["A01"].lines) == ["champion", "praise", "satisfaction", "service_star"]
    a04 = by["A04"]
    assert [(line.rule, line.points, line.flag) for line in a04.lines if line.kind == "rule"] == [("quarrel", -10, "通报批评")]
    deductions = {d.item: (d.count, d.points, len(d.calls)) for d in by["A05"].deductions}
    assert deductions == {HELLO: (5, 25, 5), INTRO_THANKS: (5, 25, 5), GOODBYE: (5, 10, 5)}
    assert by["A05"].area_points() == {"greeting": 25, "closing": 35}


def _failed_items(db: Database, call_ids: list[int]) -> list[ItemVerdict]:
    with db.session() as session:
        return list(session.scalars(select(ItemVerdict).where(ItemVerdict.call_id.in_(call_ids),
                                                              ItemVerdict.final_verdict == "fail")))


def test_team_and_centre_totals_and_month_boundaries(november: Centre) -> None:
    tally = tally_of(november.db)
    teams = {t.name: (t.agents, t.ranked, t.calls, t.mean, t.reward_yuan, t.penalty_yuan, t.net_yuan) for t in tally.teams}
    assert teams == {"一组": (4, 3, 20, 96.05, 356, -100, 256), "二组": (4, 3, 15, 88.67, 2, -800, -798)}
    centre = tally.centre
    assert (centre.calls, centre.mean, centre.reward_yuan, centre.penalty_yuan, centre.net_yuan) == (35, 92.89, 358, -900, -542)
    assert tally.start == "2026-10-31T16:00:00+00:00" and tally.end == "2026-11-30T16:00:00+00:00"
    december = {a.code: a.calls for a in tally_of(november.db, Month(2026, 12)).agents}
    october = {a.code: a.calls for a in tally_of(november.db, Month(2026, 10)).agents}
    assert december["A08"] == 1 and october["A01"] == 1 and october["A02"] == 1


def test_publishing_freezes_and_a_later_appeal_makes_a_new_version(november: Centre) -> None:
    db, loaded = november.db, load_policy()
    with db.session() as session:
        boss = session.get(User, november.users["boss"])
        first = publish(session, loaded, NOV, boss, "")
        assert (first.version, first.publisher) == (1, "boss")
        with pytest.raises(InvalidAction) as unchanged:
            publish(session, loaded, NOV, boss, "again")
        assert unchanged.value.code == "unchanged"
        with pytest.raises(PermissionDenied):
            publish(session, loaded, NOV, session.get(User, november.users["insp1"]), "")
    # A02 appeals the 不知道 item; another inspector upholds it: the call scores 100.
    with db.session() as session:
        verdict = session.scalars(select(ItemVerdict).where(ItemVerdict.item == "forbidden.bu_zhidao")).one()
        appeal = file_appeal(session, session.get(User, november.users["a02"]), verdict, "我说的是“我不知道您是否方便”")
        decide_appeal(session, session.get(User, november.users["insp2"]), appeal, True, "语境无误", november.rules.template)
    live = {a.code: a for a in tally_of(db).agents}
    # A02: 586 + 10 = 596 / 6 = 99.33, one taboo occurrence (a warning, no points): now first.
    assert (live["A02"].score, live["A02"].rank, live["A01"].rank) == (99.33, 1, 2)
    assert live["A02"].net_yuan == 200 and live["A01"].net_yuan == 56  # the 300 元 champion award moved
    with db.session() as session:
        frozen = Tally.from_json(published(session, NOV).data)
        assert {a.code: a.rank for a in frozen.agents}["A01"] == 1  # version 1 did not change
        with pytest.raises(InvalidAction) as needs_note:
            publish(session, loaded, NOV, session.get(User, november.users["boss"]), " ")
        assert needs_note.value.code == "note_required"
        second = publish(session, loaded, NOV, session.get(User, november.users["boss"]), "A02 申诉成立")
        assert second.version == 2
        assert [v.version for v in versions(session, NOV)] == [2, 1]
        old = Tally.from_json(published(session, NOV, 1).data)
        new = Tally.from_json(published(session, NOV, 2).data)
    assert {a.code: a.rank for a in old.agents}["A02"] == 2 and {a.code: a.rank for a in new.agents}["A02"] == 1
    moved = {(c.code, c.field): (c.before, c.after) for c in changes(old, new)}
    assert moved[("A02", "rank")] == (2, 1) and moved[("A01", "net_yuan")] == (356, 56)
    assert old == Tally.from_json(old.to_json())


def test_adjustments_need_a_reason_and_events_come_from_the_policy(november: Centre) -> None:
    loaded = load_policy()
    with november.db.session() as session:
        boss = session.get(User, november.users["boss"])
        agent = session.get(Agent, november.agents["A06"])
        for kind, note, points, yuan, code in [("adjustment", " ", 0, 50, "adjustment_needs_reason"),
                                               ("adjustment", "补发", 0, 0, "empty_adjustment"),
                                               ("praise", "x", 0, 5, "event_amounts"),
                                               ("bonus", "x", 0, 0, "unknown_event")]:
            with pytest.raises(InvalidAction) as refused:
                add_entry(session, loaded, boss, agent, NOV, kind, note, points=points, yuan=yuan)
            assert refused.value.code == code
        add_entry(session, loaded, boss, agent, NOV, "adjustment", "系统故障期间的通话不计，补 1 分", points=1, yuan=0)
    a06 = {a.code: a for a in tally_of(november.db).agents}["A06"]
    assert (a06.points, a06.score, a06.rank) == (1, 89, 3)  # now ahead of A04 (88)
    assert [(line.kind, line.points, line.note) for line in a06.lines if line.kind == "adjustment"] == [
        ("adjustment", 1, "boss：系统故障期间的通话不计，补 1 分")]
