"""Spreadsheet rows the product writes, XLSX and CSV, as the centre's staff read them and safe to
open: XLSX sheets have bold Chinese headers, frozen, wide enough to read; figures are numbers.

Names and teams come from metadata CSVs anyone could have written, so text that Excel or
LibreOffice would take for a formula (it starts with = + - @, a tab or a carriage return: OWASP's
CSV injection list) must stay text: in XLSX a string cell, marked quote-prefixed so that editing it
keeps it text; in CSV the same text after an apostrophe. Numbers, negative ones too, are left as
they are. XLSX is written in openpyxl's streaming (write-only) mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    """Text that a spreadsheet would run as a formula if it were typed or imported as it is."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A CSV row where formula-like text starts with an apostrophe (shown, never run)."""
    return [f"'{value}" if formula_like(value) else value for value in values]


def _text_cell(sheet: WriteOnlyWorksheet, text: str, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl makes any "=..." a formula; this text is shown as it is
    cell.quotePrefix = True
    if bold:
        cell.font = Font(bold=True)
    return cell


def xlsx_row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """A sheet row where formula-like text is a string cell; other values as openpyxl stores them."""
    return [_text_cell(sheet, value) if formula_like(value) else value for value in values]


def append_table(book: Workbook, title: str, headers: list[str], rows: Iterable[list[Any]]) -> None:
    """A sheet named `title`: `headers` in bold on a frozen first row, then `rows`."""
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(8, len(header) * 2 + 2)
    sheet.append([_text_cell(sheet, header, bold=True) for header in headers])
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
