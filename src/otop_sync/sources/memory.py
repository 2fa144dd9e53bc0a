"""A spreadsheet held in memory: the source for tests, with the same contract as the real ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from otop_sync.cells import CellValue
from otop_sync.config import SheetLayout
from otop_sync.errors import LayoutError
from otop_sync.responses import Tab
from otop_sync.sources.contract import SheetData, Writes, responses_tabs


class MemorySource:
    """Tabs as lists of rows of cell values, keyed by title, in the order a spreadsheet shows them."""

    def __init__(self, tabs: Mapping[str, Sequence[Sequence[CellValue]]]) -> None:
        self.tabs: dict[str, list[list[CellValue]]] = {t: [list(r) for r in rows] for t, rows in tabs.items()}
        self.writes = 0
        self.api_calls = 0

    def read(self, form: SheetLayout) -> SheetData:
        responses = responses_tabs(self.tabs, form.tabs.responses)
        if not responses:
            raise LayoutError(f"no tab named {form.tabs.responses[0]!r} (the form's responses)")
        return SheetData(
            responses=tuple(map(self._tab, responses)),
            base_year=self._required(form.tabs.base_year, "the base-year sales"),
            previous_quarterly=self._tab(form.tabs.quarterly) if form.tabs.quarterly in self.tabs else None,
        )

    def _required(self, title: str, meaning: str) -> Tab:
        if title not in self.tabs:
            raise LayoutError(f"no tab named {title!r} ({meaning})")
        return self._tab(title)

    def _tab(self, title: str) -> Tab:
        return Tab(title, tuple(tuple(row) for row in self.tabs[title]))

    def write(self, writes: Writes) -> None:
        self.writes += 1
        for table in writes.tables:
            self.tabs[table.title] = [_cells(table.header), *map(_cells, table.rows)]
        log = self.tabs.setdefault(writes.run_log.title, [_cells(writes.run_log.header)])
        log.extend(map(_cells, writes.run_log.rows))


def _cells(row: Iterable[CellValue]) -> list[CellValue]:
    return list(row)
