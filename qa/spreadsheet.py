"""XLSX sheets as the centre's staff read them: bold Chinese headers, frozen, wide enough to read;
figures as numbers. Written in openpyxl's streaming (write-only) mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


def append_table(book: Workbook, title: str, headers: list[str], rows: Iterable[list[Any]]) -> None:
    """A sheet named `title`: `headers` in bold on a frozen first row, then `rows`."""
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(8, len(header) * 2 + 2)
    bold = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for row in rows:
        sheet.append(row)
