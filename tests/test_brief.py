"""The executive brief: what an executive reads in the HTML and the PDF, and what it refuses to fetch."""

from __future__ import annotations

import shutil
from pathlib import Path

import fontpkg_sarabun
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from otop_sync import brief
from otop_sync.cli import main
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, DEMO_AS_OF, RESPONSE_HEADER, RESPONSES_TAB, demo_tabs
from otop_sync.errors import BriefError
from otop_sync.outcome import Outcome
from otop_sync.settings import shipped_dir
from otop_sync.sources.memory import MemorySource

from .conftest import CONFIG, bkk, run

TEMPLATES = shipped_dir("templates")


def demo_outcome() -> Outcome:
    return run(MemorySource({t.title: t.rows for t in demo_tabs()}), DEMO_AS_OF)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> brief.BriefFiles:
    return brief.write_brief(
        demo_outcome(), CONFIG, output=tmp_path_factory.mktemp("briefs"), folders=[TEMPLATES]
    )


def test_the_html_names_every_district_with_its_grade_and_needs(rendered: brief.BriefFiles) -> None:
    html = rendered.html.read_text(encoding="utf-8")
    for district in CONFIG.province.districts:
        assert f'<td class="name">{district.name}</td>' in html
    assert "ข้อมูล ณ วันที่ ๑๖ กันยายน ๒๕๖๗" in html
    assert "ไตรมาส ๔/๒๕๖๗" in html
    assert '<td class="grade grade-b">B</td>' in html
    assert "ระดับ A: ลงทะเบียนผลิตภัณฑ์เพิ่มอีก 1 ผลิตภัณฑ์ และยอดจำหน่ายเพิ่มอีก 7,000.01 บาท" in html
    assert "การรายงานรอบที่ 3 (ก.ย. 2567)" in html
    assert "ช้า 3 วัน" in html
    assert "ไม่รู้จักอำเภอ “บึงกาฬ”" in html
    assert "<svg" in html  # the growth chart, with its thresholds
    assert "A 5%" in html
    assert "https://forms.gle/otop-nongkhai-example" in html


def test_the_pdf_is_a4_thai_titled_and_set_in_sarabun(rendered: brief.BriefFiles) -> None:
    reader = PdfReader(rendered.pdf)
    assert len(reader.pages) == rendered.pages == 3
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (
            595,
            842,
        )  # A4 in points
    assert reader.metadata is not None
    assert reader.metadata.title is not None
    assert reader.metadata.title.startswith("สรุปผลโครงการหนึ่งตำบล หนึ่งผลิตภัณฑ์ ไตรมาส 4/2567")
    assert reader.trailer["/Root"]["/Lang"] == "th"
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts <= {"Sarabun", "Sarabun-Bold", "Sarabun-Italic"}
    assert "Sarabun" in fonts


def test_files_are_named_by_quarter_and_date_with_latest_copies(rendered: brief.BriefFiles) -> None:
    assert rendered.pdf.name == "brief-2567Q4-2567-09-16.pdf"
    folder = rendered.pdf.parent
    assert (folder / "brief-latest.pdf").read_bytes() == rendered.pdf.read_bytes()
    assert (folder / "brief-latest.html").read_bytes() == rendered.html.read_bytes()
    assert rendered.pdf.stat().st_mode & 0o777 == 0o644


def test_user_text_is_shown_as_text(tmp_path: Path) -> None:
    hostile = '<script>alert(1)</script><img src="file:///etc/passwd">'
    rows = [RESPONSE_HEADER, (bkk(2024, 9, 10), hostile, "ก.ย. 2567", 3, hostile, "", "", hostile)]
    outcome = run(MemorySource({RESPONSES_TAB: rows, BASE_YEAR_TAB: [BASE_HEADER]}), DEMO_AS_OF)
    html = brief.render_html(outcome, CONFIG, folders=[TEMPLATES])
    assert "<script>" not in html
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_arabic_digits_are_an_option() -> None:
    html = brief.render_html(demo_outcome(), CONFIG, folders=[TEMPLATES], thai_numerals=False)
    assert "ข้อมูล ณ วันที่ 16 กันยายน 2567" in html


def test_the_fetcher_serves_only_its_own_files_and_data_urls(tmp_path: Path) -> None:
    fonts = brief.font_folder()
    fetch = brief._fetcher([TEMPLATES, fonts])
    assert fetch((fonts / "Sarabun-Regular.ttf").as_uri()).read()[:4] == b"\x00\x01\x00\x00"
    assert fetch("data:text/plain;base64,b2s=").read() == b"ok"
    for url in (
        "file:///etc/passwd",
        "http://example.invalid/x.png",
        "https://example.invalid/",
        (TEMPLATES / ".." / ".." / "etc").as_uri(),
        "ftp://example.invalid/a",
    ):
        with pytest.raises(ValueError, match="does not fetch"):
            fetch(url)


def custom_templates(tmp_path: Path, change: str) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    page = folder / "brief.html.j2"
    page.write_text(
        page.read_text(encoding="utf-8").replace("<body>", "<body>" + change, 1), encoding="utf-8"
    )
    return folder


def test_links_to_files_and_hosts_fetch_nothing_and_rendering_goes_on(tmp_path: Path) -> None:
    folder = custom_templates(
        tmp_path, '<img src="file:///etc/passwd"><img src="http://example.invalid/a.png">'
    )
    files = brief.write_brief(demo_outcome(), CONFIG, output=tmp_path / "out", folders=[folder, TEMPLATES])
    assert files.pages == 3
    assert b"root:" not in files.pdf.read_bytes()


def test_a_font_other_than_sarabun_fails_loudly(tmp_path: Path) -> None:
    folder = custom_templates(tmp_path, '<p style="font-family: monospace">fallback</p>')
    with pytest.raises(BriefError, match="instead of Sarabun"):
        brief.write_brief(demo_outcome(), CONFIG, output=tmp_path / "out", folders=[folder, TEMPLATES])
    assert not (tmp_path / "out").exists()


def test_a_missing_thai_font_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fontpkg_sarabun, "ROOT", tmp_path)
    with pytest.raises(BriefError, match=r"the Thai font Sarabun-Regular\.ttf is missing"):
        brief.render_html(demo_outcome(), CONFIG, folders=[TEMPLATES])


def test_rendering_has_a_time_limit(tmp_path: Path) -> None:
    with pytest.raises(BriefError, match=r"took longer than 0\.01 s"):
        brief.write_brief(demo_outcome(), CONFIG, output=tmp_path, folders=[TEMPLATES], timeout_seconds=0.01)


def test_run_writes_the_brief_after_the_tabs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--as-of", "2024-09-13T08:00"]) == 0
    assert sorted(p.name for p in (tmp_path / "briefs").iterdir()) == [
        "brief-2567Q4-2567-09-13.html",
        "brief-2567Q4-2567-09-13.pdf",
        "brief-latest.html",
        "brief-latest.pdf",
    ]


def test_no_brief_and_dry_run_write_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--no-brief"]) == 0
    assert main(["run", "--dry-run"]) == 0
    assert not (tmp_path / "briefs").exists()


def test_a_dry_run_on_the_demo_writes_nothing_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTOP_SYNC_CONFIG", raising=False)
    assert main(["run", "--dry-run"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_a_template_error_is_one_line_and_keeps_the_previous_brief_and_the_tabs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 0
    previous = (tmp_path / "briefs" / "brief-latest.pdf").read_bytes()
    config = tmp_path / "config"
    shutil.copytree(shipped_dir("config"), config)
    broken = custom_templates(tmp_path, "{% if %}")
    province = config / "province.toml"
    province.write_text(
        province.read_text(encoding="utf-8").replace('templates = ""', f'templates = "{broken}"'),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["run", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"otop-sync: error: template {broken / 'brief.html.j2'}: line 16: Expected an")
    assert (tmp_path / "briefs" / "brief-latest.pdf").read_bytes() == previous
    assert len(list(load_workbook(tmp_path / "otop-sync-demo.xlsx")["บันทึกการประมวลผล"].iter_rows())) == 3


def test_brief_command_writes_no_tab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    before = (tmp_path / "otop-sync-demo.xlsx").read_bytes()
    assert main(["brief", "--workbook", "otop-sync-demo.xlsx", "--as-of", "2024-09-15T08:00"]) == 0
    assert (tmp_path / "briefs" / "brief-2567Q4-2567-09-15.pdf").exists()
    assert (tmp_path / "otop-sync-demo.xlsx").read_bytes() == before


def test_qr_command_writes_svg_and_png(tmp_path: Path) -> None:
    assert main(["qr", "--output", str(tmp_path)]) == 0
    assert (tmp_path / "form-qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "form-qr.svg").read_text()
