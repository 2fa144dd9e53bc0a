"""Every client gives up within its bound, whatever way a real server sends (or fails to send) its answer,
over real sockets on loopback: Google Sheets, Google's token endpoint, Google Forms, Google Drive and LINE.
A cut answer is an error, never a complete one: never "sent", never "applied", never "published", never a
form read as empty."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from otop_sync.cli import main
from otop_sync.config import Action, Drive
from otop_sync.drive import SCOPE as DRIVE_SCOPE
from otop_sync.drive import DriveClient
from otop_sync.errors import LineError, SourceError
from otop_sync.google_api import load_credentials
from otop_sync.google_forms import SCOPE_READ, FormsClient
from otop_sync.http_transport import RetryPolicy
from otop_sync.line import LineClient
from otop_sync.messages import Message
from otop_sync.periods import BANGKOK
from otop_sync.sources.google import GoogleSheetsSource
from otop_sync.sync import sync

from .conftest import CONFIG, bkk
from .fake_line import GROUP, TOKEN
from .fake_sheets import service_account_file
from .trickle import BEHAVIOURS, Behaviour, TrickleServer

TIMEOUT, RETRIES = 0.5, 0.5
BOUND = (TIMEOUT + RETRIES) * 1.1 + 0.3  # the timeout, the retry budget and a small margin
MESSAGE = Message(Action.REMIND, "2567Q4", "2024-09", "2024-09-13", "ทดสอบ")
# Where the answer stops for good: inside the status line, inside the headers, inside the body.
HANG_UPS = [8, 40, 90]


def timed(action: Callable[[], object]) -> tuple[float, BaseException]:
    started = time.monotonic()
    with pytest.raises(Exception) as caught:  # noqa: PT011  # each caller asserts on the class and text
        action()
    return time.monotonic() - started, caught.value


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    assert "Traceback" not in text
    return text


def sheets_source(server: TrickleServer, tmp_path: Path) -> GoogleSheetsSource:
    key = service_account_file(tmp_path, token_uri=server.url + "/token")
    return GoogleSheetsSource(
        "1AbCdEfGhIjKlMnOpQrStUvWxYz",
        credentials=load_credentials(str(key)),
        endpoint=server.url,
        timeout_seconds=TIMEOUT,
        retry=RetryPolicy(deadline_seconds=RETRIES),
    )


def forms_client(server: TrickleServer, tmp_path: Path) -> FormsClient:
    key = service_account_file(tmp_path, token_uri=server.url + "/token")
    return FormsClient(
        "1FAIpQLSfOtopNongKhaiForm",
        credentials=load_credentials(str(key), scopes=(SCOPE_READ,)),
        endpoint=server.url,
        timeout_seconds=TIMEOUT,
        retry_for_seconds=RETRIES,
    )


def drive_client(server: TrickleServer, tmp_path: Path) -> DriveClient:
    key = service_account_file(tmp_path, token_uri=server.url + "/token")
    return DriveClient(
        Drive(latest_pdf_id="1xYzAbCdEfGhIjKlMnOp", endpoint=server.url),
        credentials=load_credentials(str(key), scopes=(DRIVE_SCOPE,)),
        timeout_seconds=TIMEOUT,
        retry_for_seconds=RETRIES,
    )


def line_client(server: TrickleServer, tmp_path: Path) -> LineClient:
    return LineClient(
        token=TOKEN,
        group_id=GROUP,
        state_dir=tmp_path,
        endpoint=server.url,
        timeout_seconds=TIMEOUT,
        deadline_seconds=RETRIES,
        clock=lambda: datetime(2024, 9, 13, 9, tzinfo=BANGKOK),
    )


def run_sheets(source: GoogleSheetsSource) -> None:
    sync(source, config=CONFIG, as_of=bkk(2024, 9, 16, 8), computed_at=bkk(2024, 9, 16, 8))


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.name)
def test_sheets_gives_up_within_its_bound_and_writes_nothing(behaviour: Behaviour, tmp_path: Path) -> None:
    with TrickleServer(behaviour=behaviour) as server:
        source = sheets_source(server, tmp_path)
        took, error = timed(lambda: run_sheets(source))
    assert took <= BOUND
    assert isinstance(error, SourceError)
    assert one_line(error).startswith("could not read the list of tabs: Google Sheets did not answer in")
    assert "nothing was written" in str(error)


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.name)
def test_a_trickling_token_endpoint_is_cut_within_the_bound(behaviour: Behaviour, tmp_path: Path) -> None:
    with TrickleServer(behaviour=behaviour, trickle_token=True) as server:
        source = sheets_source(server, tmp_path)
        took, error = timed(lambda: run_sheets(source))
    assert took <= BOUND
    assert isinstance(error, SourceError)
    assert "token endpoint" in one_line(error)
    assert "nothing was written" in str(error)
    assert source.api_calls == 0  # no Sheets request went out unsigned


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.name)
def test_forms_gives_up_within_its_bound_and_never_reads_an_empty_form(
    behaviour: Behaviour, tmp_path: Path
) -> None:
    with TrickleServer(behaviour=behaviour) as server:
        client = forms_client(server, tmp_path)
        took, error = timed(client.get)
    assert took <= BOUND
    assert isinstance(error, SourceError)
    assert one_line(error).startswith("could not read the form: Google Forms did not answer within 0.5 s")


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.name)
def test_drive_gives_up_within_its_bound_and_never_says_published(
    behaviour: Behaviour, tmp_path: Path
) -> None:
    brief = tmp_path / "brief-2567Q4-2567-09-16.pdf"
    brief.write_bytes(b"%PDF-1.7 an edition")
    with TrickleServer(behaviour=behaviour) as server:
        client = drive_client(server, tmp_path)
        took, error = timed(lambda: client.publish([brief], latest=True, at=bkk(2024, 9, 16, 8)))
    assert took <= BOUND
    assert isinstance(error, SourceError)
    assert one_line(error).startswith("could not publish brief-2567Q4-2567-09-16.pdf on Google Drive")
    assert "Google Drive did not answer within 0.5 s" in str(error)


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.name)
def test_line_gives_up_within_its_bound_and_records_nothing_as_sent(
    behaviour: Behaviour, tmp_path: Path
) -> None:
    with TrickleServer(behaviour=behaviour) as server:
        client = line_client(server, tmp_path)
        took, error = timed(lambda: client.push(MESSAGE))
    assert took <= BOUND
    assert isinstance(error, LineError)
    assert one_line(error).startswith(f"LINE at {server.url} did not answer in full within 0.5 s a try")
    assert not (tmp_path / "line-sent.json").exists()


@pytest.mark.parametrize("hang_up_after", HANG_UPS)
def test_an_answer_that_stops_short_is_never_taken_for_whole(hang_up_after: int, tmp_path: Path) -> None:
    # The server hangs up inside the answer: inside the headers, http.client reads the end of the
    # connection as the end of the headers and hands back a "200" with no body.
    with TrickleServer(hang_up_after=hang_up_after) as server:
        with pytest.raises(SourceError, match=r"^could not read the form: "):
            forms_client(server, tmp_path).get()
        with pytest.raises(LineError):
            line_client(server, tmp_path).push(MESSAGE)
        with pytest.raises(SourceError, match=r"^could not read the list of tabs: "):
            run_sheets(sheets_source(server, tmp_path))
    assert not (tmp_path / "line-sent.json").exists()


def test_form_apply_on_a_cut_answer_changes_nothing_and_says_so_in_one_line(
    tmp_path: Path, province: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The case that sent eight "add question" requests: the form's headers trickled, the cut answer was
    # read as an empty form, and the command said "form updated".
    settings = province / "province.toml"
    text = settings.read_text(encoding="utf-8").replace(
        'form_id = ""', 'form_id = "1FAIpQLSfOtopNongKhaiForm"'
    )
    text = text.replace(
        "timeout_seconds = 30\nretry_for_seconds = 180", "timeout_seconds = 1\nretry_for_seconds = 1"
    )
    settings.write_text(text, encoding="utf-8")
    with TrickleServer(behaviour=Behaviour(where="headers", close=True)) as server:
        monkeypatch.setenv(
            "GOOGLE_APPLICATION_CREDENTIALS",
            str(service_account_file(tmp_path, token_uri=server.url + "/token")),
        )
        monkeypatch.setenv("OTOP_SYNC_FORMS_ENDPOINT", server.url)
        monkeypatch.setenv("OTOP_SYNC_CONFIG", str(province))
        started = time.monotonic()
        status = main(["form", "--apply", "1FAIpQLSfOtopNongKhaiForm", "--fiscal-year", "2567"])
        took = time.monotonic() - started
        requests_seen = server.connections
    captured = capsys.readouterr()
    assert status == 1
    assert took <= (1 + 1) * 1.1 + 0.3
    assert "form updated" not in captured.out
    (line,) = captured.err.strip().splitlines()[-1:]
    assert line.startswith(
        "otop-sync: error: could not read the form: Google Forms did not answer within 1 s"
    )
    assert requests_seen <= 3  # the token, then tries of reading; never an update
