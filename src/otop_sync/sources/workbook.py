"""A local ``.xlsx`` workbook as the spreadsheet: the embedded default.

Reading streams the tabs with openpyxl (read-only mode, which still tells a formula from a value).
Writing splices the owned tabs into the package (``xlsx_package``): every other tab stays byte for byte,
charts and images included. Writes are atomic: a temporary file in the same folder, then a rename, so
a crash leaves either the old workbook or the new one.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from otop_sync.atomic import atomic_target
from otop_sync.cells import CellValue, Formula
from otop_sync.config import Form
from otop_sync.errors import LayoutError, SourceError
from otop_sync.responses import Tab
from otop_sync.sources.contract import SheetData, Writes, responses_tabs
from otop_sync.sources.xlsx_package import PackageError, replace_sheets
from otop_sync.tables import Table, as_cell


def owner_files(path: Path) -> tuple[Path, Path]:
    """The files Excel ("~$name") and LibreOffice (".~lock.name#") leave beside a workbook they have open."""
    return path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")


class WorkbookSource:
    api_calls = 0  # a local file

    def __init__(self, path: Path) -> None:
        self.path = path
        self._run_log: tuple[tuple[CellValue, ...], ...] | None = None  # known once read

    def read(self, form: Form) -> SheetData:
        tabs = form.tabs
        book = self._open()
        try:
            responses = responses_tabs(book.sheetnames, tabs.responses)
            if not responses:
                raise LayoutError(f"{self.path}: no tab named {tabs.responses[0]!r} (the form's responses)")
            if tabs.base_year not in book.sheetnames:
                raise LayoutError(f"{self.path}: no tab named {tabs.base_year!r} (the base-year sales)")
            present = set(book.sheetnames)
            self._run_log = _tab(book, tabs.run_log).rows[1:] if tabs.run_log in present else ()
            return SheetData(
                responses=tuple(_tab(book, title) for title in responses),
                base_year=_tab(book, tabs.base_year),
                previous_quarterly=_tab(book, tabs.quarterly) if tabs.quarterly in present else None,
            )
        finally:
            book.close()

    def _open(self) -> Workbook:
        if self.path.suffix.lower() != ".xlsx":
            raise SourceError(f"{self.path}: not an .xlsx workbook")
        try:
            return load_workbook(self.path, read_only=True)
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such workbook (otop-sync demo writes a sample)") from None
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise SourceError(f"{self.path}: not a readable .xlsx workbook ({exc})") from exc
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot be read ({exc.strerror or exc})") from exc

    def write(self, writes: Writes) -> None:
        if self._run_log is None:
            raise SourceError("write() before read(): the run log's earlier rows are not known")
        for owner in owner_files(self.path):
            if owner.exists():
                raise SourceError(
                    f"{self.path}: open in Excel or LibreOffice ({owner.name} exists); close it and run again"
                )
        log = writes.run_log
        # The run log is the one tab that grows: its earlier rows are written back above the new one.
        earlier = tuple(tuple(as_cell(v) for v in row) for row in self._run_log)
        full_log = Table(log.title, log.columns, (*earlier, *log.rows))
        try:
            with atomic_target(self.path) as temporary:
                replace_sheets(self.path, temporary, (*writes.tables, full_log))
        except PackageError as exc:
            raise SourceError(f"{self.path}: {exc}; the workbook is unchanged") from exc
        except OSError as exc:
            raise SourceError(
                f"{self.path}: cannot be written ({exc.strerror or exc}); it is unchanged"
            ) from exc
        self._run_log = full_log.rows


def _tab(book: Workbook, title: str) -> Tab:
    sheet = book[title]
    # Sheets written by other programs may declare a wrong size; read what is there instead.
    sheet.reset_dimensions()
    return Tab(title, tuple(tuple(_value(c) for c in row) for row in sheet.iter_rows()))


def _value(cell: object) -> CellValue:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(getattr(value, "text", value)))
    if value is None or isinstance(value, str | int | float | Decimal | datetime | date | bool):
        return value
    return str(value)  # times and durations: not a value otop_sync reads, shown as written


def save_atomically(book: Workbook, path: Path) -> None:
    try:
        with atomic_target(path, mode=0o644) as temporary:
            book.save(temporary)
    except OSError as exc:
        raise SourceError(f"{path}: cannot be written ({exc.strerror or exc})") from exc


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
