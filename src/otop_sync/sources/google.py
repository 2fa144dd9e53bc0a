"""Google Sheets as the spreadsheet, through the Sheets API v4: the only module that imports gspread.

A full sync costs three API calls whatever the number of rows (the quota is 60 a minute per user):
the spreadsheet's metadata, one ``values:batchGet`` of the tabs it reads, and one
``spreadsheets.batchUpdate`` that creates missing tabs, replaces the owned ones and formats them.
That one batch is all-or-nothing on Google's side, so a coordinator sees either the previous results
or the new ones, never a half-written tab. Every write lands on a fixed range (never ``append``), so
a retry after a lost response changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import google.auth
import requests
from google.auth import exceptions as auth_errors
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL
from requests.adapters import BaseAdapter
from requests.exceptions import ChunkedEncodingError
from tenacity import RetryCallState

from otop_sync.cells import CellValue, Formula, within_cell_limit, writable
from otop_sync.config import SheetLayout
from otop_sync.errors import LayoutError, SourceError
from otop_sync.http_transport import (
    SHEETS_RETRY,
    AnswerTooLarge,
    Budget,
    DeadlineAdapter,
    DeadlineExceeded,
    RetryPolicy,
    mount,
    never_reached,
)
from otop_sync.responses import Tab
from otop_sync.sources.contract import SheetData, Writes, responses_tabs
from otop_sync.tables import (
    GRADE_COLOURS,
    HEADER_COLOUR,
    NO_GRADE_COLOUR,
    NUMBER_FORMATS,
    WRAP_LONGER_THAN,
    Kind,
    Table,
    cell_text,
)

SCOPE = "https://www.googleapis.com/auth/spreadsheets"  # never a Drive scope: the key names the file
DEFAULT_ENDPOINT = "https://sheets.googleapis.com"
METADATA_FIELDS = (
    "properties(title,timeZone),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),"
    "protectedRanges(protectedRangeId,description,range(sheetId)))"
)
# Google's message when a token lacks every scope the method accepts (a 403 like a file not shared).
INSUFFICIENT_SCOPES = "insufficient authentication scopes"
PROTECTION_NOTE = "otop_sync เขียนแท็บนี้ใหม่ทุกครั้งที่ประมวลผล โปรดอย่าพิมพ์ทับ"
# Google's recommended largest request: "2 MB is recommended" (developers.google.com/sheets/api/limits).
PAYLOAD_LIMIT = 2_000_000
# The hidden tabs in which a write too large for one request is assembled, then switched in at once.
STAGING = "otop_sync กำลังเขียน "

log = logging.getLogger(__name__)
T = TypeVar("T")


def load_credentials(credentials_file: str | None, scopes: Sequence[str] = (SCOPE,)) -> Credentials:
    """A service-account key file when one is named, else Google's application default credentials;
    asking for `scopes` only (the spreadsheet's by default; the Forms commands ask for their own)."""
    try:
        if credentials_file:
            credentials = service_account.Credentials.from_service_account_file(
                credentials_file, scopes=list(scopes)
            )
            _warn_if_others_can_read(credentials_file)
            return credentials  # type: ignore[no-any-return]
        credentials, _ = google.auth.default(scopes=list(scopes))
        return credentials
    except FileNotFoundError:
        raise SourceError(f"service-account key file {credentials_file} does not exist") from None
    except (ValueError, KeyError, OSError) as exc:
        # The message names missing fields, never the key's contents.
        raise SourceError(f"service-account key file {credentials_file} cannot be used: {exc}") from None
    except auth_errors.DefaultCredentialsError as exc:
        # google-auth's message names the file it looked at, never what is in it.
        raise SourceError(
            f"no usable Google credentials ({str(exc).splitlines()[0]}): set GOOGLE_APPLICATION_CREDENTIALS "
            "(or credentials_file in province.toml) to a service-account key file"
        ) from None


def _warn_if_others_can_read(path: str) -> None:
    """The key signs in as the service account: a copy readable by every user of the machine is a leak
    waiting to happen. A warning, not a refusal: the run goes on."""
    mode = os.stat(path).st_mode
    if mode & stat.S_IROTH:
        log.warning(
            "the service-account key file %s can be read by every user of this machine (mode %o): "
            "chmod 600 %s",
            path,
            stat.S_IMODE(mode),
            path,
        )


def authorized_session(
    credentials: Credentials,
    api: BaseAdapter,
    *,
    transport: BaseAdapter | None,
    timeout_seconds: float,
    budget: Budget,
) -> AuthorizedSession:
    """A session signed in with `credentials` whose API requests go through `api`, and whose token
    requests have the same deadline and budget: a token's answer is a few hundred bytes, so 1 MB bounds it."""
    token_session = requests.Session()
    mount(token_session, DeadlineAdapter(timeout_seconds, transport, budget=budget, max_bytes=1_000_000))
    session = AuthorizedSession(
        credentials, auth_request=Request(token_session), refresh_timeout=timeout_seconds
    )
    mount(session, api)
    return session


class _EndpointAdapter(BaseAdapter):
    """Sends requests for sheets.googleapis.com to another endpoint (a proxy, a compatible server)."""

    def __init__(self, endpoint: str, inner: BaseAdapter) -> None:
        super().__init__()
        self.endpoint, self.inner = endpoint, inner

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.url and request.url.startswith(DEFAULT_ENDPOINT):
            request.url = self.endpoint + request.url[len(DEFAULT_ENDPOINT) :]
        return self.inner.send(request, *args, **kwargs)

    def close(self) -> None:
        self.inner.close()


def quoted(title: str) -> str:
    """A whole tab as an A1 range: its title in single quotes, quotes doubled (Thai titles included)."""
    return "'" + title.replace("'", "''") + "'"


class GoogleSheetsSource:
    def __init__(
        self,
        key: str,
        *,
        credentials: Credentials,
        transport: BaseAdapter | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout_seconds: float = 30,
        retry: RetryPolicy = SHEETS_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        timezone: str = "Asia/Bangkok",
    ) -> None:
        self.key = key
        self.endpoint = endpoint
        self.timeout_seconds = timeout_seconds
        self.retry = retry
        self.timezone = timezone
        self._sleep = sleep
        self._account = getattr(credentials, "service_account_email", None)
        # One budget for every try of an operation, the token requests made on its way included.
        self._budget = Budget()
        self._api = DeadlineAdapter(timeout_seconds, transport, budget=self._budget)
        session = authorized_session(
            credentials,
            _EndpointAdapter(endpoint, self._api) if endpoint != DEFAULT_ENDPOINT else self._api,
            transport=transport,
            timeout_seconds=timeout_seconds,
            budget=self._budget,
        )
        self._http = HTTPClient(auth=credentials, session=session)
        self._http.set_timeout(timeout_seconds)  # gspread's default is to wait forever
        self._metadata: Mapping[str, Any] = {}
        self._run_log_rows = 0

    @property
    def api_calls(self) -> int:
        """Requests sent to the Sheets API, as its server counts them: every try and re-read included."""
        return self._api.sent

    # Reading ----------------------------------------------------------------------------------------

    def read(self, form: SheetLayout) -> SheetData:
        tabs = form.tabs
        metadata = self._call("read the list of tabs", self._fetch_metadata)
        present = _sheets_by_title(metadata)
        responses = responses_tabs(present, tabs.responses)
        if not responses:
            raise LayoutError(self._missing_tab(tabs.responses[0], "the form's responses", present))
        if tabs.base_year not in present:
            raise LayoutError(self._missing_tab(tabs.base_year, "the base-year sales", present))
        wanted = [*responses, tabs.base_year, *(t for t in (tabs.quarterly, tabs.run_log) if t in present)]
        params = {
            # FORMULA: values come back unformatted, except that a formula comes back as its text, so a
            # formula typed into the responses is seen (and refused) rather than taken for a figure.
            "valueRenderOption": "FORMULA",
            # Locale-free dates: serial days since 1899-12-30, in the spreadsheet's time zone.
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS",
        }
        ranges = [quoted(title) for title in wanted]
        reply = self._call(
            "read the tabs", lambda: self._http.values_batch_get(self.key, ranges, params=dict(params))
        )
        values = [value_range.get("values", []) for value_range in reply.get("valueRanges", [])]
        read = {title: Tab(title, _rows(rows)) for title, rows in zip(wanted, values, strict=False)}
        self._metadata = metadata
        self._run_log_rows = len(read[tabs.run_log].rows) if tabs.run_log in read else 0
        return SheetData(
            responses=tuple(read[title] for title in responses),
            base_year=read[tabs.base_year],
            previous_quarterly=read.get(tabs.quarterly),
        )

    def _fetch_metadata(self) -> Mapping[str, Any]:
        metadata = self._http.fetch_sheet_metadata(self.key, params={"fields": METADATA_FIELDS})
        zone = metadata.get("properties", {}).get("timeZone")
        if zone != self.timezone:
            raise SourceError(
                f"spreadsheet {self.key} is set to time zone {zone}, so its timestamps are not Bangkok time: "
                f"set File > Settings > Time zone to (GMT+07:00) Bangkok"
            )
        return metadata

    def _missing_tab(self, title: str, meaning: str, present: Mapping[str, Any]) -> str:
        return (
            f"spreadsheet {self.key} has no tab named {title!r} ({meaning}); its tabs: {', '.join(present)}"
        )

    # Writing ----------------------------------------------------------------------------------------

    def write(self, writes: Writes) -> None:
        if not self._metadata:
            raise SourceError("write() before read(): the tabs and the run log's length are not known")
        tries = 0
        failed_switches: list[BaseException] = []  # failures of the batch that changes what people see

        def send() -> None:
            nonlocal tries
            # After a failure whose outcome is unknown (a timeout, a 503), look again: the tabs this
            # batch would create may exist by now, and adding them twice would be refused.
            metadata = self._fetch_metadata() if tries else self._metadata
            tries += 1
            payload = _encode(batch_update_body(writes, metadata, run_log_rows=self._run_log_rows))
            if len(payload) > PAYLOAD_LIMIT:
                # Assembled out of sight in requests of at most PAYLOAD_LIMIT, then switched in by one
                # small batch: people still see the old tabs or the new ones, never a part.
                staged = _staging_ids(writes, metadata)
                for batch in staging_batches(writes, metadata, staged):
                    self._post_batch(_encode(batch))
                body = batch_update_body(writes, metadata, run_log_rows=self._run_log_rows, staged=staged)
                payload = _encode(body)
            try:
                self._post_batch(payload)
            except Exception as exc:
                failed_switches.append(exc)
                raise

        self._call(
            "write the results", send, maybe_written=lambda: any(map(_outcome_unknown, failed_switches))
        )
        self._run_log_rows = max(self._run_log_rows, 1) + len(writes.run_log.rows)

    def _post_batch(self, payload: bytes) -> None:
        self._http.request(
            "post",
            SPREADSHEET_BATCH_UPDATE_URL % self.key,
            data=payload,
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )

    # Retrying and explaining ------------------------------------------------------------------------

    def _call(
        self, what: str, action: Callable[[], T], *, maybe_written: Callable[[], bool] = lambda: False
    ) -> T:
        """`action`, retried by the policy; `maybe_written` says, after a failure, whether a try may have
        changed the spreadsheet although its answer was an error or never came."""
        policy = self.retry
        retrying = policy.retrying(_retryable, sleep=self._sleep, before_sleep=self._log_retry(what))
        started = time.monotonic()
        try:
            with self._budget.lasting(self.timeout_seconds + policy.deadline_seconds):
                for attempt in retrying:
                    with attempt:
                        return action()
        except Exception as exc:  # translated below; anything unexpected goes on unchanged
            tries = retrying.statistics.get("attempt_number", 1)
            after = (
                "the outcome of the last write is unknown; the next run rewrites the same cells"
                if maybe_written()
                else "nothing was written; the next run will try again"
            )
            raise self._explain(
                exc, what, f"{tries} tries in {time.monotonic() - started:.0f} s", after
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _log_retry(self, what: str) -> Callable[[RetryCallState], None]:
        def log_it(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0
            log.warning(
                "Google Sheets: %s failed (%s); retrying in %.1f s (try %d of %d)",
                what,
                _short(error),
                wait,
                state.attempt_number + 1,
                self.retry.attempts,
            )

        return log_it

    def _explain(self, exc: BaseException, what: str, tries: str, after: str) -> Exception:
        """One line for the operator: what failed, after how many tries, and what became of the data."""
        if isinstance(exc, SourceError):
            return exc
        if isinstance(exc, APIError):
            code, message = _status(exc), exc.error.get("message", "")
            if code == 403 and INSUFFICIENT_SCOPES in message:
                return SourceError(
                    f"spreadsheet {self.key}: the credentials were not granted the spreadsheets scope "
                    f"({message}): use a service-account key, or application default credentials made with "
                    f"--scopes={SCOPE}"
                )
            if code == 403:
                account = self._account or "the service account"
                return SourceError(
                    f"spreadsheet {self.key}: permission denied: share it with {account} as an "
                    f"Editor ({message})"
                )
            if code == 404:
                return SourceError(
                    f"no spreadsheet with key {self.key}: check the key (the part of its URL "
                    "between /d/ and /edit)"
                )
            if code == 401:
                return SourceError(
                    f"Google refused the credentials ({message}): create a new key for the service account"
                )
            if _retryable(exc):
                return SourceError(
                    f"could not {what}: Google Sheets kept answering HTTP {code} ({tries}); {after}"
                )
            return SourceError(
                f"could not {what}: Google Sheets refused the request: HTTP {code} {message}; {after}"
            )
        if isinstance(exc, DeadlineExceeded):
            return SourceError(
                f"could not {what}: Google Sheets did not answer in full within {self.timeout_seconds:g} s "
                f"a try, nor within the {self.retry.deadline_seconds:g} s allowed for retries "
                f"({tries}); {after}"
            )
        if isinstance(exc, requests.Timeout):
            return SourceError(
                f"could not {what}: Google Sheets did not answer within {self.timeout_seconds:g} s "
                f"({tries}); {after}"
            )
        if isinstance(exc, auth_errors.TransportError):
            return SourceError(
                f"could not {what}: cannot reach Google's token endpoint to sign in ({tries}); {after}"
            )
        if isinstance(exc, requests.ConnectionError):
            return SourceError(f"could not {what}: cannot reach {self.endpoint} ({tries}); {after}")
        if isinstance(exc, AnswerTooLarge):
            return SourceError(f"could not {what}: {exc}; {after}")
        if isinstance(exc, requests.RequestException):
            return SourceError(
                f"could not {what}: the answer from {self.endpoint} broke off ({type(exc).__name__}, "
                f"{tries}); {after}"
            )
        if isinstance(exc, auth_errors.RefreshError):
            if getattr(exc, "retryable", False):
                return SourceError(
                    f"could not {what}: Google's token endpoint answered {_token_status(exc)} ({tries}): "
                    f"try again later; {after}"
                )
            return SourceError(
                f"could not {what}: Google's token endpoint refused the service account's key "
                f"({_short(exc)}): check or replace the key file"
            )
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def _status(exc: APIError) -> int:
    return exc.code if exc.code != -1 else exc.response.status_code


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, APIError):
        code = _status(exc)
        return code == 429 or code >= 500
    if isinstance(exc, auth_errors.RefreshError):
        return bool(getattr(exc, "retryable", False))
    # A broken-off answer (ChunkedEncodingError) is a network fault like a dropped connection.
    return isinstance(
        exc,
        requests.ConnectionError | requests.Timeout | ChunkedEncodingError | auth_errors.TransportError,
    )


def _outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed write may have been applied all the same: its answer was a server error, or was
    lost. A refusal (4xx, 429) was not applied, nor was a request that never reached the server."""
    if isinstance(exc, APIError):
        return _status(exc) >= 500
    return isinstance(exc, requests.RequestException) and not never_reached(exc)


def _token_status(exc: auth_errors.RefreshError) -> str:
    """The HTTP status of a failed token request, where google-auth kept the answer's body."""
    body = exc.args[1] if len(exc.args) > 1 else None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return f"HTTP {code}" if isinstance(code, int) else "with a server error"


def _short(error: BaseException | None) -> str:
    if isinstance(error, APIError):
        return f"HTTP {_status(error)}"
    return type(error).__name__ if error else "unknown"


def _sheets_by_title(metadata: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {sheet["properties"]["title"]: sheet for sheet in metadata.get("sheets", [])}


def _rows(values: Sequence[Sequence[Any]]) -> tuple[tuple[CellValue, ...], ...]:
    """API values as cell values. The API drops trailing empty cells and rows: ragged rows are normal."""
    return tuple(tuple(_cell(v) for v in row) for row in values)


def _cell(value: Any) -> CellValue:
    if isinstance(value, str):
        # JSON can carry a lone surrogate ("\\ud800"), which nothing downstream could write; a text longer
        # than a cell holds is cut before anything looks at its characters.
        value = writable(within_cell_limit(value))
        if value.startswith("="):
            return Formula(value)
        return value if value else None
    if isinstance(value, bool | int | float):
        return value
    return None if value is None else str(value)


# The batch ---------------------------------------------------------------------------------------------


def _encode(body: Mapping[str, Any]) -> bytes:
    # UTF-8 and no spaces: Thai escaped as \uXXXX by the default encoder took 6 bytes a letter, not 3.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def batch_update_body(
    writes: Writes, metadata: Mapping[str, Any], *, run_log_rows: int, staged: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """One spreadsheets.batchUpdate: create missing tabs, replace the owned ones whole, append to the
    run log at a fixed row, format, and protect (with a warning only) what otop_sync owns. The data rows
    of a table in `staged` (title: hidden sheet ID) are copied from that sheet, which is then deleted."""
    staged = staged or {}
    present = _sheets_by_title(metadata)
    next_id = max((s["properties"]["sheetId"] for s in present.values()), default=0) + 1
    requests_: list[dict[str, Any]] = []
    for table in (*writes.tables, writes.run_log):
        is_log = table is writes.run_log
        start = max(run_log_rows, 1) if is_log else 1  # the run log keeps its rows; its new ones go below
        # At least one row under the frozen header, even with no data: Google refuses a sheet whose every
        # row is frozen ("You can't freeze all visible rows on the sheet."), and the batch with it.
        needed_rows = max(start + len(table.rows), 2)
        sheet = present.get(table.title)
        if sheet is None:
            sheet_id, next_id = next_id, next_id + 1
            requests_.append(_add_sheet(sheet_id, table, needed_rows))
        else:
            sheet_id = sheet["properties"]["sheetId"]
            requests_.append(_resize(sheet_id, sheet, table, needed_rows))
            if not is_log:
                # No row list: every cell of the tab is emptied, so a shorter table leaves no old rows.
                requests_.append(
                    {
                        "updateCells": {
                            "range": {"sheetId": sheet_id},
                            "fields": "userEnteredValue,userEnteredFormat",
                        }
                    }
                )
        requests_.append(_cells(sheet_id, 0, [_header_row(table)], "userEnteredValue,userEnteredFormat"))
        if table.title in staged and table.rows:
            requests_.append(_copy_rows(staged[table.title], sheet_id, table))
        elif table.rows:
            requests_.extend(_data_requests(sheet_id, table, start))
        requests_.extend(_column_widths(sheet_id, table))
        if sheet is None or not _is_protected(sheet):
            requests_.append(_protect(sheet_id))
    requests_.extend({"deleteSheet": {"sheetId": sheet_id}} for sheet_id in staged.values())
    return {"requests": requests_}


def _data_requests(sheet_id: int, table: Table, start: int) -> list[dict[str, Any]]:
    """The values, with the one format that varies from cell to cell (a grade's colour), then the formats
    a whole column shares, once per column: a format on every cell tripled the payload."""
    rows = [_data_row(table, row) for row in table.rows]
    return [
        _cells(sheet_id, start, rows, DATA_FIELDS),
        *_column_formats(sheet_id, table, start, start + len(table.rows)),
    ]


DATA_FIELDS = "userEnteredValue,userEnteredFormat.backgroundColor"


def _staging_ids(writes: Writes, metadata: Mapping[str, Any]) -> dict[str, int]:
    """A hidden sheet ID for each table, clear of every sheet the spreadsheet has."""
    first = max((s["properties"]["sheetId"] for s in metadata.get("sheets", [])), default=0) + 1000
    return {table.title: first + i for i, table in enumerate(writes.tables)}


def staging_batches(
    writes: Writes, metadata: Mapping[str, Any], staged: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The batches that assemble each table's data rows in a hidden sheet, each at most PAYLOAD_LIMIT
    bytes: the first removes what a broken earlier run left and adds the sheets; rows follow in order."""
    setup: list[dict[str, Any]] = [
        {"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}}
        for title, sheet in _sheets_by_title(metadata).items()
        if title.startswith(STAGING)
    ]
    pieces: list[tuple[int, int, dict[str, Any], int]] = []  # sheet, row index, row data, its bytes
    for number, table in enumerate(writes.tables, start=1):
        sheet_id = staged[table.title]
        grid = {"rowCount": len(table.rows) + 1, "columnCount": len(table.columns)}
        properties = {
            "sheetId": sheet_id,
            "title": f"{STAGING}{number}",
            "hidden": True,
            "gridProperties": grid,
        }
        setup.append({"addSheet": {"properties": properties}})
        setup.extend(_column_formats(sheet_id, table, 1, 1 + len(table.rows)))
        for index, row in enumerate(table.rows, start=1):
            data = _data_row(table, row)
            pieces.append((sheet_id, index, data, len(_encode(data)) + 1))
    batches: list[list[dict[str, Any]]] = [setup]
    room = PAYLOAD_LIMIT - len(_encode({"requests": setup})) - 1_000  # the wrappers of the requests
    for sheet_id, index, data, size in pieces:
        if size > room:
            batches.append([])
            room = PAYLOAD_LIMIT - 1_000
        batch = batches[-1]
        last = batch[-1]["updateCells"] if batch and "updateCells" in batch[-1] else None
        if (
            last
            and last["start"]["sheetId"] == sheet_id
            and last["start"]["rowIndex"] + len(last["rows"]) == index
        ):
            last["rows"].append(data)
        else:
            batch.append(_cells(sheet_id, index, [data], DATA_FIELDS))
            size += 200
        room -= size
    return [{"requests": batch} for batch in batches]


def _copy_rows(from_sheet: int, to_sheet: int, table: Table) -> dict[str, Any]:
    rows = {"startRowIndex": 1, "endRowIndex": 1 + len(table.rows), "startColumnIndex": 0}
    rows["endColumnIndex"] = len(table.columns)
    return {
        "copyPaste": {
            "source": {"sheetId": from_sheet, **rows},
            "destination": {"sheetId": to_sheet, **rows},
            "pasteType": "PASTE_NORMAL",
        }
    }


def _grid(table: Table, rows: int) -> dict[str, int]:
    return {
        "rowCount": rows,
        "columnCount": len(table.columns),
        "frozenRowCount": 1,
        "frozenColumnCount": table.frozen_columns,
    }


def _add_sheet(sheet_id: int, table: Table, rows: int) -> dict[str, Any]:
    return {
        "addSheet": {
            "properties": {"sheetId": sheet_id, "title": table.title, "gridProperties": _grid(table, rows)}
        }
    }


def _resize(sheet_id: int, sheet: Mapping[str, Any], table: Table, rows: int) -> dict[str, Any]:
    current = sheet["properties"].get("gridProperties", {})
    grid = _grid(table, max(rows, current.get("rowCount", 0)))
    grid["columnCount"] = max(grid["columnCount"], current.get("columnCount", 0))
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": grid},
            "fields": "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount)",
        }
    }


def _cells(sheet_id: int, row: int, rows: list[dict[str, Any]], fields: str) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": 0},
            "rows": rows,
            "fields": fields,
        }
    }


def _colour(hex_rgb: str) -> dict[str, float]:
    return {
        name: round(int(hex_rgb[i : i + 2], 16) / 255, 4)
        for name, i in (("red", 0), ("green", 2), ("blue", 4))
    }


def _header_row(table: Table) -> dict[str, Any]:
    style = {
        "textFormat": {"bold": True},
        "backgroundColor": _colour(HEADER_COLOUR),
        "wrapStrategy": "WRAP",
        "verticalAlignment": "TOP",
    }
    return {
        "values": [
            {"userEnteredValue": {"stringValue": cell_text(c.title)}, "userEnteredFormat": style}
            for c in table.columns
        ]
    }


def _data_row(table: Table, row: Sequence[object]) -> dict[str, Any]:
    return {
        "values": [_cell_data(column.kind, value) for column, value in zip(table.columns, row, strict=False)]
    }


def _cell_data(kind: Kind, value: object) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        # stringValue is never parsed: "=IMPORTRANGE(...)" from a response lands as those characters.
        entered: dict[str, Any] = {"stringValue": cell_text(str(value))}
    else:
        entered = {"numberValue": float(value) if isinstance(value, Decimal) else value}
    if kind is Kind.GRADE:
        colour = _colour(GRADE_COLOURS.get(str(value), NO_GRADE_COLOUR))
        return {"userEnteredValue": entered, "userEnteredFormat": {"backgroundColor": colour}}
    return {"userEnteredValue": entered}


def _column_formats(sheet_id: int, table: Table, start: int, end: int) -> list[dict[str, Any]]:
    """Every cell at the top of its row (beside a wrapped cell, a row is taller than one line), then one
    repeatCell per column that has a format: numbers, grades centred, long text wrapped."""
    formats: list[tuple[int | None, dict[str, Any]]] = [(None, {"verticalAlignment": "TOP"})]
    for i, column in enumerate(table.columns):
        if column.kind in NUMBER_FORMATS:
            formats.append((i, {"numberFormat": {"type": "NUMBER", "pattern": NUMBER_FORMATS[column.kind]}}))
        elif column.kind is Kind.GRADE:
            formats.append((i, {"horizontalAlignment": "CENTER"}))
        elif any(len(str(row[i] or "")) > WRAP_LONGER_THAN for row in table.rows if i < len(row)):
            formats.append((i, {"wrapStrategy": "WRAP"}))
    return [
        {
            "repeatCell": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": start,
                    "endRowIndex": end,
                    "startColumnIndex": 0 if i is None else i,
                    "endColumnIndex": len(table.columns) if i is None else i + 1,
                },
                "cell": {"userEnteredFormat": style},
                "fields": "userEnteredFormat." + ",userEnteredFormat.".join(style),
            }
        }
        for i, style in formats
    ]


def _column_widths(sheet_id: int, table: Table) -> list[dict[str, Any]]:
    return [
        {
            "updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                "properties": {"pixelSize": column.width * 7 + 5},
                "fields": "pixelSize",
            }
        }
        for i, column in enumerate(table.columns)
    ]


def _is_protected(sheet: Mapping[str, Any]) -> bool:
    return any(p.get("description") == PROTECTION_NOTE for p in sheet.get("protectedRanges", []))


def _protect(sheet_id: int) -> dict[str, Any]:
    return {
        "addProtectedRange": {
            "protectedRange": {
                "range": {"sheetId": sheet_id},
                "description": PROTECTION_NOTE,
                "warningOnly": True,
            }
        }
    }
