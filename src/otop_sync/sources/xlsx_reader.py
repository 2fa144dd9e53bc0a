"""Read the tabs otop_sync needs from an ``.xlsx`` package: streamed, bounded, and near a compiled reader.

Why not openpyxl: it parses every cell of every row it is given, whatever the header says, has no bound
on what a small file can expand to (a 40 KB file whose rows reach column XFD took 3.7 GB), and reads
several times slower than the XML allows. Here lxml's ``iterparse`` streams one row at a time and keeps
only the columns under the header; shared strings and date styles are resolved here, as Excel defines
them.

Bounds, each refused in one line naming its setting: a part that would expand past ``part_bytes``
(checked before it is read, from the archive's directory, which zipfile then holds the data to), and a
tab with content past row ``rows``. A package that is malformed in any way is one line saying so.
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from lxml import etree

from otop_sync.cells import CellValue, Formula, within_cell_limit, writable
from otop_sync.config import WorkbookLimits
from otop_sync.responses import Tab

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = DOC_REL + "/officeDocument"
# Excel's "Strict Open XML Spreadsheet", a choice of its Save As beside "Excel Workbook", also ends in
# .xlsx but names everything in other namespaces (ECMA-376 part 1, strict conformance).
STRICT_OFFICE_DOCUMENT = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
MAX_COLUMNS = 256  # of a header: a form has a few dozen questions; past this, a header is junk
_ROW, _CELL, _VALUE, _FORMULA = (f"{{{MAIN}}}{name}" for name in ("row", "c", "v", "f"))
_TEXT, _INLINE, _RUN, _PHONETIC = (f"{{{MAIN}}}{name}" for name in ("t", "is", "r", "rPh"))
_REFERENCE = re.compile(r"^([A-Z]{1,3})(\d+)$")
# Excel's built-in formats that show a date (ECMA-376 part 1, 18.8.30 numFmt; 27-36 and 50-58 are the
# East Asian locales' dates, 71-81 the Thai locale's) and those that show a time or a duration alone.
_BUILTIN_DATES = frozenset({14, 15, 16, 17, 22, *range(27, 37), *range(50, 59), *range(71, 82)})
_BUILTIN_TIMES = frozenset({18, 19, 20, 21, 45, 46, 47})
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_ELAPSED = re.compile(r"\[(h+|m+|s+)\]", re.IGNORECASE)  # [h]:mm, [mm]:ss: a duration, not a [colour]
_EPOCH_1900 = datetime(1899, 12, 30)  # noqa: DTZ001  # a workbook's times have no zone: Bangkok's, read later
_EPOCH_1904 = datetime(1904, 1, 1)  # noqa: DTZ001
_LAST_SERIAL = 2958465  # 31/12/9999
DEFAULT_LIMITS = WorkbookLimits()


class DamagedError(Exception):
    """The package is not a well-formed workbook; the message says where."""


class StrictError(Exception):
    """The package is a Strict Open XML workbook, which otop_sync does not read; the message says how to
    save it as one it does."""


class OtherKindError(Exception):
    """The file named .xlsx is something else (an encrypted workbook, a web page); the message says what
    it is and what to do."""


class TooLargeError(Exception):
    """The package would take more than a limit to read; the message names the limit's setting."""


class WorkbookReader:
    """The sheets of one open package, by title."""

    def __init__(self, archive: zipfile.ZipFile, limits: WorkbookLimits) -> None:
        self._archive, self._limits = archive, limits
        with translated_damage():
            self._index()

    def _index(self) -> None:
        workbook = self._office_document()
        relations = self._relations(workbook)
        root = self._xml(workbook)
        self.date1904 = any(p.get("date1904") in ("1", "true") for p in root.iter(f"{{{MAIN}}}workbookPr"))
        self.parts: dict[str, str] = {}
        for sheet in root.iter(f"{{{MAIN}}}sheet"):
            target = relations.get(str(sheet.get(f"{{{DOC_REL}}}id")))
            if target is not None:
                self.parts[str(sheet.get("name"))] = target
        styles = next((t for kind, t in relations.values_by_type() if kind.endswith("/styles")), None)
        strings = next((t for kind, t in relations.values_by_type() if kind.endswith("/sharedStrings")), None)
        self._dates, self._times = self._date_styles(styles)
        self._strings_part = strings
        self._strings: list[str] | None = None
        self._columns: dict[str, int] = {}  # "AB" -> 27, as cells name their columns

    @property
    def sheetnames(self) -> list[str]:
        return list(self.parts)

    # The package's index --------------------------------------------------------------------------

    def _open(self, name: str) -> IO[bytes]:
        try:
            info = self._archive.getinfo(name)
        except KeyError:
            raise DamagedError(f"the part {name} is missing") from None
        if info.file_size > self._limits.part_bytes:
            raise TooLargeError(
                f"its part {name} expands to {info.file_size / 1e6:,.0f} MB, past the limit of "
                f"{self._limits.part_bytes / 1e6:,.0f} MB ([workbook] max_part_megabytes)"
            )
        return self._archive.open(info)

    def _xml(self, name: str) -> etree._Element:
        with self._open(name) as part:
            return refuse_doctype(etree.parse(part, _parser()).getroot(), name)

    def _office_document(self) -> str:
        root = self._xml("_rels/.rels")
        kinds = {rel.get("Type"): rel.get("Target") for rel in root.iter(f"{{{PKG_REL}}}Relationship")}
        if kinds.get(OFFICE_DOCUMENT):
            return str(kinds[OFFICE_DOCUMENT]).lstrip("/")
        if kinds.get(STRICT_OFFICE_DOCUMENT):
            raise StrictError(
                "it is saved as a Strict Open XML Spreadsheet, which otop_sync does not read: in Excel, "
                "File > Save As > Excel Workbook (*.xlsx)"
            )
        raise DamagedError("it names no workbook part")

    def _relations(self, part: str) -> _Relations:
        folder, name = posixpath.split(part)
        root = self._xml(posixpath.join(folder, "_rels", name + ".rels"))
        relations = _Relations()
        for rel in root.iter(f"{{{PKG_REL}}}Relationship"):
            target = str(rel.get("Target"))
            path = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
            relations.add(str(rel.get("Id")), str(rel.get("Type")), path)
        return relations

    def _date_styles(self, part: str | None) -> tuple[frozenset[int], frozenset[int]]:
        """The cell styles (indices of cellXfs) whose number format shows a date, and a time alone."""
        if part is None:
            return frozenset(), frozenset()
        root = self._xml(part)
        custom = {
            int(f.get("numFmtId", "-1")): str(f.get("formatCode", "")) for f in root.iter(f"{{{MAIN}}}numFmt")
        }
        dates, times = set(), set()
        xfs = root.find(f"{{{MAIN}}}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else ()):
            number = int(xf.get("numFmtId", "0") or 0)
            kind = _format_kind(number, custom.get(number))
            if kind == "date":
                dates.add(index)
            elif kind == "time":
                times.add(index)
        return frozenset(dates), frozenset(times)

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = []
            if self._strings_part is not None:
                with self._open(self._strings_part) as part:
                    for _, item in etree.iterparse(part, tag=f"{{{MAIN}}}si", **_PARSING):
                        if not self._strings:
                            refuse_doctype(item, self._strings_part)
                        self._strings.append(_text_of(item))
                        _forget(item)
        return self._strings

    # A sheet ---------------------------------------------------------------------------------------

    def tab(self, title: str) -> Tab:
        """The tab's rows as cell values, row 1 first; only the columns under its header (row 1)."""
        with translated_damage():
            return self._tab(title)

    def _tab(self, title: str) -> Tab:
        rows: list[tuple[CellValue, ...]] = []
        width: int | None = None
        with self._open(self.parts[title]) as part:
            for _, element in etree.iterparse(part, tag=_ROW, **_PARSING):
                if width is None:
                    refuse_doctype(element, self.parts[title])
                number = int(element.get("r") or len(rows) + 1)
                cells = self._cells(element, MAX_COLUMNS if width is None else width)
                _forget(element)
                if number == 1 or width is None:
                    width = len(cells) if number == 1 else 0
                if not cells:  # _cells drops trailing empty cells: an empty row is ()
                    continue
                if number > self._limits.rows:
                    raise TooLargeError(
                        f"tab {title!r} has content in row {number:,}, past the limit of "
                        f"{self._limits.rows:,} rows ([workbook] max_rows)"
                    )
                if number <= len(rows):
                    raise DamagedError(f"tab {title!r} lists row {number} twice or out of order")
                rows.extend(() for _ in range(number - 1 - len(rows)))
                rows.append(cells)
        return Tab(title, tuple(rows))

    def _cells(self, row: etree._Element, width: int) -> tuple[CellValue, ...]:
        # The hot loop: some 250,000 cells at national scale, so each is looked at once, with the
        # commonest cells (a number, a shared or inline string) decided without a further call.
        values: list[CellValue] = []
        columns, value_of = self._columns, self._value
        for cell in row.iterchildren(_CELL):
            reference = cell.get("r")
            if reference:
                letters = reference.rstrip("0123456789")
                column = columns.get(letters)
                if column is None:
                    column = columns[letters] = _column_index(reference)
            else:
                column = len(values)
            if column >= width:
                continue  # not under the header: nothing otop_sync reads, however much of it there is
            if column != len(values):
                if column < len(values):
                    raise DamagedError(f"cell {reference} comes twice or out of order")
                values.extend([None] * (column - len(values)))
            values.append(value_of(cell))
        while values and values[-1] is None:
            values.pop()
        return tuple(values)

    def _value(self, cell: etree._Element) -> CellValue:
        if len(cell) != 1:
            return self._unusual_value(cell)
        child = cell[0]
        tag = child.tag
        if tag == _INLINE and len(child) == 1 and child[0].tag == _TEXT:
            return _unescaped(child[0].text or "")  # <is><t>…</t></is>, as otop_sync writes text
        if tag != _VALUE:
            return self._unusual_value(cell)
        raw, kind = child.text, cell.get("t")
        if raw is None:
            return None
        if kind is None or kind == "n":
            style = cell.get("s")
            if style is None or style == "0":
                return _plain_number(raw)
            return self._number(raw, int(style))
        return self._typed(raw, kind, cell)

    def _unusual_value(self, cell: etree._Element) -> CellValue:
        """A cell with a formula, an inline string, or no single <v>: read child by child."""
        raw: str | None = None
        for child in cell:
            tag = child.tag
            if tag == _VALUE:
                raw = child.text
            elif tag == _FORMULA:
                return Formula("=" + (child.text or ""))
            elif tag == _INLINE:
                return _text_of(child)
        if raw is None:
            return None
        return self._typed(raw, cell.get("t", "n"), cell)

    def _typed(self, raw: str, kind: str, cell: etree._Element) -> CellValue:
        if kind == "s":
            strings = self._shared_strings()
            try:
                return strings[int(raw)]
            except (ValueError, IndexError):
                raise DamagedError(f"a cell refers to shared string {raw}, of {len(strings)}") from None
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind in ("str", "e", "inlineStr"):
            return _unescaped(raw)
        if kind == "d":
            try:
                return datetime.fromisoformat(raw)
            except ValueError:
                return raw  # as text: the row is then rejected with a reason, like any unreadable date
        return self._number(raw, int(cell.get("s") or 0))

    def _date(self, serial: float) -> datetime:
        """A serial day as Excel shows it: to the millisecond (finer is float noise, not time), and
        with Excel's 1900 system counting a 29 February 1900 that never was."""
        epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
        if not self.date1904 and serial < 60:
            epoch += timedelta(days=1)
        days = math.floor(serial)
        return epoch + timedelta(days=days, milliseconds=round((serial - days) * 86_400_000))

    def _number(self, raw: str, style: int) -> CellValue:
        number = _plain_number(raw)
        if isinstance(number, str):
            return number
        if style in self._dates and 0 <= number <= _LAST_SERIAL:
            return self._date(number)
        if style in self._times:
            return str(timedelta(days=float(number)))  # a duration or a time of day: shown, not read
        return number


def _plain_number(raw: str) -> int | float | str:
    """A number cell's value: an int when it is a whole number of at most 15 digits, else a float;
    "abc" where a number belongs is kept as the text it is, and its row rejected."""
    try:
        digits = raw[1:] if raw[:1] == "-" else raw
        return int(raw) if len(digits) <= 15 and digits.isdecimal() else float(raw)
    except ValueError:
        return raw


class _Relations:
    def __init__(self) -> None:
        self._by_id: dict[str, str] = {}
        self._typed: list[tuple[str, str]] = []

    def add(self, rel_id: str, kind: str, target: str) -> None:
        self._by_id[rel_id] = target
        self._typed.append((kind, target))

    def get(self, rel_id: str) -> str | None:
        return self._by_id.get(rel_id)

    def values_by_type(self) -> list[tuple[str, str]]:
        return self._typed


# No network, no entity expansion, no DTD; lxml's default cap on a text node (10 MB) stays on.
_PARSING: Mapping[str, Any] = {
    "events": ("end",),
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
}


def refuse_doctype(element: etree._Element, part: str) -> etree._Element:
    """`element`, unless its part declares a document type: Excel never writes one, and its entities
    (which otop_sync never expands) would be carried into a workbook that nothing can open again."""
    if element.getroottree().docinfo.doctype:  # type: ignore[attr-defined]  # in lxml, not in its stubs
        raise DamagedError(f"its part {part} declares a document type (<!DOCTYPE>), which Excel never writes")
    return element


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _forget(element: etree._Element) -> None:
    """Free a parsed row and those before it: memory stays one row deep, however long the sheet."""
    element.clear()
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]


def _text_of(element: etree._Element) -> str:
    """A string item's text: its own <t>, or its runs' <t>s, never the phonetic guide (<rPh>)."""
    if len(element) == 1 and element[0].tag == _TEXT:
        return _unescaped(element[0].text or "")  # the usual case, <is><t>…</t></is>
    texts = []
    for text in element.iter(_TEXT):
        parent = text.getparent()
        if parent is element or (parent is not None and parent.tag == _RUN):
            texts.append(text.text or "")
    return _unescaped("".join(texts))


_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


def _unescaped(text: str) -> str:
    """Excel's escapes in text: "_x000D_" is a carriage return (ECMA-376 part 1, 22.9.2.19 ST_Xstring),
    how it stores characters XML cannot hold. What cannot be written either is shown as "�"."""
    text = within_cell_limit(text)  # before anything else looks at its characters
    if "_x" not in text:
        return text
    return writable(_ESCAPE.sub(lambda found: chr(int(found[1], 16)), text))


def _column_index(reference: str) -> int:
    """ "B7" -> 1: the column of a cell reference, from 0."""
    found = _REFERENCE.match(reference)
    if found is None:
        raise DamagedError(f"a cell is named {reference!r}")
    number = 0
    for letter in found[1]:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _format_kind(number: int, code: str | None) -> str:
    """ "date", "time" (a time of day or a duration, no date) or "number", as Excel shows a format."""
    if code is None:
        return "date" if number in _BUILTIN_DATES else "time" if number in _BUILTIN_TIMES else "number"
    section = _ELAPSED.sub(r"\1", code.split(";")[0])
    bare = _QUOTED.sub("", section).lower()  # quoted text, [colours] and [$-locales] aside
    # d, y (and the Thai locale's ว ด ป) are dates; m alone is a month, beside h or s it is minutes.
    if any(letter in bare for letter in "dyวดป") or ("m" in bare and not any(c in bare for c in "hs")):
        return "date"
    return "time" if any(letter in bare for letter in "hs") else "number"


@contextmanager
def translated_damage() -> Iterator[None]:
    """Whatever a malformed package makes the libraries below raise, as one DamagedError."""
    try:
        yield
    except (DamagedError, StrictError, TooLargeError, OtherKindError):
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DamagedError(f"its compressed data is broken ({exc})") from None
    except etree.XMLSyntaxError as exc:
        raise DamagedError(f"a part is not well-formed XML ({exc})") from None
    except (ValueError, KeyError, IndexError, UnicodeDecodeError, NotImplementedError, RuntimeError) as exc:
        raise DamagedError(f"{type(exc).__name__}: {exc}") from None


# An OLE compound file: what Excel saves when a workbook is encrypted with a password (and what an old
# .xls is); an .xlsx is a zip package, never this.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WEB_PAGE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype html|html|table|head|meta|\?xml)", re.IGNORECASE)


def _refuse_other_kinds(path: Path) -> None:
    with path.open("rb") as file:
        start = file.read(512)
    if start.startswith(_OLE):
        raise OtherKindError(
            "it is encrypted with a password (or is an old .xls renamed): otop_sync cannot read a "
            "protected workbook; in Excel, File > Info > Protect Workbook > Encrypt with Password, clear "
            "the password and save it as an Excel Workbook (.xlsx)"
        )
    if _WEB_PAGE.match(start):
        raise OtherKindError(
            "it is a web page (HTML) saved with an .xlsx name, not a workbook: in Google Sheets use File > "
            "Download > Microsoft Excel (.xlsx), or open it in Excel and save it as an Excel Workbook (.xlsx)"
        )


@contextmanager
def open_workbook(path: Path, limits: WorkbookLimits = DEFAULT_LIMITS) -> Iterator[WorkbookReader]:
    """The workbook's sheets, readable one at a time. DamagedError or TooLargeError, raised while
    opening or reading, say in one line what is wrong; OSError is left to the caller."""
    _refuse_other_kinds(path)
    with translated_damage():
        archive = zipfile.ZipFile(path)
    with archive:
        yield WorkbookReader(archive, limits)
