"""HTTP with a deadline for the whole answer, a budget for every try of one operation, and a count of
the requests sent: the transport under the Google Sheets and LINE clients.

Why: requests' ``timeout`` bounds each wait on the socket, not a request. An endpoint that answers one
byte a second never times out, and an unattended run (holding the run lock that every later job waits
for) would go on for as long as the trickle does. Here a watchdog shuts the connection's socket down at
the deadline, which wakes the blocked read; the request then fails as a timeout, and the retry policy
above decides what happens next. The budget makes the retry policy's time limit a hard one: no try starts
once it is spent, and a try is cut short where it would overrun it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_random_exponential
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy of every client (Sheets, Forms, Drive, LINE): truncated exponential backoff
    with jitter, bounded in tries and in time. No try starts later than `deadline_seconds` after the
    first, and none runs past the request timeout after that: one operation takes at most the timeout
    plus `deadline_seconds`, however the server answers. The services differ only where they must
    (SHEETS_RETRY, GOOGLE_API_RETRY, LINE_RETRY below)."""

    attempts: int = 8
    deadline_seconds: float = 180
    first_wait_seconds: float = 1
    max_wait_seconds: float = 32

    def retrying(
        self,
        retryable: Callable[[BaseException], bool],
        *,
        sleep: Callable[[float], None],
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.deadline_seconds),
            wait=wait_random_exponential(multiplier=self.first_wait_seconds, max=self.max_wait_seconds),
            retry=retry_if_exception(retryable),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )


# Sheets: its quotas are per minute (read and write requests per user), and a 429 clears only when the
# minute's window has passed: eight tries with waits of up to 32 s outlast it.
SHEETS_RETRY = RetryPolicy(attempts=8)
# Forms and Drive: one request at a time, from a command a person waits for or a brief's publication.
GOOGLE_API_RETRY = RetryPolicy(attempts=6)
# LINE: a push is retried under the same retry key, which LINE honours for 24 hours; two minutes in all
# keep a reminder near its time (a push that still fails is logged whole, to send by hand).
LINE_RETRY = RetryPolicy(attempts=6, deadline_seconds=120)


class DeadlineExceeded(requests.Timeout):
    """No complete answer within the deadline (or what was left of the budget)."""


class AnswerTooLarge(requests.RequestException):
    """The answer would have been larger than the transport accepts: a fault, not data to wait for."""


class BrokenAnswer(requests.ConnectionError):
    """A success whose body is not what every answer of the service is (a JSON object): the connection
    ended inside the headers, which http.client reads as their end, and the body came empty or cut.
    A network fault to retry, never an empty result."""


def json_object(response: requests.Response) -> dict[str, Any]:
    """The body of a successful answer, which every API here sends as a JSON object, or BrokenAnswer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BrokenAnswer(f"the answer from {response.url} broke off (its body is not a JSON object)")
    return body


class Budget:
    """The time one operation may take, every try included; shared by the adapters it goes through."""

    def __init__(self) -> None:
        self._ends_at: float | None = None

    @contextmanager
    def lasting(self, seconds: float) -> Iterator[None]:
        self._ends_at = time.monotonic() + seconds
        try:
            yield
        finally:
            self._ends_at = None

    def remaining(self) -> float | None:
        return None if self._ends_at is None else self._ends_at - time.monotonic()


class _Watchdog:
    """The sockets one request is using, held by descriptors of our own.

    http.client lets go of a connection's socket as soon as the server says it will close (HTTP/1.0, or
    ``Connection: close``), and TLS moves the socket to another object: a watchdog that looked the socket
    up on the connection at the deadline would find nothing to cut and the trickle would go on. A
    duplicated descriptor is the same connection whoever else holds or drops it, so shutting it down
    always wakes the blocked read. The lock keeps a shutdown and the final close from crossing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self.fired = False

    def hold(self, sock: socket.socket | None) -> None:
        if sock is None or sock.fileno() < 0:
            return
        held = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._held.append(held)
            if self.fired:  # connected after the deadline: cut at once
                _shut(held)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            for held in self._held:
                _shut(held)

    def release(self) -> None:
        with self._lock:
            for held in self._held:
                held.close()
            self._held.clear()


class _Watch(threading.local):
    """The watchdog of the current thread's request, so its connections can hand it their sockets."""

    dog: _Watchdog | None = None


_watch = _Watch()


def _hold(sock: socket.socket | None) -> None:
    if _watch.dog is not None:
        _watch.dog.hold(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _hold(sock)  # before any TLS handshake, which could trickle too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _hold(self.sock)  # a kept-alive connection, opened by an earlier request
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection, _WatchedHTTPConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedHTTPAdapter(HTTPAdapter):
    """requests' own adapter, whose connections tell the watchdog which socket to cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(BaseAdapter):
    """Sends through `inner` (requests' own adapter when none is given) with each request bounded, from
    connecting to the last byte of the answer, by `seconds` or what is left of `budget`, if less. (A
    caller that asks for a streamed answer reads its body after the deadline: neither client does.)"""

    def __init__(
        self,
        seconds: float,
        inner: BaseAdapter | None = None,
        *,
        budget: Budget | None = None,
        max_bytes: int = 100_000_000,
    ) -> None:
        super().__init__()
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.inner = inner or _WatchedHTTPAdapter()
        self.budget = budget or Budget()
        self.sent = 0  # requests sent, as the server sees them: every try, every re-read

    def send(  # type: ignore[override]  # requests' own adapters take their options as keywords too
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        limit = self.seconds
        left = self.budget.remaining()
        if left is not None:
            if left <= 0:
                raise DeadlineExceeded(f"the time allowed for retries is spent; {request.url} was not sent")
            limit = min(limit, left)
        dog = _Watchdog()
        timer = threading.Timer(limit, dog.fire)
        timer.daemon = True
        outer, _watch.dog = _watch.dog, dog  # a request sent within another's (a token on the way)
        timer.start()
        reached = False
        try:
            # The body is read here, inside the deadline, rather than later by requests.
            response = self.inner.send(request, stream=True, timeout=_shorter(timeout, limit), **kwargs)
            reached = True
            if not stream:
                self._read_whole(response)
        except Exception as exc:
            reached = reached or not never_reached(exc)
            if dog.fired:
                raise DeadlineExceeded(f"no complete answer from {request.url} within {limit:g} s") from exc
            raise
        finally:
            timer.cancel()
            dog.release()
            _watch.dog = outer
            self.sent += reached  # once a request, as the server saw it
        if dog.fired:
            # A cut inside the headers reads as their end, and a cut body of an answer without a length
            # as its end: http.client hands back what came, looking whole. It is not an answer.
            response.close()
            raise DeadlineExceeded(f"no complete answer from {request.url} within {limit:g} s (cut short)")
        return response

    def close(self) -> None:
        self.inner.close()

    def _read_whole(self, response: requests.Response) -> None:
        """The answer's body, read in pieces up to `max_bytes`, then kept as requests keeps it. A transport
        that hands over the body whole (a test's fake, a mock adapter) is held to the same limit."""
        if response.raw is None:
            if len(response.content) > self.max_bytes:
                raise self._too_large(response)
            return
        pieces, size = [], 0
        for piece in response.iter_content(1 << 16):
            size += len(piece)
            if size > self.max_bytes:
                response.close()
                raise self._too_large(response)
            pieces.append(piece)
        response._content = b"".join(pieces)  # what response.content reads once and keeps

    def _too_large(self, response: requests.Response) -> AnswerTooLarge:
        limit = f"{self.max_bytes / 1e6:g} MB" if self.max_bytes >= 1_000_000 else f"{self.max_bytes:,} bytes"
        return AnswerTooLarge(f"{response.url} answered with more than {limit}; nothing more was read")


def never_reached(exc: BaseException) -> bool:
    """Whether a failed request never reached the server: no connection was made (refused, no such
    host, no answer to the connection attempt). Anything else may have been received, even applied."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], MaxRetryError):
        return isinstance(exc.args[0].reason, NewConnectionError)
    return False


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: it wakes a read blocked on the socket in the other thread.
    with contextlib.suppress(OSError):  # the server closed it already
        sock.shutdown(socket.SHUT_RDWR)


def _shorter(timeout: Any, limit: float) -> Any:
    """requests' timeout (a number, or a (connect, read) pair), no longer than `limit` in either part."""
    if isinstance(timeout, tuple):
        return tuple(limit if t is None else min(t, limit) for t in timeout)
    return limit if timeout is None else min(timeout, limit)


def mount(session: requests.Session, adapter: BaseAdapter) -> None:
    """Route both schemes of `session` through `adapter` (http serves a loopback fake or a local proxy)."""
    session.mount("https://", adapter)
    session.mount("http://", adapter)
