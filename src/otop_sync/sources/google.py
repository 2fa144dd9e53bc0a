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
from typing import Any, TypeVar

import requests
from google.auth import exceptions as auth_errors
from google.auth.credentials import Credentials
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL
from requests.adapters import BaseAdapter
from requests.exceptions import ChunkedEncodingError
from tenacity import RetryCallState

from otop_sync.cells import CellValue, Formula, within_cell_limit, writable
from otop_sync.config import SheetLayout
from otop_sync.errors import LayoutError, SourceError
from otop_sync.google_api import INSUFFICIENT_SCOPES, SHEETS_SCOPE, authorized_session
from otop_sync.http_transport import (
    SHEETS_RETRY,
    AnswerTooLarge,
    Budget,
    DeadlineAdapter,
    DeadlineExceeded,
    RetryPolicy,
    never_reached,
)
from otop_sync.responses import Tab
from otop_sync.sources import sheets_batch
from otop_sync.sources.contract import SheetData, Writes, responses_tabs
from otop_sync.sources.sheets_batch import (
    _encode,
    _sheets_by_title,
    _staging_ids,
    batch_update_body,
    staging_batches,
)

SCOPE = SHEETS_SCOPE  # never a Drive scope: the key names the file
DEFAULT_ENDPOINT = "https://sheets.googleapis.com"
METADATA_FIELDS = (
    "properties(title,timeZone),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),"
    "protectedRanges(protectedRangeId,description,range(sheetId)))"
)

log = logging.getLogger(__name__)
T = TypeVar("T")


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
            if len(payload) > sheets_batch.PAYLOAD_LIMIT:
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
