"""A fake LINE Messaging API, as a requests transport adapter (no network).

It refuses what LINE refuses: every request is checked against LINE's OpenAPI document
(``tests/contract.py``), and the rules the document leaves to prose are held here, each with its source.
Error bodies have LINE's shape: ``{"message": …, "details": [{"message": …, "property": …}]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from otop_sync.lengths import utf16_length

from .contract import Violation, line

TOKEN = "fakeChannelAccessToken0123456789abcdefABCDEF+/="
GROUP = "C" + "0123456789abcdef" * 2
OPERATOR = "U" + "fedcba9876543210" * 2  # the operator's own chat: a user who added the bot as a friend
# "Max character limit: 5000", counted in UTF-16 code units (LINE Developers, Messaging API reference,
# text message; and "Character counting in a text": an emoji counts 2).
TEXT_UNITS = 5000


@dataclass
class Push:
    url: str
    headers: dict[str, str]
    body: Any


class FakeLine(BaseAdapter):
    def __init__(self, *, accepted_header_on_409: bool = True) -> None:
        super().__init__()
        self.requests: list[Push] = []
        self.delivered: list[Any] = []  # what the group saw
        self.accepted_keys: dict[str, str] = {}
        self.script: list[int] = []  # statuses to answer before behaving normally
        self.lose_answer = 0  # deliver, then answer 500 as if the answer was lost
        self.violations: list[Violation] = []
        # The OpenAPI document declares no header on 409; LINE's page "Retrying a failed API request"
        # shows x-line-accepted-request-id there. Either may come, so the fake can send either.
        self.accepted_header_on_409 = accepted_header_on_409
        self.members = {GROUP, OPERATOR}  # the groups the bot is in, and the friends it may push to

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        headers = dict(request.headers)
        body = json.loads(request.body) if request.body else None
        self.requests.append(Push(request.url or "", headers, body))
        path = urlsplit(request.url or "").path
        problems = line().check(request.method or "GET", path, headers, body)
        if problems:
            self.violations.extend(problems)
            return _invalid(request, problems)
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
        if path == "/v2/bot/message/push":
            return self._push(request, headers, body)
        if path == "/v2/bot/info":
            bot = {"userId": "U" + "0" * 32, "basicId": "@otopnk", "displayName": "OTOP หนองคาย"}
            return _answer(request, 200, {**bot, "chatMode": "bot", "markAsReadMode": "auto"})
        group = path.removeprefix("/v2/bot/group/").removesuffix("/summary")
        if group in self.members:
            return _answer(request, 200, {"groupId": group, "groupName": "นว.พช OTOP นค."})
        # LINE answers 404 for a group the bot is not in (LINE Developers, "Status codes": 404 Not Found).
        return _answer(request, 404, {"message": "Not found"})

    def _push(
        self, request: requests.PreparedRequest, headers: dict[str, str], body: Any
    ) -> requests.Response:
        too_long = [
            Violation(f"messages[{i}].text", f"Length must be between 0 and {TEXT_UNITS}")
            for i, message in enumerate(body["messages"])
            if utf16_length(message.get("text", "")) > TEXT_UNITS
        ]
        if too_long:
            self.violations.extend(too_long)
            return _invalid(request, too_long)
        key = headers.get("X-Line-Retry-Key", "")
        if key in self.accepted_keys:
            # "The retry key is already accepted" (409): a repeat within 24 hours is dropped by LINE.
            extra = (
                {"x-line-accepted-request-id": self.accepted_keys[key]} if self.accepted_header_on_409 else {}
            )
            return _answer(request, 409, {"message": "The retry key is already accepted"}, extra)
        if body["to"] not in self.members:
            return _answer(request, 400, {"message": "The property, 'to', in the request body is invalid"})
        self.delivered.append(body)
        self.accepted_keys[key] = f"req-{len(self.delivered)}"
        if self.lose_answer:
            self.lose_answer -= 1
            return _answer(request, 500, {"message": "Internal error"})
        return _answer(request, 200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})

    def close(self) -> None:
        pass


def _invalid(request: requests.PreparedRequest, problems: list[Violation]) -> requests.Response:
    details = [{"message": p.message, "property": p.where} for p in problems]
    return _answer(
        request, 400, {"message": f"The request body has {len(details)} error(s)", "details": details}
    )


def _answer(
    request: requests.PreparedRequest, status: int, payload: Any, headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    response.url, response.request, response.encoding = request.url or "", request, "utf-8"
    return response
