"""A fake Google Forms API v1 and OAuth token endpoint, at the HTTP level.

A requests transport adapter: the real google-auth code signs in and otop_sync's client sends real HTTP
requests; only the network is replaced. It keeps forms, applies ``forms.batchUpdate`` all or nothing,
and logs every request.

It refuses what the real API refuses. Every request is checked against Google's discovery document
(``tests/contract.py`` with ``tests/contracts/forms.v1.json``): method, path, body fields, enums, the
one-of groups, the update masks, and the fields its descriptions call "Required.". The rules the
document states in prose are held here, each citing it:
- a token whose scopes are not among the method's ``scopes`` is refused 403 (``fake_sheets.Grants``,
  shared with the Sheets fake);
- ``writeControl.requiredRevisionId`` other than the form's latest is refused 400 (WriteControl: "If
  this is not the latest revision of the form, the request is not processed and returns a 400 bad
  request error.");
- ``location.index`` outside the form is refused 400 (Location.index: "This must be in the range
  [0..N), where N is the number of items in the form"; a new item may also go at N, the end);
- a form not shared with the account answers 403, an unknown form 404, as the API does.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter

from .contract import Violation, forms
from .fake_sheets import ApiError, Call, Grants, _body, _error, _response


@dataclass
class FakeForm:
    form_id: str
    title: str = "แบบรายงาน OTOP"
    description: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    linked_sheet: str | None = None
    published: bool | None = True  # None: a legacy form, without publish settings
    accepting: bool = True
    shared: bool = True  # with the service account
    revision: int = 1

    def as_json(self) -> dict[str, Any]:
        form: dict[str, Any] = {
            "formId": self.form_id,
            "info": {"title": self.title, "documentTitle": self.title},
            "revisionId": f"rev-{self.revision:05d}",
            "responderUri": f"https://docs.google.com/forms/d/e/published-{self.form_id}/viewform",
            "items": copy.deepcopy(self.items),
        }
        if self.description:
            form["info"]["description"] = self.description
        if self.linked_sheet:
            form["linkedSheetId"] = self.linked_sheet
        if self.published is not None:
            form["publishSettings"] = {
                "publishState": {"isPublished": self.published, "isAcceptingResponses": self.accepting}
            }
        return form


class FakeFormsAPI(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, FakeForm] = {}
        self.log: list[Call] = []
        self.grants = Grants("ya29.forms-")
        self.violations: list[tuple[Call, Violation]] = []
        self.faults: list[int] = []  # statuses to answer the next API requests with, in order
        self.lose_next_answer = False  # apply the next batchUpdate, then answer 503 as if the answer was lost
        self._ids = itertools.count(1)

    def add_form(self, form_id: str, **options: Any) -> FakeForm:
        form = self.forms[form_id] = FakeForm(form_id, **options)
        for item in form.items:
            self._give_ids(item)
        return form

    def batch_updates(self) -> list[Call]:
        return [c for c in self.log if c.path.endswith(":batchUpdate")]

    # Transport ------------------------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        call = Call(
            request.method or "GET", parts.netloc, unquote(parts.path), parse_qs(parts.query), _body(request)
        )
        self.log.append(call)
        try:
            if call.kind == "token":
                return _response(request, 200, self.grants.issue(call.body))
            problems = forms().check(call.method, parts.path.lstrip("/"), call.params, call.body)
            if problems:
                self.violations.extend((call, p) for p in problems)
                message = "Invalid JSON payload received. " + " ".join(map(str, problems[:3]))
                raise ApiError(400, message, "INVALID_ARGUMENT")
            if self.faults:
                status = self.faults.pop(0)
                raise ApiError(status, "fake fault", "UNAVAILABLE" if status >= 500 else "RESOURCE_EXHAUSTED")
            self.grants.authorise(request, forms().method(call.method, parts.path))
            form = self._form(call.path)
            if call.method == "GET":
                return _response(request, 200, form.as_json())
            answer = self._batch_update(form, call.body)
            if self.lose_next_answer:
                self.lose_next_answer = False
                raise ApiError(503, "The service is currently unavailable.", "UNAVAILABLE")
            return _response(request, 200, answer)
        except ApiError as exc:
            return _response(request, exc.status, _error(exc.status, exc.message, exc.reason))

    def close(self) -> None:
        pass

    @property
    def scopes(self) -> dict[str, set[str]]:
        """The scopes granted, by access token."""
        return self.grants.scopes

    def _form(self, path: str) -> FakeForm:
        form_id = path.removeprefix("/v1/forms/").split(":")[0]
        form = self.forms.get(form_id)
        if form is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        if not form.shared:
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        return form

    # forms.batchUpdate ----------------------------------------------------------------------------

    def _batch_update(self, form: FakeForm, body: dict[str, Any]) -> dict[str, Any]:
        required = (body.get("writeControl") or {}).get("requiredRevisionId")
        if required is not None and required != form.as_json()["revisionId"]:
            raise ApiError(
                400, f"The revision ID '{required}' is not the latest revision.", "FAILED_PRECONDITION"
            )
        working = copy.deepcopy(form)  # all or nothing
        replies = [self._apply(working, r) for r in body.get("requests", [])]
        if body.get("requests"):
            working.revision += 1
        self.forms[form.form_id] = working
        return {"replies": replies, "writeControl": {"requiredRevisionId": working.as_json()["revisionId"]}}

    def _apply(self, form: FakeForm, request: dict[str, Any]) -> dict[str, Any]:
        if "createItem" in request:
            create = request["createItem"]
            index = self._index(form, create["location"], end_allowed=True)
            item = copy.deepcopy(create["item"])
            self._give_ids(item)
            form.items.insert(index, item)
            question = item.get("questionItem", {}).get("question", {})
            return {"createItem": {"itemId": item["itemId"], "questionId": [question.get("questionId")]}}
        if "updateItem" in request:
            update = request["updateItem"]
            index = self._index(form, update["location"], end_allowed=False)
            for path in update["updateMask"].split(","):
                _copy_path(update["item"], form.items[index], path.strip().split("."))
            return {}
        if "updateFormInfo" in request:
            info = request["updateFormInfo"]
            for name in info["updateMask"].split(","):
                if name.strip() == "description":
                    form.description = info["info"].get("description", "")
                elif name.strip() == "title":
                    form.title = info["info"].get("title", "")
            return {}
        raise ApiError(400, f"the fake does not apply {sorted(request)}", "INVALID_ARGUMENT")

    @staticmethod
    def _index(form: FakeForm, location: dict[str, Any], *, end_allowed: bool) -> int:
        index = int(location.get("index", 0))
        if not 0 <= index < len(form.items) + (1 if end_allowed else 0):
            raise ApiError(
                400,
                f"Invalid location index {index}: the form has {len(form.items)} items",
                "INVALID_ARGUMENT",
            )
        return index

    def _give_ids(self, item: dict[str, Any]) -> None:
        item.setdefault("itemId", f"{next(self._ids):08x}")
        question = item.get("questionItem", {}).get("question")
        if question is not None:
            question.setdefault("questionId", f"{next(self._ids):08x}")


def _copy_path(source: dict[str, Any], target: dict[str, Any], path: list[str]) -> None:
    """Set `path` of `target` to its value in `source` (absent there: removed), as an update mask does."""
    *parents, last = path
    for name in parents:
        source = source.get(name, {})
        target = target.setdefault(name, {})
    if last in source:
        target[last] = copy.deepcopy(source[last])
    else:
        target.pop(last, None)
