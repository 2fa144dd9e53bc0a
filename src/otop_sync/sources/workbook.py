"""A local ``.xlsx`` workbook as the spreadsheet: the embedded default, read and written with openpyxl.

Writes are atomic (a temporary file in the same folder, then a rename), so a crash leaves either the
old workbook or the new one. Only the owned tabs change; other tabs keep their cells and styles
(openpyxl does not carry charts or images over: keep those out of this workbook).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from otop_sync.cells import CellValue, Formula
from otop_sync.config import Form
from otop_sync.errors import LayoutError, SourceError
from otop_sync.responses import Tab
from otop_sync.sync import SheetData, Writes
from otop_sync.tables import Kind, Row, Table

NUMBER_FORMATS = {Kind.INTEGER: "#,##0", Kind.MONEY: "#,##0.00", Kind.PERCENT: "0.00"}
GRADE_FILLS = {
    "A": PatternFill("solid", fgColor="C6EFCE"),
    "B": PatternFill("solid", fgColor="DDEBF7"),
    "C": PatternFill("solid", fgColor="FFEB9C"),
    "D": PatternFill("solid", fgColor="FFC7CE"),
}
NO_GRADE_FILL = PatternFill("solid", fgColor="EDEDED")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
WRAP = Alignment(wrap_text=True, vertical="top")


def excel_lock_file(path: Path) -> Path:
    """The owner file Excel and LibreOffice leave beside a workbook they have open."""
    return path.with_name("~$" + path.name)


class WorkbookSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._book: Workbook | None = None

    def read(self, form: Form) -> SheetData:
        book = self._load()
        responses = next((t for t in form.tabs.responses if t in book.sheetnames), None)
        if responses is None:
            raise LayoutError(f"{self.path}: no tab named {form.tabs.responses[0]!r} (the form's responses)")
        if form.tabs.base_year not in book.sheetnames:
            raise LayoutError(f"{self.path}: no tab named {form.tabs.base_year!r} (the base-year sales)")
        quarterly = form.tabs.quarterly
        return SheetData(
            responses=_tab(book[responses]),
            base_year=_tab(book[form.tabs.base_year]),
            previous_quarterly=_tab(book[quarterly]) if quarterly in book.sheetnames else None,
        )

    def _load(self) -> Workbook:
        if self.path.suffix.lower() != ".xlsx":
            raise SourceError(f"{self.path}: not an .xlsx workbook")
        try:
            self._book = load_workbook(self.path)
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such workbook (otop-sync demo writes a sample)") from None
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise SourceError(f"{self.path}: not a readable .xlsx workbook ({exc})") from exc
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot be read ({exc.strerror or exc})") from exc
        return self._book

    def write(self, writes: Writes) -> None:
        if self._book is None:
            raise SourceError("write() before read(): nothing to write into")
        lock = excel_lock_file(self.path)
        if lock.exists():
            raise SourceError(
                f"{self.path}: open in Excel or LibreOffice ({lock.name} exists); close it and run again"
            )
        for table in writes.tables:
            _replace_sheet(self._book, table)
        _append_log(self._book, writes.run_log)
        save_atomically(self._book, self.path)


def save_atomically(book: Workbook, path: Path) -> None:
    temporary = ""
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".otop-sync-", suffix=".xlsx", dir=path.parent)
        os.close(descriptor)
        book.save(temporary)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except OSError as exc:
        raise SourceError(
            f"{path}: cannot be written ({exc.strerror or exc}); the workbook is unchanged"
        ) from exc
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


def _tab(sheet: Worksheet) -> Tab:
    return Tab(sheet.title, tuple(tuple(_value(c) for c in row) for row in sheet.iter_rows()))


def _value(cell: XlCell | object) -> CellValue:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(getattr(value, "text", value)))
    if value is None or isinstance(value, str | int | float | Decimal | datetime | date | bool):
        return value
    return str(value)  # times and durations: not a value otop_sync reads, shown as written


def _replace_sheet(book: Workbook, table: Table) -> None:
    index = None
    if table.title in book.sheetnames:
        index = book.sheetnames.index(table.title)
        del book[table.title]
    sheet = book.create_sheet(table.title, index)
    _write_header(sheet, table)
    _write_rows(sheet, table, table.rows, start=2)


def _append_log(book: Workbook, log: Table) -> None:
    if log.title in book.sheetnames:
        sheet = book[log.title]
        start = sheet.max_row + 1
    else:
        sheet = book.create_sheet(log.title)
        _write_header(sheet, log)
        start = 2
    _write_rows(sheet, log, log.rows, start=start)


def _write_header(sheet: Worksheet, table: Table) -> None:
    bold = Font(bold=True)
    for number, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=1, column=number, value=column.title)
        cell.font, cell.fill, cell.alignment = bold, HEADER_FILL, WRAP
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.freeze_panes = f"{get_column_letter(table.frozen_columns + 1)}2"


def _write_rows(sheet: Worksheet, table: Table, rows: Iterable[Row], *, start: int) -> None:
    kinds = [c.kind for c in table.columns]
    for row_number, row in enumerate(rows, start=start):
        for column_number, (kind, value) in enumerate(zip(kinds, row, strict=False), start=1):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=row_number, column=column_number, value=value)
            if isinstance(value, str):
                # User text is text: "=IMPORTRANGE(...)" from a response must not become a formula.
                cell.data_type = "s"
            if kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[kind]
            elif kind is Kind.GRADE:
                cell.fill = GRADE_FILLS.get(str(value), NO_GRADE_FILL)
                cell.alignment = Alignment(horizontal="center")
            elif isinstance(value, str) and len(value) > 30:
                cell.alignment = WRAP


def write_new_workbook(path: Path, tabs: Sequence[Tab]) -> None:
    """A fresh workbook holding `tabs` as plain values (the demo's)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for tab in tabs:
        sheet = book.create_sheet(tab.title)
        for row in tab.rows:
            sheet.append([v.text if isinstance(v, Formula) else v for v in row])
        for column in range(1, (len(tab.rows[0]) if tab.rows else 0) + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 22
            sheet.cell(row=1, column=column).font = Font(bold=True)
        sheet.freeze_panes = "A2"
    save_atomically(book, path)
