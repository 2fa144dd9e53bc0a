"""The workbook adapter on its own: what it reads from cells, and that it writes all or nothing."""

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from otop_sync.cells import Formula
from otop_sync.cli import main
from otop_sync.demo import BASE_YEAR_TAB, RESPONSES_TAB
from otop_sync.errors import SourceError
from otop_sync.responses import Tab
from otop_sync.sources.workbook import WorkbookSource, save_atomically, write_new_workbook
from otop_sync.sources.xlsx_package import replace_sheets
from otop_sync.tables import LINE_HEIGHT, Column, Kind, Table, row_height, text_lines

from .conftest import CONFIG


def test_cells_keep_their_types_and_formulas_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    header = (
        "ประทับเวลา",
        "อำเภอ",
        "เดือนที่รายงาน",
        *CONFIG.form.columns["new_products"],
        *CONFIG.form.columns["sales"],
    )
    write_new_workbook(
        path,
        [
            Tab(
                "Form Responses 1",
                (header, (datetime(2024, 8, 1, 9), "ท่าบ่อ", "ส.ค. 2567", 2, Formula("=1+1"))),
            ),
            Tab("ยอดจำหน่ายปีฐาน", (("อำเภอ", "เดือน", "ยอดจำหน่าย (บาท)"),)),
        ],
    )
    data = WorkbookSource(path).read(CONFIG.form)
    assert [tab.title for tab in data.responses] == ["Form Responses 1"]
    assert data.responses[0].rows[1] == (datetime(2024, 8, 1, 9), "ท่าบ่อ", "ส.ค. 2567", 2, Formula("=1+1"))
    assert data.previous_quarterly is None


def test_a_failed_save_leaves_no_temporary_file_and_says_so(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot be written"):
        save_atomically(Workbook(), tmp_path / "missing-folder" / "w.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_other_tabs_keep_their_cells_and_styles(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    assert main(["demo", str(path)]) == 0
    book = load_workbook(path)
    notes = book.create_sheet("บันทึกของผู้ประสานงาน")
    notes["A1"] = "ประชุมวันที่ 20"
    notes["A1"].font = Font(bold=True)
    book.save(path)
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-16T08:00"]) == 0
    kept = load_workbook(path)["บันทึกของผู้ประสานงาน"]
    assert kept["A1"].value == "ประชุมวันที่ 20"
    assert kept["A1"].font.b


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_input_tabs_and_other_parts_stay_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    assert main(["demo", str(path)]) == 0
    book = load_workbook(path)
    chart_sheet = book.create_sheet("กราฟของจังหวัด")
    for row in (("เดือน", "ยอด"), ("ก.ค.", 10), ("ส.ค.", 20)):
        chart_sheet.append(row)
    chart = BarChart()
    chart.add_data(Reference(chart_sheet, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    chart_sheet.add_chart(chart, "D2")
    book.save(path)
    before = parts(path)
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-16T08:00"]) == 0
    after = parts(path)
    untouched = [
        n
        for n in before
        if n.startswith(("xl/worksheets/", "xl/charts/", "xl/drawings/", "xl/sharedStrings"))
    ]
    assert any(n.startswith("xl/charts/") for n in untouched)
    for name in untouched:
        assert after[name] == before[name], name
    reread = load_workbook(path)
    assert reread.sheetnames[:3] == [RESPONSES_TAB, BASE_YEAR_TAB, "กราฟของจังหวัด"]


def test_repeated_runs_do_not_grow_the_style_table(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    assert main(["demo", str(path)]) == 0
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-16T08:00"]) == 0
    first = parts(path)
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-16T08:00"]) == 0
    second = parts(path)
    assert second["xl/styles.xml"] == first["xl/styles.xml"]
    assert second["xl/workbook.xml"] == first["xl/workbook.xml"]


def test_control_characters_in_user_text_do_not_corrupt_the_file(tmp_path: Path) -> None:
    # The Sheets API hands over any character; XML 1.0 cannot hold most control characters.
    path = tmp_path / "w.xlsx"
    write_new_workbook(path, [Tab("ข้อมูล", (("หัวข้อ",),))])
    text = " หมายเหตุ\x07<b>&</b>\x0b "
    table = Table(
        "สรุปผล", (Column("หมายเหตุ"), Column("ระดับ", Kind.GRADE)), ((text, "A"), ("\ud800x", "ไม่จัดระดับ"))
    )
    replace_sheets(path, tmp_path / "out.xlsx", [table])
    rows = list(load_workbook(tmp_path / "out.xlsx")["สรุปผล"].iter_rows(values_only=True))
    # Replaced visibly ("�"), never dropped where nobody sees it.
    assert rows == [("หมายเหตุ", "ระดับ"), (" หมายเหตุ�<b>&</b>� ", "A"), ("�x", "ไม่จัดระดับ")]


def test_a_write_without_a_read_is_refused_rather_than_losing_the_run_log(tmp_path: Path) -> None:
    from otop_sync.sources.contract import Writes

    path = tmp_path / "w.xlsx"
    assert main(["demo", str(path)]) == 0
    before = path.read_bytes()
    with pytest.raises(SourceError, match=r"write\(\) before read\(\)"):
        WorkbookSource(path).write(Writes((), Table("บันทึกการประมวลผล", (Column("x"),), ())))
    assert path.read_bytes() == before


def test_excels_escapes_in_text_are_read_as_the_characters_they_stand_for(tmp_path: Path) -> None:
    from otop_sync.sources.xlsx_reader import open_workbook

    from .builders import sheet_part, with_part

    path, escaped = tmp_path / "w.xlsx", tmp_path / "escaped.xlsx"
    write_new_workbook(path, [Tab("ข้อมูล", (("หมายเหตุ",), ("REMARK",)))])
    part = sheet_part(path, "ข้อมูล")
    # How Excel stores a line break typed on Windows, and a control character XML cannot hold.
    with_part(path, escaped, part, lambda xml: xml.replace(b"REMARK", b"line one_x000D_\nline two_x0007_"))
    with open_workbook(escaped) as book:
        assert book.tab("ข้อมูล").rows[1] == ("line one\r\nline two\ufffd",)


def test_a_row_is_as_tall_as_its_longest_wrapped_text() -> None:
    # Thai vowels and tone marks sit on a letter: 40 letters with 80 marks are one line of a 48 column.
    assert text_lines("ก" * 40, 48) == text_lines("กี่" * 40, 48) == 1
    assert text_lines("ก" * 60, 48) == 2
    assert text_lines("สั้น\nสั้น\nสั้น", 48) == 3  # line breaks typed in a remark
    needs = "ระดับ A: " + "ยอดจำหน่ายเพิ่มอีก 7,000.01 บาท " * 4
    columns = (Column("อำเภอ"), Column("สิ่งที่ต้องทำ", width=48))
    assert row_height(columns, ("ท่าบ่อ", needs)) == 3 * LINE_HEIGHT
    assert row_height(columns, ("ท่าบ่อ", "ได้ระดับสูงสุดแล้ว")) is None  # one line: Excel's default height
    assert row_height(columns, ("อำเภอ", "สิ่งที่ต้องทำเพื่อเลื่อนระดับ"), header=True) is None


@pytest.mark.parametrize(
    ("number_format", "serial", "expected"),
    [
        ("mm-dd-yy", 45000, datetime(2023, 3, 15)),  # built-in 14, Excel's short date
        ("[$-th-TH]d mmm yy", 45000, datetime(2023, 3, 15)),  # Thai Excel's date, with its locale
        ("ว/ด/ปปปป", 45000, datetime(2023, 3, 15)),  # the Thai locale's own letters for d/m/y
        ("yyyy-mm", 45000, datetime(2023, 3, 15)),
        ("h:mm", 0.5, "12:00:00"),  # a time of day is shown, not read as a date
        ("mm:ss", 0.5, "12:00:00"),  # m beside s is minutes
        ("[h]:mm", 1.25, "1 day, 6:00:00"),  # an elapsed time: the brackets are not a colour
        ("[mm]:ss", 0.5, "12:00:00"),
        ("[Red]#,##0.00", 45000, 45000),  # a colour is not a format letter
        ('#,##0 "บาท"', 45000, 45000),  # nor is quoted text
        ("General", 45000, 45000),
    ],
)
def test_a_number_is_read_as_its_format_shows_it(
    tmp_path: Path, number_format: str, serial: float, expected: object
) -> None:
    from otop_sync.sources.xlsx_reader import open_workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "ข้อมูล"
    sheet.append(["ค่า"])
    sheet.cell(row=2, column=1, value=serial).number_format = number_format
    path = tmp_path / "formats.xlsx"
    book.save(path)
    with open_workbook(path) as opened:
        assert opened.tab("ข้อมูล").rows[1] == (expected,)


def test_a_workbook_reached_through_a_link_is_written_where_the_link_points(tmp_path: Path) -> None:
    # An office keeps the workbook on a shared folder and links to it: the run must update that file,
    # not put a copy in place of the link.
    shared = tmp_path / "shared" / "otop.xlsx"
    shared.parent.mkdir()
    assert main(["demo", str(shared)]) == 0
    link = tmp_path / "otop.xlsx"
    link.symlink_to(shared)
    assert main(["run", "--workbook", str(link), "--as-of", "2024-09-16T08:00", "--no-brief"]) == 0
    assert link.is_symlink()
    assert link.resolve() == shared.resolve()
    with zipfile.ZipFile(shared) as package:
        assert "สรุปผล" in package.read("xl/workbook.xml").decode()
    # Its lock lay beside the file, where a run through another link or path finds it too, and is gone.
    assert sorted(p.name for p in shared.parent.iterdir()) == ["otop.xlsx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["otop.xlsx", "shared"]
    # Excel marks the file itself as open, beside it: a run through the link sees that too.
    (shared.parent / "~$otop.xlsx").write_bytes(b"")
    assert main(["run", "--workbook", str(link), "--as-of", "2024-09-16T08:00", "--no-brief"]) == 1


def test_a_strict_open_xml_workbook_is_one_line_saying_how_to_save_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Excel's Save As offers "Strict Open XML Spreadsheet (*.xlsx)" beside "Excel Workbook (*.xlsx)": the
    # same extension, every part in other namespaces. It is not damaged, and saying so would mislead.
    plain, strict = tmp_path / "plain.xlsx", tmp_path / "strict.xlsx"
    assert main(["demo", str(plain)]) == 0
    renames = {
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
            b"http://purl.oclc.org/ooxml/officeDocument/relationships"
        ),
    }
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(strict, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            for transitional, purl in renames.items():
                data = data.replace(transitional, purl)
            new.writestr(info.filename, data)
    before = strict.read_bytes()
    assert main(["run", "--workbook", str(strict), "--as-of", "2024-09-16T08:00", "--no-brief"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"otop-sync: error: {strict}: it is saved as a Strict Open XML Spreadsheet, which otop_sync does "
        "not read: in Excel, File > Save As > Excel Workbook (*.xlsx)"
    )
    assert strict.read_bytes() == before


@pytest.mark.parametrize("name", ["otop.xls", "otop.ods", "otop.xlsm", "otop.csv"])
def test_a_file_of_another_kind_is_one_line_saying_how_to_save_it(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(b"not read")
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-16T08:00", "--no-brief"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"otop-sync: error: {path}: not an .xlsx workbook; open it in Excel or LibreOffice and save it as "
        "an Excel Workbook (.xlsx)"
    )
    assert path.read_bytes() == b"not read"


def test_a_folder_given_as_the_workbook_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in (tmp_path, tmp_path / "otop.xlsx"):  # a folder, even one named like a workbook
        folder.mkdir(exist_ok=True)
        assert main(["run", "--workbook", str(folder), "--as-of", "2024-09-16T08:00", "--no-brief"]) == 1
        assert capsys.readouterr().err.strip().splitlines()[-1] == (
            f"otop-sync: error: {folder}: a folder, not a workbook; name the .xlsx file in it"
        )
