"""Scoring's shortcuts change how fast, never what: the rule set's searcher (every key found in one
pass per turn), the regexes' required literals and the one-edit test before rapidfuzz give the
scorecards that each pattern searching alone gives."""

from __future__ import annotations

import random

import pytest
from conftest import all_truths

from qa.evaluation import transcript_from_truth
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules
from qa.scoring.patterns import Phrase, Regex, Searcher, compile_pattern
from qa.scoring.text import SearchText, TurnPieces
from qa.speech.transcript import Transcript
from qa.speech.types import Word


def _alone() -> RuleSet:
    """The bundled rule set with no searcher: every pattern searches the text itself."""
    rules = load_rules()
    object.__setattr__(rules, "searcher", None)
    return rules


def _misheard(transcript: Transcript, seed: int) -> Transcript:
    """The transcript as a recogniser might give it: sound-alike characters, dropped and added
    ones, words of one to three characters with uneven probabilities (fuzzy and sound matches)."""
    rng = random.Random(seed)
    alike = {"您": "宁", "谢": "泻", "感": "敢", "再": "在", "见": "建", "请": "清", "电": "店", "的": "得"}
    for turn in transcript.turns:
        chars = []
        for word in turn.words:
            c = word.text
            roll = rng.random()
            if roll < 0.08:
                c = alike.get(c, c)
            elif roll < 0.11:
                c = ""
            elif roll < 0.13:
                c += rng.choice("的了啊呢吗")
            if c:
                chars.append((c, word.start, word.end))
        words, i = [], 0
        while i < len(chars):
            group = chars[i: i + rng.choice((1, 2, 3))]
            words.append(Word("".join(g[0] for g in group), group[0][1], group[-1][2], round(rng.uniform(0.3, 1), 3),
                              turn.speaker))
            i += len(group)
        turn.words = words
        turn.text = "".join(w.text for w in words)
    return transcript


def test_the_searcher_changes_no_scorecard() -> None:
    pytest.importorskip("ahocorasick")
    fast, alone = load_rules(), _alone()
    assert fast.searcher is not None, "pyahocorasick is a dependency"
    truths = all_truths()
    calls = [transcript_from_truth(t) for t in truths]
    calls += [_misheard(transcript_from_truth(t), seed) for seed, t in enumerate(truths * 3)]
    for call in calls:
        for direction in (None, "outbound"):
            assert score_transcript(call, fast, direction).to_json() == score_transcript(call, alone, direction).to_json()


def test_every_regex_of_the_checklists_holds_what_its_shortcut_requires() -> None:
    """A text that a regex matches always holds the literals its shortcut asks for."""
    rules = load_rules()
    regexes = []

    def walk(pattern: object) -> None:
        if isinstance(pattern, Regex):
            regexes.append(pattern)
        for part in getattr(pattern, "parts", []):
            walk(part)
        if getattr(pattern, "unless", None) is not None:
            walk(pattern.unless)

    for checklist in rules.checklists:
        for patterns in checklist.patterns.values():
            for pattern in patterns.values():
                walk(pattern)
    for pattern in rules.direction_cues.values():
        walk(pattern)
    assert len(regexes) > 10
    texts = [turn["text"] for truth in all_truths() for turn in truth["turns"]]
    for regex in regexes:
        for text in texts:
            normalised = SearchText([transcript_from_truth({"call_id": "x", "duration": 1, "channels": 2, "turns": [
                {"role": "agent", "start": 0, "end": 1, "text": text}]}).turns[0]], [0]).chars
            for match in regex._compiled.finditer(normalised):
                window = normalised[match.start():match.end()]
                for need in regex._needs:
                    assert (need in window) if isinstance(need, str) else need.search(window), (regex.source, window)


@pytest.mark.parametrize("source", [r"(我们|我)(这边)?不负责", r"爱(.)不\1", r"(?:^|(?<=\|))不能", r"a+b*c{2,3}",
                                    r"(先生|女士)(吗|么)"])
def test_a_regex_shortcut_never_turns_away_a_text_it_matches(source: str) -> None:
    regex = Regex(source)
    rng = random.Random(source)
    alphabet = "我们这边不负责爱来去能先生女士吗么abc|"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if regex._compiled.search(text):
            assert all((n in text) if isinstance(n, str) else n.search(text) for n in regex._needs), text


@pytest.mark.parametrize("needle", ["abcd", "abcde", "abcdef", "abcdefg", "ab", "abc"])
def test_the_one_edit_test_passes_every_text_with_a_stretch_one_edit_away(needle: str) -> None:
    """Brute force: where some stretch without a separator is one edit from the needle, the
    regexes say it may occur (they may also say so where none is: rapidfuzz then decides)."""
    from rapidfuzz.distance import Levenshtein

    phrase = Phrase(needle, False, 1)
    rng = random.Random(needle)
    for _ in range(4000):
        text = "".join(rng.choice("abcdefgx|") for _ in range(rng.randint(0, 14)))
        if needle in text:
            continue
        near = any(Levenshtein.distance(needle, text[a:b]) <= 1 and "|" not in text[a:b]
                   for a in range(len(text)) for b in range(a + 1, len(text) + 1))
        searched = SearchText([], [])
        searched.chars = searched.sound = text
        if near:
            assert phrase._one_edit_may_occur(searched, text), text


def test_patterns_written_the_same_way_are_compiled_once() -> None:
    rules = load_rules()
    refusal = rules.checklists[[c.checklist.id for c in rules.checklists].index("forbidden")].patterns
    softened = [p for item in refusal.values() for name, p in item.items() if name.endswith(".turn")]
    assert len(softened) > 2 and len({id(p) for p in softened}) < len(softened)  # the &softeners aliases


def test_a_pattern_finds_the_same_hits_with_and_without_the_searcher() -> None:
    pytest.importorskip("ahocorasick")
    raw = [{"phrase": "感谢您的来电"}, "欢迎再次拨打", {"regex": "(感谢|谢谢)您.{0,4}(来电|致电)"},
           {"near": ["工号", "为您服务"], "within": 12}, {"all": ["再见", {"none": ["不见"]}]}]
    texts = ["感谢您的来电，欢迎再次拨打", "谢谢您的来电欢迎在此播打", "工号一零二四很高兴为您服务", "敢谢您来电，再见"]
    turns = transcript_from_truth({"call_id": "x", "duration": 9, "channels": 2, "turns": [
        {"role": "agent", "start": i, "end": i + 1, "text": t} for i, t in enumerate(texts)]}).turns
    for fuzzy in (False, True):
        searched = compile_pattern(raw, fuzzy)
        pieces = TurnPieces(turns, Searcher([searched]))
        for indices in ([0, 1, 2, 3], [1], [3], [0, 2]):
            fast = searched.find(SearchText(turns, indices, pieces))
            assert fast == compile_pattern(raw, fuzzy).find(SearchText(turns, indices))
            assert fast or indices == [2]
