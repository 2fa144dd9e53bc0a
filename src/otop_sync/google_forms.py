"""The province's Google Form, through the Forms API v1: read it, check it, make its questions match.

`otop-sync form --apply` makes the form ask what the configuration reads
(form_questions.expected_form): it adds the questions that are missing and updates choices, descriptions
and whether a question is required. It never deletes, renames or retypes a question, since the question
may have answers already: each such difference is reported with the fix, for a person to make in the
form editor. The API cannot set response validation on a text question nor link a form to a
spreadsheet: those steps are printed, never skipped silently. `otop-sync check` compares the form with
the configuration, reading only.

Least privilege: applying asks for the scope forms.body, checking for forms.body.readonly; the sync and
the unattended service never ask for a Forms scope. Requests go through google_api.py, as Drive's do: the
transport with its deadline (http_transport.py), retried on 429, 5xx and network faults.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from google.auth.credentials import Credentials
from requests.adapters import BaseAdapter

from otop_sync.config import DEFAULT_FORMS_ENDPOINT
from otop_sync.errors import FormChanged, SourceError
from otop_sync.form_questions import VALIDATION_NAMES, FormSpec, Question
from otop_sync.google_api import GoogleApi, Refusal
from otop_sync.http_transport import DeadlineAdapter, mount

SCOPE_EDIT = "https://www.googleapis.com/auth/forms.body"
SCOPE_READ = "https://www.googleapis.com/auth/forms.body.readonly"
FORMS_HOST = "docs.google.com"  # where a form's own links live; forms.gle short links lead there
ANSWER_LIMIT = 10_000_000  # bytes: a form of a few dozen questions is tens of kilobytes
log = logging.getLogger(__name__)


class FormsClient:
    """One form, read and updated through the Forms API."""

    def __init__(
        self,
        form_id: str,
        *,
        credentials: Credentials,
        transport: BaseAdapter | None = None,
        endpoint: str = DEFAULT_FORMS_ENDPOINT,
        timeout_seconds: float = 30,
        retry_for_seconds: float = 180,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.form_id = form_id
        self._api = GoogleApi(
            "Google Forms",
            credentials=credentials,
            endpoint=endpoint,
            transport=transport,
            timeout_seconds=timeout_seconds,
            retry_for_seconds=retry_for_seconds,
            max_bytes=ANSWER_LIMIT,
            sleep=sleep,
        )

    @property
    def api_calls(self) -> int:
        return self._api.calls

    def get(self) -> dict[str, Any]:
        return self._api.call("read the form", "GET", f"/v1/forms/{self.form_id}", explain=self._explain)

    def batch_update(self, requests_: Sequence[Mapping[str, Any]], *, revision_id: str) -> dict[str, Any]:
        """All or nothing, and only onto the revision that was read: a form edited meanwhile is refused."""
        body = {"requests": list(requests_), "writeControl": {"requiredRevisionId": revision_id}}
        return self._api.call(
            "update the form",
            "POST",
            f"/v1/forms/{self.form_id}:batchUpdate",
            body=body,
            explain=self._explain,
        )

    def _explain(self, what: str, refusal: Refusal) -> Exception | None:
        if refusal.status == 403:
            return SourceError(
                f"form {self.form_id}: permission denied: share the form with {self._api.account} as an "
                f"Editor ({refusal.message})"
            )
        if refusal.status == 404:
            return SourceError(
                f"no form with ID {self.form_id}: check [google] form_id (the part of the editor's URL "
                "between /d/ and /edit)"
            )
        if refusal.status == 400 and "revision" in refusal.message.lower():
            return FormChanged(
                f"could not {what}: the form was changed after otop_sync read it (someone edited it, or an "
                "earlier try of this update went through although its answer was lost): run the command "
                "again; it changes only what still differs"
            )
        return None


def follow_link(url: str, *, timeout_seconds: float, transport: BaseAdapter | None = None) -> str:
    """Where a link leads, by its redirects (a forms.gle short link leads to the form's viewform link);
    only the headers are asked for (HEAD), at most five hops, each within the timeout."""
    session = requests.Session()
    mount(session, DeadlineAdapter(timeout_seconds, transport, max_bytes=100_000))
    for _ in range(5):
        if urlsplit(url).netloc.lower() == FORMS_HOST:
            return url  # a form's own link: nothing more to ask of Google
        try:
            answer = session.head(url, allow_redirects=False, timeout=timeout_seconds)
        except requests.RequestException as exc:
            raise SourceError(f"cannot follow {url} ({type(exc).__name__})") from None
        location = answer.headers.get("Location")
        if not answer.is_redirect or not location:
            return url
        url = urljoin(url, location)
    raise SourceError(f"{url}: more than five redirects")


# What the form should be -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What `form --apply` does to a form, and what it leaves to a person."""

    requests: tuple[dict[str, Any], ...]  # one batchUpdate, all or nothing
    changes: tuple[str, ...]  # each request in words
    differences: tuple[str, ...]  # what otop_sync does not change, each with its fix
    manual: tuple[str, ...]  # what the API cannot do


def plan(form: Mapping[str, Any], spec: FormSpec) -> Plan:
    items = list(form.get("items", []))
    by_title = {_title(item): (index, item) for index, item in enumerate(items) if "questionItem" in item}
    claimed = {q.title for q in spec.questions if q.title in by_title}
    requests_: list[dict[str, Any]] = []
    changes: list[str] = []
    differences: list[str] = []
    count = len(items)
    for question in spec.questions:
        found = by_title.get(question.title)
        if found is not None:
            index, item = found
            kind = _kind(item)
            if not _compatible(kind, question.type):
                differences.append(
                    f"question {question.title!r} is {_KIND_WORDS.get(kind, kind)}, otop_sync expects "
                    f"{_KIND_WORDS[question.type]}: change its type in the form editor"
                )
                continue
            update = _update(index, item, question)
            if update is not None:
                requests_.append(update[0])
                changes.append(f"update question {question.title!r}: {update[1]}")
            continue
        near = _near(question.title, [t for t in by_title if t not in claimed])
        if near is not None:
            claimed.add(near)
            differences.append(
                f"question {near!r} looks like {question.title!r}: rename it in the form editor to exactly "
                f"{question.title!r} (otop_sync never renames a question: it may have answers)"
            )
            continue
        requests_.append({"createItem": {"item": _item(question), "location": {"index": count}}})
        changes.append(f"add question {question.title!r} ({_KIND_WORDS[question.type]})")
        count += 1
    info = form.get("info", {})
    if spec.description and not info.get("description"):
        requests_.append(
            {"updateFormInfo": {"info": {"description": spec.description}, "updateMask": "description"}}
        )
        changes.append("set the form's description")
    return Plan(tuple(requests_), tuple(changes), tuple(differences), _manual(form, spec))


def _manual(form: Mapping[str, Any], spec: FormSpec) -> tuple[str, ...]:
    steps = [
        f"question {q.title!r}: ⋮ → การตรวจสอบคำตอบ (Response validation) → "
        f"{VALIDATION_NAMES[q.validation.condition]}"
        + (f" {q.validation.value}" if q.validation.value is not None else "")
        + " (the Forms API cannot set it)"
        for q in spec.questions
        if q.validation is not None
    ]
    if not form.get("linkedSheetId"):
        steps.append("the form writes to no spreadsheet: การตอบกลับ (Responses) → ลิงก์กับชีต (Link to Sheets)")
    return tuple(steps)


def check(
    form: Mapping[str, Any], spec: FormSpec, spreadsheet_key: str | None, *, form_link: str | None = None
) -> list[tuple[str, bool]]:
    """The form against the configuration: (line, ok) for each thing checked, a fix in every failing line.
    `form_link`: where [province] form_url leads (a short link followed), to compare with the form's own."""
    lines: list[tuple[str, bool]] = []
    items = {_title(i): i for i in form.get("items", []) if "questionItem" in i}
    for question in spec.questions:
        item = items.get(question.title)
        if item is None:
            near = _near(question.title, list(items))
            hint = f" ({near!r} looks like it: rename it to exactly this)" if near else ""
            lines.append(
                (
                    f"form: no question {question.title!r}{hint}: `otop-sync form --apply` adds it",
                    not question.required,
                )
            )
        elif not _compatible(_kind(item), question.type):
            lines.append(
                (
                    f"form: question {question.title!r} is {_KIND_WORDS.get(_kind(item), _kind(item))}, "
                    f"expected {_KIND_WORDS[question.type]}: change its type in the form editor",
                    False,
                )
            )
        elif question.field == "district":
            offered, wanted = _choices(item), set(question.choices)
            missing = sorted(wanted - set(offered), key=question.choices.index)
            extra = [c for c in offered if c not in wanted]
            if missing or extra:
                parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                    [f"not a configured district: {', '.join(extra)}"] if extra else []
                )
                lines.append(
                    (
                        f"form: the district choices differ ({'; '.join(parts)}): `otop-sync form --apply`",
                        False,
                    )
                )
            else:
                lines.append((f"form: question {question.title!r}: the {len(offered)} districts: ok", True))
        elif question.field == "month":
            missing = [c for c in question.choices if c not in _choices(item)]
            closed = [c for c in _choices(item) if c not in question.choices]
            if closed and not missing:
                lines.append(
                    (
                        f"form: the month choices still offer {', '.join(closed[:3])}"
                        f"{' …' if len(closed) > 3 else ''}, whose quarter has closed (a report for it would "
                        "not count): `otop-sync form --apply`",
                        False,
                    )
                )
            elif missing:
                lines.append(
                    (
                        f"form: the month choices lack {', '.join(missing[:3])}"
                        f"{' …' if len(missing) > 3 else ''}: `otop-sync form --apply` "
                        "(once the last fiscal year's September reports are in)",
                        False,
                    )
                )
            else:
                lines.append((f"form: question {question.title!r}: the fiscal year's months: ok", True))
        else:
            lines.append((f"form: question {question.title!r}: ok", True))
    state = (form.get("publishSettings") or {}).get("publishState")
    if state is not None:  # legacy forms have no publish settings: they are published
        if not state.get("isPublished"):
            lines.append(("form: not published: Publish (เผยแพร่) in the form editor", False))
        elif not state.get("isAcceptingResponses"):
            lines.append(("form: not accepting responses: การตอบกลับ → turn on accepting responses", False))
    lines.extend(_check_link(form, form_link))
    linked = form.get("linkedSheetId")
    if not linked:
        lines.append(
            ("form: writes to no spreadsheet: การตอบกลับ (Responses) → ลิงก์กับชีต (Link to Sheets)", False)
        )
    elif spreadsheet_key and linked != spreadsheet_key:
        lines.append(
            (
                f"form: the form writes to spreadsheet {linked}, otop_sync reads {spreadsheet_key}: "
                "การตอบกลับ (Responses) → ลิงก์กับชีต (Link to Sheets), or set [google] spreadsheet_key",
                False,
            )
        )
    else:
        lines.append((f"form: writes to spreadsheet {linked}: ok", True))
    return lines


def _check_link(form: Mapping[str, Any], form_link: str | None) -> list[tuple[str, bool]]:
    """The QR code of the letter and the brief leads to [province] form_url: it must be this form."""
    responder = str(form.get("responderUri", ""))
    if form_link is None or not responder:
        return []
    if _form_path(form_link) == _form_path(responder):
        return [(f"form: [province] form_url leads to this form ({responder}): ok", True)]
    return [
        (
            f"form: [province] form_url leads to {form_link}, not to this form ({responder}): the QR code "
            "of the letter and the brief would open another form; set form_url to this form's link "
            "(Send > link > Shorten URL)",
            False,
        )
    ]


def _form_path(url: str) -> str:
    """A respondents' link as compared: host and path, whatever the scheme, query (?usp=…) or trailing /."""
    parts = urlsplit(url.strip())
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"


_KIND_WORDS = {
    "dropdown": "a dropdown",
    "radio": "multiple choice",
    "checkbox": "checkboxes",
    "short_answer": "a short answer",
    "paragraph": "a paragraph",
    "other": "another kind of question",
}


def _title(item: Mapping[str, Any]) -> str:
    return str(item.get("title", "")).strip()


def _kind(item: Mapping[str, Any]) -> str:
    question = item.get("questionItem", {}).get("question", {})
    if "choiceQuestion" in question:
        return {"DROP_DOWN": "dropdown", "RADIO": "radio", "CHECKBOX": "checkbox"}.get(
            question["choiceQuestion"].get("type"), "other"
        )
    if "textQuestion" in question:
        return "paragraph" if question["textQuestion"].get("paragraph") else "short_answer"
    return "other"


def _compatible(kind: str, expected: str) -> bool:
    """Whether answers to a question of `kind` read as the expected type does: a dropdown's or a multiple
    choice's answer is one of its choices; a short answer and a paragraph are both text."""
    if expected == "dropdown":
        return kind in ("dropdown", "radio")
    return kind in ("short_answer", "paragraph")


def _choices(item: Mapping[str, Any]) -> list[str]:
    options = item.get("questionItem", {}).get("question", {}).get("choiceQuestion", {}).get("options", [])
    return [str(o.get("value", "")) for o in options if not o.get("isOther")]


def _near(title: str, candidates: Sequence[str]) -> str | None:
    """The candidate a person most likely meant as `title`: the same but for spaces and case, or close."""
    squeezed = "".join(title.split()).casefold()
    for candidate in candidates:
        if "".join(candidate.split()).casefold() == squeezed:
            return candidate
    close = difflib.get_close_matches(title, candidates, n=1, cutoff=0.8)
    return close[0] if close else None


def _item(question: Question) -> dict[str, Any]:
    body: dict[str, Any] = {"required": question.required}
    if question.type == "dropdown":
        body["choiceQuestion"] = {"type": "DROP_DOWN", "options": [{"value": c} for c in question.choices]}
    else:
        body["textQuestion"] = {"paragraph": question.type == "paragraph"}
    item: dict[str, Any] = {"title": question.title, "questionItem": {"question": body}}
    if question.description:
        item["description"] = question.description
    return item


def _update(index: int, item: Mapping[str, Any], question: Question) -> tuple[dict[str, Any], str] | None:
    """The updateItem that makes an existing question say what it should, in words; None when it does."""
    current = item.get("questionItem", {}).get("question", {})
    new: dict[str, Any] = {}
    masks, words = [], []
    if question.description and item.get("description", "") != question.description:
        masks.append("description")
        words.append("description")
        new["description"] = question.description
    body: dict[str, Any] = {}
    if bool(current.get("required")) != question.required:
        masks.append("questionItem.question.required")
        words.append("required" if question.required else "optional")
        body["required"] = question.required
    if question.choices and _choices(item) != list(question.choices):
        # The API replaces the whole list: each option kept is sent back as the form holds it, so that a
        # coordinator's branching (goToAction, goToSectionId) and images stay, and "Other" stays last.
        options = current["choiceQuestion"].get("options", [])
        held = {str(o.get("value", "")): o for o in options if not o.get("isOther")}
        added = [c for c in question.choices if c not in held]
        removed = [v for v in held if v not in question.choices]
        masks.append("questionItem.question.choiceQuestion.options")
        named = ([f"adds {', '.join(added)}"] if added else []) + (
            [f"removes {', '.join(removed)}"] if removed else []
        )
        words.append(f"the {len(question.choices)} choices" + (f" ({'; '.join(named)})" if named else ""))
        body["choiceQuestion"] = {
            "type": current["choiceQuestion"]["type"],
            "options": [held.get(c, {"value": c}) for c in question.choices]
            + [o for o in options if o.get("isOther")],
        }
    if not masks:
        return None
    if body:
        new["questionItem"] = {"question": body}
    request = {"updateItem": {"item": new, "location": {"index": index}, "updateMask": ",".join(masks)}}
    return request, ", ".join(words)
