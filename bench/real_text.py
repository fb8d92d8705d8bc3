"""The checklists on real agents' words: a text corpus of real conversations, scored as transcripts.

A real-text corpus (JSON lines: {"session": ..., "turns": [{"role": "agent"|"customer", "text": ...}]})
is turned into transcripts (text only: no recognition, made-up times) and scored with the default
checklists; timing items (holds, silences, cutting in, speech rate) are left out, since chat has
no timing. The corpus is split by line number, fixed here: even lines (0, 2, ...) are for tuning
the checklists, odd lines are reported and never tuned on. Per part it prints each item's fail
rate, the share of conversations with a fatal (高压线) verdict, and every fatal-item hit (session,
turn, matched words, severity) for labelling; then the precision of fatal verdicts against the
inspector's labels in bench/labels/<corpus>.yaml (keyed by session and turn, no corpus text),
and whether each labelled true violation still fails.

    python bench/real_text.py --corpus ../shared/real/jddc-dev.jsonl [--part report] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.evaluation import transcript_from_truth
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules
from qa.scoring.schema import PHRASE_TYPES
from qa.scoring.scorecard import Scorecard
from qa.speech.transcript import Transcript

LABELS = REPO_ROOT / "bench" / "labels"
PARTS = {"tune": 0, "report": 1}  # line number % 2
CHARS_PER_SECOND = 4.0  # made-up speaking pace for the transcripts' times


@dataclass(frozen=True)
class Conversation:
    line: int
    session: str
    turns: list[dict[str, str]]

    @property
    def part(self) -> str:
        return "tune" if self.line % 2 == PARTS["tune"] else "report"


@dataclass(frozen=True)
class Label:
    """An inspector's verdict on one fatal-item hit: is the agent's turn a real violation?"""

    session: str
    turn: int
    violation: bool
    reason: str


@dataclass
class Hit:
    session: str
    turn: int
    item: str
    matched: str
    fatal: bool
    reason: str


@dataclass
class PartFigures:
    conversations: int = 0
    fails: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    applicable: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sessions: set[str] = field(default_factory=set)
    fatal_sessions: set[str] = field(default_factory=set)
    passes_on_customer_words: int = 0
    hits: list[Hit] = field(default_factory=list)


def read_corpus(path: Path) -> list[Conversation]:
    """Every well-formed conversation; a malformed line is reported on stderr and skipped."""
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            data = json.loads(line)
            turns = [{"role": t["role"], "text": t["text"]} for t in data["turns"]
                     if t["role"] in ("agent", "customer") and t["text"].strip()]
            conversations.append(Conversation(number, str(data["session"]), turns))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"{path}:{number + 1}: not a conversation ({exc.__class__.__name__}: {exc}); skipped",
                  file=sys.stderr)
    return conversations


def transcript_of(conversation: Conversation) -> Transcript:
    """The transcript of a text conversation: one turn per message, times made up from its length."""
    turns, clock = [], 0.5
    for t in conversation.turns:
        end = clock + max(len(t["text"]), 1) / CHARS_PER_SECOND
        turns.append({**t, "start": round(clock, 3), "end": round(end, 3)})
        clock = end + 0.5
    return transcript_from_truth({"call_id": conversation.session, "duration": clock, "channels": 2,
                                  "turns": turns})


def read_labels(corpus: Path) -> dict[tuple[str, int], Label]:
    path = LABELS / f"{corpus.stem}.yaml"
    if not path.exists():
        return {}
    labels = [Label(**entry) for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["labels"]]
    return {(label.session, label.turn): label for label in labels}


def phrase_items(rules: RuleSet) -> list[str]:
    return [item.id for _, item in rules.items() if item.type in PHRASE_TYPES]


def tally(conversation: Conversation, card: Scorecard, items: list[str], figures: PartFigures,
          fatal_items: set[str] | None) -> None:
    """Add one scored conversation; keep the forbidden-item hits of `fatal_items` (None: all)."""
    figures.conversations += 1
    figures.sessions.add(conversation.session)
    for v in card.verdicts:
        if v.item not in items or v.verdict == "na":
            continue
        figures.applicable[v.item] += 1
        figures.fails[v.item] += v.verdict == "fail"
        figures.passes_on_customer_words += v.verdict == "pass" and any(e.role == "customer" for e in v.evidence)
    for v in card.verdicts:
        if v.verdict == "fail" and v.fatal:
            figures.fatal_sessions.add(conversation.session)
        if v.verdict == "fail" and v.area == "forbidden" and (fatal_items is None or v.item in fatal_items):
            for e in v.evidence:
                if e.turn is not None:
                    figures.hits.append(Hit(conversation.session, e.turn, v.item, e.matched, v.fatal, v.reason))


def precision(figures: PartFigures, labels: dict[tuple[str, int], Label]) -> dict[str, Any]:
    """Fatal verdicts against the labels: a conversation's fatal verdict is right when one of its
    fatal hits is a labelled violation, wrong when all are labelled harmless."""
    fatal_hits: dict[str, list[Hit]] = defaultdict(list)
    for hit in figures.hits:
        if hit.fatal:
            fatal_hits[hit.session].append(hit)
    right = wrong = unlabelled = 0
    for hits in fatal_hits.values():
        found = [labels.get((h.session, h.turn)) for h in hits]
        if any(label and label.violation for label in found):
            right += 1
        elif all(label is not None for label in found):
            wrong += 1
        else:
            unlabelled += 1
    still_failed = [key for key, label in labels.items() if label.violation and key[0] in figures.sessions]
    caught = [key for key in still_failed if any(h.turn == key[1] for h in fatal_hits.get(key[0], []))]
    labelled = right + wrong
    return {"fatal_conversations": len(fatal_hits), "right": right, "wrong": wrong, "unlabelled": unlabelled,
            "precision": right / labelled if labelled else None,
            "wrong_fatal_share": wrong / figures.conversations if figures.conversations else 0.0,
            "labelled_violations": len(still_failed), "labelled_violations_fatal": len(caught)}


def report(name: str, figures: PartFigures, labels: dict[tuple[str, int], Label], items: list[str],
           show_hits: bool) -> dict[str, Any]:
    print(f"\n== {name} part: {figures.conversations} conversations "
          f"({'tuned on' if name == 'tune' else 'never tuned on'}) ==")
    print(f"{'item':40} {'fail rate':>9}")
    for item in items:
        if figures.applicable[item]:
            print(f"{item:40} {figures.fails[item] / figures.applicable[item]:9.1%}")
    share = len(figures.fatal_sessions) / figures.conversations if figures.conversations else 0.0
    print(f"conversations with a fatal verdict: {len(figures.fatal_sessions)} ({share:.2%})")
    print(f"verdicts passed on the customer's words: {figures.passes_on_customer_words}")
    if show_hits:
        for hit in figures.hits:
            label = labels.get((hit.session, hit.turn))
            mark = "unlabelled" if label is None else ("violation" if label.violation else "harmless")
            print(f"  {'FATAL ' if hit.fatal else 'deduct'} {hit.session} turn {hit.turn:<3} {hit.item:30} "
                  f"{hit.matched}  [{mark}]  {hit.reason}")
    figures_p = precision(figures, labels)
    p = figures_p["precision"]
    print(f"fatal verdicts against the labels: {figures_p['right']} right, {figures_p['wrong']} wrong, "
          f"{figures_p['unlabelled']} unlabelled; precision {'n/a' if p is None else f'{p:.1%}'}; "
          f"conversations with a wrong fatal verdict {figures_p['wrong_fatal_share']:.2%}")
    print(f"labelled true violations still fatal: {figures_p['labelled_violations_fatal']} "
          f"of {figures_p['labelled_violations']}")
    return {"conversations": figures.conversations, "fatal_share": share,
            "passes_on_customer_words": figures.passes_on_customer_words,
            "fail_rate": {i: figures.fails[i] / figures.applicable[i] for i in items if figures.applicable[i]},
            **figures_p}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="JSON-lines corpus of real conversations")
    parser.add_argument("--part", choices=("tune", "report", "both"), default="both")
    parser.add_argument("--hits", choices=("fatal", "all", "none"), default="fatal",
                        help="which forbidden-item hits to list (default: those of fatal items)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not args.corpus.is_file():
        parser.error(f"{args.corpus}: no such corpus file")

    rules = load_rules()
    items = phrase_items(rules)
    fatal_items = {item.id for _, item in rules.items() if item.fatal}
    labels = read_labels(args.corpus)
    parts = {name: PartFigures() for name in PARTS if args.part in (name, "both")}
    conversations = read_corpus(args.corpus)
    for conversation in conversations:
        if conversation.part not in parts:
            continue
        card = score_transcript(transcript_of(conversation), rules, "inbound")  # customers write in
        tally(conversation, card, items, parts[conversation.part], None if args.hits == "all" else fatal_items)
    print(f"{args.corpus}: {len(conversations)} conversations; split by line number "
          f"(even: tune, odd: report); labels: {len(labels)}")
    summary = {name: report(name, figures, labels, items, args.hits != "none") for name, figures in parts.items()}
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
