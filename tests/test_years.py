"""Years are never guessed: command-line dates are Christian Era and quarters Buddhist-Era fiscal quarters,
and a value that looks like the other era is refused in one line giving the value meant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from otop_sync.cli import main
from otop_sync.periods import Quarter, parse_moment

from .conftest import bkk


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["run", "--as-of", "2567-09-16"],
            "argument --as-of: '2567-09-16' looks like a Buddhist-Era date: dates here are Christian Era "
            "(ISO 8601); did you mean 2024-09-16?",
        ),
        (
            ["run", "--as-of", "2567-09-16T08:00+07:00"],
            "did you mean 2024-09-16T08:00+07:00?",
        ),
        (
            ["run", "--quarter", "2024Q4"],
            "argument --quarter: '2024Q4' looks like a Christian-Era year: quarters are Buddhist-Era fiscal "
            "quarters; did you mean 2567Q4?",
        ),
        (["brief", "--as-of", "2568-01-05T09:00"], "did you mean 2025-01-05T09:00?"),
        (
            ["form", "--fiscal-year", "2025"],
            "'2025' looks like a Christian-Era year: fiscal years are Buddhist",
        ),
    ],
)
def test_a_year_of_the_other_era_is_refused_with_the_value_meant(
    argv: list[str],
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert said in error
    assert not list(tmp_path.iterdir())  # nothing written: no demo, no tabs, no brief


def test_the_eras_as_the_core_reads_them() -> None:
    assert parse_moment("2024-09-16T08:00") == bkk(2024, 9, 16, 8)
    assert Quarter.parse("2567Q4") == Quarter(2567, 4)
    with pytest.raises(ValueError, match="did you mean 2024-09-16"):
        parse_moment("2567-09-16")
    with pytest.raises(ValueError, match="did you mean 2568Q1"):
        Quarter.parse("2025q1")


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    # `otop-sync run --json | head -c 10` ended in a BrokenPipeError traceback. Here the reading end is
    # closed before anything is written, so the first write meets the broken pipe.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "otop_sync.cli",
                "run",
                "--as-of",
                "2024-09-16T08:00",
                "--dry-run",
                "--json",
            ],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr
    assert done.returncode == 128 + signal.SIGPIPE
