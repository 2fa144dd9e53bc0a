"""Push messages to the province's LINE group through the LINE Messaging API: the only module that talks
to LINE, over plain HTTPS (one endpoint does not earn a whole SDK).

Never twice: each message has an identity, and what was sent is recorded in the state folder. That record
is the real guard. Every try of the same message also carries the same ``X-Line-Retry-Key`` (derived from
the identity), so LINE itself drops a duplicate when an answer was lost; but LINE keeps a retry key for
24 hours only ("Retrying a failed API request"), so it covers the retries of one run, not a rerun days
later. The token is sent in a header and never logged.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import requests
from requests.adapters import BaseAdapter
from requests.exceptions import ChunkedEncodingError

from otop_sync.atomic import write_atomically
from otop_sync.errors import LineError
from otop_sync.http_transport import (
    LINE_RETRY,
    AnswerTooLarge,
    BrokenAnswer,
    DeadlineAdapter,
    DeadlineExceeded,
    json_object,
    mount,
)
from otop_sync.statefile import WrongShape, aware, read_state

DEFAULT_ENDPOINT = "https://api.line.me"
SENT_FILE = "line-sent.json"
_RETRY_NAMESPACE = uuid.UUID("6f0c8e1e-1f5b-4d1e-9a57-0b1c0ea5a001")
log = logging.getLogger("otop_sync")
# After a failure a message is not recorded as sent. A try may have got through all the same (its answer
# lost); the next run's try carries the same retry key, and LINE drops it if it did, within 24 hours.
_AGAIN = "not recorded as sent: the next run tries again with the same retry key"


class _Retryable(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body = status, body


@dataclass(frozen=True)
class Delivery:
    sent: bool
    reason: str


class SentBook:
    """The identities of the messages already sent, in the state folder; written atomically.

    A message's identity names the day it is for, so only that day's runs could send it again: what was
    sent more than KEEP_DAYS ago is dropped as the book is written, which keeps the file to a few months of
    messages however many years the service runs (LINE itself drops a repeated retry key for 24 hours)."""

    KEEP_DAYS = 92

    def __init__(self, folder: Path) -> None:
        self.path = folder / SENT_FILE

    def load(self) -> dict[str, str]:
        """{identity: when it was sent}; a file of another shape is set aside (statefile.read_state)."""
        return read_state(self.path, _parse_sent, empty={})

    def add(self, identity: str, at: datetime) -> None:
        oldest = at - timedelta(days=self.KEEP_DAYS)
        kept = {key: when for key, when in self.load().items() if _sent_at(when) >= oldest}
        sent = {**kept, identity: at.isoformat()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(sent, ensure_ascii=False, indent=2).encode())


def _sent_at(text: str) -> datetime:
    try:
        return aware(text)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # not a time otop_sync wrote: kept, never lost


def _parse_sent(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise WrongShape("not a JSON object of message identities and times")
    return raw


class Pushable(Protocol):
    """What the client sends: a text, and its identity in the record of what was sent."""

    @property
    def identity(self) -> str: ...

    @property
    def text(self) -> str: ...


class LineClient:
    def __init__(
        self,
        *,
        token: str,
        group_id: str,
        state_dir: Path,
        endpoint: str = DEFAULT_ENDPOINT,
        transport: BaseAdapter | None = None,
        timeout_seconds: float = 30,
        attempts: int = LINE_RETRY.attempts,
        deadline_seconds: float = LINE_RETRY.deadline_seconds,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime],
    ) -> None:
        self.group_id, self.endpoint = group_id, endpoint.rstrip("/")
        self.book = SentBook(state_dir)
        self.timeout_seconds = timeout_seconds
        self.attempts, self.deadline_seconds = attempts, deadline_seconds
        self._sleep, self._clock = sleep, clock
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._wire = DeadlineAdapter(timeout_seconds, transport, max_bytes=1_000_000)  # answers are tiny
        mount(self._session, self._wire)

    def push(self, message: Pushable) -> Delivery:
        if message.identity in self.book.load():
            return Delivery(False, f"already sent ({message.identity})")
        retry_key = str(uuid.uuid5(_RETRY_NAMESPACE, message.identity))
        body = {"to": self.group_id, "messages": [{"type": "text", "text": message.text}]}
        # No try starts later than deadline_seconds after the first, and none runs past the timeout after
        # that: a push takes at most timeout + deadline seconds, however LINE answers.
        policy = replace(LINE_RETRY, attempts=self.attempts, deadline_seconds=self.deadline_seconds)
        retrying = policy.retrying(
            lambda exc: isinstance(
                exc, _Retryable | requests.ConnectionError | requests.Timeout | ChunkedEncodingError
            ),
            sleep=self._sleep,
        )
        try:
            with self._wire.budget.lasting(self.timeout_seconds + self.deadline_seconds):
                for attempt in retrying:
                    with attempt:
                        self._post(body, retry_key)
        except _Retryable as exc:
            raise LineError(f"LINE kept answering HTTP {exc.status}; {_AGAIN}") from None
        except DeadlineExceeded:
            raise LineError(
                f"LINE at {self.endpoint} did not answer in full within {self.timeout_seconds:g} s a try, "
                f"nor within {self.deadline_seconds:g} s of retries; {_AGAIN}"
            ) from None
        except (AnswerTooLarge, BrokenAnswer) as exc:
            raise LineError(f"{exc}; {_AGAIN}") from None
        except requests.RequestException as exc:
            raise LineError(
                f"cannot reach LINE at {self.endpoint} ({type(exc).__name__}); {_AGAIN}"
            ) from None
        try:
            self.book.add(message.identity, self._clock())
        except OSError as exc:
            # Sent all the same; a rerun carries the same retry key, and LINE drops the duplicate.
            log.warning("sent, but cannot record it in %s: %s", self.book.path, exc.strerror or exc)
        return Delivery(True, f"sent ({message.identity})")

    def describe(self) -> str:
        """The bot and the group it pushes to, asked of LINE (one try each, within the time limits), or
        LineError saying what to fix: a refused token, or a bot that is not in the group."""
        with self._wire.budget.lasting(self.timeout_seconds):
            bot = self._get("/v2/bot/info", "check the channel access token")
            group = self._get(
                f"/v2/bot/group/{self.group_id}/summary",
                f"invite the bot to the group, or check [line] group_id ({self.group_id})",
            )
        return f"bot {bot.get('displayName', '?')!r} is in the group {group.get('groupName', '?')!r}"

    def _get(self, path: str, fix: str) -> dict[str, Any]:
        try:
            response = self._session.get(f"{self.endpoint}{path}", timeout=self.timeout_seconds)
        except AnswerTooLarge as exc:
            raise LineError(str(exc)) from None
        except requests.RequestException as exc:
            raise LineError(f"cannot reach LINE at {self.endpoint} ({type(exc).__name__})") from None
        if response.status_code == 401:
            raise LineError(
                f"LINE refused the channel access token (HTTP 401: {_message(response)}): issue a new one"
            )
        if response.status_code != 200:
            raise LineError(
                f"LINE answered HTTP {response.status_code} to {path} ({_message(response)}): {fix}"
            )
        try:
            body = response.json()
        except ValueError:
            raise LineError(f"LINE's answer to {path} is not JSON") from None
        return body if isinstance(body, dict) else {}

    def _post(self, body: dict[str, Any], retry_key: str) -> None:
        response = self._session.post(
            f"{self.endpoint}/v2/bot/message/push",
            json=body,
            headers={"X-Line-Retry-Key": retry_key},
            timeout=self.timeout_seconds,
        )
        if response.status_code == 200:
            json_object(response)  # LINE answers {"sentMessages": …}; anything less was cut short
            return
        if response.status_code == 409:
            # "The retry key is already accepted": an earlier try with this key got through, and LINE
            # dropped this one. The OpenAPI document declares no header on 409, so none is required.
            return
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(response.status_code, response.text)
        detail = _message(response)
        if response.status_code == 401:
            raise LineError(f"LINE refused the channel access token (HTTP 401: {detail}): issue a new one")
        raise LineError(f"LINE refused the message (HTTP {response.status_code}: {detail})")


def _message(response: requests.Response) -> str:
    """LINE's error, with the property and reason of each detail ("messages[0].text: Length must …")."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no detail"
    if not isinstance(body, dict):
        return response.reason or "no detail"
    details = [
        f"{d.get('property', '')}: {d.get('message', '')}".strip(": ")
        for d in body.get("details") or []
        if isinstance(d, dict)
    ]
    message = str(body.get("message", "")) or response.reason or "no detail"
    return f"{message} ({'; '.join(details)})" if details else message
