"""The executive brief: what an executive reads in the HTML and the PDF, and what it refuses to fetch."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import fontpkg_sarabun
import lxml.html
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from otop_sync import brief, brief_files, brief_pdf, brief_renderer
from otop_sync.cells import VALUE_LIMIT
from otop_sync.charts import GRADE_COLOURS
from otop_sync.cli import main
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, DEMO_AS_OF, RESPONSE_HEADER, RESPONSES_TAB, demo_tabs
from otop_sync.errors import BriefError
from otop_sync.outcome import Outcome
from otop_sync.periods import thai_digits
from otop_sync.rules import District
from otop_sync.settings import shipped_dir
from otop_sync.sources.memory import MemorySource

from .conftest import CONFIG, answer, bkk, run

TEMPLATES = shipped_dir("templates")


def demo_source() -> MemorySource:
    return MemorySource({t.title: t.rows for t in demo_tabs()})


def demo_outcome() -> Outcome:
    return run(demo_source(), DEMO_AS_OF)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> brief_files.BriefFiles:
    return brief_files.write_brief(
        demo_outcome(), CONFIG, output=tmp_path_factory.mktemp("briefs"), folders=[TEMPLATES]
    )


def test_the_html_names_every_district_with_its_grade_and_needs(rendered: brief_files.BriefFiles) -> None:
    html = rendered.html.read_text(encoding="utf-8")
    for district in CONFIG.province.districts:
        assert f'<td class="name">{district.name}</td>' in html
    assert "ข้อมูล ณ วันที่ ๑๖ กันยายน ๒๕๖๗" in html
    assert "ไตรมาส ๔/๒๕๖๗" in html
    assert '<td class="grade grade-b">B</td>' in html
    assert "ระดับ A: ลงทะเบียนผลิตภัณฑ์เพิ่มอีก ๑ ผลิตภัณฑ์ และยอดจำหน่ายเพิ่มอีก ๗,๐๐๐.๐๑ บาท" in html
    assert "(อัตราเพิ่มต้องมากกว่าร้อยละ ๕ ขาดอีก ๐.๗๔ จุด)" in html
    assert "การรายงานรอบที่ ๓ (ก.ย. ๒๕๖๗) (กำหนดส่ง ๑๕ กันยายน ๒๕๖๗ เวลา ๒๓.๕๙ น.)" in html
    assert "ช้า ๓ วัน" in html
    assert "ไม่รู้จักอำเภอ “บึงกาฬ”" in html
    assert "<svg" in html  # the growth chart, with its thresholds
    assert "เกณฑ์ A ๕" in html
    assert "https://forms.gle/otop-nongkhai-example" in html


def visible_text(html: str) -> str:
    """What a reader sees: the text of the page and of its charts, not its styles or attributes."""
    root = lxml.html.fromstring(html)
    for style in root.iter("style"):
        style.drop_tree()
    return " ".join(root.itertext())


def test_one_digit_style_throughout_and_per_cent_in_words(rendered: brief_files.BriefFiles) -> None:
    text = visible_text(rendered.html.read_text(encoding="utf-8"))
    # Arabic digits are left only where a reader must match them character for character: what a
    # district typed, quoted; a tab's title, quoted; the form's link; a telephone number, to tap.
    as_typed = re.compile(r"“[^”]*”|https?://\S+|\b0\d{8,9}\b")
    assert re.findall(r"[0-9]", as_typed.sub("", text)) == []
    assert "%" not in text
    assert "ร้อยละ" in text
    assert "แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ ๒๗" in text


def test_arabic_digits_are_the_other_style(tmp_path: Path) -> None:
    config = replace(CONFIG, brief=replace(CONFIG.brief, thai_numerals=False))
    text = visible_text(brief.render_html(demo_outcome(), config, folders=[TEMPLATES]))
    assert "ข้อมูล ณ วันที่ 16 กันยายน 2567" in text
    assert re.findall("[๐-๙]", text) == []


def test_nothing_is_set_in_italics(rendered: brief_files.BriefFiles) -> None:
    html = rendered.html.read_text(encoding="utf-8")
    assert "italic" not in html.lower().replace("no italics", "")
    assert "<i>" not in html
    assert "<em>" not in html


def bar_colour(html: str, district: str, chart: int) -> str:
    """The fill of `district`'s bar in the `chart`-th chart of the page."""
    svg = re.findall(r"<svg.*?</svg>", html, flags=re.S)[chart]
    found = re.search(f'{district}</text><rect [^>]*fill="(#[0-9a-f]+)"', svg)
    assert found, district
    return found[1]


def test_charts_colour_bars_by_their_criterion_and_say_so(rendered: brief_files.BriefFiles) -> None:
    html = rendered.html.read_text(encoding="utf-8")
    # ศรีเชียงใหม่: growth +8 % (level A on sales) but no new product (level D on products): grade D.
    assert bar_colour(html, "ศรีเชียงใหม่", 0) == GRADE_COLOURS["A"]
    assert bar_colour(html, "ศรีเชียงใหม่", 1) == GRADE_COLOURS["D"]
    assert "สีของแท่ง: ระดับที่ได้ด้านยอดจำหน่าย" in html
    assert "สีของแท่ง: ระดับที่ได้ด้านผลิตภัณฑ์" in html
    for level in ("ระดับ A", "ระดับ B", "ระดับ C", "ระดับ D", "ไม่มีข้อมูล"):
        assert html.count(f">{level}</text>") >= 2  # in both legends


def test_every_problem_says_who_sent_it_when_and_what_to_do(rendered: brief_files.BriefFiles) -> None:
    text = visible_text(rendered.html.read_text(encoding="utf-8"))
    outcome = demo_outcome()
    assert outcome.rejections
    assert outcome.flags
    # Every problem still to fix; one a later report replaced is no longer news (ตรวจสอบข้อมูล keeps it).
    for problem in (*outcome.rejections, *outcome.flags):
        listed = f"แถวที่ {thai_digits(str(problem.row))}" in text
        assert listed == (problem.state == "unresolved"), problem
    assert "ส่งเมื่อ ๑๐ ก.ย. ๒๕๖๗ ๑๐.๐๐ น." in text
    assert "นายประเสริฐ มั่นคง โทร. 0812345605" in text
    assert "ส่งแบบฟอร์มใหม่ โดยเลือกเดือนที่รายงาน (ไม่เกินเดือนที่ส่ง) เช่น “กรกฎาคม 2567”" in text


def test_the_last_round_shows_the_fiscal_year_by_quarter(rendered: brief_files.BriefFiles) -> None:
    html = rendered.html.read_text(encoding="utf-8")
    assert "ผลรายไตรมาส ปีงบประมาณ ๒๕๖๗" in html
    year = lxml.html.fromstring(html).find_class("year")[0]
    rows = {
        r[0].text_content(): [c.text_content() for c in r[1:]] for r in year.iter("tr") if r[0].tag == "td"
    }
    assert len(rows) == len(CONFIG.province.districts)
    # เมืองหนองคาย in the demo: graded B in Q3 and A in Q4, as the tab ผลรายไตรมาส holds them.
    assert rows["เมืองหนองคาย"][2:] == ["B · +๔.๑๗", "A · +๖.๘๗"]
    earlier = brief.render_html(run(demo_source(), bkk(2024, 8, 20, 9)), CONFIG, folders=[TEMPLATES])
    assert "ผลรายไตรมาส ปีงบประมาณ" not in earlier  # the second round of the quarter: not yet


def test_a_national_brief_summarises_its_charts_and_moves_the_tables_to_an_annex() -> None:
    districts = tuple(District(f"{9000 + i}", f"อำเภอทดสอบ{i}", ()) for i in range(60))
    config = replace(CONFIG, province=replace(CONFIG.province, districts=districts))
    answers = [
        answer(bkk(2024, 9, 10), d.name, "ก.ย. 2567", i % 5, 100000 + 1000 * i)
        for i, d in enumerate(districts)
    ]
    months = ("ก.ค. 2566", "ส.ค. 2566", "ก.ย. 2566")
    base = [BASE_HEADER, *[(d.name, month, 35000) for d in districts for month in months]]
    outcome = run(
        MemorySource({RESPONSES_TAB: [RESPONSE_HEADER, *answers], BASE_YEAR_TAB: base}),
        bkk(2024, 9, 16),
        config=config,
    )
    html = brief.render_html(outcome, config, folders=[TEMPLATES])
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)[:2]
    assert "จำนวนอำเภอในแต่ละระดับ ภาพรวมและรายด้าน" in charts[0]
    assert "สูงสุด ๑๐ และต่ำสุด ๑๐ อำเภอ" in charts[1]
    assert charts[1].count("<rect") - 5 == 20  # twenty bars, beside the legend's five swatches
    assert "อำเภอทดสอบ59</text>" in charts[1]  # the highest growth
    assert "อำเภอทดสอบ0</text>" in charts[1]  # the lowest
    body, annex = html.split('<section class="annex">')
    assert '<table class="results">' not in body
    assert "ภาคผนวก ผลรายอำเภอ (๖๐ อำเภอ)" in annex
    table = lxml.html.fromstring(annex).find_class("annex-table")[0]
    rows = [[c.text_content() for c in r] for r in table.iter("tr")][1:]
    assert [r[0] for r in rows] == [d.name for d in districts]
    # One row says it all: figures, grade, both criteria, every round, the fiscal year's quarters.
    assert rows[1][1:8] == ["๑", "๑๐๑,๐๐๐.๐๐", "-๓.๘๑", "D", "C / D", "ขาด · ขาด · ตรง", "– – – D"]


def test_the_pdf_is_a4_thai_titled_and_set_in_sarabun(rendered: brief_files.BriefFiles) -> None:
    reader = PdfReader(rendered.pdf)
    assert len(reader.pages) == rendered.pages == 4
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (
            595,
            842,
        )  # A4 in points
    assert reader.metadata is not None
    assert reader.metadata.title is not None
    assert reader.metadata.title.startswith("สรุปผลโครงการหนึ่งตำบล หนึ่งผลิตภัณฑ์ ไตรมาส ๔/๒๕๖๗")
    assert reader.trailer["/Root"]["/Lang"] == "th"
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts <= {"Sarabun", "Sarabun-Bold"}
    assert "Sarabun" in fonts


def test_files_are_named_by_quarter_and_date_with_latest_copies(rendered: brief_files.BriefFiles) -> None:
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


def test_the_fetcher_serves_only_its_own_files_and_data_urls(tmp_path: Path) -> None:
    fonts = brief.font_folder()
    fetch = brief_renderer._fetcher([TEMPLATES, fonts])
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
    files = brief_files.write_brief(
        demo_outcome(), CONFIG, output=tmp_path / "out", folders=[folder, TEMPLATES]
    )
    assert files.pages == 4
    assert b"root:" not in files.pdf.read_bytes()


def test_a_font_other_than_sarabun_fails_loudly(tmp_path: Path) -> None:
    folder = custom_templates(tmp_path, '<p style="font-family: monospace">fallback</p>')
    with pytest.raises(BriefError, match="instead of Sarabun"):
        brief_files.write_brief(demo_outcome(), CONFIG, output=tmp_path / "out", folders=[folder, TEMPLATES])
    assert not (tmp_path / "out").exists()


def test_a_missing_thai_font_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fontpkg_sarabun, "ROOT", tmp_path)
    with pytest.raises(BriefError, match=r"the Thai font Sarabun-Regular\.ttf is missing"):
        brief.render_html(demo_outcome(), CONFIG, folders=[TEMPLATES])


def test_rendering_has_a_time_limit(tmp_path: Path) -> None:
    with pytest.raises(BriefError, match=r"took longer than 0\.01 s"):
        brief_files.write_brief(
            demo_outcome(), CONFIG, output=tmp_path, folders=[TEMPLATES], timeout_seconds=0.01
        )


def test_run_writes_the_brief_after_the_tabs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--as-of", "2024-09-13T08:00"]) == 0
    assert sorted(p.name for p in (tmp_path / "briefs").iterdir()) == [
        "brief-2567Q4-2567-09-13.html",
        "brief-2567Q4-2567-09-13.pdf",
        "brief-latest.html",
        "brief-latest.json",  # which edition brief-latest is: never replaced by an older one
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


def test_no_word_of_the_demo_brief_lies_off_its_page(rendered: brief_files.BriefFiles) -> None:
    assert words_off_the_page(rendered.pdf) == []


def test_a_pasted_page_in_an_answer_neither_pushes_the_problems_off_the_page_nor_fills_them(
    tmp_path: Path,
) -> None:
    from otop_sync.messages import announcement
    from otop_sync.outcome import as_json
    from otop_sync.tables import problems_table

    tabs = {t.title: list(t.rows) for t in demo_tabs()}
    pasted = "ท่าบ่อ " * 4000  # a page pasted into the district question, and more into the sender's
    tabs[RESPONSES_TAB].append(
        (bkk(2024, 9, 10, 9), pasted, "ก.ย. 2567", 1, 1000, "ผู้รายงาน" * 3000, "081" * 5000, "")
    )
    outcome = run(MemorySource(tabs), DEMO_AS_OF)
    shown = pasted[:100] + "…"  # the first hundred characters, as every list of problems shows them

    files = brief_files.write_brief(outcome, CONFIG, output=tmp_path, folders=[TEMPLATES])
    html = files.html.read_text(encoding="utf-8")
    assert shown.strip() in html
    assert pasted[:101] not in html
    # A long word in a cell is broken, not allowed to widen the table: it pushed the problems and their
    # remedies past the page's right edge.
    assert words_off_the_page(files.pdf) == []

    tab = problems_table("ตรวจสอบข้อมูล", outcome, [RESPONSES_TAB, BASE_YEAR_TAB])
    assert any(shown in row for row in tab.rows)
    message = announcement(outcome, CONFIG)
    assert message is not None
    assert f"อำเภอ{shown}" in message.text
    assert "แถวที่ ๒๗" in message.text  # the problems after it are still there
    # The JSON is for programs: it keeps the answer's first thousand characters (VALUE_LIMIT), ten times
    # what any list shows; the rest is never cleaned, so that a long answer costs no more than a short one.
    assert any(r["district"] == pasted[:VALUE_LIMIT].strip() for r in as_json(outcome)["rejected"])


def words_off_the_page(pdf: Path) -> list[str]:
    """The text drawn left or right of its page. Words only: pypdf places the text of an SVG chart (its
    figures) without the chart's transform."""
    outside: list[str] = []
    for page in PdfReader(pdf).pages:
        width = float(page.mediabox.width)

        def visit(text: str, cm: list[float], tm: list[float], *_: object, width: float = width) -> None:
            left = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            if any(c.isalpha() for c in text) and not 0 < left < width:
                outside.append(text)

        page.extract_text(visitor_text=visit)
    return outside


def test_the_brief_lists_forty_problems_a_district_at_a_time_and_counts_the_rest(tmp_path: Path) -> None:
    # A base-year tab typed wrong makes hundreds of problems: listed whole, 500 took 42 pages, and a
    # national one would outrun the renderer's time limit. The tab ตรวจสอบข้อมูล keeps every one.
    tabs = {t.title: list(t.rows) for t in demo_tabs()}
    tabs[BASE_YEAR_TAB] += [("ท่าบ่อ", f"เดือนที่ {n}", "หนึ่งแสน") for n in range(500)]
    outcome = run(MemorySource(tabs), DEMO_AS_OF)
    everywhere = {i.district for i in outcome.issues if i.open}
    assert len(outcome.issues) == 506
    assert len([i for i in outcome.issues if i.open]) == 503  # three of the demo's were replaced since

    files = brief_files.write_brief(outcome, CONFIG, output=tmp_path, folders=[TEMPLATES])
    html = files.html.read_text(encoding="utf-8")
    assert html.count('<td class="where">') == brief.BRIEF_PROBLEMS == 40
    for district in everywhere:  # ท่าบ่อ's five hundred do not hide the others' one or two
        assert re.search(rf'<td class="name" rowspan="\d+">{re.escape(district)}</td>', html), district
    assert "และอีก ๔๖๓ รายการ ดูครบทุกรายการในแท็บ “ตรวจสอบข้อมูล” ของสเปรดชีต" in html
    assert files.pages <= 7


def test_a_brief_with_few_problems_lists_them_all(rendered: brief_files.BriefFiles) -> None:
    html = rendered.html.read_text(encoding="utf-8")
    assert html.count('<td class="where">') == len([i for i in demo_outcome().issues if i.open]) == 3
    assert "และอีก" not in html


def test_whatever_officers_type_the_brief_renders_in_sarabun(tmp_path: Path) -> None:
    # One listed row with an emoji, Lao, Khmer, a control character (written as "�") or a bidi override
    # made every brief fail with "the Thai font did not load", until someone fixed the row.
    typed = {
        "emoji": "ส่งแล้วค่ะ 🙏😊",
        "lao": "ສົ່ງແລ້ວ",
        "khmer": "បានផ្ញើ",
        "control": "ผู้รายงาน\x07",
        "bidi": "\u202eสมชาย 0812345678",
    }
    tabs = {t.title: list(t.rows) for t in demo_tabs()}
    for n, text in enumerate(typed.values()):
        tabs[RESPONSES_TAB].append(
            (bkk(2024, 9, 10, 9, n), "อำเภอ" + text, "ก.ย. 2567", 1, 1000, text, text, text)
        )
    outcome = run(MemorySource(tabs), DEMO_AS_OF)
    files = brief_files.write_brief(outcome, CONFIG, output=tmp_path, folders=[TEMPLATES])
    html = files.html.read_text(encoding="utf-8")
    assert "🙏" not in html
    assert "ສົ່ງ" not in html
    assert "\u202e" not in html
    assert f"ส่งแล้วค่ะ {brief.PLACEHOLDER}{brief.PLACEHOLDER}" in html  # shown to be there, in Sarabun
    assert "สมชาย 0812345678" in html  # the override dropped: the number reads as typed
    reader = PdfReader(files.pdf)
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts <= {"Sarabun", "Sarabun-Bold"}
    # The override reaches neither the LINE message nor the problems tab.
    from otop_sync.messages import announcement
    from otop_sync.tables import problems_table

    message = announcement(outcome, CONFIG)
    assert message is not None
    assert "สมชาย 0812345678" in message.text
    assert "\u202e" not in message.text
    tab = problems_table("ตรวจสอบข้อมูล", outcome, [RESPONSES_TAB, BASE_YEAR_TAB])
    assert not any("\u202e" in str(cell) for row in tab.rows for cell in row)


def test_the_latest_html_and_pdf_are_replaced_as_a_pair(tmp_path: Path) -> None:
    first = brief_files.write_brief(demo_outcome(), CONFIG, output=tmp_path, folders=[TEMPLATES])
    latest_html = (tmp_path / "brief-latest.html").read_bytes()
    assert latest_html == first.html.read_bytes()
    # The next edition cannot replace the latest PDF (here a folder stands in its way, as a full disk
    # would stop its write): the latest HTML must not move on without it.
    (tmp_path / "brief-latest.pdf").unlink()
    (tmp_path / "brief-latest.pdf").mkdir()
    later = run(demo_source(), bkk(2024, 9, 20, 8))
    with pytest.raises(BriefError, match="cannot write the brief into"):
        brief_files.write_brief(later, CONFIG, output=tmp_path, folders=[TEMPLATES])
    assert (tmp_path / "brief-latest.html").read_bytes() == latest_html
    assert not list(tmp_path.glob("brief-2567Q4-2567-09-20.*"))
    assert not list(tmp_path.glob(".*.tmp"))


def test_brief_latest_is_never_replaced_by_an_older_edition(tmp_path: Path) -> None:
    september = brief_files.write_brief(demo_outcome(), CONFIG, output=tmp_path, folders=[TEMPLATES])
    latest = (tmp_path / "brief-latest.pdf").read_bytes()
    assert latest == september.pdf.read_bytes()
    # `otop-sync brief --as-of 2024-08-13` after the September run: its own edition, and nothing more.
    august = brief_files.write_brief(
        run(demo_source(), bkk(2024, 8, 13, 8)), CONFIG, output=tmp_path, folders=[TEMPLATES]
    )
    assert august.pdf.name == "brief-2567Q4-2567-08-13.pdf"
    assert august.pdf.exists()
    assert (tmp_path / "brief-latest.pdf").read_bytes() == latest
    assert (tmp_path / "brief-latest.html").read_bytes() == september.html.read_bytes()
    # A newer edition (or the same one again) does replace it.
    later = brief_files.write_brief(
        run(demo_source(), bkk(2024, 9, 20, 8)), CONFIG, output=tmp_path, folders=[TEMPLATES]
    )
    assert (tmp_path / "brief-latest.html").read_bytes() == later.html.read_bytes()


def test_thai_copied_out_of_the_pdf_is_the_thai_on_the_page(rendered: brief_files.BriefFiles) -> None:
    # The PDF's character map turned every sara aa into sara am ("สำนักงำน", "ไตรม้ำส", "กันย้ำยน"):
    # pasted into a memo, searched, or read aloud, the brief said something else than it showed.
    text = "".join(page.extract_text() for page in PdfReader(rendered.pdf).pages)
    page = re.sub(r"<title>.*?</title>", "", rendered.html.read_text(encoding="utf-8"), flags=re.S)
    html = visible_text(page)  # what the page shows: the document's title is not on it
    assert "สำนักงานพัฒนาชุมชนจังหวัดหนองคาย" in text
    for word in ("ไตรมาส", "กันยายน", "กรมการพัฒนาชุมชน", "เมืองน้ำอยู่", "ยอดจำหน่าย", "กำหนด"):
        assert word in text, word
    # Every run of Thai the PDF gives back is Thai the page shows (a line may break a word in two; a
    # table's header may repeat on the next page), but for the page numbers.
    runs = set(re.findall("[\u0e01-\u0e4f]+", text)) - {"หน้า"}  # Thai letters and marks: no digits
    assert sorted(run for run in runs if run not in html) == []


def test_page_numbers_are_in_the_briefs_digits(rendered: brief_files.BriefFiles, tmp_path: Path) -> None:
    pages = [page.extract_text() for page in PdfReader(rendered.pdf).pages]
    assert "หน้า ๑ / ๔" in pages[0]
    assert "หน้า ๔ / ๔" in pages[3]
    config = replace(CONFIG, brief=replace(CONFIG.brief, thai_numerals=False))
    arabic = brief_files.write_brief(demo_outcome(), config, output=tmp_path, folders=[TEMPLATES])
    assert "หน้า 1 / 4" in PdfReader(arabic.pdf).pages[0].extract_text()


def test_the_html_brief_stands_alone(rendered: brief_files.BriefFiles, tmp_path: Path) -> None:
    # It loaded Sarabun from file:// paths inside the installed package: elsewhere (a phone, Drive) it
    # showed the server's folders and fell back to another font.
    html = rendered.html.read_text(encoding="utf-8")
    assert "file://" not in html
    assert str(brief.font_folder()) not in html
    assert html.count("data:font/ttf;base64,") == len(brief.FONT_FILES)
    assert rendered.html.stat().st_size < 250_000  # the fonts cut down to the page's characters
    # Opened from another folder, with no access to otop_sync's files: still set in Sarabun.
    elsewhere = tmp_path / "copy.html"
    elsewhere.write_text(html, encoding="utf-8")
    _, pages = brief_pdf.render_pdf(html, allowed=[tmp_path], timeout_seconds=60)
    assert pages == rendered.pages


def test_the_charts_axes_run_through_zero_and_a_zero_is_drawn(rendered: brief_files.BriefFiles) -> None:
    from otop_sync.charts import ZERO_BAR

    html = rendered.html.read_text(encoding="utf-8")
    growth, products = re.findall(r"<svg.*?</svg>", html, flags=re.S)[:2]
    # The growth axis shows its ends (−๕, ๙) and, between them, ๐ where the bars start.
    assert re.search(r'text-anchor="middle">๐</text>', growth)
    # ศรีเชียงใหม่ registered no new product: its bar is a visible red stub, not nothing.
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', products)]
    assert min(widths) == ZERO_BAR


def words_past_the_right_margin(html: str) -> list[str]:
    """The lines of text whose right end lies past the page's content area, as WeasyPrint lays them out."""
    import weasyprint
    from weasyprint.formatting_structure import boxes

    from otop_sync.brief_renderer import _fetcher

    fetcher = _fetcher([TEMPLATES, brief.font_folder()])
    document = weasyprint.HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher).render()
    past = []
    for page in document.pages:
        box = page._page_box
        right = box.content_box_x() + box.width
        past.extend(
            b.text
            for b in box.descendants()
            if isinstance(b, boxes.TextBox) and b.position_x + b.width > right + 0.5
        )
    return past


def test_every_table_of_the_brief_stays_inside_the_margins(tmp_path: Path) -> None:
    # The problems table ran some 4 mm into the right margin: its column widths left out their padding.
    tabs = {t.title: list(t.rows) for t in demo_tabs()}
    tabs[BASE_YEAR_TAB] += [("ท่าบ่อ", f"เดือนที่ {n}", "หนึ่งแสน") for n in range(60)]
    for outcome in (demo_outcome(), run(MemorySource(tabs), DEMO_AS_OF)):
        assert words_past_the_right_margin(brief.render_html(outcome, CONFIG, folders=[TEMPLATES])) == []
