"""The workbook adapter on its own: what it reads from cells, and that it writes all or nothing."""

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from otop_sync.cells import Formula
from otop_sync.cli import main
from otop_sync.errors import SourceError
from otop_sync.responses import Tab
from otop_sync.sources.workbook import WorkbookSource, save_atomically, write_new_workbook

from .conftest import CONFIG


def test_cells_keep_their_types_and_formulas_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    header = ("ประทับเวลา", "อำเภอ", "เดือนที่รายงาน", *CONFIG.form.columns["new_products"],
              *CONFIG.form.columns["sales"])  # fmt: skip
    write_new_workbook(path, [
        Tab("Form Responses 1", (header, (datetime(2024, 8, 1, 9), "ท่าบ่อ", "ส.ค. 2567", 2, Formula("=1+1")))),
        Tab("ยอดจำหน่ายปีฐาน", (("อำเภอ", "เดือน", "ยอดจำหน่าย (บาท)"),)),
    ])  # fmt: skip
    data = WorkbookSource(path).read(CONFIG.form)
    assert data.responses.title == "Form Responses 1"
    assert data.responses.rows[1] == (datetime(2024, 8, 1, 9), "ท่าบ่อ", "ส.ค. 2567", 2, Formula("=1+1"))
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
