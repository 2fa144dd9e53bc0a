"""Every input is hostile until bounded: workbooks that expand enormously, or are damaged, end in one line
or in junk ignored, never a traceback, never a changed input, within time and memory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otop_sync.cli import main
from otop_sync.demo import DEMO_AS_OF, RESPONSES_TAB, demo_tabs
from otop_sync.sources.workbook import write_new_workbook

from .builders import (
    blank_rows,
    edit,
    junk_rows,
    shared_string_rows,
    sheet_part,
    with_part,
    with_picture,
    xfd_rows,
)

AS_OF = DEMO_AS_OF.isoformat()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    write_new_workbook(path, demo_tabs())
    return path


def run_cli(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`otop-sync run` in its own process, with its peak resident memory (kB) on the last line of stderr."""
    # VmHWM, not ru_maxrss: ru_maxrss outlives exec, so a child forked from a large pytest reports its size.
    script = (
        "import re, sys; from pathlib import Path; from otop_sync.cli import main; "
        "code = main(sys.argv[1:]); "
        "status = Path('/proc/self/status').read_text(); "
        "print(re.search(r'VmHWM:\\s+(\\d+)', status)[1], file=sys.stderr); sys.exit(code)"
    )
    command = [
        sys.executable,
        "-c",
        script,
        "run",
        "--workbook",
        str(path),
        "--as-of",
        AS_OF,
        "--no-brief",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=path.parent)


def assert_clean(stderr: list[str]) -> None:
    """Only otop_sync's own log lines: no error, no traceback."""
    assert all(line.startswith("otop-sync: ") for line in stderr), stderr
    assert not [line for line in stderr if line.startswith("otop-sync: error")], stderr


def outcome_of(done: subprocess.CompletedProcess[str]) -> tuple[int, list[str], int]:
    lines = done.stderr.strip().splitlines()
    return done.returncode, lines[:-1], int(lines[-1])


def test_rows_reaching_the_last_column_are_ignored_quickly(demo: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "xfd.xlsx"
    xfd_rows(demo, hostile, RESPONSES_TAB)
    assert hostile.stat().st_size < 2_000_000
    started = time.monotonic()
    code, lines, peak_kb = outcome_of(run_cli(hostile, "--dry-run", "--json"))
    assert code == 0
    assert_clean(lines)
    assert time.monotonic() - started < 120
    assert peak_kb < 1_000_000  # under 1 GB


def test_one_long_shared_string_in_every_cell_costs_time_by_the_file_not_by_its_length(
    demo: Path, tmp_path: Path
) -> None:
    # A 50 KB file: one string of a million characters, referred to by every cell of 2,000 rows. Cleaned
    # once a cell it took 25 s for 20 rows, and would have taken some 47 minutes and 11 GB for all.
    hostile = tmp_path / "shared.xlsx"
    shared_string_rows(demo, hostile, RESPONSES_TAB)
    assert hostile.stat().st_size < 100_000
    started = time.monotonic()
    done = run_cli(hostile, "--dry-run", "--json")
    took = time.monotonic() - started
    code, lines, peak_kb = outcome_of(done)
    assert code == 0
    assert_clean(lines)
    assert took < 30
    assert peak_kb < 300_000
    result = json.loads(done.stdout)
    assert result["rows"]["read"] == 33 + 2_000
    long_rows = [r for r in result["rejected"] if r["row"] > 34]
    assert len(long_rows) == 2_000
    # Each reason quotes the answer's first characters, never the million.
    assert max(len(reason) for r in long_rows for reason in r["reasons"]) < 200


def test_blank_rows_change_nothing_in_the_grading(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last = len(demo_tabs()[0].rows)
    rows = b"".join(
        b'<row r="%d"><c r="A%d"/><c r="B%d" t="inlineStr"><is><t></t></is></c></row>' % (n, n, n)
        for n in range(last + 1, last + 50_001)
    )
    padded = tmp_path / "padded.xlsx"
    with_part(demo, padded, sheet_part(demo, RESPONSES_TAB), lambda xml: junk_rows(xml, rows))
    assert main(["run", "--workbook", str(demo), "--as-of", AS_OF, "--dry-run", "--json", "--no-brief"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert (
        main(["run", "--workbook", str(padded), "--as-of", AS_OF, "--dry-run", "--json", "--no-brief"]) == 0
    )
    padded_json = json.loads(capsys.readouterr().out)
    assert {**padded_json, "computed_at": None} == {**plain, "computed_at": None}


def test_a_small_file_that_expands_past_the_limit_is_refused_before_it_is_read(
    demo: Path, tmp_path: Path
) -> None:
    hostile = tmp_path / "blank.xlsx"
    part = sheet_part(demo, RESPONSES_TAB)
    blank_rows(demo, hostile, RESPONSES_TAB, megabytes=300)
    assert hostile.stat().st_size < 2_000_000
    before = hostile.read_bytes()
    started = time.monotonic()
    code, errors, peak_kb = outcome_of(run_cli(hostile))
    assert code == 1
    assert errors == [
        f"otop-sync: error: {hostile} is too large to read: its part {part} expands to 300 MB, past the "
        "limit of 200 MB ([workbook] max_part_megabytes)"
    ]
    assert time.monotonic() - started < 30
    assert peak_kb < 300_000
    assert hostile.read_bytes() == before


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda xml: xml[: len(xml) // 2], "a part is not well-formed XML"),
        (
            lambda xml: re.sub(
                rb'(<c r="B2"[^>]*?) t="inlineStr"><is>.*?</is>', rb'\1 t="s"><v>99999</v>', xml
            ),
            "a cell refers to shared string 99999, of 0",
        ),
        (lambda xml: xml.replace(b'r="B2"', b'r="2B"', 1), "a cell is named '2B'"),
    ],
)
def test_a_malformed_sheet_is_one_line_naming_the_fix(
    demo: Path, tmp_path: Path, damage: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "malformed.xlsx"
    with_part(demo, hostile, sheet_part(demo, RESPONSES_TAB), damage)  # type: ignore[arg-type]
    before = hostile.read_bytes()
    assert main(["run", "--workbook", str(hostile), "--as-of", AS_OF, "--no-brief"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith(f"otop-sync: error: {hostile} is damaged: ")
    assert expected in line
    assert line.endswith("; open it in Excel or LibreOffice and save it again")
    assert hostile.read_bytes() == before


PARTS = st.sampled_from(
    [
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_is_one_line_and_leaves_the_input_untouched(
    demo: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("damaged")
    damaged = folder / "damaged.xlsx"
    if data.draw(st.booleans(), label="damage the package itself"):
        raw = bytearray(demo.read_bytes())
        if data.draw(st.booleans(), label="truncate"):
            raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
        else:
            for _ in range(data.draw(st.integers(1, 8), label="flips")):
                at = data.draw(st.integers(0, len(raw) - 1), label="at")
                raw[at] ^= data.draw(st.integers(1, 255), label="mask")
        damaged.write_bytes(bytes(raw))
    else:
        part = data.draw(PARTS, label="part")

        def damage(xml: bytes) -> bytes:
            changed = bytearray(xml)
            for _ in range(data.draw(st.integers(1, 8), label="flips")):
                at = data.draw(st.integers(0, len(changed) - 1), label="at")
                changed[at] ^= data.draw(st.integers(1, 255), label="mask")
            return bytes(changed)

        with_part(demo, damaged, part, damage)
    before = damaged.read_bytes()
    code, err = _run_in_process(damaged)
    if code != 0:
        assert code == 1
        assert len(err) == 1, err
        assert err[0].startswith("otop-sync: error: "), err
        assert damaged.read_bytes() == before


def _run_in_process(path: Path) -> tuple[int, list[str]]:
    import contextlib
    import io

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["run", "--workbook", str(path), "--as-of", AS_OF, "--no-brief"])
    lines = [line for line in stderr.getvalue().splitlines() if not line.startswith("otop-sync: run: ok")]
    return code, [line for line in lines if line.startswith("otop-sync: error") or "Traceback" in line]


def test_a_large_part_otop_sync_never_reads_is_streamed_through_not_loaded(
    demo: Path, tmp_path: Path
) -> None:
    big = tmp_path / "picture.xlsx"
    with_picture(demo, big, megabytes=250)
    code, lines, peak_kb = outcome_of(run_cli(big))
    assert code == 0
    assert_clean(lines)
    assert peak_kb < 150_000  # it was loaded whole before: 4.2 GB for a 2 GB part
    with zipfile.ZipFile(big) as package:
        assert package.getinfo("xl/media/image1.png").file_size == 250_000_000
        assert "ผลรายไตรมาส" in package.read("xl/workbook.xml").decode()


def test_content_past_the_row_limit_is_refused_naming_the_setting(
    demo: Path, province: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(province, "province.toml", "max_rows = 200000", "max_rows = 30")
    assert (
        main(["run", "--workbook", str(demo), "--config", str(province), "--as-of", AS_OF, "--no-brief"]) == 1
    )
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"otop-sync: error: {demo} is too large to read: tab 'การตอบกลับแบบฟอร์ม 1' has content in row 31, "
        "past the limit of 30 rows ([workbook] max_rows)"
    )


def test_a_workbook_with_another_hard_link_is_refused_before_anything_is_written(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Five spellings of one workbook used to say "ok" five times; the hard link got its own lock, and the
    # atomic rename turned it into a separate file.
    original = tmp_path / "otop.xlsx"
    original.write_bytes(demo.read_bytes())
    other = tmp_path / "other-name.xlsx"
    other.hardlink_to(original)
    before = original.read_bytes()
    assert main(["run", "--workbook", str(other), "--as-of", AS_OF, "--no-brief"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"otop-sync: error: {other}: the same file has 1 other name(s) (hard links), which a write would "
        "split into separate workbooks; nothing was written: keep one name, and make the others symbolic "
        "links (ln -sf) to it"
    )
    assert original.read_bytes() == before
    assert other.stat().st_ino == original.stat().st_ino  # still one file
    assert main(["run", "--workbook", str(other), "--as-of", AS_OF, "--no-brief", "--dry-run"]) == 0


def test_a_document_type_in_any_part_is_refused_before_anything_is_written(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "doctype.xlsx"
    with_part(
        demo,
        hostile,
        "xl/workbook.xml",
        lambda xml: xml.replace(b"<workbook ", b'<!DOCTYPE workbook [<!ENTITY co "x">]><workbook ', 1),
    )
    before = hostile.read_bytes()
    assert main(["run", "--workbook", str(hostile), "--as-of", AS_OF, "--no-brief"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"otop-sync: error: {hostile} is damaged: its part xl/workbook.xml declares a document type "
        "(<!DOCTYPE>), which Excel never writes; open it in Excel or LibreOffice and save it again"
    )
    assert hostile.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "it is encrypted with a password"),
        (b"\xef\xbb\xbf<!DOCTYPE html><html><body><table></table></body></html>", "it is a web page (HTML)"),
        (b"  <html><head><meta charset='utf-8'></head></html>", "it is a web page (HTML)"),
    ],
    ids=["encrypted", "html with BOM", "html"],
)
def test_a_file_of_another_kind_is_named_for_what_it_is(
    content: bytes, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "otop.xlsx"
    path.write_bytes(content)
    assert main(["run", "--workbook", str(path), "--as-of", AS_OF, "--no-brief"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"otop-sync: error: {path}: {says}")
    assert "damaged" not in err[0]
    assert path.read_bytes() == content
