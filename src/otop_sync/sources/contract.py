"""What every source promises: the adapters' contract, and the one rule for finding the responses tabs.

A source hands over the tabs as cell values (``SheetData``) and takes back the owned tabs to write
(``Writes``). The local workbook, Google Sheets and memory all keep this contract; the use case
(``sync``) depends on it, never on an adapter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from otop_sync.config import SheetLayout
from otop_sync.responses import Tab
from otop_sync.tables import Table


@dataclass(frozen=True)
class SheetData:
    """What a source hands over: the responses tabs (oldest link of the form first), the base-year tab,
    and the previous per-quarter results if any."""

    responses: tuple[Tab, ...]
    base_year: Tab
    previous_quarterly: Tab | None = None


@dataclass(frozen=True)
class Writes:
    """The owned tabs to replace whole, and the row to append to the run log."""

    tables: tuple[Table, ...]
    run_log: Table  # its rows are appended; the tab is created with the header when missing


class Source(Protocol):
    def read(self, form: SheetLayout) -> SheetData:
        """The input tabs (LayoutError when one is missing) and the previous results tab, if any."""
        ...

    def write(self, writes: Writes) -> None:
        """Replace each owned tab whole and append to the run log; never touch any other tab."""
        ...

    @property
    def api_calls(self) -> int:
        """Requests sent to a remote service so far (0 for a local source)."""
        ...


def _folded(title: str) -> str:
    return " ".join(title.split()).casefold()


_NUMBERED = re.compile(r"^(?P<stem>.*?)\s*(?P<number>\d+)$")


def responses_tabs(titles: Iterable[str], configured: Sequence[str]) -> list[str]:
    """The tabs that hold the form's answers, oldest link first.

    Google Forms writes to "การตอบกลับแบบฟอร์ม 1" / "Form Responses 1", and to "… 2", "… 3" each time the
    form is linked again. Every tab named like a configured title with any number is one, compared
    without regard to case or extra spaces; a configured title without a number matches itself.
    """
    stems = set()
    for name in configured:
        numbered = _NUMBERED.match(_folded(name))
        stems.add(numbered["stem"] if numbered else _folded(name))
    found: list[tuple[int, int, str]] = []
    for position, title in enumerate(titles):
        folded = _folded(title)
        numbered = _NUMBERED.match(folded)
        if numbered and numbered["stem"] in stems:
            found.append((int(numbered["number"]), position, title))
        elif folded in stems:
            found.append((0, position, title))
    return [title for _, _, title in sorted(found)]
