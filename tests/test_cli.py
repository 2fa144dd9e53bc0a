"""`otop-sync` end to end on a real workbook: what a coordinator reads in the tabs, what the JSON says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from otop_sync.cli import main
from otop_sync.demo import BASE_YEAR_TAB, RESPONSES_TAB
from otop_sync.settings import shipped_dir

AS_OF = "2024-09-16T08:00:00+07:00"
OWNED = ("สรุปผล", "ผลรายไตรมาส", "ตรวจสอบข้อมูล", "บันทึกการประมวลผล")


@pytest.fixture
def workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "otop.xlsx"
    assert main(["demo", "--output", str(path)]) == 0
    return path


def cells(path: Path, title: str) -> list[tuple[Any, ...]]:
    return list(load_workbook(path)[title].iter_rows(values_only=True))


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["run", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_run_writes_the_summary_a_coordinator_reads(workbook: Path) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    book = load_workbook(workbook)
    assert book.sheetnames == [RESPONSES_TAB, BASE_YEAR_TAB, *OWNED]
    summary = book["สรุปผล"]
    rows = list(summary.iter_rows(values_only=True))
    assert rows[0][:3] == ("รหัสอำเภอ", "อำเภอ", "ไตรมาส")
    assert [r[0] for r in rows[1:]] == [
        "4301",
        "4302",
        "4305",
        "4307",
        "4308",
        "4314",
        "4315",
        "4316",
        "4317",
    ]
    tha_bo = rows[2]
    assert tha_bo[:11] == (
        "4302",
        "ท่าบ่อ",
        "ไตรมาส 4/2567",
        "ก.ย. 2567",
        2,
        980000,
        940000,
        4.26,
        "B",
        "B",
        "B",
    )
    assert tha_bo[11] == (
        "ระดับ A: ลงทะเบียนผลิตภัณฑ์เพิ่มอีก 1 ผลิตภัณฑ์ และยอดจำหน่ายเพิ่มอีก 7,000.01 บาท "
        "(อัตราเพิ่มต้องมากกว่าร้อยละ 5 ขาดอีก 0.74 จุด)"
    )
    assert tha_bo[12:15] == ("ตรงเวลา", "ตรงเวลา", "ตรงเวลา")
    # The round columns are named by their months, in the configured digits.
    assert rows[0][12:15] == ("รอบ ก.ค. ๒๕๖๗", "รอบ ส.ค. ๒๕๖๗", "รอบ ก.ย. ๒๕๖๗")
    assert tha_bo[16] == "16/09/2567 08:00:00"
    phon_phisai, fao_rai, rattanawapi = rows[3], rows[7], rows[8]
    assert phon_phisai[13] == "ช้า 3 วัน"
    assert fao_rai[4:9] == (None, None, None, None, "ยังไม่รายงาน")
    assert rattanawapi[8] == "ไม่จัดระดับ"
    assert "ไม่มียอดจำหน่ายปีฐาน" in rattanawapi[15]
    # Readable for a coordinator: bold frozen header, baht and percent formats, a colour per grade.
    assert summary["A1"].font.b
    assert summary.freeze_panes == "C2"
    assert summary["F3"].number_format == "#,##0.00"
    assert summary["H3"].number_format == "0.00"
    assert summary["I2"].fill.fgColor.rgb.endswith("C6EFCE")


def test_rejected_rows_are_listed_with_row_numbers_and_reasons(workbook: Path) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    problems = cells(workbook, "ตรวจสอบข้อมูล")
    assert problems[0] == (
        "แถวที่",
        "แท็บ",
        "อำเภอ (ตามที่กรอก)",
        "ประเภท",
        "เหตุผล",
        "วิธีแก้ไข",
        "ส่งเมื่อ",
        "ผู้รายงาน",
        "โทรศัพท์",
        "ไตรมาส",
        "สถานะ",
    )
    # A problem stays listed with its state: this one was replaced by the district's next report.
    assert (
        21,
        RESPONSES_TAB,
        "สังคม",
        "ไม่นำมาใช้",
        "ยอดจำหน่ายไม่ใช่ตัวเลข (“ห้าหมื่นบาท”)",
        "ส่งแบบฟอร์มใหม่ โดยกรอกยอดจำหน่ายสะสมเป็นตัวเลข เช่น “50000” — รายงานล่าสุดจะใช้แทนรายงานเดิม",
        "13/08/2567 10:00:00",
        "นายสมชาย ใจงาม",
        "0812345604",
        "ไตรมาส 4/2567",
        "แก้ไขแล้ว (แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ 22)",
    ) in problems
    assert (15, RESPONSES_TAB, "บึงกาฬ", "ไม่นำมาใช้", "ไม่รู้จักอำเภอ “บึงกาฬ”") in {p[:5] for p in problems}
    # Every problem of the demo says what to do, and when it was sent.
    for row in problems[1:]:
        assert row[5], row
        assert row[6], row
    assert any(row[3] == "ใช้ แต่โปรดตรวจสอบ" for row in problems)


def test_both_results_tabs_hold_the_same_columns_with_rounds_named_by_month(workbook: Path) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    summary, quarterly = cells(workbook, "สรุปผล"), cells(workbook, "ผลรายไตรมาส")
    # Every quarter shares the per-quarter tab's header: a round is named by the months it can be.
    assert quarterly[0][12:15] == (
        "รอบที่ 1 (ต.ค. ม.ค. เม.ย. ก.ค.)",
        "รอบที่ 2 (พ.ย. ก.พ. พ.ค. ส.ค.)",
        "รอบที่ 3 (ธ.ค. มี.ค. มิ.ย. ก.ย.)",
    )
    current = [row for row in quarterly[1:] if row[2] == "ไตรมาส 4/2567"]
    assert [row[:16] for row in current] == [row[:16] for row in summary[1:]]


def test_a_per_quarter_tab_of_an_earlier_version_keeps_its_closed_quarters(workbook: Path) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    book = load_workbook(workbook)
    tab = book["ผลรายไตรมาส"]
    for column, title in zip("MNO", ("รอบเดือนที่ 1", "รอบเดือนที่ 2", "รอบเดือนที่ 3"), strict=True):
        tab[f"{column}1"] = title  # the header otop_sync wrote before the rounds were named
    closed = next(row for row in range(2, tab.max_row + 1) if tab[f"C{row}"].value == "ไตรมาส 3/2567")
    tab[f"I{closed}"] = "A"  # as it was graded then, under an older rubric, say
    book.save(workbook)
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    rows = cells(workbook, "ผลรายไตรมาส")
    assert rows[closed - 1][8] == "A"  # kept, not regraded
    assert rows[0][12] == "รอบที่ 1 (ต.ค. ม.ค. เม.ย. ก.ค.)"


def test_a_per_quarter_tab_a_coordinator_added_a_column_to_keeps_its_closed_quarters(workbook: Path) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    before = cells(workbook, "ผลรายไตรมาส")
    book = load_workbook(workbook)
    tab = book["ผลรายไตรมาส"]
    tab.insert_cols(4)  # a column of the coordinator's own, before the latest month
    tab["D1"] = "บันทึกของผู้ประสานงาน"
    closed = next(row for row in range(2, tab.max_row + 1) if tab[f"C{row}"].value == "ไตรมาส 3/2567")
    tab[f"D{closed}"] = "โทรถามแล้ว"
    tab[f"J{closed}"] = "A"  # the grade column, one to the right now: as graded then, under an older rubric
    book.save(workbook)
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    rows = cells(workbook, "ผลรายไตรมาส")
    assert rows[closed - 1][8] == "A"  # kept, not regraded
    # The tab is otop_sync's, replaced whole: its columns as they were, the coordinator's gone.
    assert rows[0] == before[0]
    assert [row[:8] for row in rows] == [row[:8] for row in before]


def test_a_second_run_leaves_the_tabs_identical_and_only_the_log_grows(workbook: Path) -> None:
    inputs = {t: cells(workbook, t) for t in (RESPONSES_TAB, BASE_YEAR_TAB)}
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    first = {t: cells(workbook, t) for t in OWNED}
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    second = {t: cells(workbook, t) for t in OWNED}
    for title in OWNED[:3]:
        assert second[title] == first[title]
    assert len(second["บันทึกการประมวลผล"]) == len(first["บันทึกการประมวลผล"]) + 1
    assert second["บันทึกการประมวลผล"][-1][2:] == ("ไตรมาส 4/2567", "ประมวลผลไตรมาสปัจจุบัน", 33, 12, 16, 5, "ไม่มี")
    assert {t: cells(workbook, t) for t in inputs} == inputs


def test_the_run_log_keeps_its_history_under_its_titles_when_a_coordinator_adds_a_column(
    workbook: Path,
) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    before = cells(workbook, "บันทึกการประมวลผล")
    book = load_workbook(workbook)
    tab = book["บันทึกการประมวลผล"]
    tab.insert_cols(2)  # the coordinator's own column, between when and as-of
    tab["B1"] = "ผู้ตรวจ"
    tab["B2"] = "สมศรี"
    book.save(workbook)
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    after = cells(workbook, "บันทึกการประมวลผล")
    assert after[0] == before[0]
    assert after[1] == before[1]  # the earlier run, under the titles it was written under
    assert len(after) == len(before) + 1


def test_dry_run_leaves_the_file_byte_identical(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = workbook.read_bytes()
    result = run_json(capsys, "--workbook", str(workbook), "--as-of", AS_OF, "--dry-run")
    assert result["dry_run"] is True
    assert result["rows"]["read"] == 33
    assert workbook.read_bytes() == before


def test_json_is_the_object_of_the_spec(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--workbook", str(workbook), "--as-of", "2024-09-16T08:00")
    assert result["quarter"] == "2567Q4"
    assert result["as_of"] == AS_OF
    assert result["rows"] == {"read": 33, "used": 12, "superseded": 16, "rejected": 5}
    first = result["districts"][0]
    assert first["code"] == "4301"
    assert first["name"] == "เมืองหนองคาย"
    assert first["grade"] == "A"
    assert first["status"] == "graded"
    assert (first["new_products"], first["sales"], first["base_sales"]) == (4, 1400000.0, 1310000.0)
    assert first["growth_pct"] == pytest.approx(6.870229007633588)
    assert first["rounds"][0] == {
        "month": "2024-07",
        "due": "2024-07-15T23:59:59+07:00",
        "timeliness": "on_time",
        "days_late": 0,
    }
    assert first["next_grade"] is None
    tha_bo = result["districts"][1]
    assert tha_bo["next_grade"] == {
        "grade": "A",
        "products_needed": 1,
        "sales_needed": 7000.01,
        "growth_points_needed": pytest.approx(0.7446808510638298),
    }
    fao_rai = next(d for d in result["districts"] if d["code"] == "4315")
    assert fao_rai["status"] == "not_reported"
    assert (fao_rai["grade"], fao_rai["new_products"], fao_rai["sales"], fao_rai["growth_pct"]) == (None,) * 4
    assert fao_rai["base_sales"] is None
    assert fao_rai["next_grade"] is None
    rattanawapi = next(d for d in result["districts"] if d["code"] == "4316")
    assert (rattanawapi["status"], rattanawapi["grade"], rattanawapi["base_sales"]) == ("no_base", None, None)
    phon_phisai = next(d for d in result["districts"] if d["code"] == "4305")
    assert phon_phisai["rounds"][1]["timeliness"] == "late"
    assert phon_phisai["rounds"][1]["days_late"] == 3
    assert {
        "tab": "การตอบกลับแบบฟอร์ม 1",
        "row": 21,
        "district": "สังคม",
        "reasons": ["ยอดจำหน่ายไม่ใช่ตัวเลข (“ห้าหมื่นบาท”)"],
        "remedies": ["ส่งแบบฟอร์มใหม่ โดยกรอกยอดจำหน่ายสะสมเป็นตัวเลข เช่น “50000” — รายงานล่าสุดจะใช้แทนรายงานเดิม"],
        "submitted": "2024-08-13T10:00:00+07:00",
        "reporter": "นายสมชาย ใจงาม",
        "phone": "0812345604",
        "quarter": "2567Q4",
        "state": "resolved",
        "resolved_by": "แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ 22",
    } in result["rejected"]
    assert all(f["remedy"] and f["submitted"] for f in result["flagged"])


def test_quarter_option_summarises_another_quarter(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_json(
        capsys, "--workbook", str(workbook), "--as-of", AS_OF, "--quarter", "2567Q3", "--dry-run"
    )
    assert result["quarter"] == "2567Q3"
    assert result["districts"][0]["latest_month"] == "2024-06"


def test_user_text_lands_as_text_never_as_a_formula(workbook: Path) -> None:
    book = load_workbook(workbook)
    book[RESPONSES_TAB].append([None])  # keep row numbers honest: the new answer is the last row
    sheet = book[RESPONSES_TAB]
    row = sheet.max_row
    for column, value in enumerate(["16/9/2567 07:00:00", "เฝ้าไร่", "ก.ย. 2567", 1, 90000], start=1):
        sheet.cell(row=row, column=column, value=value)
    remark = sheet.cell(row=row, column=8)
    remark.value = '=IMPORTRANGE("https://docs.google.com/x","A1")'
    remark.data_type = "s"
    book.save(workbook)
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    summary = load_workbook(workbook)["สรุปผล"]
    fao_rai = next(r for r in summary.iter_rows() if r[0].value == "4315")
    assert fao_rai[15].data_type == "s"
    assert fao_rai[15].value.endswith('หมายเหตุจากอำเภอ: =IMPORTRANGE("https://docs.google.com/x","A1")')
    book = load_workbook(workbook)
    assert not [c.coordinate for t in OWNED for row in book[t].iter_rows() for c in row if c.data_type == "f"]


def test_regrade_recomputes_closed_quarters_a_plain_run_keeps_them(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF]) == 0
    stricter = tmp_path / "stricter"
    shutil.copytree(shipped_dir("config"), stricter)
    rubric = stricter / "rubric.toml"
    rubric.write_text(rubric.read_text().replace('value = "3"', 'value = "4.5"'), encoding="utf-8")
    # Mueang Nong Khai: Q3 +4.17 % is B under the letter's rubric, C when B asks for more than 4.5 %.
    plain = run_json(capsys, "--workbook", str(workbook), "--as-of", AS_OF, "--config", str(stricter))
    assert plain["grade_changes"] == [
        {"code": "4302", "name": "ท่าบ่อ", "quarter": "ไตรมาส 4/2567", "before": "B", "after": "C"}
    ]
    q3 = [r for r in cells(workbook, "ผลรายไตรมาส") if r[2] == "ไตรมาส 3/2567"]
    assert q3[0][8] == "B"
    regrade = run_json(
        capsys, "--workbook", str(workbook), "--as-of", AS_OF, "--config", str(stricter), "--regrade"
    )
    assert {
        "code": "4301",
        "name": "เมืองหนองคาย",
        "quarter": "ไตรมาส 3/2567",
        "before": "B",
        "after": "C",
    } in (regrade["grade_changes"])
    q3 = [r for r in cells(workbook, "ผลรายไตรมาส") if r[2] == "ไตรมาส 3/2567"]
    assert q3[0][8] == "C"
    log = cells(workbook, "บันทึกการประมวลผล")
    assert log[-1][3] == "ประมวลผลใหม่ทุกไตรมาส"
    assert "4301 เมืองหนองคาย ไตรมาส 3/2567: B → C" in log[-1][8]


def test_with_nothing_configured_run_uses_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTOP_SYNC_CONFIG", raising=False)
    result = run_json(capsys)
    assert (tmp_path / "otop-sync-demo.xlsx").exists()
    assert result["quarter"] == "2567Q4"
    assert result["as_of"] == AS_OF
    assert [d["grade"] for d in result["districts"]] == ["A", "B", "C", "D", "C", "A", None, None, "D"]


def test_the_first_run_prints_only_what_a_user_needs(tmp_path: Path) -> None:
    # As a new user runs it, in its own process (the logging is set up there): otop_sync's own lines,
    # no library's chatter (fontTools told every table it subset, twenty lines per brief).
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTOP_SYNC_")}
    done = subprocess.run(
        [sys.executable, "-m", "otop_sync.cli", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "otop-sync: wrote the demo workbook otop-sync-demo.xlsx"
    assert lines[-1].startswith("otop-sync: run: ok: 2567Q4: rows read 33")
    assert len(lines) <= 6, lines
    assert not [line for line in lines if "subset" in line or "pruned" in line]


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    return err


def test_a_missing_tab_is_one_line_and_the_file_is_untouched(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = load_workbook(workbook)
    del book[BASE_YEAR_TAB]
    book.save(workbook)
    before = workbook.read_bytes()
    err = fails(capsys, "run", "--workbook", str(workbook), "--as-of", AS_OF)
    assert "no tab named 'ยอดจำหน่ายปีฐาน'" in err
    assert workbook.read_bytes() == before


def test_a_missing_column_is_named(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = load_workbook(workbook)
    book[RESPONSES_TAB]["E1"] = "ยอดขาย"
    book.save(workbook)
    before = workbook.read_bytes()
    err = fails(capsys, "run", "--workbook", str(workbook), "--as-of", AS_OF)
    assert "no column 'ยอดจำหน่ายผลิตภัณฑ์ OTOP สะสมในไตรมาสนี้ (บาท)'" in err
    assert workbook.read_bytes() == before


@pytest.mark.parametrize(("name", "content"), [("otop.csv", b"a,b\n"), ("broken.xlsx", b"not a zip")])
def test_a_file_that_is_not_a_workbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = fails(capsys, "run", "--workbook", str(path), "--as-of", AS_OF)
    assert "xlsx" in err
    assert path.read_bytes() == content


@pytest.mark.parametrize("owner", ["~${}", ".~lock.{}#"])  # Excel's, LibreOffice's
def test_a_workbook_open_in_excel_is_left_alone(
    workbook: Path, capsys: pytest.CaptureFixture[str], owner: str
) -> None:
    (workbook.parent / owner.format(workbook.name)).write_bytes(b"owner")
    before = workbook.read_bytes()
    err = fails(capsys, "run", "--workbook", str(workbook), "--as-of", AS_OF)
    assert "open in Excel" in err
    assert workbook.read_bytes() == before


def test_an_unreadable_configuration_stops_before_touching_anything(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(shipped_dir("config"), broken)
    (broken / "form.toml").write_text("[tabs\n", encoding="utf-8")
    before = workbook.read_bytes()
    err = fails(capsys, "run", "--workbook", str(workbook), "--config", str(broken))
    assert "form.toml" in err
    assert workbook.read_bytes() == before


def test_the_demo_does_not_overwrite_without_force(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = fails(capsys, "demo", "--output", str(workbook))
    assert "--force" in err
    assert main(["demo", str(workbook), "--force"]) == 0


@pytest.mark.parametrize("command", [[], ["run"], ["demo"]])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: otop-sync" in capsys.readouterr().out


def test_bad_option_values_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["run", "--as-of", "yesterday"], ["run", "--quarter", "Q4"]):
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code == 2
    assert "2567Q4" in capsys.readouterr().err


def test_the_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("otop-sync")
    done = subprocess.run(
        [str(script), "demo", "--output", str(tmp_path / "d.xlsx")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d.xlsx").exists()


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_nothing_heavy(option: str) -> None:
    code = (
        "import sys\nfrom otop_sync.cli import main\n"
        f"try:\n    main([{option!r}])\nexcept SystemExit:\n    pass\n"
        "print('MODULES', *sorted(sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = {name.split(".")[0] for name in done.stdout.split("MODULES", 1)[1].split()}
    # The readers, clients and renderer, and logging with the traceback machinery it brings.
    heavy = {
        "openpyxl",
        "lxml",
        "requests",
        "gspread",
        "google",
        "weasyprint",
        "jinja2",
        "logging",
        "tokenize",
    }
    assert loaded & heavy == set()


def test_a_regrade_names_the_quarters_it_recomputed_and_each_line_is_one_language(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["run", "--workbook", str(workbook), "--as-of", AS_OF, "--regrade", "--no-brief"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "regraded 2 quarter(s): 2567Q3, 2567Q4" in out
    district = next(line for line in out if line.startswith("  4301 "))
    assert "ผลิตภัณฑ์" in district
    assert "อัตราเพิ่ม" in district
    assert not any(word in district for word in ("products", "growth"))
