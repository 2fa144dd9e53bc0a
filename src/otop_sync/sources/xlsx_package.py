"""Replace whole sheets inside an ``.xlsx`` package, leaving every other part byte for byte.

Why not let openpyxl load and save the workbook: a round trip through it re-serialises every tab, drops
the charts, images and data validation a coordinator may keep in other tabs, and costs seconds at
national scale. Here only the owned sheets, the workbook's sheet list and the style table change.
Text is written as inline strings, so the shared-string table is left alone too; lxml edits the XML
parts because it keeps their namespace prefixes (Excel's ``mc:Ignorable`` names them).

Only the parts it edits are read into memory, each within the part limit; every other part (a picture,
another tab) is streamed from the old package to the new one, so a 2 GB picture costs time, not memory.
"""

from __future__ import annotations

import html
import math
import posixpath
import re
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from lxml import etree

from otop_sync.cells import REPLACEMENT
from otop_sync.config import WorkbookLimits
from otop_sync.sources.xlsx_reader import DEFAULT_LIMITS, TooLargeError, refuse_doctype, translated_damage
from otop_sync.tables import (
    GRADE_COLOURS,
    HEADER_COLOUR,
    NO_GRADE_COLOUR,
    NUMBER_FORMATS,
    WRAP_LONGER_THAN,
    Kind,
    Table,
    cell_text,
    row_height,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_REL = DOC_REL + "/worksheet"
CALC_CHAIN_REL = DOC_REL + "/calcChain"
OFFICE_DOCUMENT_REL = DOC_REL + "/officeDocument"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

# The formats otop_sync uses are built into Excel: no custom format entries are needed.
BUILTIN_NUMBER_FORMATS = {"#,##0": 3, "#,##0.00": 4, "0.00": 2}
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class PackageError(Exception):
    """The file is not an .xlsx package otop_sync can edit."""


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


@dataclass(frozen=True)
class _Styles:
    """Indices into the package's cellXfs for each kind of cell otop_sync writes."""

    header: int
    plain: int
    wrapped: int
    numbers: dict[Kind, int]
    grades: dict[str, int]
    no_grade: int


def replace_sheets(
    source: Path, target: Path, tables: Sequence[Table], *, limits: WorkbookLimits = DEFAULT_LIMITS
) -> None:
    """Write to `target` the package `source` with a sheet per table, each replacing (in place) the
    sheet of the same title or added after the last one. DamagedError or TooLargeError say what is wrong
    with `source` in one line; `target` is then incomplete, for the caller to discard."""
    with translated_damage(), zipfile.ZipFile(source) as archive:
        package = _Package(archive, limits)
        styles = package.add_styles()
        for table in tables:
            package.put_sheet(table.title, _sheet_xml(table, styles))
            package.print_titles(table)
        package.drop_calc_chain()
        package.save(target)


class _Package:
    def __init__(self, archive: zipfile.ZipFile, limits: WorkbookLimits) -> None:
        self.archive, self.limits = archive, limits
        self.parts: dict[str, bytes] = {}  # what changes, or is new; the rest is copied as it is
        self.removed: set[str] = set()
        self.order = [info.filename for info in archive.infolist()]
        try:
            self.workbook_path = self._office_document()
            self.workbook = self._xml(self.workbook_path)
            self.rels_path = _rels_path(self.workbook_path)
            self.rels = self._xml(self.rels_path)
            self.types = self._xml("[Content_Types].xml")
        except KeyError as exc:
            raise PackageError(f"not a spreadsheet package ({exc})") from exc

    def _xml(self, name: str) -> etree._Element:
        info = self.archive.getinfo(name)
        if info.file_size > self.limits.part_bytes:
            raise TooLargeError(f"its part {name} expands past {self.limits.part_bytes / 1e6:,.0f} MB")
        root = etree.fromstring(self.archive.read(info), parser=etree.XMLParser(resolve_entities=False))
        return refuse_doctype(root, name)

    def _exists(self, name: str) -> bool:
        return name in self.parts or (name in self.order and name not in self.removed)

    def _office_document(self) -> str:
        root = self._xml("_rels/.rels")
        for rel in root.iter(_q(PKG_REL, "Relationship")):
            if rel.get("Type") == OFFICE_DOCUMENT_REL:
                return str(rel.get("Target")).lstrip("/")
        raise KeyError("officeDocument relationship")

    def _target(self, rel: etree._Element) -> str:
        target = str(rel.get("Target"))
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.workbook_path), target))

    def _relations(self) -> Iterator[etree._Element]:
        return self.rels.iter(_q(PKG_REL, "Relationship"))

    def put_sheet(self, title: str, content: bytes) -> None:
        sheets = self.workbook.find(_q(MAIN, "sheets"))
        if sheets is None:
            raise PackageError("the workbook lists no sheets")
        for sheet in sheets.iter(_q(MAIN, "sheet")):
            if sheet.get("name") == title:
                rel_id = sheet.get(_q(DOC_REL, "id"))
                rel = next((r for r in self._relations() if r.get("Id") == rel_id), None)
                if rel is None:
                    raise PackageError(f"sheet {title!r} has no part")
                part = self._target(rel)
                self.removed.add(_rels_path(part))  # its comments or drawings went with the old cells
                self.parts[part] = content
                return
        self._add_sheet(sheets, title, content)

    def _add_sheet(self, sheets: etree._Element, title: str, content: bytes) -> None:
        number = 1
        while self._exists(f"xl/worksheets/sheet{number}.xml"):
            number += 1
        part = f"xl/worksheets/sheet{number}.xml"
        ids = {r.get("Id") for r in self._relations()}
        rel_number = 1
        while f"rId{rel_number}" in ids:
            rel_number += 1
        rel_id = f"rId{rel_number}"
        etree.SubElement(
            self.rels, _q(PKG_REL, "Relationship"), Id=rel_id, Type=WORKSHEET_REL, Target="/" + part
        )
        sheet_ids = [int(s.get("sheetId") or 0) for s in sheets.iter(_q(MAIN, "sheet"))]
        sheet = etree.SubElement(
            sheets, _q(MAIN, "sheet"), name=title, sheetId=str(max(sheet_ids, default=0) + 1)
        )
        sheet.set(_q(DOC_REL, "id"), rel_id)
        etree.SubElement(self.types, _q(TYPES, "Override"), PartName="/" + part, ContentType=WORKSHEET_TYPE)
        self.parts[part] = content
        self.order.append(part)

    def print_titles(self, table: Table) -> None:
        """Print the header row, and the columns kept in view, on every page (Excel's and LibreOffice's
        "rows/columns to repeat": the defined name _xlnm.Print_Titles of the sheet)."""
        sheets = self.workbook.find(_q(MAIN, "sheets"))
        assert sheets is not None  # put_sheet has found or added it
        index = next(i for i, s in enumerate(sheets.iter(_q(MAIN, "sheet"))) if s.get("name") == table.title)
        names = self.workbook.find(_q(MAIN, "definedNames"))
        if names is None:
            names = etree.Element(_q(MAIN, "definedNames"))
            # Its place in the schema's sequence: after sheets, functionGroups, externalReferences.
            anchor = next(
                (
                    found
                    for name in ("externalReferences", "functionGroups", "sheets")
                    if (found := self.workbook.find(_q(MAIN, name))) is not None
                ),
                sheets,
            )
            anchor.addnext(names)
        for old in list(names.iter(_q(MAIN, "definedName"))):
            if old.get("name") == "_xlnm.Print_Titles" and old.get("localSheetId") == str(index):
                names.remove(old)
        quoted = "'" + table.title.replace("'", "''") + "'"
        titles = f"{quoted}!$1:$1"
        if table.frozen_columns:
            titles = f"{quoted}!$A:${column_letter(table.frozen_columns)},{titles}"
        etree.SubElement(
            names, _q(MAIN, "definedName"), name="_xlnm.Print_Titles", localSheetId=str(index)
        ).text = titles

    def drop_calc_chain(self) -> None:
        """Drop the calculation chain: Excel rebuilds it, and a stale one naming replaced cells makes it
        "repair" the file."""
        for rel in list(self._relations()):
            if rel.get("Type") == CALC_CHAIN_REL:
                part = self._target(rel)
                self.removed.add(part)
                self.rels.remove(rel)
                for override in list(self.types.iter(_q(TYPES, "Override"))):
                    if override.get("PartName") == "/" + part:
                        self.types.remove(override)

    def add_styles(self) -> _Styles:
        rel = next((r for r in self._relations() if str(r.get("Type")).endswith("/styles")), None)
        if rel is None:
            raise PackageError("the workbook has no style table")
        path = self._target(rel)
        table = _StyleTable(self._xml(path))
        bold = table.bold_font()
        header_fill = table.fill(HEADER_COLOUR)
        styles = _Styles(
            header=table.xf(font=bold, fill=header_fill, wrap=True),
            plain=table.xf(),
            wrapped=table.xf(wrap=True),
            numbers={
                kind: table.xf(number_format=BUILTIN_NUMBER_FORMATS[pattern])
                for kind, pattern in NUMBER_FORMATS.items()
            },
            grades={
                grade: table.xf(fill=table.fill(colour), centre=True)
                for grade, colour in GRADE_COLOURS.items()
            },
            no_grade=table.xf(fill=table.fill(NO_GRADE_COLOUR), centre=True),
        )
        self.parts[path] = _serialise(table.root)
        return styles

    def save(self, target: Path) -> None:
        self.parts[self.workbook_path] = _serialise(self.workbook)
        self.parts[self.rels_path] = _serialise(self.rels)
        self.parts["[Content_Types].xml"] = _serialise(self.types)
        # Deflate's fastest level: at national size 0.08 s less a run, for a file 14 % larger (1.4 MB).
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            # [Content_Types].xml first, as Office writes it; the rest in their original order.
            names = sorted(
                (n for n in self.order if self._exists(n)), key=lambda n: n != "[Content_Types].xml"
            )
            for name in names:
                if name in self.parts:
                    archive.writestr(name, self.parts[name])
                else:
                    self._copy(name, archive)

    def _copy(self, name: str, archive: zipfile.ZipFile) -> None:
        """A part as it is, streamed: decompressed and compressed again a megabyte at a time."""
        old = self.archive.getinfo(name)
        new = zipfile.ZipInfo(name, date_time=old.date_time)
        new.compress_type, new.external_attr = old.compress_type, old.external_attr
        with (
            self.archive.open(old) as reading,
            archive.open(new, "w", force_zip64=old.file_size > 2**31) as out,
        ):
            shutil.copyfileobj(reading, out, 1 << 20)


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _serialise(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


class _StyleTable:
    """The package's styles.xml: entries are reused when identical, so repeated runs do not grow it."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root

    def _list(self, name: str, before: tuple[str, ...]) -> etree._Element:
        found = self.root.find(_q(MAIN, name))
        if found is not None:
            return found
        element = etree.Element(_q(MAIN, name))
        anchor = next(
            (self.root.find(_q(MAIN, b)) for b in before if self.root.find(_q(MAIN, b)) is not None), None
        )
        if anchor is None:
            self.root.append(element)
        else:
            anchor.addprevious(element)
        return element

    def _index_of(self, parent: etree._Element, candidate: etree._Element) -> int:
        wanted = _shape(candidate)
        children = [c for c in parent if isinstance(c.tag, str)]
        for index, child in enumerate(children):
            if _shape(child) == wanted:
                return index
        parent.append(candidate)
        parent.set("count", str(len(children) + 1))
        return len(children)

    def bold_font(self) -> int:
        fonts = self._list("fonts", ("fills", "borders", "cellStyleXfs", "cellXfs"))
        base = next((c for c in fonts if isinstance(c.tag, str)), None)
        font = etree.fromstring(etree.tostring(base)) if base is not None else etree.Element(_q(MAIN, "font"))
        for old in font.findall(_q(MAIN, "b")):
            font.remove(old)
        font.insert(0, etree.Element(_q(MAIN, "b")))
        return self._index_of(fonts, font)

    def fill(self, colour: str) -> int:
        fills = self._list("fills", ("borders", "cellStyleXfs", "cellXfs"))
        fill = etree.Element(_q(MAIN, "fill"))
        pattern = etree.SubElement(fill, _q(MAIN, "patternFill"), patternType="solid")
        etree.SubElement(pattern, _q(MAIN, "fgColor"), rgb="FF" + colour)  # ARGB, opaque
        etree.SubElement(pattern, _q(MAIN, "bgColor"), indexed="64")
        return self._index_of(fills, fill)

    def xf(
        self,
        *,
        font: int = 0,
        fill: int = 0,
        number_format: int = 0,
        wrap: bool = False,
        centre: bool = False,
    ) -> int:
        xfs = self._list("cellXfs", ("cellStyles", "dxfs", "tableStyles", "colors", "extLst"))
        xf = etree.Element(
            _q(MAIN, "xf"),
            numFmtId=str(number_format),
            fontId=str(font),
            fillId=str(fill),
            borderId="0",
            xfId="0",
        )
        for flag, used in (("applyNumberFormat", number_format), ("applyFont", font), ("applyFill", fill)):
            if used:
                xf.set(flag, "1")
        # Every cell at the top of its row: beside a wrapped cell, a row is taller than one line.
        xf.set("applyAlignment", "1")
        alignment = etree.SubElement(xf, _q(MAIN, "alignment"), vertical="top")
        if wrap:
            alignment.set("wrapText", "1")
        if centre:
            alignment.set("horizontal", "center")
        return self._index_of(xfs, xf)


def _shape(element: etree._Element) -> tuple[object, ...]:
    """What an XML element says, whatever prefixes its namespaces carry."""
    children = tuple(_shape(c) for c in element if isinstance(c.tag, str))
    return (etree.QName(element).localname, tuple(sorted(element.attrib.items())), children)


# A4 landscape between margins of 0.4 inch: 10.9 inches, or 112 widths of the digit 0 at 100 % (a
# column's width is counted in those, about 7 pixels of 96 to the inch). The text prints at no less
# than 8.5 points of its 11 (77 %), so a page holds at most 145 of them, the columns repeated included.
PAGE_WIDTH_AT_FULL_SIZE = 112
SMALLEST_SCALE = 8.5 / 11


def pages_wide(table: Table) -> int:
    """How many pages' width a tab prints on: as few as keep its text at 8.5 points or more."""
    width = sum(c.width for c in table.columns)
    repeated = sum(c.width for c in table.columns[: table.frozen_columns])
    per_page = PAGE_WIDTH_AT_FULL_SIZE / SMALLEST_SCALE - repeated
    return max(1, math.ceil((width - repeated) / per_page))


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _sheet_xml(table: Table, styles: _Styles) -> bytes:
    # Each distinct text escaped once for the sheet: a district's name, a quarter's label and a status
    # come thousands of times at national size. The cache lives as long as the sheet's XML, no longer.
    text_cell = _TextCells()
    letters = [column_letter(n) for n in range(1, len(table.columns) + 1)]
    last = f"{letters[-1]}{len(table.rows) + 1}"
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<worksheet xmlns="{MAIN}" xmlns:r="{DOC_REL}">',
        # Printed fitted to as many pages' width as keep the text readable (pages_wide); the used range
        # stated, so that a reader need not scan.
        f'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><dimension ref="A1:{last}"/>',
        _sheet_view(table.frozen_columns),
        '<sheetFormatPr defaultRowHeight="15"/><cols>',
        *(
            f'<col min="{n}" max="{n}" width="{c.width}" customWidth="1"/>'
            for n, c in enumerate(table.columns, 1)
        ),
        f"</cols><sheetData>{_row_start(1, row_height(table.columns, table.header, header=True))}",
        *(
            text_cell(f"{letter}1", str(c.title), styles.header)
            for letter, c in zip(letters, table.columns, strict=True)
        ),
        "</row>",
    ]
    kinds = [c.kind for c in table.columns]
    for number, row in enumerate(table.rows, start=2):
        out.append(_row_start(number, row_height(table.columns, row)))
        for letter, kind, value in zip(letters, kinds, row, strict=False):
            if value is not None and value != "":
                out.append(_cell(f"{letter}{number}", kind, value, styles, text_cell))
        out.append("</row>")
    out.append(
        "</sheetData>"
        '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>'
        f'<pageSetup paperSize="9" orientation="landscape" fitToWidth="{pages_wide(table)}" fitToHeight="0"/>'
        "</worksheet>"
    )
    return "".join(out).encode("utf-8")


def _row_start(number: int, height: float | None) -> str:
    return f'<row r="{number}" ht="{height:g}" customHeight="1">' if height else f'<row r="{number}">'


def _sheet_view(frozen_columns: int) -> str:
    if frozen_columns:
        corner = f"{column_letter(frozen_columns + 1)}2"
        pane = (
            f'<pane xSplit="{frozen_columns}" ySplit="1" topLeftCell="{corner}" '
            'activePane="bottomRight" state="frozen"/>'
        )
        selection = f'<selection pane="bottomRight" activeCell="{corner}" sqref="{corner}"/>'
    else:
        pane = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        selection = '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
    return f'<sheetViews><sheetView workbookViewId="0">{pane}{selection}</sheetView></sheetViews>'


def _cell(ref: str, kind: Kind, value: object, styles: _Styles, text_cell: _TextCells) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        text = str(value)
        if kind is Kind.GRADE:
            style = styles.grades.get(text, styles.no_grade)
        else:
            style = styles.wrapped if len(text) > WRAP_LONGER_THAN else styles.plain
        return text_cell(ref, text, style)
    style = (
        styles.grades.get(str(value), styles.no_grade)
        if kind is Kind.GRADE
        else styles.numbers.get(kind, styles.plain)
    )
    number = format(value, "f") if isinstance(value, Decimal) else repr(value)
    return f'<c r="{ref}"{_style(style)}><v>{number}</v></c>'


class _TextCells:
    """Text cells, each distinct (text, style) escaped once. Inline text is text: "=IMPORTRANGE(...)"
    from a response stays those characters, never a formula."""

    def __init__(self) -> None:
        self._tails: dict[tuple[str, int], str] = {}  # what follows the cell's reference

    def __call__(self, ref: str, text: str, style: int) -> str:
        tail = self._tails.get((text, style))
        if tail is None:
            tail = self._tails[(text, style)] = _text_tail(text, style)
        return f'<c r="{ref}"{tail}'


def _text_tail(text: str, style: int) -> str:
    clean = cell_text(_ILLEGAL_XML.sub(REPLACEMENT, text))  # replaced visibly, never dropped unseen
    space = ' xml:space="preserve"' if clean != clean.strip() else ""
    text = html.escape(clean, quote=False)  # &, < and >: what XML text needs, as xml.sax.saxutils does
    return f'{_style(style)} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _style(index: int) -> str:
    return f' s="{index}"' if index else ""
