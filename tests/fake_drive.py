"""A fake Google Drive API v3 and OAuth token endpoint, at the HTTP level.

A requests transport adapter: the real google-auth code signs in and otop_sync's client sends real HTTP
requests; only the network is replaced. It keeps files with their content and versions, people's My
Drives and shared drives, and logs every request.

Every request is checked against Google's discovery document (``tests/contract.py`` with
``tests/contracts/drive.v3.json``): the method and path, the query parameters (``fields`` masks
included) and the file metadata. Uploads are checked against the method's ``mediaUpload``: a method
that takes media, a ``uploadType`` of its simple protocol, a body within ``maxSize``; a multipart body
must be multipart/related with the metadata (JSON, a ``File``) and then the media, as the upload guide
says (developers.google.com/workspace/drive/api/guides/manage-uploads, "Perform a multipart upload").
What the document leaves to prose is held here, each rule citing where it comes from:
- a token whose scopes are not among the method's ``scopes`` is refused 403 (``fake_sheets.Grants``);
  a ``drive.file`` token sees only files the app created ("drive.file: … only the specific Google Drive
  files you use with this app", the scopes page), so a person's file is 404 through it;
- a service account creating a file whose parent is in a My Drive: 403 ``storageQuotaExceeded``,
  "Service Accounts do not have storage quota. …" (the words users of n8n, kopia and PyDrive2 reported;
  ``../shared/contracts/README.md``);
- an item of a shared drive without ``supportsAllDrives=true``: 404 "File not found" (guide "Implement
  shared drive support"); listing a shared drive needs ``corpora=drive`` with ``driveId``,
  ``includeItemsFromAllDrives=true`` and ``supportsAllDrives=true`` (the same guide, "Search for content
  on a shared drive"), else 403 as the API answers;
- a file the account cannot see: 404 "File not found: ID." (the errors guide, "404: File not found");
  one it may only read, or a shared drive it may only view: 403 ``insufficientFilePermissions``, "The
  user does not have sufficient permissions for file ID." (the errors guide, "403: Insufficient
  permissions for file").
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter

from .contract import Violation, _parse_mask, drive
from .fake_sheets import ApiError, Call, Grants, _response

FOLDER = "application/vnd.google-apps.folder"
QUOTA_MESSAGE = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth delegation "
    "(http://support.google.com/a/answer/7281227) instead."
)
ACCOUNT = "service-account"  # who the fake's callers are
WRITERS = {"owner", "organizer", "fileOrganizer", "writer"}


@dataclass
class FakeFile:
    file_id: str
    name: str
    mime_type: str
    parents: list[str] = field(default_factory=list)
    drive_id: str | None = None  # None: in a person's My Drive
    owner: str = "person"  # "person" or ACCOUNT
    role: str | None = None  # the service account's role on it when shared with it directly
    content: bytes = b""
    versions: list[bytes] = field(default_factory=list)  # earlier contents, oldest first
    trashed: bool = False

    def as_json(self, account_role: str | None) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.file_id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "trashed": self.trashed,
            "webViewLink": f"https://drive.google.com/file/d/{self.file_id}/view?usp=drivesdk",
            "capabilities": {
                "canEdit": account_role in WRITERS,
                "canAddChildren": self.mime_type == FOLDER and account_role in WRITERS,
            },
        }
        if self.drive_id:
            metadata["driveId"] = self.drive_id
        return metadata


class FakeDriveAPI(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, FakeFile] = {}
        self.members: dict[str, str] = {}  # shared drive ID: the service account's role in it
        self.log: list[Call] = []
        self.grants = Grants("ya29.drive-")
        self.violations: list[tuple[Call, Violation]] = []
        self.faults: list[int] = []  # statuses to answer the next API requests with, in order
        self.lose_next_answer = False  # do the next upload, then answer 503 as if the answer was lost
        self._ids = itertools.count(1)

    # Set-ups, as people make them ---------------------------------------------------------------------

    def person_file(
        self, name: str, *, role: str | None = "writer", parent: str = "coordinators"
    ) -> FakeFile:
        """A file a person created in their My Drive and shared with the service account (`role`)."""
        kind = "application/pdf" if name.endswith(".pdf") else "text/html"
        return self._add(FakeFile(self._id(), name, kind, [parent], role=role, content=b"%PDF placeholder"))

    def person_folder(self, name: str, *, role: str | None = "writer") -> FakeFile:
        return self._add(FakeFile(self._id(), name, FOLDER, ["root"], role=role))

    def shared_drive_folder(self, name: str, *, role: str = "fileOrganizer") -> FakeFile:
        """A folder in a shared drive whose members include the service account as `role`."""
        drive_id = f"0A{self._id()}"
        self.members[drive_id] = role
        return self._add(FakeFile(self._id(), name, FOLDER, [drive_id], drive_id=drive_id))

    def in_folder(self, folder: FakeFile) -> dict[str, FakeFile]:
        """The folder's files (not trashed), by name; two of one name (Drive allows it) fail the test, since
        otop_sync must replace a file, never create its twin."""
        found = [f for f in self.files.values() if folder.file_id in f.parents and not f.trashed]
        by_name = {f.name: f for f in found}
        assert len(by_name) == len(found), (
            f"two files of one name in {folder.name}: {[f.name for f in found]}"
        )
        return by_name

    def uploads(self) -> list[Call]:
        return [c for c in self.log if c.path.startswith("/upload/")]

    # Transport ----------------------------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        raw = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        query = parse_qs(parts.query)
        call = Call(request.method or "GET", parts.netloc, unquote(parts.path), query, raw, size=len(raw))
        self.log.append(call)
        try:
            if call.kind == "token":
                return _response(request, 200, self.grants.issue(raw.decode()))
            upload = parts.path.startswith("/upload/")
            relative = parts.path.removeprefix("/upload").removeprefix("/drive/v3/")
            metadata, media = self._split(request, raw) if upload else (_json(raw), b"")
            problems = drive().check(call.method, relative, query, metadata)
            if not problems and upload:
                problems = _upload_problems(call.method, relative, query, request, len(raw))
            if problems:
                self.violations.extend((call, p) for p in problems)
                raise ApiError(400, "Invalid request. " + " ".join(map(str, problems[:3])), "badRequest")
            if self.faults:
                status = self.faults.pop(0)
                raise ApiError(status, "fake fault", "backendError" if status >= 500 else "rateLimitExceeded")
            self.grants.authorise(request, drive().method(call.method, relative))
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            answer = self._handle(
                call, relative, query, metadata or {}, media, self.grants.scopes.get(token, set())
            )
            answer = _partial(answer, (query.get("fields") or [""])[0])
            if upload and self.lose_next_answer:
                self.lose_next_answer = False
                raise ApiError(503, "The service is currently unavailable.", "backendError")
            return _response(request, 200, answer)
        except ApiError as exc:
            return _response(request, exc.status, _drive_error(exc.status, exc.message, exc.reason))

    def close(self) -> None:
        pass

    def _handle(
        self,
        call: Call,
        path: str,
        query: dict[str, list[str]],
        metadata: dict[str, Any],
        media: bytes,
        scopes: set[str],
    ) -> dict[str, Any]:
        all_drives = query.get("supportsAllDrives") == ["true"]
        only_own = scopes == {"https://www.googleapis.com/auth/drive.file"}
        if path == "files" and call.method == "GET":
            return self._list(query, all_drives)
        if path == "files" and call.method == "POST":
            return self._create(metadata, media, all_drives, only_own)
        file = self._visible(path.removeprefix("files/"), all_drives, only_own)
        if call.method == "GET":
            return file.as_json(self._role(file))
        if call.method == "PATCH":
            self._writable(file)
            if media:
                file.versions.append(file.content)
                file.content = media
            return file.as_json(self._role(file))
        raise ApiError(400, f"the fake does not answer {call.method} {path}", "badRequest")

    def _list(self, query: dict[str, list[str]], all_drives: bool) -> dict[str, Any]:
        drive_id = (query.get("driveId") or [None])[0]
        if drive_id is not None and not (
            all_drives
            and query.get("includeItemsFromAllDrives") == ["true"]
            and query.get("corpora") == ["drive"]
        ):
            raise ApiError(
                403,
                "The includeItemsFromAllDrives parameter must be set to true when driveId is specified.",
                "invalid",
            )
        if drive_id is not None and drive_id not in self.members:
            raise ApiError(404, f"Shared drive not found: {drive_id}", "notFound")
        q = (query.get("q") or [""])[0]
        name, parent = _query_terms(q)
        found = [
            f
            for f in self.files.values()
            if f.name == name
            and parent in f.parents
            and not f.trashed
            and (f.drive_id == drive_id if drive_id else f.drive_id is None)
        ]
        return {"kind": "drive#fileList", "files": [f.as_json(self._role(f)) for f in found]}

    def _create(
        self, metadata: dict[str, Any], media: bytes, all_drives: bool, only_own: bool
    ) -> dict[str, Any]:
        parents = metadata.get("parents") or ["root"]
        parent = self._visible(parents[0], all_drives, only_own)
        if parent.drive_id is None:
            # A service account has no storage quota: it cannot own a file in anyone's My Drive.
            raise ApiError(403, QUOTA_MESSAGE, "storageQuotaExceeded")
        self._writable(parent)
        created = FakeFile(
            self._id(),
            str(metadata.get("name", "Untitled")),
            str(metadata.get("mimeType", "application/octet-stream")),
            [parent.file_id],
            drive_id=parent.drive_id,
            owner=ACCOUNT,
            content=media,
        )
        self._add(created)
        return created.as_json(self._role(created))

    def _visible(self, file_id: str, all_drives: bool, only_own: bool) -> FakeFile:
        file = self.files.get(file_id)
        not_found = ApiError(404, f"File not found: {file_id}.", "notFound")
        if file is None or self._role(file) is None:
            raise not_found
        if file.drive_id and not all_drives:
            raise not_found  # a shared drive's item, asked for without supportsAllDrives=true
        if only_own and file.owner != ACCOUNT:
            raise not_found  # drive.file: only what the app created
        return file

    def _writable(self, file: FakeFile) -> None:
        if self._role(file) not in WRITERS:
            raise ApiError(
                403,
                f"The user does not have sufficient permissions for file {file.file_id}.",
                "insufficientFilePermissions",
            )

    def _role(self, file: FakeFile) -> str | None:
        if file.drive_id:
            return self.members.get(file.drive_id)
        return "owner" if file.owner == ACCOUNT else file.role

    def _split(self, request: requests.PreparedRequest, raw: bytes) -> tuple[dict[str, Any] | None, bytes]:
        """The metadata and the media of an upload: multipart/related, or the media alone."""
        kind = request.headers.get("Content-Type", "")
        if not kind.startswith("multipart/related"):
            return {}, raw
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + kind.encode() + b"\r\n\r\n" + raw
        )
        parts = list(message.iter_parts()) if message.is_multipart() else []
        if len(parts) != 2 or not parts[0].get_content_type() == "application/json":
            raise ApiError(400, "Malformed multipart body: the metadata, then the media", "badContent")
        metadata = _json(parts[0].get_payload(decode=True) or b"")
        if not isinstance(metadata, dict):
            raise ApiError(400, "Malformed multipart body: the metadata is not a JSON object", "badContent")
        return metadata, parts[1].get_payload(decode=True) or b""

    def _add(self, file: FakeFile) -> FakeFile:
        self.files[file.file_id] = file
        return file

    def _id(self) -> str:
        return f"1{next(self._ids):032d}"


def _upload_problems(
    method: str, path: str, query: dict[str, list[str]], request: requests.PreparedRequest, size: int
) -> list[Violation]:
    spec = drive().method(method, path) or {}
    upload = spec.get("mediaUpload")
    if not spec.get("supportsMediaUpload") or upload is None:
        return [Violation("", f"{spec.get('id', path)} takes no media upload")]
    problems = []
    kind = (query.get("uploadType") or [""])[0]
    if kind not in ("media", "multipart") or "simple" not in upload["protocols"]:
        problems.append(Violation("uploadType", f"Invalid upload type {kind!r} for {spec['id']}"))
    if kind == "multipart" and not request.headers.get("Content-Type", "").startswith("multipart/related"):
        problems.append(Violation("Content-Type", "a multipart upload is multipart/related"))
    if not request.headers.get("Content-Type"):
        problems.append(Violation("Content-Type", "an upload says what its media is"))
    if size > int(upload["maxSize"]):
        problems.append(Violation("", f"Media larger than {upload['maxSize']} bytes"))
    return problems


# Drive answers only the fields asked for, and without `fields` a default few (the performance guide,
# "Return specific fields": files.get gives kind, id, name and mimeType). A client that reads a field it
# did not ask for gets nothing from the real service, and so it does here.
DEFAULT_FILE_FIELDS = "kind,id,name,mimeType"


def _partial(answer: dict[str, Any], fields: str) -> dict[str, Any]:
    if not fields:
        listing = "files" in answer
        fields = f"kind,files({DEFAULT_FILE_FIELDS})" if listing else DEFAULT_FILE_FIELDS
    return _select(answer, _parse_mask(fields))


def _select(value: Any, paths: list[tuple[str, ...]]) -> Any:
    if isinstance(value, list):
        return [_select(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    chosen: dict[str, Any] = {}
    for name in dict.fromkeys(path[0] for path in paths):
        if name not in value:
            continue
        rest = [path[1:] for path in paths if path[0] == name and len(path) > 1]
        whole = any(len(path) == 1 for path in paths if path[0] == name)
        chosen[name] = value[name] if whole or not rest else _select(value[name], rest)
    return chosen


def _query_terms(q: str) -> tuple[str, str]:
    """name and parent of "name = 'N' and 'P' in parents and trashed = false" (what otop_sync asks)."""
    import re

    found = re.fullmatch(r"name = '((?:[^'\\]|\\.)*)' and '([^']+)' in parents and trashed = false", q)
    if not found:
        raise ApiError(400, f"Invalid Value: the fake reads only otop_sync's query, not {q!r}", "invalid")
    return re.sub(r"\\(.)", r"\1", found[1]), found[2]


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _drive_error(status: int, message: str, reason: str) -> dict[str, Any]:
    """Drive's error body: the v2-style `errors` list with its reason, beside code and message."""
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }
