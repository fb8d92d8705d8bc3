"""The policy file: what it can express (escalation over a quarter, the ladder one rung at a time,
months that close on the 25th) on a second hand-computed month, and how mistakes are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from tallyworld import Centre

from qa.db.session import Database
from qa.scoring.loader import load_rules
from qa.tally.actions import live_tally
from qa.tally.period import Month, month_bounds, month_of
from qa.tally.policy import DEFAULT_POLICY, Period, PolicyError, load_policy

QUARTER_POLICY = """\
schema: qa.policy/1
id: strict
version: 3
name: 季度累计
period: {timezone: Asia/Shanghai, last_day: 25}
performance:
  basis: median
  tiers: [{name: 优, min_score: 90}, {name: 良, min_score: 0}]
discipline: {ladder: [口头警告, 书面警告, 停职, 解除劳动合同], window: quarter}
rules:
  - id: rude
    name: 服务忌语
    failed: {areas: [forbidden]}
    window: quarter
    steps:
      - {discipline: next}
      - {points: -5, discipline: next}
      - {yuan: -50, discipline: next, flag: 停职审查}
ranking: {min_calls: 1, tie_breaks: [fewer_failed_items], bottom: {count: 0}}
"""


def test_a_quarter_of_escalation_with_months_closing_on_the_25th(migrated_db: Database, tmp_path: Path) -> None:
    """By hand. Months close on the 25th: "2026-11" is 10-26 00:00 to 11-25 24:00 local, and the
    quarter of November is the periods 2026-10 .. 2026-12 (from 09-26). X breaks the rule on 10-10
    (period 2026-10: 1st, 口头警告), 11-20 (2026-11: 2nd, −5 points, 书面警告) and 11-26 (2026-12:
    3rd, −50 元, 停职). November: median of 98 and 100 = 99, −5 → 94 (优). Y: one clean call on
    11-25 23:59 local, November's: median 100, first by the score."""
    path = tmp_path / "strict.yaml"
    path.write_text(QUARTER_POLICY, encoding="utf-8")
    loaded = load_policy(path)
    centre = Centre(migrated_db, load_rules())
    centre.agent("X", "", "一组")
    centre.agent("Y", "", "一组")
    centre.user("insp1", "inspector")
    centre.call("X", "2026-10-10 10:00", ("forbidden.negative_language",))
    centre.call("X", "2026-11-20 10:00", ("forbidden.negative_language",))
    centre.call("X", "2026-11-22 10:00")
    centre.call("X", "2026-11-26 10:00", ("forbidden.bu_zhidao",))
    centre.call("Y", "2026-11-25 23:59")
    with migrated_db.session() as session:
        november = live_tally(session, loaded, Month(2026, 11))
        december = live_tally(session, loaded, Month(2026, 12))
    x, y = (november.agent(centre.agents[code]) for code in ("X", "Y"))
    assert (x.calls, x.median, x.points, x.score, x.tier, x.rank, x.discipline) == (2, 99, -5, 94, "优", 2, "书面警告")
    assert [(line.occurrence, line.points, line.yuan, line.discipline) for line in x.lines] == [(2, -5, 0, "书面警告")]
    assert (y.calls, y.score, y.rank, y.bottom) == (1, 100, 1, False)
    x_dec = december.agent(centre.agents["X"])
    assert [(line.occurrence, line.yuan, line.discipline, line.flag) for line in x_dec.lines] == [
        (3, -50, "停职", "停职审查")]
    assert x_dec.discipline == "停职" and x_dec.flags == ["停职审查"]
    assert november.policy.startswith("strict v3 sha256:")


def test_periods_in_local_time() -> None:
    calendar, closing = Period(), Period(last_day=25)
    start, end = month_bounds(Month(2026, 11), calendar)
    assert (start.isoformat(), end.isoformat()) == ("2026-10-31T16:00:00+00:00", "2026-11-30T16:00:00+00:00")
    start, end = month_bounds(Month(2027, 1), closing)
    assert (start.isoformat(), end.isoformat()) == ("2026-12-25T16:00:00+00:00", "2027-01-25T16:00:00+00:00")
    from datetime import datetime
    assert str(month_of(datetime(2026, 12, 31, 16, 0), calendar)) == "2027-01"
    assert str(month_of(datetime(2026, 12, 25, 16, 0), closing)) == "2027-01"
    assert str(Month(2026, 11).window_start("quarter")) == "2026-10"
    assert str(Month(2026, 3).shift(-3)) == "2025-12"


def test_the_bundled_policy_loads_and_cites_the_documents() -> None:
    items = {item.id for _, item in load_rules().items()}
    policy = load_policy(known_items=items).policy
    for entry in [*policy.rules, *policy.awards, *policy.event_rules]:
        assert entry.source, f"{entry.id} cites no document"
    assert policy.discipline.ladder == ["口头警告", "书面警告", "停职", "解除劳动合同"]
    assert {a.id: a.yuan for a in policy.awards}["champion"] == 300
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert text.count("product default") >= 8


@pytest.mark.parametrize(("change", "expected"), [
    ("version: 3\n", ":1: version: Field required"),
    ("window: quarter\n    steps:", ":14: rules[0].window: Input should be 'month', 'quarter' or 'year'"),
    ("{discipline: next}", ":16: rules[0].steps[0].discipline: '警告' is not on discipline.ladder"),
    ("areas: [forbidden]", ":13: rules[0].failed: give exactly one of items, areas, fatal"),
    ("timezone: Asia/Shanghai", ":5: period.timezone: unknown time zone"),
    ("{name: 良, min_score: 0}", ":8: performance.tiers: the last tier needs min_score: 0"),
    ("tie_breaks: [fewer_failed_items]", ":19: ranking.tie_breaks[0]: Input should be"),
])
def test_mistakes_are_reported_by_line(tmp_path: Path, change: str, expected: str) -> None:
    replacements = {
        "version: 3\n": "",
        "window: quarter\n    steps:": "window: week\n    steps:",
        "{discipline: next}": "{discipline: 警告}",
        "areas: [forbidden]": "areas: [forbidden], fatal: true",
        "timezone: Asia/Shanghai": "timezone: Beijing",
        "{name: 良, min_score: 0}": "{name: 良, min_score: 10}",
        "tie_breaks: [fewer_failed_items]": "tie_breaks: [seniority]",
    }
    path = tmp_path / "bad.yaml"
    path.write_text(QUARTER_POLICY.replace(change, replacements[change]), encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert f"{path}{expected}" in str(error.value)


def test_unknown_items_and_events_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(QUARTER_POLICY.replace("areas: [forbidden]", "items: [forbidden.typo]")
                    + "event_rules:\n  - {id: praise, name: 表扬, event: praise, steps: [{yuan: 2}]}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_policy(path, known_items={"forbidden.bu_zhidao"})
    problems = error.value.problems
    assert any(":13: rules[0].failed.items: no checklist has an item 'forbidden.typo'" in p for p in problems)
    assert any(":21: event_rules[0].event: event 'praise' is not listed under events" in p for p in problems)
    path.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_policy(path)
