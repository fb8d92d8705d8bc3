"""Transcript serialisation round-trips and its views are well-formed."""

from __future__ import annotations

import json

import pytest

from qa.speech.transcript import Transcript, render
from qa.speech.types import AsrInfo, AudioInfo, DiarizationInfo, RoleDecision, SpeakerSegment, Turn, Word


def make() -> Transcript:
    w1, w2 = Word("您好", 0.5, 1.0, 0.98, "S0"), Word("<script>", 1.5, 2.0, 0.5, "S1")
    return Transcript(
        call_id="c1", audio=AudioInfo(duration=3.0, channels=1), asr=AsrInfo(model="m"),
        diarization=DiarizationInfo(method="x"),
        roles=RoleDecision(agent="S0", speakers={"S0": "agent", "S1": "customer"}, confidence=0.9),
        segments=[SpeakerSegment("S0", 0.4, 1.1), SpeakerSegment("S1", 1.4, 2.1)],
        turns=[Turn("S0", "agent", 0.5, 1.0, "您好", [w1]), Turn("S1", "customer", 1.5, 2.0, "<script>", [w2])],
    )


def test_json_round_trip() -> None:
    t = make()
    again = Transcript.from_dict(json.loads(render(t, "json")))
    assert again == t
    assert again.words[1].text == "<script>"


def test_wrong_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="qa.transcript/1"):
        Transcript.from_dict({"schema": "other"})


def test_views() -> None:
    t = make()
    assert "坐席: 您好" in render(t, "txt")
    srt = render(t, "srt")
    assert "00:00:00,500 --> 00:00:01,000" in srt and "客户: <script>" in srt
    assert render(t, "rttm").splitlines()[0] == "SPEAKER c1 1 0.500 0.500 <NA> <NA> agent <NA> <NA>"
