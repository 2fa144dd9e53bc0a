"""SPEC.md, "Configuration is strict, and the demo is never mistaken for a province": typed settings read
once, a misspelt key refused with the nearest known one, no unattended demo, one lock per spreadsheet or
workbook wherever a run starts."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otop_sync import __version__
from otop_sync.cli import main
from otop_sync.demo import demo_tabs
from otop_sync.errors import ConfigError
from otop_sync.settings import load_config
from otop_sync.sources.workbook import write_new_workbook

from .builders import edit
from .conftest import answer, bkk, district, run, sheet

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "province.toml",
            'spreadsheet_key = ""',
            'spreadsheet_kee = "abc"',
            "province.toml: google.spreadsheet_kee: unknown key; did you mean spreadsheet_key?",
        ),
        (
            "province.toml",
            "[google]",
            "[Google]",
            "province.toml: Google: unknown section; did you mean google?",
        ),
        (
            "schedule.toml",
            "lock_wait_seconds = 600",
            "lock_wait_second = 600",
            "schedule.toml: service.lock_wait_second: unknown key; did you mean lock_wait_seconds?",
        ),
        (
            "province.toml",
            'code = "4302"',
            'code = "4302"\nalias = ["Tha Bo"]',
            "province.toml: districts[2] (ท่าบ่อ).alias: unknown key; did you mean aliases?",
        ),
        (
            "form.toml",
            "[checks]",
            "[checks]\nsuspicious = 1",
            "form.toml: checks.suspicious: unknown key; did you",
        ),
    ],
)
def test_a_mistyped_key_or_section_is_refused_with_the_nearest_known_one(
    province: Path, file: str, old: str, new: str, message: str
) -> None:
    edit(province, file, old, new)
    with pytest.raises(ConfigError, match="^configuration .*" + re.escape(message)):
        load_config(province)


def test_a_file_saved_with_a_byte_order_mark_is_read(province: Path) -> None:
    for name in ("province.toml", "schedule.toml"):
        path = province / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves it
    assert load_config(province).province.name == "หนองคาย"


def test_paths_are_relative_to_the_configuration_folder_wherever_the_run_starts(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(province, "province.toml", 'workbook = ""', 'workbook = "data/otop.xlsx"')
    monkeypatch.chdir(tmp_path)
    config = load_config(province)
    assert config.province.workbook == province.resolve() / "data" / "otop.xlsx"
    assert config.service.state_dir == province.resolve() / "state"
    assert config.brief.output == province.resolve() / "briefs"


def test_a_spreadsheet_url_is_accepted_wherever_a_key_is(province: Path) -> None:
    edit(
        province,
        "province.toml",
        'spreadsheet_key = ""',
        f'spreadsheet_key = "https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"',
    )
    assert load_config(province).google.spreadsheet_key == KEY
    edit(province, "province.toml", f"/d/{KEY}/edit#gid=0", "/edit")
    with pytest.raises(ConfigError, match="is not a spreadsheet key or URL"):
        load_config(province)


def test_the_environment_is_merged_once_and_a_malformed_token_is_refused(province: Path) -> None:
    config = load_config(
        province, {"OTOP_SYNC_LINE_ENDPOINT": "http://127.0.0.1:9/", "LINE_CHANNEL_ACCESS_TOKEN": "x" * 30}
    )
    assert config.line.endpoint == "http://127.0.0.1:9"
    assert config.line.token == "x" * 30
    assert "x" * 30 not in repr(config)
    with pytest.raises(
        ConfigError, match="LINE_CHANNEL_ACCESS_TOKEN: \\(environment\\): is not a channel access token"
    ):
        load_config(province, {"LINE_CHANNEL_ACCESS_TOKEN": "not a token"})


@pytest.mark.parametrize("command", [["remind"], ["announce"], ["schedule"]])
def test_unattended_commands_refuse_the_demo_naming_the_setting(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTOP_SYNC_CONFIG", raising=False)
    assert main(command) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"`otop-sync {command[0]}` does not run on the demo workbook" in err[0]
    assert "set [google] spreadsheet_key (or [province] workbook) in province.toml" in err[0]
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the demo


@pytest.mark.parametrize("kind", ["remind", "announce"])
def test_a_dry_run_of_a_message_may_show_the_demo_and_sends_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A dry run messages nobody: a new user may see what the demo's reminder would say.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTOP_SYNC_CONFIG", raising=False)
    assert main([kind, "--dry-run", "--as-of", "2024-09-15T09:00"]) == 0
    out = capsys.readouterr().out
    assert "โครงการหนึ่งตำบล หนึ่งผลิตภัณฑ์" in out
    assert out.strip().endswith("dry run: nothing was sent")
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the demo


def test_run_brief_and_check_use_the_demo_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTOP_SYNC_CONFIG", raising=False)
    assert main(["check"]) == 0
    assert "spreadsheet: none configured ([google] spreadsheet_key, [province] workbook): the demo" in (
        capsys.readouterr().out
    )
    assert main(["run", "--dry-run"]) == 0
    assert not (tmp_path / "otop-sync-demo.xlsx").exists()


def test_runs_on_one_workbook_from_five_folders_take_turns(province: Path, tmp_path: Path) -> None:
    workbook = tmp_path / "shared.xlsx"
    write_new_workbook(workbook, demo_tabs())
    folders = [tmp_path / f"from-{i}" for i in range(5)]
    runs = []
    for folder in folders:
        folder.mkdir()
        # Each its own configuration copy too (its own state folder): only the workbook is shared.
        config = shutil.copytree(province, folder / "config")
        command = ["run", "--workbook", str(workbook), "--no-brief", "--config", str(config), "--regrade"]
        runs.append(
            subprocess.Popen(
                [sys.executable, "-m", "otop_sync.cli", *command],
                cwd=folder,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = [(process.wait(120), process.stderr.read() if process.stderr else "") for process in runs]
    for process in runs:
        if process.stderr:
            process.stderr.close()
    succeeded = sum(1 for code, _ in results if code == 0)
    assert all(code == 0 or "another run holds the lock" in err for code, err in results), results
    from openpyxl import load_workbook

    log = list(load_workbook(workbook, read_only=True)["บันทึกการประมวลผล"].iter_rows(values_only=True))
    assert len(log) - 1 == succeeded == 5


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("อําเภอโพธ์ิตาก", "4317"),  # nikhahit + sara aa for sara am; the vowel typed after the thanthakhat
        ("ท่่าบ่อ", "4302"),  # a tone mark typed twice
        ("อ.ท่าบ่อ", "4302"),
        ("โพธิ\u200bตาก", "4317"),  # an alias, with a zero-width space
    ],
)
def test_look_alike_spellings_are_graded_under_their_districts(typed: str, code: str) -> None:
    outcome = run(sheet([answer(bkk(2024, 9, 10, 9), typed, "ก.ย. 2567", 3, 400000)]), bkk(2024, 9, 16, 8))
    assert outcome.rows.rejected == 0
    assert district(outcome, code).report is not None


def test_an_alias_that_reads_as_another_districts_name_is_refused(province: Path) -> None:
    edit(province, "province.toml", 'aliases = ["Tha Bo"]', 'aliases = ["Tha Bo", "อ.เมือง"]')
    with pytest.raises(
        ConfigError, match=r"districts\[2\] \(ท่าบ่อ\)\.aliases: 'อ\.เมือง' reads as district 4301's"
    ):
        load_config(province)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"otop-sync {__version__}"


def test_check_names_each_problem_in_one_line_and_exits_1(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    edit(province, "schedule.toml", 'state_dir = "state"', f'state_dir = "{tmp_path / "a-file" / "state"}"')
    edit(province, "schedule.toml", 'cron = "0 7,13 * * *"', 'cron = "0 25 * * *"')
    edit(province, "province.toml", "timeout_seconds = 60", "timeout_seconds = 0.01")
    edit(province, "province.toml", 'workbook = ""', 'workbook = "otop.xlsx"')
    write_new_workbook(province / "otop.xlsx", demo_tabs())
    assert main(["check", "--config", str(province)]) == 1
    out = capsys.readouterr().out.splitlines()
    checks = [line for line in out if line.startswith(("schedule:", "LINE:", "brief:", "folders:"))]
    assert checks[0].startswith(
        "schedule: configuration schedule.toml: jobs[0].cron: '0 25 * * *' is not a cron line: "
    )
    assert checks[1:] == [
        "LINE: not configured: reminders and announcements are printed, not sent",
        "brief: the PDF renderer failed: rendering the PDF took longer than 0.01 s ([brief] timeout_seconds)",
        f"folders: state {tmp_path / 'a-file' / 'state'} cannot be written ({tmp_path / 'a-file'} is not a "
        "folder this user can write): set [service] state_dir to one it can",
        f"folders: briefs {province.resolve() / 'briefs'}: writable",
        f"folders: workbook {province.resolve()}: writable",
    ]
    # A check writes nothing: no folder created, no demo written.
    assert sorted(tmp_path.iterdir()) == [tmp_path / "a-file", province]
    assert not (province / "briefs").exists()


def test_log_times_are_in_the_configured_zone_with_their_offset() -> None:
    import logging

    from otop_sync.scheduler import ZonedFormatter

    record = logging.LogRecord("otop_sync", logging.INFO, __file__, 1, "sync: ok", None, None)
    record.created = 1726448400.0  # 2024-09-16 01:00 UTC
    assert (
        ZonedFormatter("Asia/Bangkok").format(record) == "2024-09-16T08:00:00+07:00 otop-sync INFO sync: ok"
    )
