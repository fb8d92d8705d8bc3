"""A scorecard for people: the call's score and grade, then one row per checklist item."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qa.scoring.scorecard import VERDICT_LABELS, Scorecard, VerdictValue

_STYLE = {"pass": "green", "fail": "red", "na": "dim"}


def _evidence_text(card: Scorecard, index: int) -> str:
    verdict = card.verdicts[index]
    shown = [e for e in verdict.evidence if e.matched or e.how in ("silence", "overlap", "rate")]
    parts = [f"{e.start:.1f}s “{e.matched}”" if e.matched else f"{e.start:.1f}-{e.end:.1f}s {e.text}"
             for e in shown[:2]]
    return escape("; ".join(parts) or verdict.reason)


def print_scorecard(console: Console, card: Scorecard) -> None:
    flag = " [bold red]高压线 / 一票否决[/bold red]" if card.fatal else ""
    console.print(f"[bold]{escape(card.call_id)}[/bold]  {card.facts.direction}  "
                  f"score [bold]{card.score:g}[/bold]  {card.grade}{flag}"
                  + (f"  [yellow]{len(card.needs_review)} item(s) to check[/yellow]" if card.needs_review else ""))
    table = Table("检查项", "verdict", "conf.", "−", "evidence")
    for i, v in enumerate(card.verdicts):
        style = _STYLE[v.verdict]
        label = VERDICT_LABELS[v.verdict] + (" ?" if v.item in card.needs_review else "")
        cost = "否决" if v.fatal and v.verdict == VerdictValue.FAIL else (f"{v.deducted:g}" if v.deducted else "")
        table.add_row(v.name, f"[{style}]{label}[/{style}]",
                      "" if v.verdict == VerdictValue.NA else f"{v.confidence:.2f}", cost, _evidence_text(card, i))
    console.print(table)
