"""A fake LINE Messaging API push endpoint, as a requests transport adapter (no network)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import BaseAdapter

TOKEN = "fakeChannelAccessToken0123456789abcdefABCDEF+/="
GROUP = "C" + "0123456789abcdef" * 2


@dataclass
class Push:
    url: str
    headers: dict[str, str]
    body: Any


class FakeLine(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Push] = []
        self.delivered: list[Any] = []  # what the group saw
        self.accepted_keys: dict[str, str] = {}
        self.script: list[int] = []  # statuses to answer before behaving normally
        self.lose_answer = 0  # deliver, then answer 500 as if the answer was lost

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        headers = dict(request.headers)
        body = json.loads(request.body or "{}")
        self.requests.append(Push(request.url or "", headers, body))
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return _answer(
                request,
                401,
                {
                    "message": "Authentication failed. Confirm that the access token in the "
                    "authorization HTTP header is valid."
                },
            )
        if self.script:
            return _answer(request, self.script.pop(0), {"message": "The server is busy"})
        key = headers.get("X-Line-Retry-Key", "")
        if key in self.accepted_keys:
            return _answer(
                request,
                409,
                {"message": "The retry key is already accepted"},
                {"x-line-accepted-request-id": self.accepted_keys[key]},
            )
        if body.get("to") != GROUP:
            return _answer(request, 400, {"message": "The property, 'to', in the request body is invalid"})
        self.delivered.append(body)
        self.accepted_keys[key] = f"req-{len(self.delivered)}"
        if self.lose_answer:
            self.lose_answer -= 1
            return _answer(request, 500, {"message": "Internal error"})
        return _answer(request, 200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})

    def close(self) -> None:
        pass


def _answer(
    request: requests.PreparedRequest, status: int, payload: Any, headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    response.url, response.request, response.encoding = request.url or "", request, "utf-8"
    return response
