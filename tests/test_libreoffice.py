"""The workbook otop_sync writes, opened by a real spreadsheet program: LibreOffice Calc, headless.

openpyxl reading back what otop_sync wrote only proves the two agree. LibreOffice is the program an
office without Excel opens the workbook with: it must read every owned tab as written, and keep the
row heights that show wrapped text whole (it does not fit rows to text another program wrote).

Without LibreOffice (`apt-get install libreoffice-calc-nogui`) these tests are skipped, unless
OTOP_SYNC_REQUIRE_LIBREOFFICE is set, as `.ci/run` sets it: there a missing LibreOffice fails.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from otop_sync.cli import main
from otop_sync.tables import LINE_HEIGHT

SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None and not os.environ.get("OTOP_SYNC_REQUIRE_LIBREOFFICE"),
    reason="LibreOffice is not installed: apt-get install libreoffice-calc-nogui",
)
OWNED = ("สรุปผล", "ผลรายไตรมาส", "ตรวจสอบข้อมูล", "บันทึกการประมวลผล")
# LibreOffice's CSV filter: comma, double quote, UTF-8, from row 1, values not as shown, every sheet
# into a file of its own (the last token, -1; LibreOffice 7.2 and later).
ALL_SHEETS_AS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("libreoffice")
    path = folder / "otop.xlsx"
    assert main(["demo", "--output", str(path)]) == 0
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-16T08:00", "--no-brief"]) == 0
    return path


def convert(path: Path, target: str, out: Path) -> None:
    assert SOFFICE is not None, "LibreOffice is required here: apt-get install libreoffice-calc-nogui"
    out.mkdir()
    profile = (out / "profile").as_uri()  # its own profile: no clash with another LibreOffice running
    command = [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", target]
    done = subprocess.run(
        [*command, "--outdir", str(out), str(path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_libreoffice_reads_every_owned_tab_as_written(written: Path, tmp_path: Path) -> None:
    convert(written, ALL_SHEETS_AS_CSV, tmp_path / "csv")
    book = load_workbook(written)
    seen_tabs = {}
    for title in OWNED:
        with (tmp_path / "csv" / f"{written.stem}-{title}.csv").open(encoding="utf-8", newline="") as file:
            seen = seen_tabs[title] = list(csv.reader(file))
        ours = [["" if v is None else str(v) for v in row] for row in book[title].iter_rows(values_only=True)]
        assert len(seen) == len(ours), title
        # Text is compared cell for cell (numbers are LibreOffice's to print: 1400000 or 1400000.0).
        for read, wrote in zip(seen, ours, strict=True):
            for a, b in zip(read, wrote, strict=False):
                if not b.replace(".", "").replace("-", "").isdigit():
                    assert a == b, title
    assert seen_tabs["สรุปผล"][0][12:15] == ["รอบ ก.ค. ๒๕๖๗", "รอบ ส.ค. ๒๕๖๗", "รอบ ก.ย. ๒๕๖๗"]


def test_libreoffice_keeps_the_row_heights_that_show_wrapped_text(written: Path, tmp_path: Path) -> None:
    convert(written, "xlsx", tmp_path / "saved")
    ours, theirs = load_workbook(written), load_workbook(tmp_path / "saved" / written.name)
    for title in ("สรุปผล", "ตรวจสอบข้อมูล"):
        tall = {n: d.height for n, d in ours[title].row_dimensions.items() if d.height}
        assert tall, title  # the needs and the remedies wrap
        assert min(tall.values()) >= 2 * LINE_HEIGHT
        for number, height in tall.items():
            assert theirs[title].row_dimensions[number].height == pytest.approx(height, abs=1), (
                title,
                number,
            )


def test_a_workbook_saved_again_by_libreoffice_grades_the_same(
    written: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A coordinator opens the workbook in LibreOffice and saves it: LibreOffice writes every tab again,
    # its own way (shared strings, its styles, dates as styled numbers). The next run must read the
    # answers, the base year and the closed quarters exactly as before.
    run = ["run", "--as-of", "2024-09-16T08:00", "--no-brief", "--dry-run", "--json"]
    assert main([*run, "--workbook", str(written)]) == 0
    before = json.loads(capsys.readouterr().out)
    convert(written, "xlsx", tmp_path / "saved")
    assert main([*run, "--workbook", str(tmp_path / "saved" / written.name)]) == 0
    after = json.loads(capsys.readouterr().out)
    assert {**after, "computed_at": None} == {**before, "computed_at": None}
    assert before["rows"] == {"read": 33, "used": 12, "superseded": 16, "rejected": 5}


def test_the_owned_tabs_print_readable_on_a4_landscape_with_their_header_on_every_page(
    written: Path, tmp_path: Path
) -> None:
    # As a coordinator prints them from LibreOffice: the tabs otop_sync owns (the last four) print on A4
    # landscape, no text smaller than 8 points, the header row on every page, and on the results tabs
    # the district's code and name too (before: 17 columns squeezed onto one page at about 5 points).
    from pypdf import PdfReader

    convert(written, "pdf", tmp_path / "pdf")
    pages = PdfReader(tmp_path / "pdf" / f"{written.stem}.pdf").pages
    shapes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages]
    first = shapes.index((842, 595))  # the responses and base-year tabs come first, as their owner set them
    owned = pages[first:]
    assert set(shapes[first:]) == {(842, 595)}
    assert len(owned) >= 8
    for number, page in enumerate(owned, first + 1):
        text = page.extract_text()
        # A title of the first and of the last columns of each tab, whichever page of its width this is;
        # words without sara am, which LibreOffice's PDF maps back to "ำา" and pypdf reads so.
        headers = ("รหัส", "หมายเหตุ", "แถวที่", "สถานะ", "ประมวลผลเมื่อ", "ระดับที่เปลี่ยน")
        assert any(header in text for header in headers), f"page {number} has no header row"
        if any(code in text for code in ("4301", "4317")):
            assert "รหัส" in text, f"page {number} lacks the header of the district's code"
            assert "เมืองหนองคาย" in text, f"page {number} lacks the districts' names"
        sizes = printed_sizes(page)
        assert sizes, f"page {number} has no text"
        assert min(sizes) >= 8, f"page {number}: text at {min(sizes):.1f} pt"


def printed_sizes(page: Any) -> list[float]:
    """The size of every piece of text on a PDF page as printed: its font size times the text and the
    page's transformations (LibreOffice scales a page fitted to a width with the latter)."""
    sizes: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            scale = (cm[0] ** 2 + cm[1] ** 2) ** 0.5 * (tm[0] ** 2 + tm[1] ** 2) ** 0.5
            sizes.append(size * scale)

    page.extract_text(visitor_text=visit)
    return sizes
