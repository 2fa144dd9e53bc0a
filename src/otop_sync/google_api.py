"""The Google layer's base: the service account's credentials and signed-in sessions (Sheets, Forms,
Drive), and one way to call a Google REST API (Forms, Drive): the deadline transport, one retry policy,
and the HTTP failures turned into one-line errors.

Each client says what it is doing ("read the form", "publish the brief") and how its own refusals read
(`explain`: a 404 is "no form with ID …" for Forms and "check [drive] folder_id" for Drive); the rest is
said the same way for every service. The Sheets adapter goes through gspread, which has its own error
type, and LINE is not Google; both keep the same bounds (http_transport.py) and wording.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import google.auth
import requests
from google.auth import exceptions as auth_errors
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from requests.adapters import BaseAdapter

from otop_sync.errors import SourceError
from otop_sync.http_transport import (
    GOOGLE_API_RETRY,
    BrokenAnswer,
    Budget,
    DeadlineAdapter,
    DeadlineExceeded,
    json_object,
    mount,
)

log = logging.getLogger("otop_sync")
SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
# Google's message when a token lacks every scope the method accepts (a 403 like a file not shared).
INSUFFICIENT_SCOPES = "insufficient authentication scopes"


def load_credentials(credentials_file: str | None, scopes: Sequence[str] = (SHEETS_SCOPE,)) -> Credentials:
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


@dataclass(frozen=True)
class Refusal:
    """A Google API's answer other than success: its status, message and reason ("storageQuotaExceeded",
    from `error.errors[0].reason`, else `error.status`)."""

    status: int
    message: str
    reason: str


Explain = Callable[[str, Refusal], Exception | None]  # (what, refusal) -> the client's own error, or None


class GoogleApi:
    """Requests to one Google API, signed in with `credentials`. A try is cut at `timeout_seconds`; 429,
    5xx and network faults are tried again (GOOGLE_API_RETRY: at most 6 tries, waits of 1–32 s with
    jitter) for at most `retry_for_seconds`, so that one call takes at most their sum."""

    def __init__(
        self,
        service: str,
        *,
        credentials: Credentials,
        endpoint: str,
        transport: BaseAdapter | None = None,
        timeout_seconds: float = 30,
        retry_for_seconds: float = 180,
        max_bytes: int = 10_000_000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service, self.endpoint = service, endpoint.rstrip("/")
        self.timeout_seconds, self.retry_for_seconds = timeout_seconds, retry_for_seconds
        self.account = getattr(credentials, "service_account_email", None) or "the service account"
        self._sleep = sleep
        self._budget = Budget()
        self._api = DeadlineAdapter(timeout_seconds, transport, budget=self._budget, max_bytes=max_bytes)
        self._session = authorized_session(
            credentials, self._api, transport=transport, timeout_seconds=timeout_seconds, budget=self._budget
        )

    @property
    def calls(self) -> int:
        return self._api.sent

    def call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        explain: Explain,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        """The answer's JSON object. `body` is sent as JSON, or `data` as `content_type`. `retry=False`
        for a request that must not be sent twice (a file created twice is two files): it is tried once,
        and a caller that finds its result missing tries again at the next run."""
        if body is not None:
            data, content_type = (
                json.dumps(body, ensure_ascii=False).encode(),
                "application/json; charset=UTF-8",
            )
        headers = {"Content-Type": content_type} if content_type else {}
        policy = replace(
            GOOGLE_API_RETRY,
            attempts=GOOGLE_API_RETRY.attempts if retry else 1,
            deadline_seconds=self.retry_for_seconds,
        )
        retrying = policy.retrying(
            _retryable,
            sleep=self._sleep,
            before_sleep=lambda state: log.warning(
                "%s: could not %s (%s); trying again in %.1f s",
                self.service,
                what,
                state.outcome.exception() if state.outcome else "",
                state.next_action.sleep if state.next_action else 0,
            ),
        )
        try:
            with self._budget.lasting(self.timeout_seconds + self.retry_for_seconds):
                for attempt in retrying:
                    with attempt:
                        answer = self._session.request(
                            method,
                            self.endpoint + path,
                            params=params,
                            data=data,
                            headers=headers,
                            timeout=self.timeout_seconds,
                        )
                        if answer.status_code == 429 or answer.status_code >= 500:
                            raise _Retryable(answer)
                        return self._parsed(what, answer, explain)
        except _Retryable as exc:
            again = "try again later" if retry else "the next run tries again"
            raise SourceError(
                f"could not {what}: {self.service} kept answering HTTP {exc.answer.status_code}: {again}"
            ) from None
        except DeadlineExceeded:
            raise SourceError(
                f"could not {what}: {self.service} did not answer within {self.timeout_seconds:g} s a try "
                f"and {self.retry_for_seconds:g} s in all"
            ) from None
        except BrokenAnswer as exc:
            raise SourceError(f"could not {what}: {exc}; try again later") from None
        except auth_errors.RefreshError as exc:
            raise SourceError(
                f"could not {what}: Google's token endpoint refused the service account's key ({exc}): "
                "check or replace the key file"
            ) from None
        except (requests.RequestException, auth_errors.TransportError) as exc:
            raise SourceError(
                f"could not {what}: cannot reach {self.endpoint} ({type(exc).__name__})"
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _parsed(self, what: str, answer: requests.Response, explain: Explain) -> dict[str, Any]:
        try:
            payload = answer.json()
        except ValueError:
            if answer.ok:
                return json_object(answer)  # raises: a success with no JSON is an answer cut short
            payload = {}
        if answer.ok:
            if isinstance(payload, dict):
                return payload
            raise SourceError(
                f"could not {what}: {self.endpoint} answered something that is not a JSON object"
            )
        refusal = _refusal(answer.status_code, payload)
        if refusal.status == 403 and INSUFFICIENT_SCOPES in refusal.message:
            raise SourceError(
                f"could not {what}: the credentials were not granted the {self.service} scope "
                f"({refusal.message}): use a service-account key, or application default credentials "
                "made with that scope"
            )
        own = explain(what, refusal)
        if own is not None:
            raise own
        if refusal.status == 401:
            raise SourceError(
                f"Google refused the credentials ({refusal.message}): create a new key for the service "
                "account"
            )
        raise SourceError(
            f"could not {what}: {self.service} refused the request: HTTP {refusal.status} {refusal.message}"
        )


def _refusal(status: int, payload: Any) -> Refusal:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return Refusal(status, "", "")
    details = error.get("errors")
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    reason = str(first.get("reason") or error.get("status") or "")
    return Refusal(status, str(error.get("message", ""))[:500], reason)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, auth_errors.RefreshError):
        return bool(getattr(exc, "retryable", False))  # google-auth's word: a 5xx of the token endpoint
    return isinstance(
        exc,
        _Retryable | BrokenAnswer | requests.ConnectionError | requests.Timeout | auth_errors.TransportError,
    )


class _Retryable(Exception):
    def __init__(self, answer: requests.Response) -> None:
        super().__init__(f"HTTP {answer.status_code}")
        self.answer = answer
