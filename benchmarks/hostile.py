"""Time and memory of `otop-sync run` on the hostile workbooks of issue 11, each in its own process.

    pip install ".[test]" && python benchmarks/hostile.py

Builds, from the demo, a workbook whose responses run 200,000 rows out to column XFD, a file of about
1 MB whose sheet expands to 300 MB of blank rows, a sheet cut off in the middle of its XML, and the demo
with a 250 MB picture; prints for each the exit status, the seconds, the peak memory and the one line
said (the same builders as tests/test_hostile_workbooks.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otop_sync.demo import RESPONSES_TAB, demo_tabs
from otop_sync.sources.workbook import write_new_workbook
from tests.builders import sheet_part, with_part
from tests.test_hostile_workbooks import junk_rows, outcome_of, run_cli


def build(folder: Path) -> dict[str, Path]:
    demo = folder / "demo.xlsx"
    write_new_workbook(demo, demo_tabs())
    part, last = sheet_part(demo, RESPONSES_TAB), len(demo_tabs()[0].rows)
    files = {name: folder / f"{name}.xlsx" for name in ("xfd", "blank", "malformed", "picture")}
    rows = b"".join(
        b'<row r="%d"><c r="XFD%d" t="inlineStr"><is><t>x</t></is></c></row>' % (n, n)
        for n in range(last + 1, last + 200_001)
    )
    with_part(demo, files["xfd"], part, lambda xml: junk_rows(xml, rows))
    with_part(demo, files["malformed"], part, lambda xml: xml[: len(xml) // 2])
    blank = b'<row r="99999"><c r="A99999"/></row>' * 10_000
    with (
        zipfile.ZipFile(demo) as old,
        zipfile.ZipFile(files["blank"], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as new,
    ):
        for info in old.infolist():
            if info.filename != part:
                new.writestr(info.filename, old.read(info))
                continue
            head, tail = old.read(info).split(b"</sheetData>")
            with new.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                for _ in range(300_000_000 // len(blank)):
                    sheet.write(blank)
                sheet.write(b"</sheetData>" + tail)
    files["picture"].write_bytes(demo.read_bytes())
    with (
        zipfile.ZipFile(files["picture"], "a", zipfile.ZIP_DEFLATED) as package,
        package.open("xl/media/image1.png", "w") as picture,
    ):
        for _ in range(250):
            picture.write(b"\0" * 1_000_000)
    return {"demo": demo, **files}


def main() -> None:
    files = build(Path(tempfile.mkdtemp(prefix="otop-hostile-")))
    for name, path in files.items():
        started = time.monotonic()
        code, lines, peak_kb = outcome_of(run_cli(path))
        said = next((line for line in lines if "error" in line), "")
        seconds = time.monotonic() - started
        print(
            f"{name:<10} {path.stat().st_size / 1e6:6.1f} MB  exit {code}  {seconds:5.1f} s  "
            f"peak {peak_kb / 1024:4.0f} MB  {said[:120]}"
        )


if __name__ == "__main__":
    main()
