"""API calls, bytes and time of a full sync on Google Sheets, against a naive per-row gspread write.

    pip install ".[test]" && python benchmarks/google_calls.py

Both run the real gspread and google-auth code against the fake Sheets API of the test suite (no
network), which adds a simulated 150 ms to every request (counted, not slept). otop_sync reads the
tabs and writes the owned ones in one batch; the naive writer updates the same owned tabs one row per
request with ``Worksheet.update``, as a first gspread script would. The bytes are those of the write
requests' bodies, as sent: Google recommends at most 2 MB a request.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gspread
import requests
from google.auth.transport.requests import AuthorizedSession, Request

from otop_sync.config import Config
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB
from otop_sync.google_api import load_credentials
from otop_sync.periods import BANGKOK, Quarter
from otop_sync.responses import Tab
from otop_sync.rules import District
from otop_sync.settings import load_config, shipped_dir
from otop_sync.sources.contract import SheetData
from otop_sync.sources.google import GoogleSheetsSource
from otop_sync.sync import decide, sync
from tests.fake_sheets import FakeSheetsAPI, service_account_file

LATENCY = 0.150
KEY = "benchmark-sheet"
AS_OF = datetime(2024, 9, 16, 8, 0, tzinfo=BANGKOK)
EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001


def province(count: int) -> Config:
    config = load_config(shipped_dir("config"))
    districts = tuple(District(f"{9000 + i}", f"อำเภอทดสอบ {i}", ()) for i in range(1, count + 1))
    return replace(config, province=replace(config.province, districts=districts))


def spreadsheet(config: Config) -> dict[str, list[list[Any]]]:
    responses: list[list[Any]] = [list(RESPONSE_HEADER)]
    base: list[list[Any]] = [list(BASE_HEADER)]
    for i, district in enumerate(config.province.districts):
        for month, label, base_label in (
            (7, "ก.ค. 2567", "ก.ค. 2566"),
            (8, "ส.ค. 2567", "ส.ค. 2566"),
            (9, "ก.ย. 2567", "ก.ย. 2566"),
        ):
            submitted = datetime(2024, month, 1 + i % 14, 9)  # noqa: DTZ001
            serial = (submitted - EPOCH).total_seconds() / 86400
            responses.append([serial, district.name, label, month - 6, 100000 * (month - 6) + i, "", "", ""])
            base.append([district.name, base_label, 98000 + i])
    return {RESPONSES_TAB: responses, BASE_YEAR_TAB: base}


def fake_for(config: Config) -> FakeSheetsAPI:
    api = FakeSheetsAPI(latency_seconds=LATENCY)
    api.add_spreadsheet(KEY, spreadsheet(config))
    return api


def years_of_history(config: Config, fiscal_years: int) -> dict[str, list[list[Any]]]:
    """Every month of `fiscal_years` fiscal years up to FY 2567 reported, and the year before as base."""
    responses: list[list[Any]] = [list(RESPONSE_HEADER)]
    base: list[list[Any]] = [list(BASE_HEADER)]
    first = 2567 - fiscal_years
    for i, district in enumerate(config.province.districts):
        for fiscal_year in range(first, 2568):
            for number in (1, 2, 3, 4):
                for position, month in enumerate(Quarter(fiscal_year, number).months):
                    base.append([district.name, month.label, 98000 + i])
                    submitted = datetime(month.year, month.month, 1 + i % 14, 9)  # noqa: DTZ001
                    if fiscal_year > first and submitted < AS_OF.replace(tzinfo=None):
                        serial = (submitted - EPOCH).total_seconds() / 86400
                        products, sales = position + 1, 100000 * (position + 1) + 7 * i
                        row = [
                            serial,
                            district.name,
                            month.label,
                            products,
                            sales,
                            "ผู้รายงาน",
                            "0812345678",
                            "",
                        ]
                        responses.append(row)
    return {RESPONSES_TAB: responses, BASE_YEAR_TAB: base}


def with_otop_sync(
    config: Config, key_file: Path, tabs: dict[str, list[list[Any]]] | None = None
) -> tuple[int, float, int, int]:
    """API calls, seconds, the largest write request and all write requests, in bytes."""
    api = FakeSheetsAPI(latency_seconds=LATENCY)
    api.add_spreadsheet(KEY, tabs or spreadsheet(config))
    source = GoogleSheetsSource(KEY, credentials=load_credentials(str(key_file)), transport=api)
    started = time.perf_counter()
    sync(source, config=config, as_of=AS_OF, computed_at=AS_OF)
    sizes = [c.size for c in api.log if c.kind == "batchUpdate"]
    return len(api.kinds()), time.perf_counter() - started + api.virtual_seconds, max(sizes), sum(sizes)


def naively(config: Config, key_file: Path) -> tuple[int, float]:
    """The same owned tabs written the way a first gspread script would: a request per row."""
    api = fake_for(config)
    credentials = load_credentials(str(key_file))
    token_session = requests.Session()
    token_session.mount("https://", api)
    session = AuthorizedSession(credentials, auth_request=Request(token_session))
    session.mount("https://", api)
    client = gspread.Client(auth=credentials, session=session)
    started = time.perf_counter()
    book = client.open_by_key(KEY)
    for title in (RESPONSES_TAB, BASE_YEAR_TAB):
        book.worksheet(title).get_values()
    # Grade with the same core on the same data, so that only the reading and writing differ.
    _, writes = decide(_sheet_data(api), config=config, as_of=AS_OF, computed_at=AS_OF)
    for table in (*writes.tables, writes.run_log):
        sheet = book.add_worksheet(table.title, rows=len(table.rows) + 1, cols=len(table.columns))
        for number, row in enumerate((table.header, *table.rows), start=1):
            values = ["" if v is None else (v if isinstance(v, str | int) else float(v)) for v in row]
            sheet.update([values], f"A{number}", raw=True)
    return len(api.kinds()), time.perf_counter() - started + api.virtual_seconds


def _sheet_data(api: FakeSheetsAPI) -> SheetData:
    book = api.spreadsheets[KEY]
    tabs = {
        title: Tab(title, tuple(tuple(v if v != "" else None for v in row) for row in book.table(title)))
        for title in (RESPONSES_TAB, BASE_YEAR_TAB)
    }
    return SheetData(responses=(tabs[RESPONSES_TAB],), base_year=tabs[BASE_YEAR_TAB])


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="otop-google-bench-"))
    key_file = Path(service_account_file(folder))
    print(f"simulated latency {LATENCY * 1000:.0f} ms a request; quota 60 requests a minute per user")
    print(
        f"{'districts':>9}  {'quarters':>8}  {'otop_sync calls':>15}  {'time':>7}  {'largest request':>15}  "
        f"{'all writes':>10}  {'naive calls':>11}  {'time':>8}  {'naive at quota':>14}"
    )
    for count in (9, 100, 1000):
        config = province(count)
        calls, seconds, largest, written = with_otop_sync(config, key_file)
        naive_calls, naive_seconds = naively(config, key_file)
        print(
            f"{count:>9}  {1:>8}  {calls:>15}  {seconds:>6.2f}s  {largest / 1e6:>12.2f} MB  "
            f"{written / 1e6:>7.2f} MB  {naive_calls:>11}  {naive_seconds:>7.1f}s  "
            f"{naive_calls / 60:>10.0f} min"
        )
    config = province(100)
    calls, seconds, largest, written = with_otop_sync(config, key_file, years_of_history(config, 10))
    print(
        f"{100:>9}  {40:>8}  {calls:>15}  {seconds:>6.2f}s  {largest / 1e6:>12.2f} MB  "
        f"{written / 1e6:>7.2f} MB  (the naive writer is not run on ten years of history)"
    )


if __name__ == "__main__":
    main()
