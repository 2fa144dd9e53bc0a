"""API calls and time of a full sync on Google Sheets, against a naive per-row gspread write.

    pip install ".[test]" && python benchmarks/google_calls.py

Both run the real gspread and google-auth code against the fake Sheets API of the test suite (no
network), which adds a simulated 150 ms to every request (counted, not slept). otop_sync reads the
tabs and writes the owned ones in one batch; the naive writer updates the same owned tabs one row per
request with ``Worksheet.update``, as a first gspread script would.
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

from otop_sync.config import Config, District
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB
from otop_sync.periods import BANGKOK
from otop_sync.responses import Tab
from otop_sync.settings import load_config, shipped_dir
from otop_sync.sources.contract import SheetData
from otop_sync.sources.google import GoogleSheetsSource, load_credentials
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


def with_otop_sync(config: Config, key_file: Path) -> tuple[int, float]:
    api = fake_for(config)
    source = GoogleSheetsSource(KEY, credentials=load_credentials(str(key_file)), transport=api)
    started = time.perf_counter()
    sync(source, config=config, as_of=AS_OF, computed_at=AS_OF)
    return len(api.kinds()), time.perf_counter() - started + api.virtual_seconds


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
    return SheetData(responses=tabs[RESPONSES_TAB], base_year=tabs[BASE_YEAR_TAB])


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="otop-google-bench-"))
    key_file = Path(service_account_file(folder))
    print(f"simulated latency {LATENCY * 1000:.0f} ms a request; quota 60 requests a minute per user")
    print(
        f"{'districts':>9}  {'otop_sync calls':>15}  {'time':>7}  {'naive calls':>11}  {'time':>8}  "
        f"{'naive at quota':>14}"
    )
    for count in (9, 100, 1000):
        config = province(count)
        calls, seconds = with_otop_sync(config, key_file)
        naive_calls, naive_seconds = naively(config, key_file)
        print(
            f"{count:>9}  {calls:>15}  {seconds:>6.2f}s  {naive_calls:>11}  {naive_seconds:>7.1f}s  "
            f"{naive_calls / 60:>10.0f} min"
        )


if __name__ == "__main__":
    main()
