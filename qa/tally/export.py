"""Tallies as spreadsheets for payroll: XLSX (summary, details, teams, and what this is) and CSV
(one table, UTF-8 with BOM so that Excel on Chinese Windows reads it). Headers are Chinese, as
the centre's payroll staff read them; figures are numbers, not text, so that sheets can sum them;
names and notes stay text even when they look like formulas (qa.spreadsheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook

from qa.spreadsheet import append_table, csv_row, xlsx_row
from qa.tally.result import Tally

KIND_NAMES = {"rule": "规则", "event": "事件", "award": "奖项", "adjustment": "人工调整", "bottom": "排名"}


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]


def _join(values: list[Any]) -> str:
    return "、".join(str(v) for v in values)


SUMMARY = [
    Column("排名", lambda a: a.rank), Column("坐席工号", lambda a: a.code), Column("姓名", lambda a: a.name),
    Column("班组", lambda a: a.team), Column("质检通话数", lambda a: a.calls), Column("平均分", lambda a: a.mean),
    Column("中位数", lambda a: a.median), Column("绩效加减分", lambda a: a.points), Column("绩效分", lambda a: a.score),
    Column("等级", lambda a: a.tier), Column("高压线次数", lambda a: a.fatal),
    Column("满意度", lambda a: a.satisfaction), Column("奖励(元)", lambda a: a.reward_yuan),
    Column("扣款(元)", lambda a: a.penalty_yuan), Column("合计(元)", lambda a: a.net_yuan),
    Column("处分", lambda a: a.discipline), Column("称号", lambda a: _join(a.titles)),
    Column("标记", lambda a: _join(a.flags)), Column("未决申诉", lambda a: a.open_appeals),
    Column("上月平均分", lambda a: a.previous_mean),
]
DETAILS = [
    Column("坐席工号", lambda r: r[0].code), Column("姓名", lambda r: r[0].name),
    Column("类别", lambda r: KIND_NAMES.get(r[1].kind, r[1].kind)), Column("名称", lambda r: r[1].name),
    Column("第几次", lambda r: r[1].occurrence if r[1].kind in ("rule", "event") else None),
    Column("次数", lambda r: r[1].count), Column("绩效分", lambda r: r[1].points),
    Column("金额(元)", lambda r: r[1].yuan), Column("处分", lambda r: r[1].discipline),
    Column("标记", lambda r: r[1].flag), Column("称号", lambda r: r[1].title),
    Column("通话", lambda r: _join(r[1].calls)), Column("检查项", lambda r: _join(r[1].items)),
    Column("说明", lambda r: r[1].note), Column("依据", lambda r: r[1].source),
]
TEAMS = [
    Column("班组", lambda t: t.name), Column("坐席数", lambda t: t.agents), Column("参与排名", lambda t: t.ranked),
    Column("质检通话数", lambda t: t.calls), Column("平均分", lambda t: t.mean),
    Column("上月平均分", lambda t: t.previous_mean), Column("高压线次数", lambda t: t.fatal),
    Column("绩效加减分", lambda t: t.points), Column("奖励(元)", lambda t: t.reward_yuan),
    Column("扣款(元)", lambda t: t.penalty_yuan), Column("合计(元)", lambda t: t.net_yuan),
]
TABLES = ("summary", "details", "teams")
SHEET_NAMES = {"summary": "月度汇总", "details": "奖惩明细", "teams": "班组汇总"}


def _rows(tally: Tally, table: str) -> tuple[list[str], list[list[Any]]]:
    columns: list[Column]
    records: list[Any]
    if table == "summary":
        columns, records = SUMMARY, tally.agents
    elif table == "details":
        columns = DETAILS
        records = [(agent, line) for agent in tally.agents for line in agent.lines]
    else:
        columns, records = TEAMS, [*tally.teams, tally.centre]
    return [c.header for c in columns], [[c.value(r) for c in columns] for r in records]


def about(tally: Tally, version: str) -> list[tuple[str, str]]:
    """What the file is: shown on the 说明 sheet."""
    return [("月份", tally.month), ("版本", version), ("统计区间(UTC)", f"{tally.start} — {tally.end}"),
            ("时区", tally.timezone), ("奖惩制度", tally.policy),
            ("说明", "只计已确认（含申诉已处理）的通话；金额为正是奖励，为负是扣款。")]


def write_xlsx(tally: Tally, version: str, out: IO[bytes]) -> None:
    """All tables, one sheet each, written in openpyxl's streaming mode (thousands of lines)."""
    book = Workbook(write_only=True)
    for table in TABLES:
        append_table(book, SHEET_NAMES[table], *_rows(tally, table))
    sheet = book.create_sheet("说明")
    for row in about(tally, version):
        sheet.append(xlsx_row(sheet, row))
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 16, 80
    book.save(out)


def _cell(value: Any) -> Any:
    """CSV text as a person writes it: 356 rather than 356.0, nothing for no value."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def write_csv(tally: Tally, table: str, out: IO[str]) -> None:
    headers, rows = _rows(tally, table)
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(csv_row(headers))
    writer.writerows(csv_row(_cell(v) for v in row) for row in rows)


def csv_text(tally: Tally, table: str) -> str:
    buffer = io.StringIO(newline="")
    write_csv(tally, table, buffer)
    return buffer.getvalue()

