"""Builders for tests: an app whose state is a temporary folder, a target over a memory source, and
edits to a copy of the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from otop_sync.app import App, Channel, Target
from otop_sync.config import Config
from otop_sync.sources.contract import Source


def app_in(
    folder: Path, config: Config, *, clock: Callable[[], datetime], channel: Channel | None = None
) -> App:
    """An app keeping its state (run record, locks, what was sent) in `folder`."""
    config = replace(config, service=replace(config.service, state_dir=folder))
    return App(config, clock=clock, channel=(lambda: channel) if channel is not None else None)


def edit(folder: Path, name: str, old: str, new: str) -> None:
    """Change `old` to `new` in a file of a configuration folder (it must be there, once)."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def target_of(source: Source, folder: Path) -> Target:
    return Target(source, folder / "memory.lock", "a spreadsheet in memory")


def with_part(source: Path, target: Path, name: str, content: bytes | Callable[[bytes], bytes]) -> None:
    """A copy of the package `source` in which part `name` holds `content` (or what it makes of the old)."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == name:
                data = content(data) if callable(content) else content
            new.writestr(info.filename, data)


def sheet_part(path: Path, title: str) -> str:
    """The package part that holds the tab `title`."""
    from otop_sync.sources.xlsx_reader import open_workbook

    with open_workbook(path) as book:
        return book.parts[title]


# The hostile workbooks of issue 11, built from a clean one (the tests' and benchmarks/hostile.py's).


def junk_rows(xml: bytes, rows: bytes) -> bytes:
    """A sheet's XML with `rows` added after its last row."""
    return xml.replace(b"</sheetData>", rows + b"</sheetData>")


def xfd_rows(source: Path, target: Path, title: str, count: int = 200_000) -> None:
    """`source` with `count` more rows in tab `title`, each a cell in the last column Excel has (XFD)."""
    import zipfile

    with zipfile.ZipFile(source) as package:
        last = package.read(sheet_part(source, title)).count(b"<row ")
    rows = b"".join(
        b'<row r="%d"><c r="XFD%d" t="inlineStr"><is><t>x</t></is></c></row>' % (n, n)
        for n in range(last + 1, last + count + 1)
    )
    with_part(source, target, sheet_part(source, title), lambda xml: junk_rows(xml, rows))


def blank_rows(source: Path, target: Path, title: str, megabytes: int = 300) -> None:
    """`source` whose tab `title` expands to `megabytes` of one blank row repeated: a file of about 1 MB."""
    import zipfile

    part = sheet_part(source, title)
    blank = b'<row r="99999"><c r="A99999"/></row>' * 10_000
    with (
        zipfile.ZipFile(source) as old,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as new,
    ):
        for info in old.infolist():
            if info.filename != part:
                new.writestr(info.filename, old.read(info))
                continue
            head, tail = old.read(info).split(b"</sheetData>")
            with new.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                for _ in range(megabytes * 1_000_000 // len(blank)):
                    sheet.write(blank)
                sheet.write(b"</sheetData>" + tail)


def with_picture(source: Path, target: Path, megabytes: int = 250) -> None:
    """`source` with a picture of `megabytes` (zeros: about 1 KB a megabyte compressed), never read."""
    import shutil
    import zipfile

    shutil.copy(source, target)
    with (
        zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as package,
        package.open("xl/media/image1.png", "w") as picture,
    ):
        for _ in range(megabytes):
            picture.write(b"\0" * 1_000_000)


def shared_string_rows(
    source: Path, target: Path, title: str, *, rows: int = 2_000, length: int = 1_000_000
) -> None:
    """`source` with `rows` more rows in tab `title`, every cell of them a reference to one shared string
    of `length` characters: a file of tens of kilobytes whose text, read naively, is gigabytes."""
    import zipfile

    part = sheet_part(source, title)
    with zipfile.ZipFile(source) as package:
        last = package.read(part).count(b"<row ")
    added = b"".join(
        b'<row r="%d">' % n
        + b"".join(
            b'<c r="%s%d" t="s"><v>0</v></c>' % (column, n)
            for column in (b"A", b"B", b"C", b"D", b"E", b"F", b"G", b"H")
        )
        + b"</row>"
        for n in range(last + 1, last + rows + 1)
    )
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        + b"<si><t>"
        + "ส่งแล้ว ".encode() * (length // 8)
        + b"</t></si></sst>"
    )
    relation = (
        b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml" Id="rIdStrings"/></Relationships>'
    )
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == part:
                data = junk_rows(data, added)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", relation)
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override)
            new.writestr(info.filename, data)
        new.writestr("xl/sharedStrings.xml", strings)
