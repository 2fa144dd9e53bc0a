"""Reminders and announcements in the LINE group: the messages, and a push that is never sent twice."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from otop_sync.app import Delivery
from otop_sync.cli import main
from otop_sync.config import Action, ScheduledJob
from otop_sync.demo import demo_tabs
from otop_sync.errors import ConfigError, LineError
from otop_sync.lengths import utf16_length
from otop_sync.line import LineClient
from otop_sync.messages import MORE, TEXT_LIMIT, Message, announcement, reminder
from otop_sync.periods import BANGKOK
from otop_sync.scheduler import Runner
from otop_sync.settings import load_config, shipped_dir
from otop_sync.sources.memory import MemorySource
from otop_sync.sources.workbook import write_new_workbook

from .builders import app_in, target_of
from .conftest import CONFIG, answer, bkk, run, sheet
from .fake_line import GROUP, TOKEN, FakeLine
from .fake_sheets import LoopbackServer
from .trickle import TrickleServer

NAMES = [d.name for d in CONFIG.province.districts]


def everyone(month: str, day: int) -> list[tuple[object, ...]]:
    return [answer(bkk(2024, 9, day, 9), name, month, 1, 100000) for name in NAMES]


def test_no_reminder_when_everyone_has_reported() -> None:
    outcome = run(sheet(everyone("ก.ย. 2567", 10)), bkk(2024, 9, 13, 9))
    assert reminder(outcome, CONFIG) is None


def test_a_reminder_names_only_the_districts_still_missing() -> None:
    answers = [a for a in everyone("ก.ย. 2567", 10) if a[1] != "สังคม"]
    message = reminder(run(sheet(answers), bkk(2024, 9, 13, 9)), CONFIG)
    assert message is not None
    assert "อำเภอที่ยังไม่ได้รายงาน (๑ อำเภอ): อำเภอสังคม" in message.text
    assert "กำหนดส่งภายในวันที่ ๑๕ กันยายน ๒๕๖๗ เวลา ๒๓.๕๙ น." in message.text
    assert "https://forms.gle/otop-nongkhai-example" in message.text
    assert message.identity == "remind:2567Q4:2024-09:2024-09-13"


def test_a_reminder_when_nobody_has_reported_names_all_nine() -> None:
    message = reminder(run(sheet([]), bkk(2024, 9, 13, 9)), CONFIG)
    assert message is not None
    assert "(๙ อำเภอ)" in message.text
    assert all(f"อำเภอ{name}" in message.text for name in NAMES)


def test_a_district_that_reports_after_the_first_reminder_is_left_out_of_the_second() -> None:
    answers = [a for a in everyone("ก.ย. 2567", 10) if a[1] not in ("สังคม", "เฝ้าไร่")]
    first = reminder(run(sheet(answers), bkk(2024, 9, 13, 9)), CONFIG)
    answers.append(answer(bkk(2024, 9, 14, 10), "สังคม", "ก.ย. 2567", 1, 100000))
    second = reminder(run(sheet(answers), bkk(2024, 9, 15, 9)), CONFIG)
    assert first is not None
    assert second is not None
    assert "อำเภอสังคม" in first.text
    assert "อำเภอสังคม" not in second.text
    assert "(๑ อำเภอ): อำเภอเฝ้าไร่" in second.text
    assert first.identity != second.identity


def test_the_announcement_after_the_last_round_of_a_quarter() -> None:
    source = MemorySource({t.title: t.rows for t in demo_tabs()})
    message = announcement(
        run(source, bkk(2024, 9, 16, 9)), CONFIG, spreadsheet_url="https://docs.google.com/x"
    )
    assert message is not None
    text = message.text
    assert "รอบเดือน ก.ย. ๒๕๖๗ (รอบสุดท้ายของไตรมาส)" in text
    assert "ยังไม่รายงาน: สระใคร, เฝ้าไร่" in text
    assert "ระดับรายอำเภอ: เมืองหนองคาย A, ท่าบ่อ B" in text
    assert "- ศรีเชียงใหม่: ระดับ C: ลงทะเบียนผลิตภัณฑ์เพิ่มอีก ๑ ผลิตภัณฑ์" in text  # the lowest, D
    # A problem says who sent it and when, where it is, why, and what to do; the tab's name and what the
    # officer typed are quoted as they are, everything otop_sync writes is in Thai digits.
    assert (
        "อำเภอศรีเชียงใหม่ — ส่งเมื่อ ๑๐ ก.ย. ๒๕๖๗ ๑๐.๐๐ น. โดย นายประเสริฐ มั่นคง โทร. 0812345605 "
        "แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ ๒๗: เดือนที่รายงาน (ต.ค. ๒๕๖๗) ยังมาไม่ถึง\n"
        "  วิธีแก้ไข: ส่งแบบฟอร์มใหม่ โดยเลือกเดือนที่รายงาน (ไม่เกินเดือนที่ส่ง) เช่น “กรกฎาคม 2567” — "
        "รายงานล่าสุดจะใช้แทนรายงานเดิม"
    ) in text
    # Only the problems still to fix: สังคม's row 21 ("ห้าหมื่นบาท") was replaced by its row 22.
    assert "แถวที่ ๒๑" not in text
    assert "ห้าหมื่นบาท" not in text
    assert text.endswith("ดูรายละเอียด: https://docs.google.com/x")
    assert utf16_length(text) < TEXT_LIMIT


def test_the_announcement_after_a_middle_round_counts_late_days() -> None:
    source = MemorySource({t.title: t.rows for t in demo_tabs()})
    message = announcement(run(source, bkk(2024, 8, 16, 9)), CONFIG)
    assert message is not None
    assert "รอบเดือน ส.ค. ๒๕๖๗\n" in message.text
    assert "ส่งช้า: สังคม (๑ วัน)" in message.text


MESSAGE = Message(Action.REMIND, "2567Q4", "2024-09", "2024-09-13", "ทดสอบ")


def client(fake: FakeLine, state: Path, token: str = TOKEN, group: str = GROUP) -> LineClient:
    return LineClient(
        token=token,
        group_id=group,
        state_dir=state,
        transport=fake,
        sleep=lambda _: None,
        clock=lambda: datetime(2024, 9, 13, 9, tzinfo=BANGKOK),
    )


def test_the_exact_push_request(tmp_path: Path) -> None:
    fake = FakeLine()
    assert client(fake, tmp_path).push(MESSAGE).sent
    (push,) = fake.requests
    assert push.url == "https://api.line.me/v2/bot/message/push"
    assert push.headers["Authorization"] == f"Bearer {TOKEN}"
    assert push.headers["Content-Type"] == "application/json"
    assert uuid.UUID(push.headers["X-Line-Retry-Key"]).version == 5
    assert push.body == {"to": GROUP, "messages": [{"type": "text", "text": "ทดสอบ"}]}


def test_an_announcement_of_300_problem_rows_full_of_emoji_is_accepted_by_line(tmp_path: Path) -> None:
    emoji = "🧺🍯🧵" * 4  # 24 UTF-16 units, 12 characters
    answers = [
        answer(bkk(2024, 9, 10 + i % 5, 9), f"{emoji}ตำบล{i}", "ก.ย. 2567", 1, f"{emoji}ห้าหมื่น")
        for i in range(300)
    ]
    message = announcement(run(sheet(answers), bkk(2024, 9, 16, 9)), CONFIG)
    assert message is not None
    assert len(message.text) < utf16_length(message.text) <= TEXT_LIMIT  # the emoji counted twice
    assert message.text.endswith(MORE)
    assert (
        f"- อำเภอ{emoji}ตำบล๐ — ส่งเมื่อ ๑๐ ก.ย. ๒๕๖๗ ๐๙.๐๐ น. โดย ผู้รายงาน โทร. 0812345678 "
        "แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ ๒:" in message.text
    )
    fake = FakeLine()
    assert client(fake, tmp_path).push(message).sent
    assert fake.delivered[0]["messages"][0]["text"] == message.text
    assert fake.violations == []


def test_line_refuses_a_text_over_5000_utf16_units_and_the_reason_is_one_line(tmp_path: Path) -> None:
    fake = FakeLine()
    long = Message(
        "announce", "2567Q4", "2024-09", "2024-09-16", "🧺" * 2501
    )  # 2,501 characters, 5,002 units
    with pytest.raises(LineError) as refused:
        client(fake, tmp_path).push(long)
    assert str(refused.value) == (
        "LINE refused the message (HTTP 400: The request body has 1 error(s) "
        "(messages[0].text: Length must be between 0 and 5000))"
    )
    assert fake.delivered == []


def test_a_409_counts_as_sent_with_or_without_the_accepted_request_header(tmp_path: Path) -> None:
    for header in (True, False):
        fake = FakeLine(accepted_header_on_409=header)
        fake.lose_answer = 1
        state = tmp_path / str(header)
        assert client(fake, state).push(MESSAGE).sent
        assert [p.body for p in fake.requests] == [fake.delivered[0]] * 2
        assert len(fake.delivered) == 1
        assert "remind:2567Q4:2024-09:2024-09-13" in json.loads((state / "line-sent.json").read_text())


def test_every_push_is_one_the_openapi_document_allows(tmp_path: Path) -> None:
    fake = FakeLine()
    client(fake, tmp_path).push(MESSAGE)
    assert fake.violations == []
    fake.requests.clear()
    broken = requests.Request(
        "POST",
        "https://api.line.me/v2/bot/message/push",
        headers={"Authorization": f"Bearer {TOKEN}", "X-Line-Retry-Key": "not-a-uuid"},
        json={"to": GROUP, "messages": [{"type": "text", "txt": "x"}] * 6},
    )
    session_answer = fake.send(broken.prepare())
    assert session_answer.status_code == 400
    assert {d["property"] for d in session_answer.json()["details"]} >= {
        "X-Line-Retry-Key",
        "messages",
        "messages[0].text",
        "messages[0].txt",
    }


def test_429_and_500_are_retried_with_the_same_retry_key(tmp_path: Path) -> None:
    fake = FakeLine()
    fake.script = [429, 500]
    assert client(fake, tmp_path).push(MESSAGE).sent
    assert len({p.headers["X-Line-Retry-Key"] for p in fake.requests}) == 1
    assert len(fake.requests) == 3
    assert len(fake.delivered) == 1


def test_a_lost_answer_is_retried_and_line_drops_the_duplicate(tmp_path: Path) -> None:
    fake = FakeLine()
    fake.lose_answer = 1
    assert client(fake, tmp_path).push(MESSAGE).sent
    assert len(fake.requests) == 2
    assert len(fake.delivered) == 1


def test_nothing_is_sent_twice_across_reruns_and_restarts(tmp_path: Path) -> None:
    fake = FakeLine()
    assert client(fake, tmp_path).push(MESSAGE).sent
    assert client(fake, tmp_path).push(MESSAGE).reason == "already sent (remind:2567Q4:2024-09:2024-09-13)"
    assert len(fake.requests) == 1
    saved = json.loads((tmp_path / "line-sent.json").read_text())
    assert list(saved) == ["remind:2567Q4:2024-09:2024-09-13"]


def test_a_refused_token_and_a_wrong_group_are_one_line(tmp_path: Path) -> None:
    fake = FakeLine()
    with pytest.raises(
        LineError, match=r"LINE refused the channel access token \(HTTP 401: Authentication failed"
    ):
        client(fake, tmp_path, token="anotherValidLookingToken0123456789").push(MESSAGE)
    with pytest.raises(LineError, match=r"LINE refused the message \(HTTP 400: The property, 'to'"):
        client(fake, tmp_path, group="C" + "f" * 32).push(MESSAGE)
    assert len(fake.requests) == 2  # neither is retried
    assert not (tmp_path / "line-sent.json").exists()


def test_a_storm_that_never_ends_is_one_line_and_nothing_is_recorded(tmp_path: Path) -> None:
    fake = FakeLine()
    fake.script = [503] * 100
    with pytest.raises(LineError, match="LINE kept answering HTTP 503"):
        client(fake, tmp_path).push(MESSAGE)
    assert not (tmp_path / "line-sent.json").exists()


def test_malformed_settings_are_refused_at_start_up(tmp_path: Path) -> None:
    config = shutil.copytree(shipped_dir("config"), tmp_path / "config")
    province = config / "province.toml"
    province.write_text(province.read_text().replace('group_id = ""', 'group_id = "group-of-nongkhai"'))
    with pytest.raises(ConfigError, match=r"line\.group_id"):
        load_config(config)
    with pytest.raises(ConfigError) as caught:
        load_config(shipped_dir("config"), {"LINE_CHANNEL_ACCESS_TOKEN": "not a token!"})
    assert "LINE_CHANNEL_ACCESS_TOKEN" in str(caught.value)
    assert "not a token!" not in str(caught.value)


def test_a_failing_line_never_fails_the_sync(tmp_path: Path) -> None:
    source = MemorySource({t.title: t.rows for t in demo_tabs()})

    class BrokenLine:
        def push(self, message: Message) -> Delivery:
            raise LineError("LINE kept answering HTTP 503")

    app = app_in(tmp_path, CONFIG, clock=lambda: bkk(2024, 9, 13, 9), channel=BrokenLine())
    runner = Runner(app, make_target=lambda: target_of(source, tmp_path))
    assert runner.run_job(ScheduledJob("remind", "0 9 13,15 * *", False, "jobs[4]", Action.REMIND)) is False
    assert runner.run_job(ScheduledJob("sync", "0 7,13 * * *", False, "jobs[0]")) is True
    assert source.writes == 1


@pytest.fixture
def line_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLine]:
    fake = FakeLine()
    server = LoopbackServer(fake)  # type: ignore[arg-type]
    server.__enter__()
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("OTOP_SYNC_LINE_ENDPOINT", server.url)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config"
    shutil.copytree(shipped_dir("config"), config)
    province = config / "province.toml"
    text = province.read_text().replace('group_id = ""', f'group_id = "{GROUP}"')
    province.write_text(text.replace('workbook = ""', 'workbook = "nongkhai.xlsx"'))  # relative to config/
    write_new_workbook(config / "nongkhai.xlsx", demo_tabs())
    monkeypatch.setenv("OTOP_SYNC_CONFIG", str(config))
    yield fake
    server.__exit__()


def test_remind_sends_once_from_the_command_line(
    line_server: FakeLine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remind", "--as-of", "2024-09-13T09:00"]) == 0
    assert main(["remind", "--as-of", "2024-09-13T09:30"]) == 0
    out = capsys.readouterr().out
    assert "อำเภอที่ยังไม่ได้รายงาน (๗ อำเภอ)" in out
    assert "sent (remind:2567Q4:2024-09:2024-09-13)" in out
    assert "already sent (remind:2567Q4:2024-09:2024-09-13)" in out
    assert len(line_server.delivered) == 1


def test_dry_run_and_no_token_send_nothing(
    line_server: FakeLine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["announce", "--as-of", "2024-09-16T09:00", "--dry-run"]) == 0
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN")
    assert main(["announce", "--as-of", "2024-09-16T09:00"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing was sent" in out
    assert "LINE_CHANNEL_ACCESS_TOKEN or [line] group_id is not set: nothing was sent" in out
    assert line_server.requests == []


def test_a_refused_token_from_the_command_line_is_one_line(
    line_server: FakeLine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "revokedButWellFormedToken0123456789")
    assert main(["remind", "--as-of", "2024-09-13T09:00"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("otop-sync: error: LINE refused the channel access token (HTTP 401")
    assert "revokedButWellFormedToken" not in "\n".join(err)


def test_a_line_endpoint_that_trickles_ends_within_timeout_and_retry_budget(tmp_path: Path) -> None:
    with TrickleServer() as server:
        line = LineClient(
            token=TOKEN,
            group_id=GROUP,
            state_dir=tmp_path,
            endpoint=server.url,
            timeout_seconds=1,
            deadline_seconds=2,
            clock=lambda: datetime(2024, 9, 13, 9, tzinfo=BANGKOK),
        )
        started = time.monotonic()
        with pytest.raises(LineError, match="did not answer in full within 1 s a try, nor within 2 s"):
            line.push(MESSAGE)
        took = time.monotonic() - started
    assert took <= (1 + 2) * 1.1
    assert server.connections >= 2
    assert not (tmp_path / "line-sent.json").exists()


def test_check_asks_line_for_the_bot_and_its_group(
    line_server: FakeLine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "LINE: bot 'OTOP หนองคาย' is in the group 'นว.พช OTOP นค.': ok" in out
    assert [urlsplit(p.url).path for p in line_server.requests] == [
        "/v2/bot/info",
        f"/v2/bot/group/{GROUP}/summary",
    ]
    assert line_server.violations == []


def test_check_says_when_the_bot_is_not_in_the_group_or_the_token_is_refused(
    line_server: FakeLine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line_server.members = set()
    assert main(["check"]) == 1
    refused = f"LINE: LINE answered HTTP 404 to /v2/bot/group/{GROUP}/summary (Not found): invite the bot"
    assert refused in capsys.readouterr().out
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "anotherChannelAccessToken0123456789")
    assert main(["check"]) == 1
    assert "LINE: LINE refused the channel access token (HTTP 401" in capsys.readouterr().out
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN")
    assert main(["check"]) == 1
    assert "LINE: [line] group_id is set but LINE_CHANNEL_ACCESS_TOKEN is not" in capsys.readouterr().out


def test_an_answer_larger_than_line_ever_sends_is_refused_not_read(tmp_path: Path) -> None:
    with TrickleServer(flood=50_000_000) as server:
        line = LineClient(
            token=TOKEN,
            group_id=GROUP,
            state_dir=tmp_path,
            endpoint=server.url,
            clock=lambda: datetime(2024, 9, 13, 9, tzinfo=BANGKOK),
        )
        with pytest.raises(
            LineError, match=r"answered with more than 1 MB; nothing more was read; not recorded"
        ):
            line.push(MESSAGE)
    assert not (tmp_path / "line-sent.json").exists()
