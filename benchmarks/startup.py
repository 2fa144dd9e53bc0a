"""How long the commands take to start, beside the interpreter alone.

    pip install . && python benchmarks/startup.py

Each command runs in a child process pinned to one core (where `taskset` exists), best of N, since this
machine is shared: `python -c pass`, `otop-sync --help`, `otop-sync --version`, and a dry run of the demo
without the brief (in a fresh folder, so that it grades the demo in memory).
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import otop_sync


def seconds(command: list[str], cwd: Path) -> float:
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=10, help="runs of each command, the best counted")
    args = parser.parse_args()
    # Timed as installed: pip compiles a package to bytecode as it installs it, while a checkout installed
    # with -e, under PYTHONDONTWRITEBYTECODE, would compile it again in every timed run (about 0.1 s).
    compileall.compile_dir(Path(otop_sync.__file__).parent, quiet=1)
    script = shutil.which("otop-sync") or str(Path(sys.executable).with_name("otop-sync"))
    folder = Path(tempfile.mkdtemp(prefix="otop-startup-"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "otop-sync --help": [script, "--help"],
        "otop-sync --version": [script, "--version"],
        "otop-sync run --dry-run --no-brief (demo)": [script, "run", "--dry-run", "--no-brief"],
    }
    best = {
        label: min(seconds(command, folder) for _ in range(args.times)) for label, command in commands.items()
    }
    floor = best["python -c pass"]
    print(f"best of {args.times}, one core; ratios to python -c pass")
    for label, taken in best.items():
        print(f"  {label:<45} {taken:6.3f} s  {taken / floor:5.1f}x")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
