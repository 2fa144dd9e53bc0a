"""A local ``.xlsx`` workbook as the spreadsheet: the embedded default.

Reading streams only the tabs otop_sync needs, and only the columns under their headers, within limits
(``xlsx_reader``); a damaged or oversized package is one line saying what to do.
Writing splices the owned tabs into the package (``xlsx_package``): every other tab stays byte for byte,
charts and images included. Writes are atomic: a temporary file in the same folder, then a rename, so
a crash leaves either the old workbook or the new one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from otop_sync.atomic import atomic_target
from otop_sync.cells import CellValue, Formula, display
from otop_sync.config import SheetLayout, WorkbookLimits
from otop_sync.errors import LayoutError, SourceError
from otop_sync.responses import Tab
from otop_sync.sources.contract import SheetData, Writes, responses_tabs
from otop_sync.sources.xlsx_package import PackageError, replace_sheets
from otop_sync.sources.xlsx_reader import (
    DEFAULT_LIMITS,
    DamagedError,
    OtherKindError,
    StrictError,
    TooLargeError,
    WorkbookReader,
    open_workbook,
)
from otop_sync.tables import Cell, Table, as_cell, title_positions

if TYPE_CHECKING:
    from openpyxl import Workbook


def owner_files(path: Path) -> tuple[Path, Path]:
    """The files Excel ("~$name") and LibreOffice (".~lock.name#") leave beside a workbook they have open,
    beside the file itself when `path` is a link to it."""
    path = path.resolve()
    return path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")


class WorkbookSource:
    api_calls = 0  # a local file

    def __init__(self, path: Path, limits: WorkbookLimits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self._run_log: tuple[tuple[CellValue, ...], ...] | None = None  # its header and rows, once read

    def read(self, form: SheetLayout) -> SheetData:
        tabs = form.tabs
        with self._reading() as book:
            responses = responses_tabs(book.sheetnames, tabs.responses)
            if not responses:
                raise LayoutError(f"{self.path}: no tab named {tabs.responses[0]!r} (the form's responses)")
            if tabs.base_year not in book.sheetnames:
                raise LayoutError(f"{self.path}: no tab named {tabs.base_year!r} (the base-year sales)")
            present = set(book.sheetnames)
            self._run_log = book.tab(tabs.run_log).rows if tabs.run_log in present else ()
            return SheetData(
                responses=tuple(book.tab(title) for title in responses),
                base_year=book.tab(tabs.base_year),
                previous_quarterly=book.tab(tabs.quarterly) if tabs.quarterly in present else None,
            )

    @contextmanager
    def _reading(self) -> Iterator[WorkbookReader]:
        """The package open for reading; whatever is wrong with it is one line saying what to do."""
        if self.path.is_dir():
            raise SourceError(f"{self.path}: a folder, not a workbook; name the .xlsx file in it")
        if self.path.suffix.lower() != ".xlsx":
            raise SourceError(
                f"{self.path}: not an .xlsx workbook; open it in Excel or LibreOffice and save it as an "
                "Excel Workbook (.xlsx)"
            )
        try:
            with open_workbook(self.path, self.limits) as book:
                yield book
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such workbook (otop-sync demo writes a sample)") from None
        except DamagedError as exc:
            raise SourceError(
                f"{self.path} is damaged: {exc}; open it in Excel or LibreOffice and save it again"
            ) from None
        except (StrictError, OtherKindError) as exc:
            raise SourceError(f"{self.path}: {exc}") from None
        except TooLargeError as exc:
            raise SourceError(f"{self.path} is too large to read: {exc}") from None
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot be read ({exc.strerror or exc})") from exc

    def write(self, writes: Writes) -> None:
        if self._run_log is None:
            raise SourceError("write() before read(): the run log's earlier rows are not known")
        _refuse_hard_links(self.path)
        for owner in owner_files(self.path):
            if owner.exists():
                raise SourceError(
                    f"{self.path}: open in Excel or LibreOffice ({owner.name} exists); close it and run again"
                )
        log = writes.run_log
        # The run log is the one tab that grows: its earlier rows are written back above the new one.
        earlier = _under(tuple(c.title for c in log.columns), self._run_log)
        full_log = Table(log.title, log.columns, (*earlier, *log.rows))
        try:
            with atomic_target(self.path) as temporary:
                replace_sheets(self.path, temporary, (*writes.tables, full_log), limits=self.limits)
        except PackageError as exc:
            raise SourceError(f"{self.path}: {exc}; the workbook is unchanged") from exc
        except DamagedError as exc:
            raise SourceError(
                f"{self.path} is damaged: {exc}; it is unchanged: open it in Excel or LibreOffice and "
                "save it again"
            ) from None
        except TooLargeError as exc:
            raise SourceError(f"{self.path} is too large to write back: {exc}; it is unchanged") from None
        except OSError as exc:
            raise SourceError(
                f"{self.path}: cannot be written ({exc.strerror or exc}); it is unchanged"
            ) from exc
        self._run_log = (tuple(c.title for c in log.columns), *full_log.rows)


def _refuse_hard_links(path: Path) -> None:
    """A workbook with other names (hard links) is refused before anything is written. A write replaces
    the file by renaming a new one over it (a crash leaves the old workbook or the new, never half), and a
    rename replaces one name only: the other names would keep the old workbook, and each name would get a
    lock and a run log of its own. Writing in place would keep the names together but lose that safety."""
    try:
        links = path.stat().st_nlink
    except OSError:
        return  # reading said what is wrong already, or the write will
    if links > 1:
        raise SourceError(
            f"{path}: the same file has {links - 1} other name(s) (hard links), which a write would split "
            "into separate workbooks; nothing was written: keep one name, and make the others symbolic "
            "links (ln -sf) to it"
        )


def _under(titles: tuple[str, ...], tab: tuple[tuple[CellValue, ...], ...]) -> tuple[tuple[Cell, ...], ...]:
    """The rows of a tab (its header first) as cells under `titles`. Columns are found by their titles
    when every one is there, so that a column a coordinator added or moved does not shift the rows under
    otop_sync's titles; otherwise (titles of an earlier version) they are taken in order."""
    if not tab:
        return ()
    header = [display(v).strip() for v in tab[0]]
    picks = None if header[: len(titles)] == list(titles) else title_positions(header, titles)
    if picks is None:
        return tuple(tuple(as_cell(v) for v in row) for row in tab[1:])
    return tuple(tuple(as_cell(row[i]) if i < len(row) else None for i in picks) for row in tab[1:])


def save_atomically(book: Workbook, path: Path) -> None:
    """An openpyxl workbook saved atomically (the demo's; the owned tabs are spliced, see write)."""
    try:
        with atomic_target(path, mode=0o644) as temporary:
            book.save(temporary)
    except OSError as exc:
        raise SourceError(f"{path}: cannot be written ({exc.strerror or exc})") from exc


def write_new_workbook(path: Path, tabs: Sequence[Tab]) -> None:
    """A fresh workbook holding `tabs` as plain values (the demo's)."""
    # Imported here: openpyxl (and numpy behind it) costs a fifth of a second, and only the demo needs it.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

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
