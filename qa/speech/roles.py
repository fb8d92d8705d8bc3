"""Which speaker is the agent, decided from evidence and kept with that evidence.

Evidence, strongest first: the configured channel of a stereo recording; the standard greeting
(您好…工号…为您服务, the closing 感谢您的来电/欢迎再次拨打) in a speaker's first or last words;
service phrases anywhere (请您稍等, 久等了, 请问您的); asking for help (帮我, 我想问), which counts
against being the agent; who speaks first. Weights are the product's own defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from qa.speech.types import Diarization, RoleDecision, Word

STEREO_MAPPING_WEIGHT = 4.0
FIRST_SPEAKER_WEIGHT = 0.5
# Homophone-tolerant because Whisper confuses 您/你 and 为/位.
OPENING_CUES: list[tuple[str, re.Pattern[str], float]] = [
    ("greeting 您好", re.compile("[您你]好"), 1.0),
    ("为您服务", re.compile("[为位][您你]服务"), 2.0),
    ("工号", re.compile("工号"), 2.0),
    ("客服", re.compile("客服"), 1.0),
    ("有什么可以帮", re.compile("有什么(可以)?帮"), 1.5),
]
CLOSING_CUES: list[tuple[str, re.Pattern[str], float]] = [
    ("感谢您的来电", re.compile("感谢[您你]的来电"), 1.5),
    ("欢迎再次拨打", re.compile("欢迎.{0,4}再次拨打"), 1.5),
]
# The agent's service phrases anywhere in the call: they still speak for the agent where the
# recogniser lost the greeting (a quiet or bare 喂，请讲 opening).
AGENT_CUES: list[tuple[str, re.Pattern[str], float]] = [
    ("请问您的", re.compile("请问[您你]的"), 1.0),
    ("请您稍等", re.compile("请[您你]?稍等"), 1.0),
    ("久等了", re.compile("久等"), 1.0),
    ("感谢您的耐心", re.compile("感谢[您你]的(耐心|等待)"), 1.0),
    ("不打扰您了", re.compile("不打扰[您你]"), 1.0),
    ("非常抱歉", re.compile("(非常|很)抱歉"), 1.0),
]
# Who asks for help is the customer: these count against a speaker being the agent, anywhere in
# the call (an agent says 我帮您, 您的, 感谢您; a customer 帮我, 我想问, 我的, 谢谢你).
CUSTOMER_CUES: list[tuple[str, re.Pattern[str], float]] = [
    ("asks for help 帮我", re.compile("帮我"), 1.0),
    ("我想问/我想办", re.compile("我想(问|办|改|要|查|把)"), 1.0),
    ("我的/我家", re.compile("我(的|家)"), 0.5),
    ("我昨天/我上周", re.compile("我(昨天|前天|今天|上周|上个月|上次)"), 0.5),
    ("谢谢你", re.compile("谢谢你"), 0.5),
]
OPENING_WINDOW_S = 15.0
CLOSING_WINDOW_S = 15.0


SURE_EVIDENCE = 0.9  # evidence less sure than this marks the call for review


def _speaker_text(words: list[Word], speaker: str, lo: float, hi: float) -> str:
    return "".join(w.text for w in words if w.speaker == speaker and lo <= w.start <= hi)


def two_parties_heard(words: list[Word]) -> bool:
    """Whether the words hold both an agent's standard phrases and a customer's request for help:
    the sign of a second party where the voices could not be told apart."""
    text = "".join(w.text for w in words)
    agent = any(p.search(text) for _, p, _ in OPENING_CUES + CLOSING_CUES)
    return agent and any(p.search(text) for _, p, _ in CUSTOMER_CUES)


def decide_roles(
    words: list[Word], speakers: list[str], stereo_roles: Sequence[str] | None = None,
    split: Diarization | None = None,
) -> RoleDecision:
    """Score each speaker as the agent; the best is the agent, everyone else a customer.

    The confidence is the evidence's times the split's certainty (how sure the diarization is
    that each speaker is one party). A lone speaker is the agent only on an agent's phrase;
    without one, whose words they are is unknown. `review` gives the reasons to check the roles.
    """
    split = split or Diarization([])
    if not speakers:
        return RoleDecision(None, {}, 0.0, [], [split.doubt or "no_speakers"])
    scores = dict.fromkeys(speakers, 0.0)
    evidence: list[dict[str, Any]] = []

    def add(speaker: str, cue: str, weight: float, **detail: Any) -> None:
        scores[speaker] += weight
        evidence.append({"speaker": speaker, "cue": cue, "weight": weight, **detail})

    if stereo_roles:
        for channel, role in enumerate(stereo_roles):
            if role == "agent" and f"S{channel}" in scores:
                add(f"S{channel}", "stereo channel mapping", STEREO_MAPPING_WEIGHT, channel=channel)
    end = max((w.end for w in words), default=0.0)
    for speaker in speakers:
        spoken = [w for w in words if w.speaker == speaker]
        if not spoken:
            continue
        first = spoken[0].start
        opening = _speaker_text(words, speaker, first, first + OPENING_WINDOW_S)
        closing = _speaker_text(words, speaker, end - CLOSING_WINDOW_S, end)
        for cue, pattern, weight in OPENING_CUES:
            if match := pattern.search(opening):
                add(speaker, cue, weight, text=match.group(0))
        for cue, pattern, weight in CLOSING_CUES:
            if match := pattern.search(closing):
                add(speaker, cue, weight, text=match.group(0))
        everything = "".join(w.text for w in spoken)
        for cues, sign in ((AGENT_CUES, 1), (CUSTOMER_CUES, -1)):
            for cue, pattern, weight in cues:
                if match := pattern.search(everything):
                    add(speaker, cue, sign * weight, text=match.group(0))
    first_word = next((w for w in words if w.speaker in scores), None)
    if first_word is not None and first_word.speaker is not None:
        add(first_word.speaker, "speaks first", FIRST_SPEAKER_WEIGHT, time=first_word.start)

    ranked = sorted(speakers, key=lambda s: (-scores[s], speakers.index(s)))
    top = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    margin = scores[top] - runner_up
    agent: str | None = top
    if len(speakers) == 1 and scores[top] <= FIRST_SPEAKER_WEIGHT:
        agent = None  # speaking first is no evidence when nobody else speaks
    # A margin of 0 means a coin toss (0.5); each point of evidence makes it much surer.
    sure = 1 / (1 + math.exp(-1.5 * margin))
    roles = {s: ("agent" if s == agent else "customer" if agent else "unknown") for s in speakers}
    review = [split.doubt] if split.doubt else []
    if sure < SURE_EVIDENCE:
        review.append("evidence_split" if agent else "no_agent_evidence")
    return RoleDecision(agent, roles, round(sure * split.certainty, 3), evidence, review)
