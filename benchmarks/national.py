"""Time `otop-sync run` at national scale: every district and khet of Thailand, a fiscal year of reports.

    pip install ".[bench]" && python benchmarks/national.py

Builds, in a temporary folder, a configuration with all 928 districts (official codes and names from
the `geothai` package), a workbook with twelve monthly reports per district for FY 2567 (about 11,000
rows) and the FY 2566 base year month by month, then runs the real console script on it (pinned to one
core where `taskset` exists) and prints wall time and peak memory: two runs without the brief (the
grading and the tabs), then one with it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import geothai

from otop_sync.cells import CellValue
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB
from otop_sync.periods import Month, Quarter
from otop_sync.responses import Tab
from otop_sync.settings import shipped_dir
from otop_sync.sources.workbook import write_new_workbook

AS_OF = "2024-09-16T08:00:00+07:00"


def national_districts() -> list[tuple[str, str]]:
    """(code, unique Thai name): a name used in two provinces gets its province appended."""
    rows = [(d.code, d.name_th, p.name_th) for p in geothai.provinces() for d in geothai.districts(p.code)]
    counts: dict[str, int] = {}
    for _, name, _ in rows:
        counts[name] = counts.get(name, 0) + 1
    return [(code, name if counts[name] == 1 else f"{name} จังหวัด{province}") for code, name, province in rows]


def write_config(folder: Path, districts: list[tuple[str, str]]) -> None:
    shutil.copytree(shipped_dir("config"), folder)
    province = (folder / "province.toml").read_text(encoding="utf-8")
    head = province.split("[[districts]]")[0]
    body = "".join(f'\n[[districts]]\ncode = "{code}"\nname = "{name}"\n' for code, name in districts)
    (folder / "province.toml").write_text(head + body, encoding="utf-8")


def build_tabs(districts: list[tuple[str, str]], seed: int = 2567) -> tuple[Tab, Tab]:
    rng = random.Random(seed)
    months = [Month(2023, 10).shift(i) for i in range(12)]
    answers: list[tuple[CellValue, ...]] = []
    base: list[tuple[CellValue, ...]] = []
    for _, name in districts:
        monthly = [rng.randint(50_000, 500_000) for _ in months]
        for month, amount in zip(months, monthly, strict=True):
            base.append((name, month.shift(-12).label, amount))
        products, sales = 0, 0
        for month, amount in zip(months, monthly, strict=True):
            if month == Quarter.of(month).months[0]:
                products, sales = 0, 0
            products += rng.randint(0, 2)
            sales += int(amount * rng.uniform(0.95, 1.12))
            submitted = datetime(month.year, month.month, rng.randint(1, 18), rng.randint(8, 17))  # noqa: DTZ001
            answers.append((submitted, name, month.label, products, sales, "ผู้รายงาน", "0812345678", ""))
    answers.sort(key=lambda row: row[0])  # type: ignore[arg-type,return-value]
    return Tab(RESPONSES_TAB, (RESPONSE_HEADER, *answers)), Tab(BASE_YEAR_TAB, (BASE_HEADER, *base))


def timed_run(workbook: Path, config: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one `otop-sync run` in a child process."""
    script = shutil.which("otop-sync") or str(Path(sys.executable).with_name("otop-sync"))
    command = [script, "run", "--workbook", str(workbook), "--config", str(config), "--as-of", AS_OF, *extra]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    # A fresh parent per run, so that the peak memory it reports is this run's alone.
    measure = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "elapsed = time.perf_counter() - start\n"
        "print(done.returncode, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    wrapped = [sys.executable, "-c", measure, *command]
    done = subprocess.run(wrapped, capture_output=True, text=True, check=True)
    code, elapsed, peak_kb = done.stdout.split()
    if code != "0":
        raise SystemExit(f"otop-sync run failed: {done.stderr}")
    return float(elapsed), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the workbook and configuration here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="otop-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    districts = national_districts()
    config, workbook = folder / "config", folder / "national.xlsx"
    if config.exists():
        shutil.rmtree(config)
    write_config(config, districts)
    responses, base = build_tabs(districts)
    write_new_workbook(workbook, (responses, base))
    print(
        f"districts: {len(districts)}; response rows: {len(responses.rows) - 1}; base-year rows: "
        f"{len(base.rows) - 1}; workbook: {workbook.stat().st_size / 1e6:.1f} MB"
    )
    runs = (
        ("first run (owned tabs created), no brief", ("--no-brief",)),
        ("second run (owned tabs replaced), no brief", ("--no-brief",)),
        ("third run, with the brief of 928 districts", ()),
    )
    for label, extra in runs:
        seconds, peak = timed_run(workbook, config, *extra)
        print(f"{label}: {seconds:.2f} s wall, peak RSS {peak:.0f} MB")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
