"""A loopback HTTP server that answers one byte at a time, slowly: the endpoint a socket timeout never
catches; or that hangs up in the middle of its answer. It answers a token request at once (so the path
under test gets past signing in) unless told to trickle that too, and stops trickling when the client
hangs up or after `for_seconds`, whichever comes first.

The ways a real server (or a proxy in front of it) can send its answer are all here, because each takes
another path through http.client: HTTP/1.1 kept alive or HTTP/1.0; ``Connection: close``; a
``Content-Length`` or chunked; the trickle starting in the status line, in the headers or in the body.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from dataclasses import dataclass
from types import TracebackType

BODY = b'{"a":"' + b"x" * 10_000 + b'"}'


@dataclass(frozen=True)
class Behaviour:
    """How the server answers: where its trickle starts, and how it frames the answer."""

    where: str = "body"  # "status", "headers" or "body"
    close: bool = False  # says Connection: close
    http10: bool = False  # an HTTP/1.0 server or proxy: the connection ends with the answer
    chunked: bool = False  # Transfer-Encoding: chunked instead of a Content-Length

    @property
    def name(self) -> str:
        framing = "chunked" if self.chunked else "length"
        version = "HTTP/1.0" if self.http10 else "HTTP/1.1"
        return f"{version} {'close' if self.close else 'keep-alive'} {framing}, trickle in {self.where}"

    def answer(self) -> tuple[bytes, int]:
        """The answer's bytes, and where in them the trickle starts."""
        status = b"HTTP/1.0 200 OK\r\n" if self.http10 else b"HTTP/1.1 200 OK\r\n"
        headers = b"Content-Type: application/json\r\n"
        if self.close:
            headers += b"Connection: close\r\n"
        if self.chunked and not self.http10:
            headers += b"Transfer-Encoding: chunked\r\n"
            body = b"".join(b"1\r\n" + bytes([b]) + b"\r\n" for b in BODY) + b"0\r\n\r\n"
        else:
            headers += f"Content-Length: {len(BODY)}\r\n".encode()
            body = BODY
        answer = status + headers + b"\r\n" + body
        start = {"status": 0, "headers": len(status), "body": len(status) + len(headers) + 2}[self.where]
        return answer, start


# Every way an answer can come, for the tests and the benchmark to go through.
BEHAVIOURS = [
    Behaviour(where=where, close=close, http10=http10, chunked=chunked)
    for where in ("status", "headers", "body")
    for close, http10, chunked in (
        (False, False, False),
        (True, False, False),
        (False, True, False),
        (False, False, True),
        (True, False, True),
    )
    if not (where != "body" and chunked)  # chunking only changes how a body comes
]


class TrickleServer:
    def __init__(
        self,
        *,
        interval: float = 0.2,
        for_seconds: float = 30,
        hang_up_after: int | None = None,
        flood: int | None = None,
        behaviour: Behaviour = Behaviour(),
        trickle_token: bool = False,
        answer_at_once: str | None = None,
    ) -> None:
        """`hang_up_after`: send that many bytes of the answer at once, then close the connection.
        `flood`: answer at once with a body of that many bytes. `trickle_token`: the token endpoint
        trickles too. `answer_at_once`: a path prefix answered at once with an empty JSON object."""
        self.connections = 0

        class Handler(socketserver.StreamRequestHandler):
            def handle(handler) -> None:  # the server is `self` here
                self.connections += 1
                request_line = handler.rfile.readline().decode("latin-1")
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the headers; the body, if any, is left unread
                if " /token " in request_line and not trickle_token:
                    body = json.dumps({"access_token": "ya29.trickle", "expires_in": 3600}).encode()
                    handler.wfile.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    return
                if answer_at_once and f" {answer_at_once}" in request_line:
                    handler.wfile.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        b"Content-Length: 2\r\n\r\n{}"
                    )
                    return
                if flood is not None:
                    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % flood)
                    try:
                        for _ in range(flood // 65536 + 1):
                            handler.wfile.write(b"x" * 65536)
                    except OSError:
                        pass  # the client stopped reading: the limit did its work
                    return
                answer, start = behaviour.answer()
                if hang_up_after is not None:
                    handler.wfile.write(answer[:hang_up_after])
                    return
                handler.wfile.write(answer[:start])
                handler.wfile.flush()
                stop = time.monotonic() + for_seconds
                for byte in answer[start:]:
                    if time.monotonic() > stop:
                        return
                    try:
                        handler.wfile.write(bytes([byte]))
                        handler.wfile.flush()
                    except OSError:
                        return  # the client hung up: the deadline did its work
                    time.sleep(interval)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TrickleServer:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
