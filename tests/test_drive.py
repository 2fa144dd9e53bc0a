"""The brief published on Google Drive, through the real google-auth client and otop_sync's own HTTP stack,
against the fake Drive of ``tests/fake_drive.py`` on loopback, in the two set-ups a service account allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.auth.transport.requests import AuthorizedSession
from openpyxl import load_workbook

from otop_sync.cli import main
from otop_sync.drive import SCOPE
from otop_sync.google_api import load_credentials

from .builders import edit
from .fake_drive import QUOTA_MESSAGE, FakeDriveAPI, FakeFile
from .fake_sheets import LoopbackServer, service_account_file

AS_OF = "2024-09-16T08:00"


@dataclass
class Drive:
    api: FakeDriveAPI
    config: Path
    url: str
    key: Path


@pytest.fixture
def google(tmp_path: Path, province: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Drive]:
    api = FakeDriveAPI()
    with LoopbackServer(api) as loopback:
        key = service_account_file(tmp_path, token_uri=loopback.url + "/token")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        monkeypatch.setenv("OTOP_SYNC_DRIVE_ENDPOINT", loopback.url)
        monkeypatch.setenv("OTOP_SYNC_CONFIG", str(province))
        monkeypatch.chdir(tmp_path)
        assert main(["demo", str(tmp_path / "otop.xlsx")]) == 0
        edit(province, "province.toml", 'workbook = ""', f'workbook = "{tmp_path / "otop.xlsx"}"')
        yield Drive(api, province, loopback.url, key)
    assert api.violations == []  # every request the discovery document allows
    # Only the Drive scope, and only for publishing: the sync itself asks for none.
    assert set().union(*api.grants.scopes.values()) <= {SCOPE}


def set_up_files(google: Drive, *, html: bool = True) -> tuple[FakeFile, FakeFile | None]:
    """Set-up 1: a person created brief-latest.pdf/.html in their My Drive and shared them (Editor)."""
    pdf = google.api.person_file("brief-latest.pdf")
    page = google.api.person_file("brief-latest.html") if html else None
    edit(google.config, "province.toml", 'latest_pdf_id = ""', f'latest_pdf_id = "{pdf.file_id}"')
    if page is not None:
        edit(google.config, "province.toml", 'latest_html_id = ""', f'latest_html_id = "{page.file_id}"')
    return pdf, page


def set_up_folder(google: Drive, folder: FakeFile) -> None:
    edit(google.config, "province.toml", 'folder_id = ""', f'folder_id = "{folder.file_id}"')


def run(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, object]:
    capsys.readouterr()
    assert main(["run", "--json", *args]) == code
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def cells(workbook: Path, tab: str) -> list[list[object]]:
    return [list(row) for row in load_workbook(workbook)[tab].iter_rows(values_only=True)]


def test_set_up_1_each_edition_replaces_the_shared_files_at_the_same_link(
    google: Drive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf, page = set_up_files(google)
    assert page is not None
    first = run(capsys, "--as-of", "2024-08-16T08:00")
    link = f"https://drive.google.com/file/d/{pdf.file_id}/view?usp=drivesdk"
    assert first["brief"]["published"]["link"] == link  # type: ignore[index]
    on_disk = google.config / "briefs" / "brief-latest.pdf"
    assert pdf.content == on_disk.read_bytes()
    assert page.content == (google.config / "briefs" / "brief-latest.html").read_bytes()
    second = run(capsys, "--as-of", AS_OF)
    assert second["brief"]["published"]["link"] == link  # type: ignore[index]
    # The second edition replaced the content; Drive keeps the first as a version; no file was created.
    assert pdf.content == on_disk.read_bytes()
    assert len(pdf.versions) == 2  # the person's placeholder, then the August edition
    assert len(google.api.files) == 2
    assert all(c.params.get("uploadType") == ["media"] for c in google.api.uploads())
    # Every request says supportsAllDrives=true, which a shared drive's item needs.
    assert all(c.params.get("supportsAllDrives") == ["true"] for c in google.api.log if c.kind != "token")


def test_set_up_2_creates_each_edition_in_the_shared_drive_and_keeps_latest_current(
    google: Drive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = google.api.shared_drive_folder("สรุปผู้บริหาร OTOP")
    set_up_folder(google, folder)
    run(capsys, "--as-of", "2024-08-16T08:00")
    files = google.api.in_folder(folder)
    assert sorted(files) == [
        "brief-2567Q4-2567-08-16.html",
        "brief-2567Q4-2567-08-16.pdf",
        "brief-latest.html",
        "brief-latest.pdf",
    ]
    latest = files["brief-latest.pdf"]
    second = run(capsys, "--as-of", AS_OF)
    files = google.api.in_folder(folder)
    assert len(files) == 6
    assert files["brief-latest.pdf"] is latest  # the same file, so the same link
    assert latest.content == (google.config / "briefs" / "brief-2567Q4-2567-09-16.pdf").read_bytes()
    assert len(latest.versions) == 1
    assert second["brief"]["published"]["link"] == (  # type: ignore[index]
        f"https://drive.google.com/file/d/{latest.file_id}/view?usp=drivesdk"
    )
    assert files["brief-2567Q4-2567-09-16.pdf"].mime_type == "application/pdf"
    # The same edition again replaces its files: nothing is created twice.
    run(capsys, "--as-of", AS_OF)
    assert len(google.api.in_folder(folder)) == 6
    # An older edition rendered later is published under its own name; latest stays the newer one.
    run(capsys, "--as-of", "2024-07-20T08:00", "--quarter", "2567Q4")
    files = google.api.in_folder(folder)
    assert "brief-2567Q4-2567-07-20.pdf" in files
    assert (
        files["brief-latest.pdf"].content
        == (google.config / "briefs" / "brief-2567Q4-2567-09-16.pdf").read_bytes()
    )


def test_the_tabs_and_the_line_announcement_say_where_the_latest_brief_is(
    google: Drive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf, _ = set_up_files(google, html=False)
    link = f"https://drive.google.com/file/d/{pdf.file_id}/view?usp=drivesdk"
    run(capsys, "--as-of", AS_OF)
    workbook = tmp_path / "otop.xlsx"
    log = cells(workbook, "บันทึกการประมวลผล")
    assert log[0][-1] == "สรุปสำหรับผู้บริหาร (ฉบับล่าสุด)"
    assert log[-1][-1] == "ยังไม่ได้เผยแพร่"  # the tabs are written before this run's brief
    run(capsys, "--as-of", AS_OF)
    summary = cells(workbook, "สรุปผล")
    assert summary[0][-1] == "สรุปสำหรับผู้บริหาร (ฉบับล่าสุด)"
    assert {row[-1] for row in summary[1:]} == {link}
    log = cells(workbook, "บันทึกการประมวลผล")
    assert str(log[-1][-1]).startswith(f"{link} (เผยแพร่ ")
    before = cells(workbook, "สรุปผล")
    run(capsys, "--as-of", AS_OF)
    assert cells(workbook, "สรุปผล") == before  # the same cells, run after run
    capsys.readouterr()
    assert main(["announce", "--dry-run", "--as-of", AS_OF]) == 0
    assert f"สรุปสำหรับผู้บริหาร: {link}" in capsys.readouterr().out
    # The brief moved to another shared file: the old file's link is not given out any more; the new
    # one is from its first publication on.
    other = google.api.person_file("brief-latest.pdf", parent="another-folder")
    edit(
        google.config,
        "province.toml",
        f'latest_pdf_id = "{pdf.file_id}"',
        f'latest_pdf_id = "{other.file_id}"',
    )
    run(capsys, "--as-of", AS_OF, "--no-brief")
    assert link not in {str(cell) for row in cells(workbook, "สรุปผล") for cell in row}
    assert main(["announce", "--dry-run", "--as-of", AS_OF]) == 0
    assert link not in capsys.readouterr().out
    run(capsys, "--as-of", AS_OF)
    run(capsys, "--as-of", AS_OF, "--no-brief")
    assert {row[-1] for row in cells(workbook, "สรุปผล")[1:]} == {
        f"https://drive.google.com/file/d/{other.file_id}/view?usp=drivesdk"
    }


def test_a_folder_in_a_my_drive_gets_the_one_line_fix_and_the_brief_stays_on_disk(
    google: Drive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = google.api.person_folder("สรุปผู้บริหาร")  # shared with the service account as Editor
    set_up_folder(google, folder)
    result = run(capsys, "--as-of", AS_OF, code=1)
    error = result["brief"]["error"]  # type: ignore[index]
    assert "Service Accounts do not have storage quota" in error
    assert "[drive] latest_pdf_id (any Google account)" in error
    assert "[drive] folder_id to a folder in a shared drive" in error
    assert (google.config / "briefs" / "brief-latest.pdf").is_file()
    assert google.api.in_folder(folder) == {}
    # Recorded as a failed run, as any failure; `check` says the same before a run does.
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "storage quota" in capsys.readouterr().out
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "Drive: [drive] folder 'สรุปผู้บริหาร' is in a My Drive, not a shared drive" in out


def test_a_file_shared_read_only_or_not_at_all_says_to_share_it_as_editor(
    google: Drive, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = google.api.person_file("brief-latest.pdf", role="reader")
    edit(google.config, "province.toml", 'latest_pdf_id = ""', f'latest_pdf_id = "{pdf.file_id}"')
    error = run(capsys, "--as-of", AS_OF, code=1)["brief"]["error"]  # type: ignore[index]
    assert "permission denied" in error
    assert "as Editor" in error
    capsys.readouterr()
    assert main(["check"]) == 1
    assert (
        "shared with otop-sync@nongkhai.iam.gserviceaccount.com without edit rights"
        in capsys.readouterr().out
    )
    pdf.role = None  # not shared: Drive says it does not exist
    error = run(capsys, "--as-of", AS_OF, code=1)["brief"]["error"]  # type: ignore[index]
    assert "Drive finds no such file or folder" in error
    assert pdf.content == b"%PDF placeholder"


def test_check_says_the_configured_file_or_folder_is_writable(
    google: Drive, capsys: pytest.CaptureFixture[str]
) -> None:
    set_up_files(google)
    capsys.readouterr()
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "Drive: latest_pdf_id: 'brief-latest.pdf': writable, at https://drive.google.com/file/d/" in out
    assert "Drive: latest_html_id: 'brief-latest.html': writable" in out
    assert google.api.uploads() == []  # checking writes nothing


def test_a_lost_answer_to_a_created_file_never_makes_a_second_file(
    google: Drive, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = google.api.shared_drive_folder("สรุปผู้บริหาร OTOP")
    set_up_folder(google, folder)
    google.api.lose_next_answer = True  # the first file is created, its answer lost
    error = run(capsys, "--as-of", AS_OF, code=1)["brief"]["error"]  # type: ignore[index]
    assert "the next run tries again" in error
    assert len(google.api.in_folder(folder)) == 1
    run(capsys, "--as-of", AS_OF)
    assert len(google.api.in_folder(folder)) == 4  # found by name and replaced, then the rest created


def test_the_fake_refuses_what_drive_refuses(google: Drive) -> None:
    # The rules the client is written around, held by the fake as Drive holds them.
    credentials = load_credentials(str(google.key), scopes=[SCOPE])
    session = AuthorizedSession(credentials)
    folder = google.api.shared_drive_folder("สรุปผู้บริหาร OTOP")
    mine = google.api.person_folder("My Drive folder")
    url = google.url + "/drive/v3/files/"
    # A shared drive's item without supportsAllDrives=true: 404.
    assert session.get(url + folder.file_id).status_code == 404
    assert session.get(url + folder.file_id, params={"supportsAllDrives": "true"}).status_code == 200
    # A new file in a My Drive: 403 storageQuotaExceeded, in Drive's words.
    answer = session.post(
        google.url + "/upload/drive/v3/files",
        params={"uploadType": "multipart", "supportsAllDrives": "true"},
        data=(
            b"--b\r\nContent-Type: application/json\r\n\r\n"
            + json.dumps({"name": "x.pdf", "parents": [mine.file_id]}).encode()
            + b"\r\n--b\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n"
        ),
        headers={"Content-Type": "multipart/related; boundary=b"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    assert answer.json()["error"]["message"] == QUOTA_MESSAGE
    # A field Drive does not know, in the metadata: 400, and recorded as a violation of the document.
    answer = session.patch(
        google.url + "/drive/v3/files/" + folder.file_id,
        params={"supportsAllDrives": "true"},
        json={"title": "Drive v2's name for it"},
    )
    assert answer.status_code == 400
    assert google.api.violations
    google.api.violations.clear()
    # drive.file sees only what the app created: a person's shared file is not there through it.
    narrow = AuthorizedSession(
        load_credentials(str(google.key), scopes=[SCOPE.replace("drive", "drive.file")])
    )
    shared = google.api.person_file("brief-latest.pdf")
    assert narrow.get(url + shared.file_id, params={"supportsAllDrives": "true"}).status_code == 404
    google.api.grants.scopes.clear()  # the narrow token was the test's own
