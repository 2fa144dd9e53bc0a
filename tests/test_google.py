"""The Google Sheets path: the real gspread and google-auth code against a fake Sheets API (HTTP level)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from otop_sync.cells import CellValue, Formula
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB, demo_tabs
from otop_sync.errors import LayoutError, SourceError
from otop_sync.google_api import load_credentials
from otop_sync.http_transport import RetryPolicy
from otop_sync.outcome import Outcome
from otop_sync.periods import BANGKOK
from otop_sync.sources.contract import Source
from otop_sync.sources.google import GoogleSheetsSource
from otop_sync.sources.sheets_batch import PROTECTION_NOTE
from otop_sync.sources.workbook import WorkbookSource, write_new_workbook
from otop_sync.sync import sync

from .conftest import CONFIG, bkk
from .fake_sheets import SCOPE, FakeSheetsAPI, service_account_file
from .trickle import TrickleServer

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
AS_OF = bkk(2024, 9, 16, 8, 0)
OWNED = ("สรุปผล", "ผลรายไตรมาส", "ตรวจสอบข้อมูล", "บันทึกการประมวลผล")
EPOCH = datetime(1899, 12, 30)


def api_value(value: CellValue) -> Any:
    """A cell as the Forms-fed sheet holds it: dates as serial days (Bangkok), formulas as typed."""
    if isinstance(value, datetime):
        local = value.astimezone(BANGKOK).replace(tzinfo=None) if value.tzinfo else value
        return (local - EPOCH).total_seconds() / 86400
    if isinstance(value, date):
        return (value - EPOCH.date()).days
    if isinstance(value, Formula):
        return value.text
    if isinstance(value, Decimal):
        return float(value)
    return value


def api_tabs(*tabs: Any) -> dict[str, list[list[Any]]]:
    return {tab.title: [[api_value(v) for v in row] for row in tab.rows] for tab in tabs}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(service_account_file(tmp_path_factory.mktemp("key")))


@pytest.fixture
def fake() -> Iterator[FakeSheetsAPI]:
    api = FakeSheetsAPI()
    api.add_spreadsheet(KEY, api_tabs(*demo_tabs()))
    yield api
    # Whatever the test asserted, every request it made must be one Google's discovery document allows.
    assert [f"{call.kind}: {problem}" for call, problem in api.violations] == []


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(fake: FakeSheetsAPI, key_file: Path, **options: Any) -> GoogleSheetsSource:
    options.setdefault("sleep", Sleeps())
    return GoogleSheetsSource(KEY, credentials=load_credentials(str(key_file)), transport=fake, **options)


def run(src: Source, **options: Any) -> Outcome:
    return sync(src, config=CONFIG, as_of=AS_OF, computed_at=AS_OF, **options)


def test_a_full_sync_costs_three_api_calls(fake: FakeSheetsAPI, key_file: Path) -> None:
    outcome = run(source(fake, key_file))
    assert fake.kinds() == ["metadata", "values:batchGet", "batchUpdate"]
    assert [c.kind for c in fake.log].count("token") == 1
    assert outcome.rows.read == 33
    book = fake.spreadsheets[KEY]
    summary = book.table("สรุปผล")
    assert summary[0][:3] == ["รหัสอำเภอ", "อำเภอ", "ไตรมาส"]
    assert summary[2][:11] == [
        "4302",
        "ท่าบ่อ",
        "ไตรมาส 4/2567",
        "ก.ย. 2567",
        2,
        980000.0,
        940000.0,
        4.26,
        "B",
        "B",
        "B",
    ]
    assert [row[0] for row in summary[1:]] == [d.code for d in CONFIG.province.districts]


def test_reads_in_one_locale_free_batch_get(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file))
    batch_get = next(c for c in fake.log if c.kind == "values:batchGet")
    assert batch_get.params["ranges"] == ["'การตอบกลับแบบฟอร์ม 1'", "'ยอดจำหน่ายปีฐาน'"]
    assert batch_get.params["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    assert batch_get.params["valueRenderOption"] == ["FORMULA"]


def test_formats_freezes_and_protects_the_owned_tabs(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file))
    book = fake.spreadsheets[KEY]
    summary = book.sheet("สรุปผล")
    assert summary is not None
    assert (summary.frozen_rows, summary.frozen_columns) == (1, 2)
    assert summary.cells[(0, 0)]["format"]["textFormat"] == {"bold": True}
    assert summary.cells[(1, 5)]["format"]["numberFormat"]["pattern"] == "#,##0.00"
    assert summary.cells[(1, 7)]["format"]["numberFormat"]["pattern"] == "0.00"
    assert round(summary.cells[(1, 8)]["format"]["backgroundColor"]["green"] * 255) == 0xEF
    for title in OWNED:
        sheet = book.sheet(title)
        assert sheet is not None
        assert sheet.protected == [
            {
                "range": {"sheetId": sheet.sheet_id},
                "description": PROTECTION_NOTE,
                "warningOnly": True,
                "protectedRangeId": sheet.protected[0]["protectedRangeId"],
            }
        ]


def test_a_second_sync_replaces_the_tabs_and_appends_one_log_row(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file))
    book = fake.spreadsheets[KEY]
    first = {t: book.table(t) for t in OWNED}
    inputs = {t: book.table(t) for t in (RESPONSES_TAB, BASE_YEAR_TAB)}
    fake.log.clear()
    run(source(fake, key_file))
    book = fake.spreadsheets[KEY]
    assert fake.kinds() == ["metadata", "values:batchGet", "batchUpdate"]
    batch = next(c for c in fake.log if c.kind == "batchUpdate").body["requests"]
    assert not [r for r in batch if "addSheet" in r or "addProtectedRange" in r]
    for title in OWNED[:3]:
        assert book.table(title) == first[title]
    log = book.table("บันทึกการประมวลผล")
    assert len(log) == len(first["บันทึกการประมวลผล"]) + 1
    assert log[-1] == log[-2]
    assert {t: book.table(t) for t in inputs} == inputs
    assert all(len(sheet.protected) == 1 for sheet in book.sheets if sheet.title in OWNED)


def cells_of(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Tab contents compared across sources: numbers as floats, empty cells as None, no trailing blanks."""
    out = []
    for row in rows:
        values = [
            float(v) if isinstance(v, int | float | Decimal) and not isinstance(v, bool) else v for v in row
        ]
        values = [None if v == "" else v for v in values]
        while values and values[-1] is None:
            values.pop()
        out.append(values)
    while out and not out[-1]:
        out.pop()
    return out


def test_the_google_path_writes_the_same_cells_as_the_workbook_path(
    fake: FakeSheetsAPI, key_file: Path, tmp_path: Path
) -> None:
    workbook = tmp_path / "same.xlsx"
    write_new_workbook(workbook, demo_tabs())
    run(WorkbookSource(workbook))
    run(source(fake, key_file))
    from openpyxl import load_workbook

    book = load_workbook(workbook)
    for title in OWNED:
        from_workbook = cells_of(list(book[title].iter_rows(values_only=True)))
        from_google = cells_of(fake.spreadsheets[KEY].table(title))
        assert from_google == from_workbook, title


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_user_text_lands_as_literal_text_in_every_owned_tab(
    fake: FakeSheetsAPI, key_file: Path, prefix: str
) -> None:
    hostile = f'{prefix}HYPERLINK("http://evil.test","x")'
    rows: list[tuple[CellValue, ...]] = [
        RESPONSE_HEADER,
        (bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 400000, "ผู้รายงาน", "081", hostile),
        (bkk(2024, 9, 10), hostile, "ก.ย. 2567", 3, 400000, hostile, "081", hostile),
    ]
    base = [BASE_HEADER, ("ท่าบ่อ", "ไตรมาส 4/2566", 300000)]
    fake.spreadsheets.clear()
    fake.add_spreadsheet(KEY, {RESPONSES_TAB: [[api_value(v) for v in r] for r in rows], BASE_YEAR_TAB: base})
    run(source(fake, key_file))
    batch = json.dumps(next(c for c in fake.log if c.kind == "batchUpdate").body, ensure_ascii=False)
    assert "formulaValue" not in batch
    book = fake.spreadsheets[KEY]
    problems = book.sheet("ตรวจสอบข้อมูล")
    assert problems is not None
    assert (problems.cells[(1, 2)]["value"], problems.cells[(1, 2)]["formula"]) == (hostile, None)
    for title in OWNED:
        sheet = book.sheet(title)
        assert sheet is not None
        assert all(cell["formula"] is None for cell in sheet.cells.values()), title
    summary = book.table("สรุปผล")
    assert summary[2][15] == f"หมายเหตุจากอำเภอ: {hostile}"


def test_a_storm_of_429s_is_ridden_out_with_growing_jittered_waits(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    fake.fail("values:batchGet", status=429, times=5)
    sleeps = Sleeps()
    src = source(fake, key_file, sleep=sleeps)
    outcome = run(src)
    assert outcome.rows.read == 33
    assert fake.kinds() == ["metadata", *["values:batchGet"] * 6, "batchUpdate"]
    assert len(sleeps) == 5
    assert all(0 <= s <= RetryPolicy().max_wait_seconds for s in sleeps)
    assert src.api_calls == 8


def test_a_500_on_the_write_leaves_the_previous_results_intact(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file))
    before = {t: fake.spreadsheets[KEY].table(t) for t in OWNED}
    fake.fail("batchUpdate", status=500, times=100)
    # A 500 does not say whether Google applied the batch: the message does not claim it did not.
    with pytest.raises(
        SourceError,
        match=r"kept answering HTTP 500 \(8 tries .*\); the outcome of the last write is unknown; "
        r"the next run rewrites the same cells$",
    ):
        run(source(fake, key_file))
    assert {t: fake.spreadsheets[KEY].table(t) for t in OWNED} == before


def test_a_write_refused_with_429_every_time_says_nothing_was_written(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    fake.fail("batchUpdate", status=429, times=100)
    with pytest.raises(SourceError, match=r"HTTP 429 \(8 tries .*\); nothing was written; the next run"):
        run(source(fake, key_file))


def test_after_a_lost_answer_the_failure_does_not_say_nothing_was_written(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    fake.fail("batchUpdate", status=503, apply_first=True)
    fake.fail("batchUpdate", status=429, times=100)
    with pytest.raises(SourceError, match="the outcome of the last write is unknown") as failed:
        run(source(fake, key_file))
    assert "nothing was written" not in str(failed.value)
    assert fake.spreadsheets[KEY].sheet("สรุปผล") is not None  # Google did apply the first try


def test_a_server_error_at_the_token_endpoint_says_try_again_not_replace_the_key(
    fake: FakeSheetsAPI, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)  # google-auth's own retries of the token request
    fake.fail("token", status=500, times=100)
    with pytest.raises(SourceError) as failed:
        run(source(fake, key_file, retry=RetryPolicy(attempts=2)))
    assert "Google's token endpoint answered HTTP 500" in str(failed.value)
    assert "try again later; nothing was written" in str(failed.value)
    assert "key" not in str(failed.value)


def test_api_calls_are_counted_as_the_server_sees_them(fake: FakeSheetsAPI, key_file: Path) -> None:
    fake.fail("batchUpdate", status=503, apply_first=True, times=2)
    src = source(fake, key_file)
    run(src)
    assert fake.kinds() == ["metadata", "values:batchGet", "batchUpdate", *["metadata", "batchUpdate"] * 2]
    assert src.api_calls == len(fake.kinds()) == 7


def test_a_lost_answer_to_the_write_is_retried_without_doubling_anything(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    fake.fail("batchUpdate", status=503, apply_first=True)
    run(source(fake, key_file))
    assert fake.kinds() == ["metadata", "values:batchGet", "batchUpdate", "metadata", "batchUpdate"]
    book = fake.spreadsheets[KEY]
    assert [s.title for s in book.sheets].count("สรุปผล") == 1
    assert len(book.table("บันทึกการประมวลผล")) == 2
    assert all(len(s.protected) == 1 for s in book.sheets if s.title in OWNED)


def test_a_request_that_never_answers_times_out(fake: FakeSheetsAPI, key_file: Path) -> None:
    fake.fail("metadata", timeout=True, times=100)
    with pytest.raises(SourceError, match="did not answer within 7 s"):
        run(source(fake, key_file, timeout_seconds=7, retry=RetryPolicy(attempts=3)))
    assert fake.kinds() == ["metadata"] * 3


def test_every_request_carries_a_timeout(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file, timeout_seconds=12))
    assert {c.timeout for c in fake.log if c.kind != "token"} == {12}
    assert all(c.timeout is not None for c in fake.log)


def test_a_refused_key_is_one_line_and_not_retried(fake: FakeSheetsAPI, key_file: Path) -> None:
    fake.fail(
        "token", status=400, times=100, body={"error": "invalid_grant", "error_description": "Invalid JWT"}
    )
    with pytest.raises(SourceError, match="token endpoint refused the service account's key"):
        run(source(fake, key_file))
    assert fake.kinds() == []


def test_not_shared_with_the_service_account(fake: FakeSheetsAPI, key_file: Path) -> None:
    fake.fail(
        "metadata",
        status=403,
        body={
            "error": {
                "code": 403,
                "status": "PERMISSION_DENIED",
                "message": "The caller does not have permission",
            }
        },
    )
    with pytest.raises(
        SourceError, match=r"share it with otop-sync@nongkhai.iam.gserviceaccount.com as an Editor"
    ):
        run(source(fake, key_file))
    assert fake.kinds() == ["metadata"]


def test_a_wrong_key(fake: FakeSheetsAPI, key_file: Path) -> None:
    src = GoogleSheetsSource("no-such-key", credentials=load_credentials(str(key_file)), transport=fake)
    with pytest.raises(SourceError, match="no spreadsheet with key no-such-key"):
        run(src)


def test_an_owned_tab_deleted_between_runs_is_created_again(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file))
    expected = fake.spreadsheets[KEY].table("สรุปผล")
    book = fake.spreadsheets[KEY]
    book.sheets = [s for s in book.sheets if s.title != "สรุปผล"]
    run(source(fake, key_file))
    assert fake.spreadsheets[KEY].table("สรุปผล") == expected


def test_an_input_tab_deleted_is_named_and_nothing_is_written(fake: FakeSheetsAPI, key_file: Path) -> None:
    book = fake.spreadsheets[KEY]
    book.sheets = [s for s in book.sheets if s.title != BASE_YEAR_TAB]
    with pytest.raises(LayoutError, match="no tab named 'ยอดจำหน่ายปีฐาน'"):
        run(source(fake, key_file))
    assert "batchUpdate" not in fake.kinds()


def test_a_spreadsheet_in_another_time_zone_is_refused(key_file: Path) -> None:
    fake = FakeSheetsAPI()
    fake.add_spreadsheet(KEY, api_tabs(*demo_tabs()), time_zone="Europe/London")
    with pytest.raises(SourceError, match=r"time zone Europe/London.*Bangkok"):
        run(source(fake, key_file))


def test_the_token_asks_for_the_spreadsheets_scope_only(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file))
    assert [c["scope"] for c in fake.token_claims] == [SCOPE]


def test_the_endpoint_can_be_a_proxy(fake: FakeSheetsAPI, key_file: Path) -> None:
    run(source(fake, key_file, endpoint="http://sheets-proxy.test:8080"))
    assert {c.host for c in fake.log if c.kind != "token"} == {"sheets-proxy.test:8080"}


def test_serial_timestamps_and_formulas_are_read_as_such(fake: FakeSheetsAPI, key_file: Path) -> None:
    outcome = run(source(fake, key_file))
    assert outcome.rejections[0].row == 9
    assert outcome.rejections[0].reasons == ("ยอดจำหน่ายเป็นสูตรคำนวณ ไม่ใช่ค่าที่กรอก (“=D5*2”)",)
    phon_phisai = next(r for r in outcome.districts if r.district.code == "4305")
    assert phon_phisai.rounds[1].days_late == 3


def test_a_missing_key_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        load_credentials(str(tmp_path / "nope.json"))
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"type": "service_account", "private_key": "SECRET-CONTENT"}), encoding="utf-8"
    )
    with pytest.raises(SourceError) as caught:
        load_credentials(str(broken))
    assert "SECRET-CONTENT" not in str(caught.value)


def test_no_credentials_at_all_is_one_line_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(
        SourceError, match=r"no usable Google credentials \(.*missing\.json.*\): set GOOGLE_APP"
    ):
        load_credentials(None)


def test_an_endpoint_that_trickles_ends_the_run_within_timeout_and_retry_budget(tmp_path: Path) -> None:
    with TrickleServer() as server:
        key = service_account_file(tmp_path, token_uri=server.url + "/token")
        src = GoogleSheetsSource(
            KEY,
            credentials=load_credentials(str(key)),
            endpoint=server.url,
            timeout_seconds=1,
            retry=RetryPolicy(deadline_seconds=2),
        )
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"did not answer in full within 1 s a try, nor within the 2 s"):
            run(src)
        took = time.monotonic() - started
    assert took <= (1 + 2) * 1.1
    assert src.api_calls == server.connections - 1 >= 2  # every try reached it; one more for the token


def test_an_answer_that_breaks_off_is_retried_then_one_line(tmp_path: Path) -> None:
    with TrickleServer(hang_up_after=90) as server:
        key = service_account_file(tmp_path, token_uri=server.url + "/token")
        src = GoogleSheetsSource(
            KEY,
            credentials=load_credentials(str(key)),
            endpoint=server.url,
            retry=RetryPolicy(attempts=3),
            sleep=Sleeps(),
        )
        with pytest.raises(SourceError, match=r"the answer from http://127\.0\.0\.1:\d+ broke off \("):
            run(src)
    assert src.api_calls == 3


def test_a_key_file_every_user_can_read_gets_a_warning_naming_chmod(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = Path(service_account_file(tmp_path))
    key.chmod(0o600)
    load_credentials(str(key))
    assert not caplog.records
    key.chmod(0o644)
    load_credentials(str(key))
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == (
        f"the service-account key file {key} can be read by every user of this machine (mode 644): "
        f"chmod 600 {key}"
    )


def test_a_lone_surrogate_from_google_is_replaced_visibly_and_the_row_flagged(
    fake: FakeSheetsAPI, key_file: Path
) -> None:
    broken = "ส่งแล้ว \ud83c"  # half of an emoji, as a broken client sends it; valid in JSON, not in UTF-8
    rows = [
        RESPONSE_HEADER,
        (bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 400000, "ผู้รายงาน", "081", broken),
        (bkk(2024, 9, 11), "สังคม\ud800", "ก.ย. 2567", 3, 400000, "ผู้รายงาน", "081", ""),
    ]
    fake.spreadsheets.clear()
    base = [BASE_HEADER, ("ท่าบ่อ", "ไตรมาส 4/2566", 300000)]
    fake.add_spreadsheet(KEY, {RESPONSES_TAB: [[api_value(v) for v in r] for r in rows], BASE_YEAR_TAB: base})
    outcome = run(source(fake, key_file))
    from otop_sync.brief import render_html
    from otop_sync.messages import announcement
    from otop_sync.outcome import as_json
    from otop_sync.settings import shipped_dir

    # Everything that is written or printed can be encoded.
    json.dumps(as_json(outcome), ensure_ascii=False).encode()
    render_html(outcome, CONFIG, folders=[shipped_dir("templates")]).encode()
    message = announcement(outcome, CONFIG)
    assert message is not None
    message.text.encode()
    book = fake.spreadsheets[KEY]
    assert book.table("สรุปผล")[2][15].endswith("หมายเหตุจากอำเภอ: ส่งแล้ว �")
    problems = {(row[2], row[3]): row[4] for row in book.table("ตรวจสอบข้อมูล")[1:]}
    assert problems[("ท่าบ่อ", "ใช้ แต่โปรดตรวจสอบ")].startswith("คำตอบมีอักขระที่อ่านไม่ได้ (แสดงเป็น �)")
    assert problems[("สังคม�", "ไม่นำมาใช้")] == "ไม่รู้จักอำเภอ “สังคม�”"


def test_an_answer_larger_than_the_transport_accepts_is_refused(fake: FakeSheetsAPI) -> None:
    from otop_sync.http_transport import AnswerTooLarge, DeadlineAdapter, mount

    session = requests.Session()
    mount(session, DeadlineAdapter(5, fake, max_bytes=10))
    with pytest.raises(AnswerTooLarge, match="answered with more than 10 bytes; nothing more was read"):
        session.post("https://oauth2.fake.test/token", data={"grant_type": "nothing"})


def test_a_request_that_never_reached_the_server_is_not_counted_as_an_api_call(key_file: Path) -> None:
    import socket

    with socket.socket() as closed:  # a loopback port with nobody listening: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    credentials = load_credentials(str(key_file))
    credentials.token, credentials.expiry = "ya29.signed-in", datetime(2100, 1, 1)  # no token request
    src = GoogleSheetsSource(
        KEY,
        credentials=credentials,
        endpoint=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(attempts=3),
        sleep=Sleeps(),
    )
    refused = r"cannot reach http://127\.0\.0\.1:\d+ \(3 tries in \d+ s\); nothing was written"
    with pytest.raises(SourceError, match=refused):
        run(src)
    assert src.api_calls == 0
