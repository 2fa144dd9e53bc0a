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
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError


class DeadlineExceeded(requests.Timeout):
    """No complete answer within the deadline (or what was left of the budget)."""


class AnswerTooLarge(requests.RequestException):
    """The answer would have been larger than the transport accepts: a fault, not data to wait for."""


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


class _Watch(threading.local):
    """The connections the current thread's request is using, so the watchdog can cut them."""

    connections: list[HTTPConnection] | None = None


_watch = _Watch()


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        if _watch.connections is not None:
            _watch.connections.append(self)
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
        fired = threading.Event()
        connections: list[HTTPConnection] = []
        timer = threading.Timer(limit, _cut, (fired, connections))
        timer.daemon = True
        outer, _watch.connections = _watch.connections, connections  # a request sent within another's
        timer.start()
        reached = False
        try:
            # The body is read here, inside the deadline, rather than later by requests.
            response = self.inner.send(request, stream=True, timeout=_shorter(timeout, limit), **kwargs)
            reached = True
            if not stream:
                self._read_whole(response)
            return response
        except Exception as exc:
            reached = reached or not never_reached(exc)
            if fired.is_set():
                raise DeadlineExceeded(f"no complete answer from {request.url} within {limit:g} s") from exc
            raise
        finally:
            timer.cancel()
            _watch.connections = outer
            self.sent += reached  # once a request, as the server saw it

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


def _cut(fired: threading.Event, connections: list[HTTPConnection]) -> None:
    fired.set()
    for connection in list(connections):
        sock = getattr(connection, "sock", None)
        if sock is not None:
            # shutdown, not close: it wakes a read blocked on the socket in the other thread.
            with contextlib.suppress(OSError):  # already closed
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
