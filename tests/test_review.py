"""Review rules on their own: verdicts, confirmation, the version guard, appeals, the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webworld import World

from qa.db.models import Appeal, AuditEntry, Call, ItemVerdict, User
from qa.review.actions import (
    AppealDecided,
    Conflict,
    InvalidAction,
    PermissionDenied,
    confirm_call,
    decide_appeal,
    file_appeal,
    review_version,
    set_verdict,
)
from qa.scoring.scorecard import score_verdicts


def _user(session: Session, w: World, name: str) -> User:
    return session.get_one(User, w.users[name])


def _item(session: Session, w: World, call: str, item: str) -> ItemVerdict:
    return session.scalars(select(ItemVerdict).where(ItemVerdict.call_id == w.calls[call],
                                                     ItemVerdict.item == item)).one()


def _audit(session: Session, call_id: int) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.call_id == call_id).order_by(AuditEntry.id)))


def _confirm(w: World, call: str, inspector: str) -> None:
    with w.db.session() as s:
        row = s.get_one(Call, w.calls[call])
        confirm_call(s, _user(s, w, inspector), row, review_version(row), w.rules.template)


def test_override_needs_comment_then_is_saved_and_audited(world: World) -> None:
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        with pytest.raises(InvalidAction) as refused:
            set_verdict(s, _user(s, world, "insp1"), item, "pass", "  ", 0)
        assert refused.value.code == "override_needs_comment"
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        set_verdict(s, _user(s, world, "insp1"), item, "pass", "客户原话，坐席在复述", 0)
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        call = s.get_one(Call, world.calls["bad"])
        assert (item.final_verdict, item.verdict, item.reviewed_by) == ("pass", "pass", world.users["insp1"])
        assert call.state == "in_review" and review_version(call) == 1
        [entry] = _audit(s, call.id)
        assert (entry.user_id, entry.action, entry.entity_id) == (world.users["insp1"], "set_verdict", item.id)
        assert entry.before == {"final_verdict": None, "comment": ""}
        assert entry.after["final_verdict"] == "pass" and entry.after["comment"] == "客户原话，坐席在复述"
        assert entry.at is not None


def test_stale_version_is_refused_and_nothing_is_overwritten(world: World) -> None:
    with world.db.session() as s:  # both inspectors open the call at version 0; insp2 saves first
        set_verdict(s, _user(s, world, "insp2"), _item(s, world, "bad", "forbidden.bu_zhidao"), "fail", "确认", 0)
    with world.db.session() as s:
        with pytest.raises(Conflict) as refused:
            set_verdict(s, _user(s, world, "insp1"), _item(s, world, "bad", "forbidden.bu_zhidao"), "pass", "误判", 0)
        assert refused.value.params["by"] == "赵质检"
        assert "赵质检" in str(refused.value)
        s.rollback()
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        assert (item.final_verdict, item.comment, item.reviewed_by) == ("fail", "确认", world.users["insp2"])
        assert len(_audit(s, world.calls["bad"])) == 1
        with pytest.raises(Conflict):  # confirming with the stale version is refused too
            confirm_call(s, _user(s, world, "insp1"), item.call, 0, world.rules.template)
        s.rollback()
    with world.db.session() as s:
        assert s.get_one(Call, world.calls["bad"]).state == "in_review"


def test_confirm_recomputes_the_score_from_final_verdicts(world: World) -> None:
    with world.db.session() as s:
        call = s.get_one(Call, world.calls["bad"])
        assert (call.score, call.grade) == (80.0, "良好")
        set_verdict(s, _user(s, world, "insp1"), _item(s, world, "bad", "forbidden.not_our_business"), "pass",
                    "语境是转接说明", 0)
        confirm_call(s, _user(s, world, "insp1"), call, review_version(call), world.rules.template)
    with world.db.session() as s:
        call = s.get_one(Call, world.calls["bad"])
        assert (call.state, call.score, call.grade, call.fatal) == ("confirmed", 90.0, "优秀", False)
        assert all(v.final_verdict is not None for v in call.verdicts)
        assert call.review.confirmed and call.review.inspector_id == world.users["insp1"]
        confirm = _audit(s, call.id)[-1]
        assert confirm.action == "confirm_call"
        assert confirm.before["score"] == 80.0 and confirm.after["score"] == 90.0
        assert "forbidden.bu_zhidao" in confirm.after["accepted_automatic"]
        with pytest.raises(InvalidAction):  # a confirmed call changes only through appeals
            set_verdict(s, _user(s, world, "insp2"), _item(s, world, "bad", "forbidden.bu_zhidao"), "pass", "x",
                        review_version(call))


def test_a_failed_fatal_item_sets_the_score_to_zero(world: World) -> None:
    with world.db.session() as s:
        call = s.get_one(Call, world.calls["good"])
        fatal = next(v for v in call.verdicts if v.fatal)
        fatal.final_verdict = "fail"
        assert score_verdicts(call.verdicts, world.rules.template) == (0.0, "不合格", True)
        s.rollback()


def test_only_inspectors_and_managers_review(world: World) -> None:
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        for name in ("agent1", "admin1"):
            with pytest.raises(PermissionDenied):
                set_verdict(s, _user(s, world, name), item, "fail", "", 0)
        set_verdict(s, _user(s, world, "manager1"), item, "fail", "", 0)


def test_appeal_once_decided_by_another_inspector(world: World) -> None:
    with world.db.session() as s:
        with pytest.raises(InvalidAction) as early:
            file_appeal(s, _user(s, world, "agent1"), _item(s, world, "bad", "forbidden.bu_zhidao"), "理由")
        assert early.value.code == "not_confirmed"
    _confirm(world, "bad", "insp1")
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        with pytest.raises(PermissionDenied):  # not their call
            file_appeal(s, _user(s, world, "agent2"), item, "理由")
        with pytest.raises(InvalidAction):  # nothing to appeal on a passed item
            file_appeal(s, _user(s, world, "agent1"), _item(s, world, "bad", "greeting.hello"), "理由")
        with pytest.raises(InvalidAction):
            file_appeal(s, _user(s, world, "agent1"), item, "   ")
        appeal = file_appeal(s, _user(s, world, "agent1"), item, "我说的是“不知道您是否方便”")
        appeal_id = appeal.id
    with world.db.session() as s:
        with pytest.raises(InvalidAction) as twice:
            file_appeal(s, _user(s, world, "agent1"), _item(s, world, "bad", "forbidden.bu_zhidao"), "再申诉")
        assert twice.value.code == "already_appealed"
    with world.db.session() as s:
        appeal = s.get_one(Appeal, appeal_id)
        with pytest.raises(PermissionDenied) as own:
            decide_appeal(s, _user(s, world, "insp1"), appeal, True, "同意", world.rules.template)
        assert own.value.code == "own_confirmation"
        with pytest.raises(InvalidAction):
            decide_appeal(s, _user(s, world, "insp2"), appeal, True, "", world.rules.template)
        with pytest.raises(PermissionDenied):
            decide_appeal(s, _user(s, world, "agent1"), appeal, True, "同意", world.rules.template)
        decide_appeal(s, _user(s, world, "insp2"), appeal, True, "上下文是礼貌询问，申诉成立", world.rules.template)
    with world.db.session() as s:
        appeal = s.get_one(Appeal, appeal_id)
        call = s.get_one(Call, world.calls["bad"])
        assert (appeal.state, appeal.decided_by) == ("upheld", world.users["insp2"])
        assert appeal.verdict.final_verdict == "pass"
        assert (call.score, call.grade) == (90.0, "优秀")
        actions = [(e.action, e.user_id) for e in _audit(s, call.id)]
        assert actions[-2:] == [("file_appeal", world.users["agent1"]), ("decide_appeal", world.users["insp2"])]
        decided = _audit(s, call.id)[-1]
        assert decided.before["score"] == 80.0 and decided.after["score"] == 90.0
        with pytest.raises(AppealDecided) as again:  # a decided appeal says who decided it, and when
            decide_appeal(s, _user(s, world, "manager1"), appeal, False, "改主意", world.rules.template)
        assert (again.value.params["by"], again.value.params["state"]) == ("赵质检", "upheld")
        assert s.scalar(select(func.count()).select_from(Appeal)) == 1


def test_rejected_appeal_keeps_the_verdict(world: World) -> None:
    _confirm(world, "bad", "insp1")
    with world.db.session() as s:
        appeal = file_appeal(s, _user(s, world, "agent1"), _item(s, world, "bad", "forbidden.bu_zhidao"), "理由")
        decide_appeal(s, _user(s, world, "manager1"), appeal, False, "录音清楚，维持原判", world.rules.template)
    with world.db.session() as s:
        item = _item(s, world, "bad", "forbidden.bu_zhidao")
        assert (item.appeal.state, item.final_verdict) == ("rejected", "fail")
        assert s.get_one(Call, world.calls["bad"]).score == 80.0
