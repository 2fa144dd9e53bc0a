"""Each edition of the brief published on Google Drive (API v3), where the coordinators open it.

A service account has no storage quota: Drive refuses it a new file in anyone's My Drive, even in a
folder shared with it (403 storageQuotaExceeded). So there are two set-ups, as province.toml's [drive]
says:

1. A person creates brief-latest.pdf (and .html) once, in a folder the coordinators can open, and shares
   each with the service account as Editor: each edition replaces its content (a media upload). The link
   never changes, and Drive keeps the earlier editions as versions of the file (for 30 days: Drive's
   rule for revisions not marked keepForever; every edition stays in the briefs folder on disk).
2. In a shared drive (Google Workspace) the service account is a member of, each dated edition is created
   in the folder (a multipart upload), and brief-latest.pdf/.html are created once and then replaced.

Scope: `drive`. The narrower `drive.file` reaches only files the app created itself, so it cannot see
the file a person shared in set-up 1 nor the folder a person made in set-up 2. Only publishing asks for
it; the sync, `check` of the spreadsheet and the messages never do.

Every request says supportsAllDrives=true, which Drive needs for an item of a shared drive (without it:
404 "File not found") and ignores elsewhere. A created file is never created twice: its request is sent
once, and the edition is looked for by name before it is created, so a run whose answer was lost finds
and replaces it at the next run.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from google.auth.credentials import Credentials
from requests.adapters import BaseAdapter

from otop_sync.atomic import write_atomically
from otop_sync.config import DEFAULT_DRIVE_ENDPOINT, Drive
from otop_sync.errors import SourceError
from otop_sync.google_api import GoogleApi, Refusal
from otop_sync.statefile import WrongShape, aware, read_state

SCOPE = "https://www.googleapis.com/auth/drive"
FOLDER = "application/vnd.google-apps.folder"
KINDS = {".pdf": "application/pdf", ".html": "text/html"}
FILE_FIELDS = "id,name,mimeType,webViewLink,driveId,trashed,capabilities(canEdit,canAddChildren)"
LINK_FIELDS = "id,name,webViewLink"
ALL_DRIVES = {"supportsAllDrives": "true"}
QUOTA = "storageQuotaExceeded"  # Drive's reason when a service account would own a file in a My Drive


# What was published last, in the state folder: the tabs and the LINE announcement give its link.
PUBLISHED = "brief-published.json"


@dataclass(frozen=True)
class Published:
    """An edition on Drive: the link of the latest brief (what the coordinators open), when, and which."""

    link: str
    at: datetime
    edition: str  # "brief-2567Q4-2567-09-16"
    target: str = ""  # the [drive] file or folder it went to: a record of another one is not believed

    def as_json(self) -> dict[str, str]:
        return {"link": self.link, "at": self.at.isoformat(), "edition": self.edition, "target": self.target}

    def save(self, state_dir: Path) -> None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(state_dir / PUBLISHED, json.dumps(self.as_json(), ensure_ascii=False).encode())
        except OSError as exc:
            raise SourceError(
                f"the brief is published at {self.link}, but {state_dir / PUBLISHED} cannot be written "
                f"({exc.strerror or exc}): the tabs and LINE will not give its link"
            ) from exc


def target_of(settings: Drive) -> str:
    """What the configuration publishes to: the shared file (set-up 1) or the folder (set-up 2)."""
    return settings.folder_id or settings.latest_pdf_id or ""


def last_published(state_dir: Path, settings: Drive) -> Published | None:
    """What the last publication to the configured file or folder recorded; None when there was none
    (or it went to a file or folder the configuration no longer names: its link would mislead)."""

    def parse(raw: Any) -> Published:
        if not isinstance(raw, dict) or not isinstance(raw.get("link"), str) or not raw["link"]:
            raise WrongShape("not a record of a publication")
        return Published(
            raw["link"], aware(raw.get("at")), str(raw.get("edition", "")), str(raw.get("target"))
        )

    published = read_state(state_dir / PUBLISHED, parse, empty=None)
    return published if published is not None and published.target == target_of(settings) else None


class DriveClient:
    def __init__(
        self,
        settings: Drive,
        *,
        credentials: Credentials,
        transport: BaseAdapter | None = None,
        timeout_seconds: float = 30,
        retry_for_seconds: float = 180,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._api = GoogleApi(
            "Google Drive",
            credentials=credentials,
            endpoint=settings.endpoint or DEFAULT_DRIVE_ENDPOINT,
            transport=transport,
            timeout_seconds=timeout_seconds,
            retry_for_seconds=retry_for_seconds,
            max_bytes=1_000_000,  # a file's metadata or a list of a few: a few kilobytes
            sleep=sleep,
        )

    @property
    def api_calls(self) -> int:
        return self._api.calls

    # Publishing ----------------------------------------------------------------------------------------

    def publish(self, edition: Iterable[Path], *, latest: bool, at: datetime) -> Published | None:
        """Publish the edition's files (brief-….pdf/.html). `latest`: it is the newest edition, so it also
        becomes brief-latest's content. The latest PDF's link, or None when nothing took it (set-up 1
        publishes only the latest, and an older edition rendered later is not)."""
        files = sorted(edition, key=lambda p: p.suffix != ".pdf")  # the PDF first: it is what people open
        stem = files[0].stem
        if self.settings.folder_id:
            folder = self._folder(self.settings.folder_id)
            for path in files:
                self._put(folder, path.name, path)
            if not latest:
                return None
            link = ""
            for path in files:
                published = self._put(folder, f"brief-latest{path.suffix}", path)
                link = link or _link_of(published)
            return Published(link, at, stem, target_of(self.settings))
        if not latest or not self.settings.latest_pdf_id:
            return None
        by_suffix = {".pdf": self.settings.latest_pdf_id, ".html": self.settings.latest_html_id}
        link = ""
        for path in files:
            file_id = by_suffix.get(path.suffix)
            if file_id:
                answer = self._replace(file_id, path)
                link = link or _link_of(answer)
        return Published(link, at, stem, target_of(self.settings))

    def _folder(self, folder_id: str) -> dict[str, Any]:
        folder = self._get(folder_id, "the folder [drive] folder_id")
        if folder.get("mimeType") != FOLDER:
            raise SourceError(
                f"[drive] folder_id {folder_id} is {folder.get('name')!r}, a file, not a folder: give the ID "
                "of the folder in the shared drive"
            )
        return folder

    def _put(self, folder: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
        """The file `name` of `folder` with the content of `path`: replaced when it is there, else created."""
        found = self._find(folder, name)
        if found is not None:
            return self._replace(found["id"], path)
        boundary = secrets.token_hex(16)
        metadata = {"name": name, "parents": [folder["id"]], "mimeType": KINDS[path.suffix]}
        body = _multipart(boundary, metadata, KINDS[path.suffix], _read(path))
        return self._api.call(
            f"publish {name} on Google Drive",
            "POST",
            "/upload/drive/v3/files",
            params={"uploadType": "multipart", "fields": LINK_FIELDS, **ALL_DRIVES},
            data=body,
            content_type=f"multipart/related; boundary={boundary}",
            explain=self._explain,
            retry=False,
        )

    def _find(self, folder: dict[str, Any], name: str) -> dict[str, Any] | None:
        escaped = name.replace("\\", "\\\\").replace("'", "\\'")
        params = {
            "q": f"name = '{escaped}' and '{folder['id']}' in parents and trashed = false",
            "fields": f"files({LINK_FIELDS})",
            "pageSize": "10",
            **ALL_DRIVES,
        }
        if folder.get("driveId"):  # a shared drive is searched by its ID, with its items included
            params |= {"corpora": "drive", "driveId": folder["driveId"], "includeItemsFromAllDrives": "true"}
        answer = self._api.call(
            f"look for {name} on Google Drive", "GET", "/drive/v3/files", params=params, explain=self._explain
        )
        found = answer.get("files")
        return found[0] if isinstance(found, list) and found and isinstance(found[0], dict) else None

    def _replace(self, file_id: str, path: Path) -> dict[str, Any]:
        """The content of file `file_id` replaced by `path`'s (a media upload: its name and link stay)."""
        return self._api.call(
            f"publish {path.name} on Google Drive (file {file_id})",
            "PATCH",
            f"/upload/drive/v3/files/{file_id}",
            params={"uploadType": "media", "fields": LINK_FIELDS, **ALL_DRIVES},
            data=_read(path),
            content_type=KINDS[path.suffix],
            explain=self._explain,
        )

    # Checking ------------------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """What `otop-sync check` says of the configured file or folder: reachable and writable, or
        SourceError with what to do."""
        if self.settings.folder_id:
            folder = self._folder(self.settings.folder_id)
            if not (folder.get("capabilities") or {}).get("canAddChildren"):
                raise SourceError(
                    f"[drive] folder {folder.get('name')!r}: the service account may not add files to it: "
                    f"make {self._api.account} a Content manager of the shared drive"
                )
            if not folder.get("driveId"):
                raise SourceError(
                    _quota_advice(
                        f"[drive] folder {folder.get('name')!r} is in a My Drive, not a shared drive"
                    )
                )
            return [f"folder {folder.get('name')!r} in a shared drive: writable"]
        lines = []
        for setting, file_id in (
            ("latest_pdf_id", self.settings.latest_pdf_id),
            ("latest_html_id", self.settings.latest_html_id),
        ):
            if not file_id:
                continue
            found = self._get(file_id, f"the file [drive] {setting}")
            if not (found.get("capabilities") or {}).get("canEdit"):
                raise SourceError(
                    f"[drive] {setting}: {found.get('name')!r} is shared with {self._api.account} without "
                    "edit rights: share it as Editor"
                )
            lines.append(f"{setting}: {found.get('name')!r}: writable, at {found.get('webViewLink', '')}")
        return lines

    def _get(self, file_id: str, what: str) -> dict[str, Any]:
        found = self._api.call(
            f"read {what} on Google Drive",
            "GET",
            f"/drive/v3/files/{file_id}",
            params={"fields": FILE_FIELDS, **ALL_DRIVES},
            explain=self._explain,
        )
        if found.get("trashed"):
            raise SourceError(f"{what} ({found.get('name')!r}) is in the trash: restore it, or give another")
        return found

    def _explain(self, what: str, refusal: Refusal) -> Exception | None:
        if refusal.reason == QUOTA:
            return SourceError(_quota_advice(f"could not {what}: Drive refused the file ({refusal.message})"))
        if refusal.status == 404:
            return SourceError(
                f"could not {what}: Drive finds no such file or folder: check its ID in [drive], and share "
                f"it with {self._api.account} (Editor)"
            )
        if refusal.status == 403:
            return SourceError(
                f"could not {what}: permission denied ({refusal.message}): share it with "
                f"{self._api.account} as Editor"
            )
        return None


def _link_of(file: dict[str, Any]) -> str:
    """The file's link for people: Drive's webViewLink, else the one every Drive file has by its ID."""
    return str(file.get("webViewLink") or f"https://drive.google.com/file/d/{file.get('id')}/view")


def _quota_advice(problem: str) -> str:
    return (
        f"{problem}; a service account has no storage of its own, so it cannot create files in a My Drive: "
        "either create brief-latest.pdf yourself, share it with the service account as Editor and set "
        "[drive] latest_pdf_id (any Google account), or set [drive] folder_id to a folder in a shared "
        "drive the service account is a member of (Google Workspace)"
    )


def _multipart(boundary: str, metadata: dict[str, Any], kind: str, content: bytes) -> bytes:
    """A multipart/related body of Drive's multipart upload: the metadata, then the content."""
    return b"".join(
        [
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps(metadata, ensure_ascii=False).encode(),
            f"\r\n--{boundary}\r\nContent-Type: {kind}\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path} to publish it: {exc.strerror or exc}") from exc
