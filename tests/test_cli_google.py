"""`otop-sync run --spreadsheet` and `otop-sync check` end to end: a real HTTP stack to a loopback fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from otop_sync.cli import main
from otop_sync.demo import BASE_YEAR_TAB, demo_tabs

from .fake_sheets import FakeSheetsAPI, LoopbackServer, service_account_file
from .test_google import KEY, api_tabs


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeSheetsAPI, LoopbackServer]]:
    api = FakeSheetsAPI()
    api.add_spreadsheet(KEY, api_tabs(*demo_tabs()))
    with LoopbackServer(api) as loopback:
        key_file = service_account_file(tmp_path, token_uri=loopback.url + "/token")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
        monkeypatch.setenv("OTOP_SYNC_SHEETS_ENDPOINT", loopback.url)
        monkeypatch.chdir(tmp_path)
        yield api, loopback


def test_run_against_a_spreadsheet(
    server: tuple[FakeSheetsAPI, LoopbackServer], capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = server
    assert main(["run", "--spreadsheet", KEY, "--as-of", "2024-09-16T08:00", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == {"read": 33, "used": 12, "superseded": 16, "rejected": 5}
    assert [d["grade"] for d in result["districts"]] == ["A", "B", "C", "D", "C", "A", None, None, "D"]
    assert api.kinds() == ["metadata", "values:batchGet", "batchUpdate"]
    assert api.spreadsheets[KEY].table("สรุปผล")[1][8] == "A"
    assert not Path("otop-sync-demo.xlsx").exists()


def test_check_says_what_is_there(
    server: tuple[FakeSheetsAPI, LoopbackServer], capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = server
    assert main(["check", "--spreadsheet", KEY]) == 0
    out = capsys.readouterr().out
    assert "spreadsheet: readable" in out
    assert "column 'ยอดจำหน่ายผลิตภัณฑ์ OTOP สะสมในไตรมาสนี้ (บาท)': ok" in out
    assert "batchUpdate" not in api.kinds()


def test_check_names_a_missing_tab(
    server: tuple[FakeSheetsAPI, LoopbackServer], capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = server
    book = api.spreadsheets[KEY]
    book.sheets = [s for s in book.sheets if s.title != BASE_YEAR_TAB]
    assert main(["check", "--spreadsheet", KEY]) == 1
    assert "no tab named 'ยอดจำหน่ายปีฐาน'" in capsys.readouterr().out


def test_check_names_a_missing_question(
    server: tuple[FakeSheetsAPI, LoopbackServer], capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = server
    sheet = api.spreadsheets[KEY].sheets[0]
    sheet.cells[(0, 2)] = {"value": "เดือน", "formula": None, "format": {}}
    assert main(["check", "--spreadsheet", KEY]) == 1
    assert "no column 'เดือนที่รายงาน': rename the question" in capsys.readouterr().out


def test_unreachable_google_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = Path(service_account_file(tmp_path))
    info = json.loads(key_file.read_text())
    info["token_uri"] = "http://127.0.0.1:9/token"  # the discard port: nothing listens
    key_file.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setenv("OTOP_SYNC_SHEETS_ENDPOINT", "http://127.0.0.1:9")
    config = tmp_path / "config"
    import shutil

    from otop_sync.settings import shipped_dir

    shutil.copytree(shipped_dir("config"), config)
    province = config / "province.toml"
    province.write_text(province.read_text().replace("retry_for_seconds = 180", "retry_for_seconds = 1"))
    assert main(["run", "--spreadsheet", KEY, "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if line.startswith("otop-sync: error:")]) == 1
    assert "cannot reach Google's token endpoint" in err[-1]


def test_check_names_the_base_year_section_for_a_missing_base_column(
    server: tuple[FakeSheetsAPI, LoopbackServer], capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = server
    base = next(s for s in api.spreadsheets[KEY].sheets if s.title == BASE_YEAR_TAB)
    base.cells[(0, 2)] = {"value": "ยอดขาย", "formula": None, "format": {}}
    assert main(["check", "--spreadsheet", KEY]) == 1
    assert (
        "no column 'ยอดจำหน่าย (บาท)': rename the question (row 1) or add its title to form.toml "
        "[base_year_columns] sales" in capsys.readouterr().out
    )
