"""Google Sheets as the spreadsheet, through the Sheets API v4: the only module that imports gspread.

A full sync costs three API calls whatever the number of rows (the quota is 60 a minute per user):
the spreadsheet's metadata, one ``values:batchGet`` of the tabs it reads, and one
``spreadsheets.batchUpdate`` that creates missing tabs, replaces the owned ones and formats them.
That one batch is all-or-nothing on Google's side, so a coordinator sees either the previous results
or the new ones, never a half-written tab. Every write lands on a fixed range (never ``append``), so
a retry after a lost response changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from requests.adapters import BaseAdapter
from requests.exceptions import ChunkedEncodingError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_random_exponential
from urllib3.exceptions import MaxRetryError, NewConnectionError

from otop_sync.cells import CellValue, Formula
from otop_sync.config import Form
from otop_sync.deadline import Budget, DeadlineAdapter, DeadlineExceeded, mount
from otop_sync.errors import LayoutError, SourceError
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
PROTECTION_NOTE = "otop_sync เขียนแท็บนี้ใหม่ทุกครั้งที่ประมวลผล โปรดอย่าพิมพ์ทับ"

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Truncated exponential backoff with jitter, bounded in tries and in time. No try starts later than
    `deadline_seconds` after the first, and none runs past the request timeout after that: one operation
    takes at most the timeout plus `deadline_seconds`, however the server answers."""

    attempts: int = 8
    deadline_seconds: float = 180
    first_wait_seconds: float = 1
    max_wait_seconds: float = 32


def load_credentials(credentials_file: str | None) -> Credentials:
    """A service-account key file when one is named, else Google's application default credentials."""
    try:
        if credentials_file:
            return service_account.Credentials.from_service_account_file(  # type: ignore[no-any-return]
                credentials_file, scopes=[SCOPE]
            )
        credentials, _ = google.auth.default(scopes=[SCOPE])
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
        retry: RetryPolicy = RetryPolicy(),
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
        token_session = requests.Session()
        mount(token_session, DeadlineAdapter(timeout_seconds, transport, budget=self._budget))
        session = AuthorizedSession(
            credentials, auth_request=Request(token_session), refresh_timeout=timeout_seconds
        )
        mount(session, _EndpointAdapter(endpoint, self._api) if endpoint != DEFAULT_ENDPOINT else self._api)
        self._http = HTTPClient(auth=credentials, session=session)
        self._http.set_timeout(timeout_seconds)  # gspread's default is to wait forever
        self._metadata: Mapping[str, Any] = {}
        self._run_log_rows = 0

    @property
    def api_calls(self) -> int:
        """Requests sent to the Sheets API, as its server counts them: every try and re-read included."""
        return self._api.sent

    # Reading ----------------------------------------------------------------------------------------

    def read(self, form: Form) -> SheetData:
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
        tries: list[BaseException] = []

        def send() -> None:
            # After a failure whose outcome is unknown (a timeout, a 503), look again: the tabs this
            # batch would create may exist by now, and adding them twice would be refused.
            metadata = self._fetch_metadata() if tries else self._metadata
            body = batch_update_body(writes, metadata, run_log_rows=self._run_log_rows)
            try:
                self._http.batch_update(self.key, body)
            except Exception as exc:
                tries.append(exc)
                raise

        self._call("write the results", send, maybe_written=lambda: any(map(_outcome_unknown, tries)))
        self._run_log_rows = max(self._run_log_rows, 1) + len(writes.run_log.rows)

    # Retrying and explaining ------------------------------------------------------------------------

    def _call(self, what: str, action: Callable[[], T], *, maybe_written: Callable[[], bool] = bool) -> T:
        """`action`, retried by the policy; `maybe_written` says, after a failure, whether a try may have
        changed the spreadsheet although its answer was an error or never came."""
        policy = self.retry
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.deadline_seconds),
            wait=wait_random_exponential(multiplier=policy.first_wait_seconds, max=policy.max_wait_seconds),
            retry=retry_if_exception(_retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry(what),
            reraise=True,
        )
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
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], MaxRetryError):
        return not isinstance(exc.args[0].reason, NewConnectionError)
    return isinstance(exc, requests.RequestException)


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
        if value.startswith("="):
            return Formula(value)
        return value if value else None
    if isinstance(value, bool | int | float):
        return value
    return None if value is None else str(value)


# The batch ---------------------------------------------------------------------------------------------


def batch_update_body(writes: Writes, metadata: Mapping[str, Any], *, run_log_rows: int) -> dict[str, Any]:
    """One spreadsheets.batchUpdate: create missing tabs, replace the owned ones whole, append to the
    run log at a fixed row, format, and protect (with a warning only) what otop_sync owns."""
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
        requests_.append(_cells(sheet_id, 0, [_header_row(table)]))
        if table.rows:
            requests_.append(_cells(sheet_id, start, [_data_row(table, row) for row in table.rows]))
        requests_.extend(_column_widths(sheet_id, table))
        if sheet is None or not _is_protected(sheet):
            requests_.append(_protect(sheet_id))
    return {"requests": requests_}


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


def _cells(sheet_id: int, row: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": 0},
            "rows": rows,
            "fields": "userEnteredValue,userEnteredFormat",
        }
    }


def _colour(hex_rgb: str) -> dict[str, float]:
    return {name: int(hex_rgb[i : i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


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
    if kind is Kind.GRADE:
        colour = GRADE_COLOURS.get(str(value), NO_GRADE_COLOUR)
        style: dict[str, Any] = {"backgroundColor": _colour(colour), "horizontalAlignment": "CENTER"}
    elif kind in NUMBER_FORMATS and isinstance(value, int | Decimal | float):
        style = {"numberFormat": {"type": "NUMBER", "pattern": NUMBER_FORMATS[kind]}}
    else:
        style = {"wrapStrategy": "WRAP"} if len(str(value)) > WRAP_LONGER_THAN else {}
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        # stringValue is never parsed: "=IMPORTRANGE(...)" from a response lands as those characters.
        entered: dict[str, Any] = {"stringValue": cell_text(str(value))}
    else:
        entered = {"numberValue": float(value) if isinstance(value, Decimal) else value}
    return (
        {"userEnteredValue": entered, "userEnteredFormat": style} if style else {"userEnteredValue": entered}
    )


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
