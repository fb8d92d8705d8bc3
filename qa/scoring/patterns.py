"""What a checklist item listens for: phrases, sound-alikes, small edits, regular expressions and
their combinations, compiled once and searched in a SearchText.

YAML forms (see README "Checklists"):

    您好                                   a phrase: characters or sound (pinyin), small edits
    {phrase: 工号, sound: true, edits: 0}  a phrase with its options (sound: by default from 3 characters)
    {regex: "工号[零一二三四五六七八九]+"}    a regular expression over the normalised text
    [您好, 你好]  or  {any: [...]}          one of them
    {all: [...]}                          every one, anywhere in the searched turns
    {none: [...]}                         none of them
    {near: [工号, 为您服务], within: 12}     all of them, no more than 12 characters apart
    any of the dict forms may add  unless: <pattern>  to drop hits that lie inside its hits
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from operator import itemgetter
from typing import Any

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import partial_ratio_alignment

from qa.errors import QAError
from qa.scoring.text import SEPARATOR, SearchText, normalise, sound

try:  # the regex parser (Python 3.11 onwards), to see what every match of a regex holds
    import re._constants as _sre_constants
    import re._parser as _sre_parser
except ImportError:  # pragma: no cover
    import sre_constants as _sre_constants
    import sre_parse as _sre_parser

try:  # Aho-Corasick automata: every key of a rule set found in one pass over a turn
    import ahocorasick
except ImportError:  # pragma: no cover - a dependency; without it each pattern searches alone
    ahocorasick = None

_HAN = re.compile(r"[\u3400-\u9fff]")
_REGEX_DIGIT = r"[零一二三四五六七八九十百千万两]"
# Phrases this short match by sound only when asked (sound: true): two syllables sound alike by
# chance too often (气死 = 七四 in a phone number). Product default.
MIN_SOUND_CHARS = 3


_RANK = {"exact": 0, "regex": 0, "absent": 0, "sound": 1, "fuzzy": 2}


def _order(hit: Hit) -> tuple[int, int, int]:
    """Where hits of several patterns overlap, the first, then the surest, then the longest."""
    return hit.start, _RANK[hit.how], -hit.end


class PatternError(QAError, ValueError):
    """A pattern in a checklist is malformed; `path` says where inside the item's `match`."""

    code = "pattern"

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a pattern matched: chars[start:end] of the SearchText, and how."""

    start: int
    end: int
    how: str  # exact | sound | fuzzy | regex
    edits: int = 0


class Pattern:
    unless: Pattern | None = None
    _searcher: Searcher | None = None  # the rule set's searcher that knows this pattern's keys

    def find(self, text: SearchText) -> list[Hit]:
        """Hits in the text, found once per text: the list is shared, callers leave it as it is."""
        found = text.found
        hits = found.get(self)
        if hits is None:
            hits = self._find(text)
            if self.unless is not None and hits:
                excused = self.unless.find(text)
                hits = [h for h in hits if not any(e.start <= h.start and h.end <= e.end for e in excused)]
            found[self] = hits
        return hits

    def _find(self, text: SearchText) -> list[Hit]:
        raise NotImplementedError

    def phrases(self) -> list[str]:
        """The literal phrases inside (for hot words and documentation)."""
        return []


@dataclass(eq=False)
class Phrase(Pattern):
    text: str
    by_sound: bool
    edits: int
    unless: Pattern | None = None
    _sound: str = field(init=False)
    keys: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_sound = self.by_sound and bool(_HAN.search(self.text))
        self._sound = sound(self.text)
        self.keys = _keys(self._sound if self.by_sound else self.text, self.edits)

    # The regexes below are compiled when first asked, not when the checklist loads: with the rule
    # set's searcher most phrases never need them, and `qa score` on one call should start fast.
    @cached_property
    def _gate(self) -> re.Pattern:
        return _literal_regex(self.keys)  # a phrase has at least one key

    @cached_property
    def _one_edit(self) -> tuple[re.Pattern, re.Pattern] | None:
        return _one_edit_regexes(*self.keys) if self.edits == 1 else None

    def _one_edit_may_occur(self, text: SearchText, haystack: str) -> bool:
        """Whether some stretch of the haystack is one edit from the needle (head + tail, its two
        keys): an edit in the tail leaves the head at the stretch's start, one in the head leaves
        the tail at its end, so one regex from the head forwards or from the tail backwards
        (over the reversed text) finds every such stretch; none, and the search is over."""
        assert self._one_edit is not None  # asked of one-edit phrases only
        forwards, backwards = self._one_edit
        head, tail = self.keys
        present = text.present() if text.searcher is not None and text.searcher is self._searcher else None
        if (present is None or head in present) and forwards.search(haystack):
            return True
        return (present is None or tail in present) and backwards.search(text.reversed(self.by_sound)) is not None

    def may_occur(self, text: SearchText) -> bool:
        """Whether one of the keys occurs, without which the phrase cannot match."""
        return self._gate.search(text.sound if self.by_sound else text.chars) is not None

    def _find(self, text: SearchText) -> list[Hit]:
        by_sound = self.by_sound
        haystack, needle = (text.sound, self._sound) if by_sound else (text.chars, self.text)
        searcher = text.searcher
        if searcher is None or searcher is not self._searcher:
            hits = self._exact(text, haystack, needle)
            if hits or not self.edits or not self.may_occur(text):
                return hits
            return self._approximate(text, haystack, needle)
        present = text.present()
        if present.isdisjoint(self.keys):
            return []  # the searcher found none of the keys, without which the phrase cannot match
        start = haystack.find(needle)
        if start >= 0:
            return self._exact(text, haystack, needle)
        if not self.edits:
            return []
        if self._one_edit is not None:  # _one_edit_may_occur, inlined: most lists ask many phrases
            forwards, backwards = self._one_edit
            head, tail = self.keys
            if not (head in present and forwards.search(haystack)
                    or tail in present and backwards.search(text.reversed(by_sound))):
                return []
        return self._search_near(haystack, needle)

    def _exact(self, text: SearchText, haystack: str, needle: str) -> list[Hit]:
        hits = []
        start = haystack.find(needle)
        while start >= 0:
            end = start + len(needle)
            hits.append(Hit(start, end, "exact" if text.chars[start:end] == self.text else "sound"))
            start = haystack.find(needle, start + 1)
        return hits

    def _approximate(self, text: SearchText, haystack: str, needle: str) -> list[Hit]:
        """The first stretch within self.edits of the needle (none occurs exactly)."""
        if self._one_edit is not None and not self._one_edit_may_occur(text, haystack):
            return []
        return self._search_near(haystack, needle)

    def _search_near(self, haystack: str, needle: str) -> list[Hit]:
        # partial_ratio (an Indel ratio) finds candidates fast but also passes a window that
        # differs by one dropped and one added character (two edits: 部工号一 for 不好意思 by
        # sound); each candidate is confirmed by Levenshtein distance, else the search goes on.
        cutoff = 100.0 * (1 - self.edits / len(needle)) - 1e-9
        offset = 0
        while (found := partial_ratio_alignment(needle, haystack[offset:], score_cutoff=cutoff)) is not None:
            hit = self._confirm(needle, haystack, offset + found.dest_start, offset + found.dest_end)
            if hit is not None:
                return [hit]
            offset += found.dest_start + 1
        return []

    def _confirm(self, needle: str, haystack: str, start: int, end: int) -> Hit | None:
        """The closest stretch around haystack[start:end] within self.edits of the needle: the
        fewest edits, then the length nearest the needle's, then the first."""
        if self.edits == 1:
            # The needle occurs nowhere exactly, so every stretch within one edit is one edit
            # away: the first of them by (length difference, start, end) is the closest.
            size, last = len(needle), min(len(haystack), end + 1)
            windows = [(abs(b - a - size), a, b) for a in range(max(0, start - 1), start + 2)
                       for b in range(max(a + 1, end - 1), last + 1)]
            windows.sort()
            for _, a, b in windows:
                window = haystack[a:b]
                if SEPARATOR not in window and Levenshtein.distance(needle, window, score_cutoff=1) <= 1:
                    return Hit(a, b, "fuzzy", 1)
            return None
        best: tuple[int, int, int, int] | None = None
        for a in range(max(0, start - self.edits), start + self.edits + 1):
            for b in range(max(a + 1, end - self.edits), min(len(haystack), end + self.edits) + 1):
                window = haystack[a:b]
                if SEPARATOR in window:
                    continue
                edits = Levenshtein.distance(needle, window, score_cutoff=self.edits)
                key = (edits, abs(len(window) - len(needle)), a, b)
                if edits <= self.edits and (best is None or key < best):
                    best = key
        return None if best is None else Hit(best[2], best[3], "fuzzy", max(1, best[0]))

    def phrases(self) -> list[str]:
        return [self.text]


@dataclass(eq=False)
class Regex(Pattern):
    source: str
    unless: Pattern | None = None
    _compiled: re.Pattern = field(init=False)
    _needs: tuple[str | re.Pattern, ...] = field(init=False, repr=False)
    keys: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._compiled = re.compile(self.source.replace(r"\d", _REGEX_DIGIT))
        clauses = _required(self._compiled)
        self._needs = tuple(next(iter(clause)) if len(clause) == 1 else _literal_regex(sorted(clause))
                            for clause in clauses)
        # The clause with the longest literals, one of which every match holds: the rule set's
        # searcher finds them with the phrases' keys, and a list asks the regex only where one
        # occurs (none: the regex is asked of every text).
        self.keys = tuple(sorted(max(clauses, key=lambda clause: min(map(len, clause))))) if clauses else ()

    def _find(self, text: SearchText) -> list[Hit]:
        chars = text.chars
        for need in self._needs:  # text that lacks what every match holds needs no search
            if isinstance(need, str):
                if need not in chars:
                    return []
            elif need.search(chars) is None:
                return []
        return [Hit(m.start(), m.end(), "regex") for m in self._compiled.finditer(chars) if m.end() > m.start()]


def _required(compiled: re.Pattern) -> list[set[str]]:
    """What every match of the regex holds, as clauses: each a set of literal stretches of which
    one occurs in the match (the literals of a sequence, one per alternative of a branch).
    Nothing is required of what a regex holds only optionally, or case-insensitively."""
    try:
        parsed = _sre_parser.parse(compiled.pattern, compiled.flags)
    except Exception:  # an unforeseen parser: no shortcut, the regex decides
        return []
    if parsed.state.flags & re.IGNORECASE:
        return []
    return _clauses(parsed.data)


def _clauses(items: Iterable[tuple[Any, Any]]) -> list[set[str]]:
    c = _sre_constants
    clauses: list[set[str]] = []
    run = ""
    for op, av in items:
        if op is c.LITERAL:
            run += chr(av)
            continue
        if run:
            clauses.append({run})
            run = ""
        if op is c.SUBPATTERN:
            _, add_flags, _, sub = av
            if not add_flags & re.IGNORECASE:
                clauses.extend(_clauses(sub.data))
        elif op is c.BRANCH:
            alternatives = [_clauses(alternative.data) for alternative in av[1]]
            if all(alternatives):  # one literal stretch of whichever alternative matched
                clauses.append(set().union(*(max(a, key=lambda clause: min(map(len, clause))) for a in alternatives)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            clauses.extend(_clauses(av[2].data))
    if run:
        clauses.append({run})
    return clauses


def _keys(needle: str, edits: int) -> tuple[str, ...]:
    """Stretches one of which any match holds unchanged: the needle itself, or cut into edits + 1
    pieces (a window within `edits` edits of the needle keeps at least one piece intact), so a
    phrase none of whose keys occurs needs no search, exact or approximate."""
    bounds = [len(needle) * k // (edits + 1) for k in range(edits + 2)]
    return tuple(needle[a:b] for a, b in pairwise(bounds))


_ANY = None  # a token standing for any one character of a turn (not the separator)


def _one_edit_regexes(head: str, tail: str) -> tuple[re.Pattern, re.Pattern]:
    """Regexes for every stretch one edit (a substitution, deletion or insertion) from head + tail:
    the head followed by the tail with one edit (an insertion at most before its last character:
    one after it leaves the needle whole), and, over reversed text, the reversed tail followed
    by the reversed head with one edit (an insertion after its first character at least)."""
    def variants(part: str, insert_from: int, insert_to: int) -> list[list[str | None]]:
        found = []
        for i in range(len(part)):
            found.append([*part[:i], _ANY, *part[i + 1:]])  # substitution
            found.append([*part[:i], *part[i + 1:]])  # deletion
        for i in range(insert_from, insert_to):
            found.append([*part[:i], _ANY, *part[i:]])  # insertion
        return found

    def regex(tokens: list[str | None]) -> str:
        return "".join(f"[^{re.escape(SEPARATOR)}]" if t is _ANY else re.escape(t) for t in tokens)

    forwards = [regex(v) for v in variants(tail, 0, len(tail))]
    backwards = [regex(v[::-1]) for v in variants(head, 1, len(head))]
    return (re.compile(re.escape(head) + "(?:" + "|".join(forwards) + ")"),
            re.compile(re.escape(tail[::-1]) + "(?:" + "|".join(backwards) + ")"))


def _literal_regex(needles: Iterable[str]) -> re.Pattern:
    """One regex that finds any of the literal needles (at least one)."""
    return re.compile("|".join(map(re.escape, needles)))


def _any_literal(needles: Iterable[str]) -> re.Pattern | None:
    """One regex that finds any of the literal needles (None for no needles)."""
    needles = list(needles)
    return _literal_regex(needles) if needles else None


@dataclass(eq=False)
class AnyOf(Pattern):
    parts: list[Pattern]
    unless: Pattern | None = None
    _not_phrases: list[Pattern] = field(init=False, repr=False)
    # Set by a Searcher: key -> the parts (by position) holding it; the parts without keys
    _by_key: dict[str, list[int]] = field(init=False, repr=False)
    _key_set: frozenset[str] = field(init=False, repr=False)
    _other_parts: list[int] = field(init=False, repr=False)
    _unkeyed: list[Pattern] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._not_phrases = [p for p in self.parts if not isinstance(p, Phrase)]

    @cached_property
    def _gates(self) -> tuple[re.Pattern | None, re.Pattern | None, list[tuple[Pattern, re.Pattern | None, bool]]]:
        """Without the rule set's searcher: the keys of all the phrase parts, one regex per
        haystack (scoring asks most lists of phrases about windows that hold none of them, and one
        search then stands for all), and each part with its own gate."""
        phrases = [p for p in self.parts if isinstance(p, Phrase)]
        return (_any_literal(k for p in phrases if not p.by_sound for k in p.keys),
                _any_literal(k for p in phrases if p.by_sound for k in p.keys),
                [(p, p._gate, p.by_sound) if isinstance(p, Phrase) else (p, None, False) for p in self.parts])

    def _adopt(self, searcher: Searcher) -> None:
        by_key: dict[str, list[int]] = {}
        other = []
        for i, part in enumerate(self.parts):
            keys = part.keys if isinstance(part, Phrase | Regex) else ()
            for key in keys:
                by_key.setdefault(key, []).append(i)
            if not keys:
                other.append(i)
        self._by_key = by_key
        self._key_set = frozenset(by_key)
        self._other_parts = other
        self._unkeyed = [self.parts[i] for i in other]
        self._searcher = searcher

    def _candidates(self, text: SearchText) -> list[Pattern]:
        """The parts, in order, less the phrases that cannot match in this text."""
        if text.searcher is not None and text.searcher is self._searcher:
            keys = self._key_set & text.present()
            if not keys:
                return self._unkeyed
            chosen = set(self._other_parts)
            by_key = self._by_key
            for key in keys:
                chosen.update(by_key[key])
            parts = self.parts
            return [parts[i] for i in sorted(chosen)]
        chars_gate, sound_gate, gates = self._gates
        if not (chars_gate and chars_gate.search(text.chars) or sound_gate and sound_gate.search(text.sound)):
            return self._not_phrases
        chars, sound = text.chars, text.sound  # Phrase.may_occur, inlined: this loop is hot
        return [p for p, gate, by_sound in gates if gate is None or gate.search(sound if by_sound else chars)]

    def _find(self, text: SearchText) -> list[Hit]:
        """Hits of every part; where parts overlap (您好 and 你好 both near one place), the
        exact or closest one stands for them."""
        hits: list[Hit] = []
        for part in self._candidates(text):
            # a part is asked only by this list: no need to keep what it found
            found = part._find(text)
            if found and part.unless is not None:
                excused = part.unless.find(text)
                found = [h for h in found if not any(e.start <= h.start and h.end <= e.end for e in excused)]
            hits += found
        if len(hits) < 2:
            return hits
        hits.sort(key=_order)
        kept: list[Hit] = []
        for hit in hits:
            if kept and hit.start < kept[-1].end:
                continue
            kept.append(hit)
        return kept

    def phrases(self) -> list[str]:
        return [p for part in self.parts for p in part.phrases()]


@dataclass(eq=False)
class AllOf(AnyOf):
    def _find(self, text: SearchText) -> list[Hit]:
        found = [p.find(text) for p in self.parts]
        return sorted((h for hs in found for h in hs), key=lambda h: h.start) if all(found) else []


@dataclass(eq=False)
class NoneOf(AnyOf):
    """Found (as an empty, zero-width hit at 0) when none of the parts is."""

    def _find(self, text: SearchText) -> list[Hit]:
        return [] if any(p.find(text) for p in self.parts) else [Hit(0, 0, "absent")]


@dataclass(eq=False)
class Near(AnyOf):
    within: int = 10

    def _find(self, text: SearchText) -> list[Hit]:
        found = [p.find(text) for p in self.parts]
        if not all(found):
            return []
        hits: list[Hit] = []
        for anchor in found[0]:
            group = [anchor]
            for others in found[1:]:
                close = [h for h in others if abs(h.start - anchor.start) <= self.within + (anchor.end - anchor.start)]
                if not close:
                    break
                group.append(min(close, key=lambda h: abs(h.start - anchor.start)))
            else:
                hits.extend(group)
        return sorted(set(hits), key=lambda h: h.start)


class Searcher:
    """Every key of a rule set's phrases (the phrase itself, or its pieces for small edits: see
    _keys) and of its regexes (literals every match holds: see Regex.keys), found in one pass of
    an Aho-Corasick automaton over a turn's characters and its sound joined. One set of keys
    answers for both: a key with a Chinese character can only occur in the characters, one with a
    syllable only in the sound, and one with neither in both or in neither (the sound string keeps
    every other character as it is). A phrase then
    searches only a text that holds one of its keys, and a list asks only the parts whose keys
    occur, instead of one search per part or per list: what each finds is what it would find alone."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        keys: set[str] = set()
        seen: set[int] = set()
        todo: list[Pattern | None] = list(patterns)
        while todo:
            pattern = todo.pop()
            if pattern is None or id(pattern) in seen:
                continue
            seen.add(id(pattern))
            if isinstance(pattern, Phrase):
                keys.update(pattern.keys)
                pattern._searcher = self
            elif isinstance(pattern, Regex):
                keys.update(pattern.keys)
            elif isinstance(pattern, AnyOf):
                pattern._adopt(self)
                todo.extend(pattern.parts)
            todo.append(pattern.unless)
        self._automaton = _automaton(keys)

    @staticmethod
    def available() -> bool:
        return ahocorasick is not None

    def present(self, chars: str, heard: str) -> set[str]:
        """The keys that occur in the characters or in their sound string (chars ends in the
        separator, which no key holds, so no key is found across the two)."""
        automaton = self._automaton
        return set(map(_second, automaton.iter(chars + heard))) if automaton is not None else set()


_second = itemgetter(1)  # the key of an automaton's (end, key)


def _automaton(keys: set[str]) -> Any:
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key in sorted(keys):
        automaton.add_word(key, key)
    automaton.make_automaton()
    return automaton


COMBINATORS = {"any": AnyOf, "all": AllOf, "none": NoneOf, "near": Near}
KEYS = {"phrase": {"sound", "edits"}, "regex": set(), **{k: set() for k in COMBINATORS}}
KEYS["near"] = {"within"}


def auto_edits(text: str) -> int:
    """Edits tolerated in a required phrase: one per four characters (product default)."""
    return len(text) // 4


def compile_pattern(raw: Any, fuzzy: bool, path: tuple[str | int, ...] = ()) -> Pattern:
    """Build a Pattern from its YAML form; `fuzzy` turns on default small-edit tolerance.

    Raises PatternError naming the path inside the pattern and what was expected.
    """
    if isinstance(raw, str):
        return _phrase(raw, {}, fuzzy, path)
    if isinstance(raw, list):
        return AnyOf(_parts(raw, fuzzy, path))
    if not isinstance(raw, dict):
        raise PatternError(path, f"expected a phrase, a list or a mapping, got {type(raw).__name__}")
    kinds = [k for k in KEYS if k in raw]
    if len(kinds) != 1:
        raise PatternError(path, f"expected exactly one of {', '.join(KEYS)}; "
                                 f"got {', '.join(map(str, raw)) or 'nothing'}")
    kind = kinds[0]
    unknown = set(raw) - {kind, "unless"} - KEYS[kind]
    if unknown:
        raise PatternError(path, f"unknown key(s) {', '.join(sorted(map(str, unknown)))} for {kind}")
    unless = compile_pattern(raw["unless"], False, (*path, "unless")) if "unless" in raw else None
    pattern: Pattern
    if kind == "phrase":
        pattern = _phrase(raw["phrase"], raw, fuzzy, (*path, "phrase"))
    elif kind == "regex":
        if not isinstance(raw["regex"], str):
            raise PatternError((*path, "regex"), "expected a regular expression as text")
        try:
            pattern = Regex(raw["regex"])
        except re.error as exc:
            raise PatternError((*path, "regex"), f"invalid regular expression: {exc}") from exc
    else:
        if not isinstance(raw[kind], list) or not raw[kind]:
            raise PatternError((*path, kind), f"{kind} needs a non-empty list of patterns")
        parts = _parts(raw[kind], fuzzy, (*path, kind))
        if kind == "near":
            within = raw.get("within", 10)
            if not isinstance(within, int) or isinstance(within, bool) or within < 0:
                raise PatternError((*path, "within"), "expected a whole number of characters ≥ 0")
            if len(parts) < 2:
                raise PatternError((*path, kind), "near needs at least two patterns")
            pattern = Near(parts, within=within)
        else:
            pattern = COMBINATORS[kind](parts)
    pattern.unless = unless
    return pattern


def _parts(raw: list, fuzzy: bool, path: tuple[str | int, ...]) -> list[Pattern]:
    return [compile_pattern(item, fuzzy, (*path, i)) for i, item in enumerate(raw)]


def _phrase(raw: Any, options: dict, fuzzy: bool, path: tuple[str | int, ...]) -> Phrase:
    if not isinstance(raw, str) or not normalise(raw):
        raise PatternError(path, "expected a phrase with at least one letter or character")
    text = normalise(raw)
    by_sound = options.get("sound", len(_HAN.findall(text)) >= MIN_SOUND_CHARS)
    if not isinstance(by_sound, bool):
        raise PatternError((*path[:-1], "sound"), "expected true or false")
    edits = options.get("edits", auto_edits(text) if fuzzy else 0)
    if not isinstance(edits, int) or isinstance(edits, bool) or not 0 <= edits < max(len(text), 1):
        raise PatternError((*path[:-1], "edits"), f"expected a whole number from 0 to {len(text) - 1}")
    return Phrase(text, by_sound, edits)
