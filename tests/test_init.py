"""`otop-sync init`: a new province's configuration folder and blank workbook, from the command line to a
first graded run."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from otop_sync.cli import main
from otop_sync.settings import load_config
from otop_sync.sources.xlsx_reader import open_workbook

UDON = ["--code", "41", "--name", "อุดรธานี", "--district", "4101:เมืองอุดรธานี", "--district", "4102:กุดจับ"]


def test_init_writes_a_province_that_checks_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "udon", *UDON, "--base-year", "2567"]) == 0
    out = capsys.readouterr().out
    assert "the base-year tab lists 2 districts × 12 months of 2567 to fill in" in out
    config = load_config(tmp_path / "udon")
    assert (config.province.code, config.province.name) == ("41", "อุดรธานี")
    assert config.province.office == "สำนักงานพัฒนาชุมชนจังหวัดอุดรธานี"
    assert [(d.code, d.name) for d in config.province.districts] == [("4101", "เมืองอุดรธานี"), ("4102", "กุดจับ")]
    assert config.province.workbook == tmp_path / "udon" / "otop.xlsx"
    assert "หนองคาย" not in (tmp_path / "udon" / "province.toml").read_text(encoding="utf-8")
    with open_workbook(tmp_path / "udon" / "otop.xlsx") as book:
        assert book.sheetnames[:2] == ["การตอบกลับแบบฟอร์ม 1", "ยอดจำหน่ายปีฐาน"]
        base = book.tab("ยอดจำหน่ายปีฐาน").rows
    assert base[0] == ("อำเภอ", "เดือน", "ยอดจำหน่าย (บาท)")
    assert base[1:3] == (("เมืองอุดรธานี", "ต.ค. 2566"), ("กุดจับ", "ต.ค. 2566"))
    assert len(base) == 1 + 2 * 12
    # The coordinator pastes the amounts in; then the province checks and runs, with no Nong Khai in it.
    book = load_workbook(tmp_path / "udon" / "otop.xlsx")
    for row in book["ยอดจำหน่ายปีฐาน"].iter_rows(min_row=2):
        row[2].value = 100_000
    book.save(tmp_path / "udon" / "otop.xlsx")
    assert main(["check", "--config", "udon"]) == 0
    assert main(["run", "--config", "udon", "--as-of", "2024-09-16T08:00", "--no-brief"]) == 0
    with open_workbook(tmp_path / "udon" / "otop.xlsx") as opened:
        summary = opened.tab("สรุปผล").rows
    assert [r[:2] for r in summary[1:]] == [("4101", "เมืองอุดรธานี"), ("4102", "กุดจับ")]


def test_init_without_districts_leaves_marked_blanks_and_says_what_to_fill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "new"
    assert main(["init", str(folder), "--name", "อุดรธานี"]) == 0
    out = capsys.readouterr().out
    assert f"fill in the blanks marked “ใส่…” in {folder / 'province.toml'}" in out
    assert not (folder / "otop.xlsx").exists()
    text = (folder / "province.toml").read_text(encoding="utf-8")
    text = text.replace('code = "ใส่รหัสจังหวัด 2 หลัก"', 'code = "41"')
    text = text.replace('code = "ใส่รหัสอำเภอ 4 หลัก"', 'code = "4101"').replace("ใส่ชื่ออำเภอ", "เมืองอุดรธานี")
    (folder / "province.toml").write_text(text, encoding="utf-8")
    assert main(["init", str(folder), "--workbook-only"]) == 0
    assert (folder / "otop.xlsx").exists()


def test_init_never_overwrites_a_province(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "udon"
    folder.mkdir()
    (folder / "province.toml").write_text("# the office's own", encoding="utf-8")
    assert main(["init", str(folder), *UDON]) == 1
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (folder / "province.toml").read_text(encoding="utf-8") == "# the office's own"


def test_another_province_without_a_spreadsheet_is_told_so_not_given_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "udon"
    assert main(["init", str(folder), *UDON]) == 0
    province = folder / "province.toml"
    province.write_text(
        province.read_text(encoding="utf-8").replace('workbook = "otop.xlsx"', 'workbook = ""')
    )
    capsys.readouterr()
    # `check` used to check Nong Khai's demo and call it fine.
    assert main(["check", "--config", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "spreadsheet: no spreadsheet or workbook is configured for อุดรธานี" in out
    assert main(["run", "--config", str(folder), "--no-brief"]) == 1
    assert "the demo is Nong Khai's" in capsys.readouterr().err


def test_a_workbook_of_another_province_is_named_as_such(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "udon"
    assert main(["init", str(folder), *UDON]) == 0
    demo = tmp_path / "nongkhai.xlsx"
    assert main(["demo", str(demo)]) == 0
    assert main(["run", "--config", str(folder), "--workbook", str(demo), "--no-brief", "--dry-run"]) == 0
    assert (
        f"33 of 33 rows name districts that province.toml does not list: is {demo} another province's? "
        "(the configuration is อุดรธานี's, 2 districts)"
    ) in caplog.text


def test_the_demo_is_not_written_for_another_province(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "udon"
    assert main(["init", str(folder), *UDON]) == 0
    assert main(["demo", "--config", str(folder), str(tmp_path / "try.xlsx")]) == 1
    assert "the demo is Nong Khai's, not อุดรธานี's: `otop-sync init DIR`" in capsys.readouterr().err
    assert not (tmp_path / "try.xlsx").exists()
