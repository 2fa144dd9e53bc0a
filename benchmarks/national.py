"""Time `otop-sync run` at national scale, beside the floor of reading the same tabs.

    pip install ".[bench]" && python benchmarks/national.py [--brief]

Builds, in a temporary folder, a configuration with all 928 districts (official codes and names from
the `geothai` package), a workbook with twelve monthly reports per district for FY 2567 (about 11,000
rows) and the FY 2566 base year month by month. Then, each in a child process pinned to one core (where
`taskset` exists), the best of several runs taken in turns, since this machine is shared:

- `python -c pass`: the interpreter alone;
- the floor: python-calamine (a compiled reader) reading the four tabs a run reads;
- openpyxl (read-only mode) reading the same four tabs, as otop_sync did before;
- `otop-sync run --no-brief`: the first run (the owned tabs created), then the steady state (replaced).

The ratios are to the floor, measured in the same run. `--brief` also times a run with the brief of all
928 districts.
"""

from __future__ import annotations

import argparse
import compileall
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import geothai

import otop_sync
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


def timed(command: list[str], *, cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one child process running `command`, pinned to one core."""
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
    done = subprocess.run([sys.executable, "-c", measure, *command], capture_output=True, text=True, cwd=cwd)
    code, elapsed, peak_kb = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr}")
    return float(elapsed), int(peak_kb) / 1024


def best(commands: list[list[str]], times: int) -> list[tuple[float, float]]:
    """For each command, the fastest of `times` runs and the peak memory of that run. The commands take
    turns, so that a noisy moment of a shared machine falls on all of them, not on one."""
    runs: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(times):
        for command, measured in zip(commands, runs, strict=True):
            measured.append(timed(command))
    return [min(measured) for measured in runs]


PHASES = """
import shutil, sys, tempfile, time
started = time.perf_counter()
from datetime import datetime
from pathlib import Path
from otop_sync.periods import BANGKOK
from otop_sync.settings import load_config
from otop_sync.sources.workbook import WorkbookSource
from otop_sync.sync import decide
imported = time.perf_counter()
config = load_config(Path(sys.argv[2]))
configured = time.perf_counter()
source = WorkbookSource(Path(sys.argv[1]), config.workbook)
data = source.read(config.form)
read = time.perf_counter()
as_of = datetime(2024, 9, 16, 8, tzinfo=BANGKOK)
outcome, writes = decide(data, config=config, as_of=as_of, computed_at=as_of)
decided = time.perf_counter()
copy = Path(tempfile.mkdtemp()) / "copy.xlsx"
shutil.copy(sys.argv[1], copy)
writer = WorkbookSource(copy, config.workbook)
writer.read(config.form)
started_writing = time.perf_counter()
writer.write(writes)
written = time.perf_counter()
print(imported - started, configured - imported, read - configured, decided - read, written - started_writing)
"""

TABS = (RESPONSES_TAB, BASE_YEAR_TAB, "ผลรายไตรมาส", "บันทึกการประมวลผล")
CALAMINE = (
    "import sys\nfrom python_calamine import CalamineWorkbook\n"
    "book = CalamineWorkbook.from_path(sys.argv[1])\n"
    "for title in sys.argv[2:]: book.get_sheet_by_name(title).to_python()\n"
)
OPENPYXL = (
    "import sys\nfrom openpyxl import load_workbook\n"
    "book = load_workbook(sys.argv[1], read_only=True)\n"
    "for title in sys.argv[2:]:\n"
    "    sheet = book[title]; sheet.reset_dimensions(); list(sheet.iter_rows(values_only=True))\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the workbook and configuration here and keep them")
    parser.add_argument("--times", type=int, default=5, help="runs of each command, the best counted")
    parser.add_argument("--brief", action="store_true", help="also time a run with the brief (slow)")
    parser.add_argument("--phases", action="store_true", help="also time a run's phases, in one process")
    args = parser.parse_args()
    # Timed as installed: pip compiles a package to bytecode as it installs it, while a checkout installed
    # with -e, under PYTHONDONTWRITEBYTECODE, would compile it again in every timed run (about 0.1 s).
    compileall.compile_dir(Path(otop_sync.__file__).parent, quiet=1)
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
    script = shutil.which("otop-sync") or str(Path(sys.executable).with_name("otop-sync"))
    run = [
        script,
        "run",
        "--workbook",
        str(workbook),
        "--config",
        str(config),
        "--as-of",
        AS_OF,
        "--no-brief",
    ]
    first = timed(run)  # creates the owned tabs: what the floor and the steady state then read
    interpreter, floor, openpyxl, steady = best(
        [
            [sys.executable, "-c", "pass"],
            [sys.executable, "-c", CALAMINE, str(workbook), *TABS],
            [sys.executable, "-c", OPENPYXL, str(workbook), *TABS],
            run,
        ],
        args.times,
    )
    print(
        f"best of {args.times} turns, one core; ratios to the floor (python-calamine reading the four tabs)"
    )
    for label, (seconds, peak) in (
        ("python -c pass", interpreter),
        ("floor: python-calamine reads the 4 tabs", floor),
        ("openpyxl (read-only) reads the 4 tabs", openpyxl),
        ("otop-sync run, first (tabs created)", first),
        ("otop-sync run, steady state (tabs replaced)", steady),
    ):
        print(f"  {label:<45} {seconds:6.2f} s  {seconds / floor[0]:5.1f}x  peak {peak:4.0f} MB")
    if args.brief:
        seconds, peak = timed(run[:-1])
        label = "otop-sync run with the brief of 928 districts"
        print(f"  {label:<45} {seconds:6.2f} s         peak {peak:4.0f} MB")
    if args.phases:
        runs = [
            subprocess.run(
                [sys.executable, "-c", PHASES, str(workbook), str(config)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            for _ in range(args.times)
        ]
        # Each phase's best over the runs: the noise of a shared machine only ever adds time.
        imports, configuration, reading, grading, writing = (min(float(r[i]) for r in runs) for i in range(5))
        print(
            f"  phases of a steady-state run (one process, best of {args.times} each): "
            f"imports {imports:.2f} s, configuration {configuration:.2f} s, reading {reading:.2f} s, "
            f"grading {grading:.2f} s, writing {writing:.2f} s"
        )
        # What no reader can take away: the run, were its tabs read in no time at all.
        rest = interpreter[0] + imports + configuration + grading + writing
        print(
            f"  all but reading, the interpreter's start included: {rest:.2f} s, "
            f"{rest / floor[0]:.1f}x the floor"
        )
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
