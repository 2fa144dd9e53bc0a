"""A loopback HTTP server that answers one byte at a time, slowly: the endpoint a socket timeout never
catches; or that hangs up in the middle of its answer. It answers a token request at once (so the path
under test gets past signing in), and stops trickling when the client hangs up or after `for_seconds`,
whichever comes first."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from types import TracebackType


class TrickleServer:
    def __init__(
        self,
        *,
        interval: float = 0.2,
        for_seconds: float = 30,
        hang_up_after: int | None = None,
        flood: int | None = None,
    ) -> None:
        """`hang_up_after`: send that many bytes of the answer at once, then close the connection.
        `flood`: answer at once with a body of that many bytes."""
        self.connections = 0

        class Handler(socketserver.StreamRequestHandler):
            def handle(handler) -> None:  # the server is `self` here
                self.connections += 1
                request_line = handler.rfile.readline().decode("latin-1")
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the headers; the body, if any, is left unread
                if " /token " in request_line:
                    body = json.dumps({"access_token": "ya29.trickle", "expires_in": 3600}).encode()
                    handler.wfile.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    return
                answer = (
                    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9999\r\n\r\n{"a":"'
                )
                answer += b"x" * 10_000
                if flood is not None:
                    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % flood)
                    try:
                        for _ in range(flood // 65536 + 1):
                            handler.wfile.write(b"x" * 65536)
                    except OSError:
                        pass  # the client stopped reading: the limit did its work
                    return
                if hang_up_after is not None:
                    handler.wfile.write(answer[:hang_up_after])
                    return
                stop = time.monotonic() + for_seconds
                for byte in answer:
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
