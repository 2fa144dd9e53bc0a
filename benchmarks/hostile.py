"""Time and memory of `otop-sync run` on the hostile workbooks of issue 11, each in its own process.

    pip install ".[test]" && python benchmarks/hostile.py

Builds, from the demo, a workbook whose responses run 200,000 rows out to column XFD, a file of about
1 MB whose sheet expands to 300 MB of blank rows, a sheet cut off in the middle of its XML, and the demo
with a 250 MB picture, and a file of 0.3 MB whose one shared string of a million characters is referred to
by every cell of 2,000 rows; prints for each the exit status, the seconds, the peak memory and the one line
said (the same builders as tests/test_hostile_workbooks.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otop_sync.demo import RESPONSES_TAB, demo_tabs
from otop_sync.sources.workbook import write_new_workbook
from tests.builders import blank_rows, shared_string_rows, sheet_part, with_part, with_picture, xfd_rows
from tests.test_hostile_workbooks import outcome_of, run_cli


def build(folder: Path) -> dict[str, Path]:
    demo = folder / "demo.xlsx"
    write_new_workbook(demo, demo_tabs())
    files = {name: folder / f"{name}.xlsx" for name in ("xfd", "blank", "malformed", "picture", "shared")}
    xfd_rows(demo, files["xfd"], RESPONSES_TAB)
    blank_rows(demo, files["blank"], RESPONSES_TAB)
    with_part(demo, files["malformed"], sheet_part(demo, RESPONSES_TAB), lambda xml: xml[: len(xml) // 2])
    with_picture(demo, files["picture"])
    shared_string_rows(demo, files["shared"], RESPONSES_TAB)
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
