"""Score a transcript against a rule set: one verdict per checklist item, then the call's score.

Confidence says how far an inspector can trust a verdict without listening: it falls with the
recognition probability of the words a verdict rests on, with sound-alike or approximate
matches, with doubt about which speaker is the agent, and near the limits of timing items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qa.scoring.context import REVIEW_CONFIDENCE, ContextPlan, context_plan, weigh
from qa.scoring.facts import CallFacts, call_facts
from qa.scoring.loader import RuleSet
from qa.scoring.patterns import Hit, Pattern
from qa.scoring.schema import (
    SEVERITY_ORDER,
    DeadAirItem,
    ForbidItem,
    HoldItem,
    InterruptionItem,
    Item,
    PhraseItem,
    RequireItem,
    Scope,
    ScoringTemplate,
    SpeechRateItem,
)
from qa.scoring.scorecard import CardFacts, Evidence, RulesVersion, Scorecard, Verdict, VerdictValue, apply_template
from qa.scoring.text import SearchText, TurnPieces
from qa.speech.transcript import Transcript

HOW_TRUST = {"exact": 1.0, "regex": 1.0, "absent": 0.95, "sound": 0.85, "fuzzy": 0.8}
ABSENCE_TRUST = 0.9  # "not said" is as sure as the recognition of the window searched
TURN_SLACK_S = 0.5  # a turn this close to a silence counts as just before or after it
# Reasons are written in Chinese: verdicts are read by the centre's inspectors and agents, beside
# the checklists' own Chinese names and explanations.
DIRECTION_LABELS = {"inbound": "呼入通话", "outbound": "呼出通话"}


@dataclass
class _Outcome:
    verdict: VerdictValue
    confidence: float
    reason: str
    evidence: list[Evidence]
    fatal: bool | None = None  # set where context rules weighed the hits; else the item's own
    deduct: float | None = None


class CallContext:
    """One transcript prepared for scoring: facts, and search texts built once per scope."""

    def __init__(self, transcript: Transcript, rules: RuleSet, direction: str | None) -> None:
        self.transcript = transcript
        self.turns = transcript.turns
        self.role_confidence = transcript.roles.confidence
        self._pieces = TurnPieces(self.turns, rules.searcher)
        self._texts: dict[tuple[int, ...], SearchText] = {}
        self._windows: dict[tuple[str, int], list[int]] = {}
        self._window_texts: dict[tuple[str, int], tuple[list[int], SearchText]] = {}
        self._notes: dict[tuple[int, ...], tuple[float, float, str]] = {}
        self._agent: list[int] | None = None
        self._holds: tuple[float, list[tuple[float, float]]] | None = None
        if direction:
            source = "given"
        else:
            direction, source = self._infer_direction(rules)
        self.facts: CallFacts = call_facts(transcript, direction, source)

    def _infer_direction(self, rules: RuleSet) -> tuple[str, str]:
        """Outbound when the agent's first turn has an outbound cue and no inbound one."""
        first_agent = next((i for i, t in enumerate(self.turns) if t.role == "agent"), None)
        if first_agent is None:
            return "inbound", "default (the agent never spoke)"
        text = self.text([first_agent])
        cued = {d for d, cue in rules.direction_cues.items() if cue.find(text)}
        if cued == {"outbound"}:
            return "outbound", "inferred: outbound cue in the agent's first turn"
        if "inbound" in cued:
            return "inbound", "inferred: inbound cue in the agent's first turn"
        return "inbound", "default (no cue in the agent's first turn)"

    def turn_indices(self, speaker: str, scope: Scope | None) -> list[int]:
        """The turns an item searches (kept per speaker and scope: items share windows; keyed by the
        scope's identity, as hashing a pydantic model costs more than choosing the turns)."""
        key = (speaker, id(scope))
        if key not in self._windows:
            self._windows[key] = self._choose_turns(speaker, scope)
        return self._windows[key]

    def window(self, speaker: str, scope: Scope | None) -> tuple[list[int], SearchText]:
        """The turns an item searches and their search text."""
        key = (speaker, id(scope))
        found = self._window_texts.get(key)
        if found is None:
            indices = self.turn_indices(speaker, scope)
            found = self._window_texts[key] = (indices, self.text(indices))
        return found

    def _choose_turns(self, speaker: str, scope: Scope | None) -> list[int]:
        chosen = [i for i, t in enumerate(self.turns) if speaker == "anyone" or t.role == speaker]
        if scope is None or not chosen:
            return chosen
        if scope.first_turns:
            return chosen[: scope.first_turns]
        if scope.last_turns:
            return chosen[-scope.last_turns:]
        call_start, call_end = self.turns[0].start, max(t.end for t in self.turns)
        if scope.first_seconds:
            return [i for i in chosen if self.turns[i].start < call_start + scope.first_seconds]
        assert scope.last_seconds is not None  # a scope gives exactly one of its four bounds
        return [i for i in chosen if self.turns[i].end > call_end - scope.last_seconds]

    def text(self, indices: list[int]) -> SearchText:
        key = tuple(indices)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = SearchText(self.turns, indices, self._pieces)
        return text

    @property
    def agent_turns(self) -> list[int]:
        if self._agent is None:
            self._agent = [i for i, turn in enumerate(self.turns) if turn.role == "agent"]
        return self._agent

    def customer_text_before(self, turn: int) -> SearchText:
        """The customer's turns before this one."""
        return self.text([i for i in range(turn) if self.turns[i].role == "customer"])

    def customer_reply(self, turn: int) -> SearchText:
        """The customer's first turn after this one: how the customer took what was said."""
        reply = next((i for i in range(turn + 1, len(self.turns)) if self.turns[i].role == "customer"), None)
        return self.text([] if reply is None else [reply])

    def holds(self, min_silence_s: float) -> list[tuple[float, float]]:
        """The call's holds (kept: several items ask)."""
        if self._holds is None or self._holds[0] != min_silence_s:
            self._holds = (min_silence_s, self.facts.holds(min_silence_s))
        return self._holds[1]

    def hit_evidence(self, text: SearchText, hit: Hit) -> Evidence:
        if hit.how == "absent":
            return self.window_evidence(text.indices)
        span, least = text.locate(hit.start, hit.end)
        turn = self.turns[span.turn]
        words = turn.words[span.first_word: span.last_word + 1]
        confidence = HOW_TRUST[hit.how] * (0.5 + 0.5 * least)
        return Evidence(words[0].start, words[-1].end, span.turn, turn.role, turn.text,
                        "".join([w.text for w in words]), hit.how, round(confidence, 3))

    def window_evidence(self, indices: list[int]) -> Evidence:
        if not indices:
            return Evidence(start=0.0, end=0.0, how="window")
        key = tuple(indices)
        note = self._notes.get(key)
        if note is None:
            turns = [self.turns[i] for i in indices]
            note = self._notes[key] = (turns[0].start, turns[-1].end, " / ".join([t.text for t in turns])[:200])
        return Evidence(start=note[0], end=note[1], how="window", text=note[2])

    def window_trust(self, indices: list[int]) -> float:
        """How well the searched turns were recognised: mean word probability, mapped to 0.5-1."""
        mean = self.text(indices).mean_probability
        return 0.5 + 0.5 * mean if mean is not None else 0.5


def _require(ctx: CallContext, item: RequireItem, patterns: dict[str, Pattern], plan: _Plan, rules: RuleSet) -> _Outcome:
    indices, text = ctx.window(item.speaker, item.scope)
    hits = patterns["match"].find(text)
    if hits:
        evidence = [ctx.hit_evidence(text, h) for h in hits[:3]]
        confidence = max(e.confidence or 0.0 for e in evidence)
        return _Outcome(VerdictValue.PASS, confidence, "已说", evidence)
    reason = "所查范围内未说" if indices else "没有可查的话轮"
    return _Outcome(VerdictValue.FAIL, ABSENCE_TRUST * ctx.window_trust(indices), reason, [ctx.window_evidence(indices)])


def _forbid(ctx: CallContext, item: ForbidItem, patterns: dict[str, Pattern], plan: _Plan, rules: RuleSet) -> _Outcome:
    """A forbid item's verdict from its hits, and a pass left in doubt where the customer's reply
    says what no phrase did (doubt_when)."""
    outcome = _forbid_hits(ctx, item, patterns, plan)
    doubt = item.doubt_when
    if outcome.verdict != VerdictValue.PASS or doubt is None:
        return outcome
    first_agent = ctx.agent_turns[0] if ctx.agent_turns else len(ctx.turns)
    text = ctx.text([i for i in ctx.turn_indices("customer", None) if i > first_agent])
    said = patterns["doubt_when.customer_said"].find(text)
    if not said:
        return outcome
    evidence = [ctx.hit_evidence(text, h) for h in said]
    return _Outcome(VerdictValue.PASS, min(outcome.confidence, doubt.confidence), f"{outcome.reason}；{doubt.reason}",
                    evidence[:10] + outcome.evidence)


def _forbid_hits(ctx: CallContext, item: ForbidItem, patterns: dict[str, Pattern], plan: _Plan) -> _Outcome:
    """Hits weighed by the item's context rules: the worst weight among the counted hits decides
    whether the fail is fatal, an ordinary deduction or a case for an inspector."""
    indices, text = ctx.window(item.speaker, item.scope)
    found = patterns["match"].find(text)
    if not found:
        return _Outcome(VerdictValue.PASS, ABSENCE_TRUST * ctx.window_trust(indices), "未说", [ctx.window_evidence(indices)])
    weights = [weigh(ctx, item, patterns, text, h, plan.context) for h in found]
    hits = [h for h, w in zip(found, weights) if w.severity != "pass"]
    excused = sorted({w.reason for w in weights if w.severity == "pass"})
    if len(hits) >= item.min_count:
        counted = [w for w in weights if w.severity != "pass"]
        worst = min(counted, key=lambda w: SEVERITY_ORDER.index(w.severity))
        evidence = [ctx.hit_evidence(text, h) for h in hits]
        # as sure as the hits that decide the severity (a certain 高压线 beside a hit that only asks
        # for an inspector is certain), and as the fewest hits that make the fail
        deciding = [(e, w) for e, w in zip(evidence, counted) if w.severity == worst.severity]
        strongest = sorted((e.confidence or 0.0 for e in evidence), reverse=True)[: item.min_count]
        decided = sorted((e.confidence or 0.0 for e, _ in deciding), reverse=True)[: item.min_count]
        confidence = min(min(strongest), *decided, *[w.confidence for _, w in deciding if w.confidence is not None])
        reason = "；".join([f"说了 {len(hits)} 次", *([worst.reason] if worst.reason else []), *excused])
        return _Outcome(VerdictValue.FAIL, confidence, reason, evidence[:10], fatal=worst.severity == "fatal",
                        deduct=max(w.deduct for w in counted))
    said = f"说了 {len(hits)} 次，未达 {item.min_count} 次" if hits else "未说"
    if excused:
        said = "；".join([f"说了 {len(found)} 次，不计", *excused])
    return _Outcome(VerdictValue.PASS, ABSENCE_TRUST * ctx.window_trust(indices), said,
                    [ctx.hit_evidence(text, h) for h in found] or [ctx.window_evidence(indices)])


def _agent_turn_near(ctx: CallContext, t: float, before: bool) -> int | None:
    """Index of the agent's last turn ending by t (before) or first turn starting from t (after)."""
    agent = ctx.agent_turns
    if before:
        ending = [i for i in agent if ctx.turns[i].end <= t + TURN_SLACK_S]
        return ending[-1] if ending else None
    starting = [i for i in agent if ctx.turns[i].start >= t - TURN_SLACK_S]
    return starting[0] if starting else None


def _said_in(ctx: CallContext, index: int | None, pattern: Pattern) -> Evidence | None:
    if index is None:
        return None
    text = ctx.text([index])
    hits = pattern.find(text)
    return ctx.hit_evidence(text, hits[0]) if hits else None


def _silence_evidence(start: float, end: float, note: str) -> Evidence:
    return Evidence(start=round(start, 3), end=round(end, 3), how="silence", text=note)


def _hold(ctx: CallContext, item: HoldItem, patterns: dict[str, Pattern], plan: _Plan, rules: RuleSet) -> _Outcome:
    holds = ctx.holds(rules.template.hold.min_silence_s)
    failures, evidence, trust, silent = [], [], [], []
    for start, end in holds:
        said_before = _said_in(ctx, _agent_turn_near(ctx, start, before=True), patterns["before"])
        said_after = _said_in(ctx, _agent_turn_near(ctx, end, before=False), patterns["after"])
        if said_before is None and said_after is None and item.unannounced == "skip":
            silent.append(_silence_evidence(start, end, f"静音 {end - start:.1f} 秒，前后都没有交代"))
            continue
        evidence.append(_silence_evidence(start, end, f"保持 {end - start:.1f} 秒"))
        for label, found in (("前", said_before), ("后", said_after)):
            if found:
                evidence.append(found)
                trust.append(found.confidence or 0.0)
            else:
                failures.append(f"{start:.0f} 秒处 {end - start:.0f} 秒的保持{label}没有交代")
                trust.append(ABSENCE_TRUST)
    skipped = [f"{len(silent)} 次静音前后都没有交代：没有请客户等待，不算保持，由冷场一项判断"] if silent else []
    if not evidence:
        return _Outcome(VerdictValue.NA, ABSENCE_TRUST, "；".join(skipped), silent)
    if failures:
        return _Outcome(VerdictValue.FAIL, min(trust), "；".join(failures + skipped), evidence + silent)
    return _Outcome(VerdictValue.PASS, min(trust, default=ABSENCE_TRUST),
                    "；".join([f"{len(holds) - len(silent)} 次保持，前后均有交代", *skipped]), evidence + silent)


def _dead_air(ctx: CallContext, item: DeadAirItem, patterns: dict[str, Pattern], plan: _Plan, rules: RuleSet) -> _Outcome:
    excuse = patterns.get("unless_before")
    long_ones = ctx.facts.long_silences(item.min_silence_s)
    unexcused = [(s, e) for s, e in long_ones
                 if excuse is None or _said_in(ctx, _agent_turn_near(ctx, s, before=True), excuse) is None]
    evidence = [_silence_evidence(s, e, f"静音 {e - s:.1f} 秒") for s, e in unexcused]
    if unexcused:
        longest = max(e - s for s, e in unexcused)
        margin = min(1.0, (longest - item.min_silence_s) / item.min_silence_s)
        return _Outcome(VerdictValue.FAIL, 0.75 + 0.2 * margin, f"{len(unexcused)} 次 ≥ {item.min_silence_s:g} 秒的静音",
                        evidence)
    note = f"没有无交代的 ≥ {item.min_silence_s:g} 秒静音"
    return _Outcome(VerdictValue.PASS, 0.95, note + (f"（{len(long_ones)} 次已交代）" if long_ones else ""), [])


def _interruption(ctx: CallContext, item: InterruptionItem, patterns: dict[str, Pattern], plan: _Plan,
                  rules: RuleSet) -> _Outcome:
    events = ctx.facts.cut_ins(item.min_overlap_s)
    mono = ctx.transcript.audio.channels == 1
    evidence = [Evidence(start=round(a, 3), end=round(a + o, 3), how="overlap", role="agent",
                         text=f"客户说话时坐席插话，双方同时说了 {o:.1f} 秒")
                for a, _, o in events]
    trust = 0.8 if mono else 0.95  # overlaps on one channel come from a model, on two from VAD
    if len(events) > item.max_count:
        strongest = max(o for _, _, o in events)
        return _Outcome(VerdictValue.FAIL, trust * min(1.0, 0.6 + 0.4 * strongest / (2 * item.min_overlap_s)),
                        f"抢话 {len(events)} 次", evidence)
    return _Outcome(VerdictValue.PASS, trust, f"抢话 {len(events)} 次，允许 {item.max_count} 次", evidence)


def _speech_rate(ctx: CallContext, item: SpeechRateItem, patterns: dict[str, Pattern], plan: _Plan,
                 rules: RuleSet) -> _Outcome:
    cpm = ctx.facts.agent_cpm
    if cpm is None:
        return _Outcome(VerdictValue.NA, 1.0, "坐席说话太少，无法测量", [])
    low, high = item.min_cpm or 0.0, item.max_cpm or float("inf")
    evidence = [Evidence(start=0.0, end=round(ctx.facts.agent_seconds, 3), how="rate", role="agent",
                         text=f"坐席 {ctx.facts.agent_seconds:.0f} 秒讲话，每分钟 {cpm:.0f} 字")]
    bound = low if cpm < low else high if cpm > high else None
    nearest = min((b for b in (low, high) if 0 < b < float("inf")), key=lambda b: abs(cpm - b))
    margin = min(1.0, abs(cpm - nearest) / (0.1 * nearest))
    if bound is not None:
        return _Outcome(VerdictValue.FAIL, 0.6 + 0.35 * margin, f"{cpm:.0f} 字/分钟，超出 {low:g}-{high:g}", evidence)
    return _Outcome(VerdictValue.PASS, 0.6 + 0.35 * margin, f"{cpm:.0f} 字/分钟", evidence)


# The rule of each kind of item (qa/scoring/schema.py ITEM_KINDS): what is said (require, forbid),
# what the timing shows (the rest). Each takes its own kind of item.
RULES: dict[type, Callable[[CallContext, Any, dict[str, Pattern], _Plan, RuleSet], _Outcome]] = {
    RequireItem: _require, ForbidItem: _forbid,
    HoldItem: _hold, DeadAirItem: _dead_air, InterruptionItem: _interruption, SpeechRateItem: _speech_rate,
}


def _not_applicable(ctx: CallContext, item: Item, patterns: dict[str, Pattern], rules: RuleSet) -> str | None:
    when = item.when
    if when is None:
        return None
    if when.direction and when.direction != ctx.facts.direction:
        return f"仅适用于{DIRECTION_LABELS[when.direction]}，本通话为{DIRECTION_LABELS[ctx.facts.direction]}"
    if when.hold is not None:
        held = bool(ctx.holds(rules.template.hold.min_silence_s))
        if held != when.hold:
            return "仅适用于有保持的通话" if when.hold else "仅适用于无保持的通话"
    said = patterns.get("when.customer_said")
    if said is not None and not said.find(ctx.text(ctx.turn_indices("customer", None))):
        return "仅当客户表达不满时适用（未出现）"
    return None


def _fatal_doubt(words: float, role: float, template: ScoringTemplate) -> str | None:
    """Why a red line is too unsure to zero a call unheard (the template's bars for how well its
    words were heard and for who the agent is), or None."""
    if words < template.fatal_min_confidence:
        return f"高压线的字词识别把握不足（{words:.2f}，低于 {template.fatal_min_confidence:g}）"
    if role < template.fatal_min_role_confidence:
        return f"谁是坐席不够确定（{role:.2f}，低于 {template.fatal_min_role_confidence:g}）"
    return None


@dataclass(frozen=True)
class _Plan:
    """What scoring needs of one item, looked up once per rule set instead of once per call."""

    checklist: str
    area: str
    item: Item
    patterns: dict[str, Pattern]
    context: ContextPlan | None


def _plans(rules: RuleSet) -> list[_Plan]:
    """The rule set's items in order, made ready for scoring (kept on the rule set)."""
    plans = rules.__dict__.get("_plans")
    if plans is None:
        plans = [_Plan(c.checklist.id, c.checklist.area, item, c.patterns[item.id],
                       context_plan(item, c.patterns[item.id]) if isinstance(item, ForbidItem) else None)
                 for c, item in rules.items()]
        object.__setattr__(rules, "_plans", plans)  # derived from the frozen rule set, never changed
    return plans


def _evaluate(ctx: CallContext, plan: _Plan, rules: RuleSet) -> Verdict:
    item, patterns = plan.item, plan.patterns
    skip = _not_applicable(ctx, item, patterns, rules) if item.when is not None else None
    role_confidence = 1.0
    if skip:
        outcome = _Outcome(VerdictValue.NA, 1.0, skip, [])
    else:
        outcome = RULES[type(item)](ctx, item, patterns, plan, rules)
        if isinstance(item, PhraseItem) and item.speaker != "anyone":  # only as sure as who the agent is
            role_confidence = ctx.role_confidence
    fatal = item.fatal if outcome.fatal is None else outcome.fatal
    if fatal and outcome.verdict == VerdictValue.FAIL:
        doubt = _fatal_doubt(outcome.confidence, role_confidence, rules.template)
        if doubt:
            fatal = False
            outcome.reason += f"；{doubt}：确认前不判高压线，请质检员听音确认"
            # sent to an inspector at the confidence of a context rule's `then: review`
            outcome.confidence = min(outcome.confidence, REVIEW_CONFIDENCE)
    outcome.confidence *= role_confidence
    return Verdict(item.id, plan.checklist, plan.area, item.name, item.explain, outcome.verdict,
                   round(outcome.confidence, 3), item.deduct if outcome.deduct is None else outcome.deduct,
                   fatal, outcome.reason, outcome.evidence)


def score_transcript(transcript: Transcript, rules: RuleSet, direction: str | None = None) -> Scorecard:
    """Verdicts for every item of every checklist, and the score by the rule set's template."""
    ctx = CallContext(transcript, rules, direction)
    verdicts = [_evaluate(ctx, plan, rules) for plan in _plans(rules)]
    facts = ctx.facts
    card = Scorecard(
        call_id=transcript.call_id,
        audio_sha256=transcript.audio.sha256,
        checklists=[RulesVersion(c.checklist.id, c.checklist.version, c.sha256) for c in rules.checklists],
        template=RulesVersion(rules.template.id, rules.template.version, rules.template_sha256),
        facts=CardFacts(direction=facts.direction, direction_source=facts.direction_source,
                        holds=[[round(s, 2), round(e, 2)] for s, e in ctx.holds(rules.template.hold.min_silence_s)],
                        agent_cpm=round(facts.agent_cpm, 1) if facts.agent_cpm else None,
                        role_confidence=ctx.role_confidence),
        verdicts=verdicts,
    )
    return apply_template(card, rules.template)
