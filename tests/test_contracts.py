"""The Google path held to what Google publishes and what its users report it refuses.

Three things are shown here: the contract check finds a request broken in each way the discovery document
forbids (so a real request changed to one of these would fail every Google test); the fake refuses each
rule the document leaves to prose; and otop_sync stays inside every one of those rules.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB, demo_tabs
from otop_sync.errors import SourceError
from otop_sync.google_api import load_credentials
from otop_sync.lengths import utf16_length
from otop_sync.sources.google import GoogleSheetsSource
from otop_sync.sources.sheets_batch import STAGING
from otop_sync.sources.workbook import WorkbookSource, write_new_workbook
from otop_sync.tables import CELL_TEXT_LIMIT

from .conftest import CONFIG, Q4_2566, answer, bkk
from .fake_sheets import CELL_CHARACTERS, FakeSheetsAPI, service_account_file
from .test_google import KEY, api_tabs, api_value, run, source

URL = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(service_account_file(tmp_path_factory.mktemp("key")))


@pytest.fixture
def fake() -> FakeSheetsAPI:
    api = FakeSheetsAPI()
    api.add_spreadsheet(KEY, api_tabs(*demo_tabs()))
    return api


def sent(fake: FakeSheetsAPI, key_file: Path, kind: str) -> Any:
    """What otop_sync really sends on a second demo sync (so sending it again changes nothing): the body
    or the query of its call of `kind`."""
    run(source(fake, key_file))
    run(source(fake, key_file))
    call = [c for c in fake.log if c.kind == kind][-1]
    return copy.deepcopy(call.body if call.method == "POST" else call.params)


def post(fake: FakeSheetsAPI, url: str, body: Any = None, params: Any = None) -> requests.Response:
    session = requests.Session()
    session.mount("https://", fake)
    headers = {"Authorization": f"Bearer {next(iter(fake.tokens), 'none')}"}
    if body is None:
        return session.get(url, params=params, headers=headers)
    return session.post(url, json=body, headers=headers)


def first(requests_: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(r[kind] for r in requests_ if kind in r)


def header(requests_: list[dict[str, Any]]) -> dict[str, Any]:
    """The first updateCells that writes cells: a tab's header row, formatted."""
    return next(r["updateCells"] for r in requests_ if "rows" in r.get("updateCells", {}))


def header_cell(requests_: list[dict[str, Any]]) -> dict[str, Any]:
    cell: dict[str, Any] = header(requests_)["rows"][0]["values"][0]
    return cell


# A real batch, broken on purpose, one way at a time: each must be refused as Google refuses it.
BREAKAGES: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "a misspelt field": lambda batch: header(batch).update(row=header(batch).pop("rows")),
    "an enum Google does not define": lambda batch: header_cell(batch)["userEnteredFormat"].update(
        wrapStrategy="WRAPPED"
    ),
    "a mask naming no field": lambda batch: header(batch).update(
        fields="userEnteredValue,userEnteredFormats"
    ),
    "an empty mask": lambda batch: first(batch, "updateSheetProperties").update(fields=""),
    "two kinds in one request": lambda batch: batch[0].update(deleteSheet={"sheetId": 1}),
    "both start and range": lambda batch: header(batch).update(range={"sheetId": 1}),
    "two values in one cell": lambda batch: header_cell(batch)["userEnteredValue"].update(numberValue=1),
    "a number where a whole number belongs": lambda batch: first(batch, "updateSheetProperties")[
        "properties"
    ]["gridProperties"].update(rowCount=2.5),
    "text where a colour component belongs": lambda batch: header_cell(batch)["userEnteredFormat"][
        "backgroundColor"
    ].update(red="0.8"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_batch_update_the_discovery_document_does_not_allow_is_refused(
    fake: FakeSheetsAPI, key_file: Path, breakage: str
) -> None:
    body = sent(fake, key_file, "batchUpdate")
    assert post(fake, URL + ":batchUpdate", body).status_code == 200  # as sent, it is allowed
    BREAKAGES[breakage](body["requests"])
    answer_ = post(fake, URL + ":batchUpdate", body)
    assert answer_.status_code == 400
    assert answer_.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert answer_.json()["error"]["message"].startswith("Invalid JSON payload received.")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"valueRenderOption": ["FORMULAS"]}, "TYPE_ENUM"),
        ({"dateTimeRenderOption": ["SERIAL"]}, "TYPE_ENUM"),
        ({"majorDimension": ["ROWS", "COLUMNS"]}, "not repeated"),
        ({"valueInputOption": ["RAW"]}, "Cannot bind query parameter"),
    ],
)
def test_a_batch_get_the_discovery_document_does_not_allow_is_refused(
    fake: FakeSheetsAPI, key_file: Path, change: dict[str, list[str]], expected: str
) -> None:
    params = {**sent(fake, key_file, "values:batchGet"), **change}
    answer_ = post(fake, URL + "/values:batchGet", params=params)
    assert answer_.status_code == 400
    assert expected in answer_.json()["error"]["message"]


def test_a_metadata_selector_naming_no_field_is_refused(fake: FakeSheetsAPI, key_file: Path) -> None:
    params = sent(fake, key_file, "metadata")
    params["fields"] = [params["fields"][0].replace("timeZone", "timezone")]
    answer_ = post(fake, URL, params=params)
    assert answer_.status_code == 400
    assert "properties.timezone is not a field of Spreadsheet" in answer_.json()["error"]["message"]


# The rules the document leaves to prose ------------------------------------------------------------------


def grid(rows: int, columns: int = 5, frozen_rows: int = 1, frozen_columns: int = 0) -> dict[str, int]:
    return {
        "rowCount": rows,
        "columnCount": columns,
        "frozenRowCount": frozen_rows,
        "frozenColumnCount": frozen_columns,
    }


def add_sheet(grid_: dict[str, int]) -> dict[str, Any]:
    return {"addSheet": {"properties": {"sheetId": 77, "title": "ใหม่", "gridProperties": grid_}}}


@pytest.mark.parametrize(
    ("requests_", "message"),
    [
        (
            [add_sheet(grid(1))],
            "Invalid requests[0].addSheet: You can't freeze all visible rows on the sheet.",
        ),
        ([add_sheet(grid(5, 2, 1, 2))], "You can't freeze all visible columns on the sheet."),
        (
            [
                add_sheet(grid(2)),
                {
                    "updateCells": {
                        "start": {"sheetId": 77, "rowIndex": 1, "columnIndex": 0},
                        "rows": [
                            {"values": [{"userEnteredValue": {"stringValue": "ก" * (CELL_CHARACTERS + 1)}}]}
                        ],
                        "fields": "userEnteredValue",
                    }
                },
            ],
            "Invalid requests[1].updateCells: Your input contains more than the maximum of 50000 characters",
        ),
        (
            [add_sheet(grid(400_000, 26))],
            "above the limit of 10000000 cells",
        ),
    ],
)
def test_the_fake_refuses_what_google_refuses_and_writes_nothing(
    fake: FakeSheetsAPI, key_file: Path, requests_: list[dict[str, Any]], message: str
) -> None:
    run(source(fake, key_file))
    before = copy.deepcopy(fake.spreadsheets[KEY])
    answer_ = post(fake, URL + ":batchUpdate", {"requests": requests_})
    assert answer_.status_code == 400
    assert message in answer_.json()["error"]["message"]
    assert fake.spreadsheets[KEY] == before


# otop_sync inside those rules ----------------------------------------------------------------------------


def spreadsheet(fake: FakeSheetsAPI, answers: list[tuple[Any, ...]]) -> None:
    fake.spreadsheets.clear()
    responses = [[api_value(v) for v in row] for row in [RESPONSE_HEADER, *answers]]
    fake.add_spreadsheet(
        KEY, {RESPONSES_TAB: responses, BASE_YEAR_TAB: [list(BASE_HEADER), *map(list, Q4_2566)]}
    )


def test_a_clean_quarter_is_written_with_an_empty_problems_tab(fake: FakeSheetsAPI, key_file: Path) -> None:
    spreadsheet(fake, [answer(bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 400000)])
    outcome = run(source(fake, key_file))
    assert outcome.rows.rejected == 0
    problems = fake.spreadsheets[KEY].sheet("ตรวจสอบข้อมูล")
    assert problems is not None
    assert len(problems.values("FORMULA")) == 1  # the header alone
    assert (problems.rows, problems.frozen_rows) == (2, 1)
    assert not fake.violations


def test_a_fresh_form_with_no_answers_is_written(fake: FakeSheetsAPI, key_file: Path) -> None:
    spreadsheet(fake, [])
    outcome = run(source(fake, key_file))
    assert outcome.rows.read == 0
    book = fake.spreadsheets[KEY]
    assert len(book.table("ผลรายไตรมาส")) == 1
    assert [row[8] for row in book.table("สรุปผล")[1:]] == ["ยังไม่รายงาน"] * 9
    assert not fake.violations


LONG = "ยอดจำหน่ายรวมทุกกลุ่ม 🧺 " * 3000  # 72,000 UTF-16 units: legal in the form, too long for a cell


def test_a_long_answer_is_cut_visibly_and_the_batch_is_accepted(
    fake: FakeSheetsAPI, key_file: Path, tmp_path: Path
) -> None:
    answers = [
        # Naive: as a workbook holds them (Bangkok time).
        answer(datetime(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 400000, LONG),
        answer(datetime(2024, 9, 11), "สังคม", "ก.ย. 2567", 3, LONG),
    ]
    spreadsheet(fake, answers)
    run(source(fake, key_file))
    assert not fake.violations
    summary = fake.spreadsheets[KEY].table("สรุปผล")
    remark = summary[2][15]
    assert remark.startswith("หมายเหตุจากอำเภอ: ยอดจำหน่ายรวมทุกกลุ่ม 🧺")
    assert remark.endswith(f"…(ตัดเหลือ {len(remark) - len('…(ตัดเหลือ 32,747 ตัวอักษร)'):,} ตัวอักษร)")
    assert utf16_length(remark) <= CELL_TEXT_LIMIT
    reason = fake.spreadsheets[KEY].table("ตรวจสอบข้อมูล")[1][4]
    assert reason.startswith("ยอดจำหน่ายไม่ใช่ตัวเลข (“ยอดจำหน่ายรวมทุกกลุ่ม 🧺")
    assert len(reason) < 120
    # The workbook holds the same cut cells.
    path = tmp_path / "long.xlsx"
    write_new_workbook(path, _tabs(answers))
    run(WorkbookSource(path))
    from openpyxl import load_workbook

    assert load_workbook(path)["สรุปผล"]["P3"].value == remark


def _tabs(answers: list[tuple[Any, ...]]) -> list[Any]:
    from otop_sync.responses import Tab

    return [
        Tab(RESPONSES_TAB, (RESPONSE_HEADER, *answers)),
        Tab(BASE_YEAR_TAB, (BASE_HEADER, *Q4_2566)),
    ]


def test_every_request_of_a_demo_sync_is_allowed_by_the_discovery_document(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    run(source(fake, key_file))
    run(source(fake, key_file))
    assert [c.kind for c in fake.log if c.kind != "token"] == [
        "metadata",
        "values:batchGet",
        "batchUpdate",
    ] * 2
    assert not fake.violations
    assert json.dumps(fake.violations) == "[]"


# Google recommends requests of at most 2 MB (developers.google.com/sheets/api/limits): a write larger than
# that is assembled in hidden tabs, request by request, and switched in by one small batch.
SMALL = 30_000


def owned_tables(fake: FakeSheetsAPI) -> dict[str, list[list[Any]]]:
    book = fake.spreadsheets[KEY]
    return {s.title: book.table(s.title) for s in book.sheets}


def test_a_write_larger_than_a_request_should_be_is_assembled_out_of_sight_and_switched_in_at_once(
    fake: FakeSheetsAPI, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = FakeSheetsAPI()
    whole.add_spreadsheet(KEY, api_tabs(*demo_tabs()))
    run(source(whole, key_file))
    monkeypatch.setattr("otop_sync.sources.sheets_batch.PAYLOAD_LIMIT", SMALL)
    run(source(fake, key_file))
    writes = [c for c in fake.log if c.kind == "batchUpdate"]
    assert len(writes) >= 3
    assert max(c.size for c in writes) <= SMALL
    assert owned_tables(fake) == owned_tables(whole)
    assert not [s.title for s in fake.spreadsheets[KEY].sheets if s.hidden or s.title.startswith(STAGING)]
    summary = fake.spreadsheets[KEY].sheet("สรุปผล")
    assert summary is not None
    assert summary.cells[(1, 5)]["format"]["numberFormat"]["pattern"] == "#,##0.00"
    assert not fake.violations
    run(source(fake, key_file))  # and again, over the tabs it wrote
    assert owned_tables(fake)["สรุปผล"] == owned_tables(whole)["สรุปผล"]


def test_a_staged_write_broken_off_is_cleaned_up_and_done_whole_by_the_retry(
    fake: FakeSheetsAPI, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("otop_sync.sources.sheets_batch.PAYLOAD_LIMIT", SMALL)
    run(source(fake, key_file))
    before = owned_tables(fake)
    fake.fail("batchUpdate", status=503, times=2)  # the first staging batch, then its retry
    run(source(fake, key_file))
    after = owned_tables(fake)
    assert {t: rows for t, rows in after.items() if t != "บันทึกการประมวลผล"} == {
        t: rows for t, rows in before.items() if t != "บันทึกการประมวลผล"
    }
    assert len(after["บันทึกการประมวลผล"]) == len(before["บันทึกการประมวลผล"]) + 1
    assert not [s.title for s in fake.spreadsheets[KEY].sheets if s.title.startswith(STAGING)]
    assert not fake.violations


def test_a_staging_tab_left_by_a_killed_run_is_removed_by_the_next(
    fake: FakeSheetsAPI, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("otop_sync.sources.sheets_batch.PAYLOAD_LIMIT", SMALL)
    fake.fail("batchUpdate", status=400, times=1)  # not retried: the run ends after its first staging batch
    fake.faults[-1].apply_first = True
    with pytest.raises(SourceError):
        run(source(fake, key_file))
    assert [s.title for s in fake.spreadsheets[KEY].sheets if s.title.startswith(STAGING)]
    run(source(fake, key_file))
    assert not [s.title for s in fake.spreadsheets[KEY].sheets if s.title.startswith(STAGING)]
    assert not fake.violations


def test_null_is_accepted_for_any_field_as_google_reads_json() -> None:
    from .contract import sheets

    body = {
        "requests": [{"updateCells": {"start": {"sheetId": 1}, "rows": None, "fields": "userEnteredValue"}}]
    }
    assert sheets().check("POST", f"/v4/spreadsheets/{KEY}:batchUpdate", {}, body) == []


def test_a_token_without_the_sheets_scope_is_refused_as_google_refuses_it(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    # The discovery document lists each method's scopes; a Forms-only token has none of the Sheets ones.
    credentials = load_credentials(str(key_file), scopes=["https://www.googleapis.com/auth/forms.body"])
    with pytest.raises(SourceError, match="the credentials were not granted the spreadsheets scope"):
        GoogleSheetsSource(KEY, credentials=credentials, transport=fake).read(CONFIG.form)
    assert [c.kind for c in fake.log] == ["token", "metadata"]
    assert fake.violations == []
