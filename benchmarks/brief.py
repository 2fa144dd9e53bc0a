"""Time and memory of rendering the brief: the demo (9 districts) and a province of 100 districts.

    pip install . && python benchmarks/brief.py

Each brief is rendered as `otop-sync run` renders it: HTML in this process, the PDF in a child
process ("cold": a fresh renderer, WeasyPrint imported for this brief alone). Then as the scheduler
renders it ("warm": one renderer kept for the service's life, started beforehand), best of three.
Peak memory is this process's and the renderers' (the larger is the figure that matters on a small
server).
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from otop_sync.brief_files import write_brief
from otop_sync.brief_pdf import WarmRenderer
from otop_sync.config import Config
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, DEMO_AS_OF, RESPONSE_HEADER, RESPONSES_TAB, demo_tabs
from otop_sync.rules import District
from otop_sync.settings import load_config, shipped_dir
from otop_sync.sources.memory import MemorySource
from otop_sync.sync import sync


def province(count: int) -> tuple[Config, MemorySource]:
    config = load_config(shipped_dir("config"))
    districts = tuple(District(f"{9000 + i}", f"อำเภอทดสอบที่ {i}", ()) for i in range(1, count + 1))
    responses: list[Any] = [RESPONSE_HEADER]
    base: list[Any] = [BASE_HEADER]
    for i, district in enumerate(districts):
        for month, label in ((7, "ก.ค."), (8, "ส.ค."), (9, "ก.ย.")):
            submitted = datetime(2024, month, 5 + i % 14, 9)  # noqa: DTZ001
            responses.append(
                (submitted, district.name, f"{label} 2567", i % 4, 100000 * (month - 6) + 997 * i, "", "", "")
            )
            base.append((district.name, f"{label} 2566", 98000 + 450 * (i % 20)))
    config = replace(config, province=replace(config.province, districts=districts))
    return config, MemorySource({RESPONSES_TAB: responses, BASE_YEAR_TAB: base})


def measure(label: str, config: Config, source: MemorySource, renderer: WarmRenderer | None = None) -> None:
    outcome = sync(source, config=config, as_of=DEMO_AS_OF, computed_at=DEMO_AS_OF, dry_run=True)
    with tempfile.TemporaryDirectory() as folder:
        times = []
        for _ in range(3 if renderer else 1):
            started = time.perf_counter()
            files = write_brief(
                outcome, config, output=Path(folder), folders=[shipped_dir("templates")], renderer=renderer
            )
            times.append(time.perf_counter() - started)
        seconds = min(times)
        size = files.pdf.stat().st_size
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{label}: {seconds:.2f} s, {files.pages} pages, {size / 1024:.0f} KB; "
        f"peak memory: renderer {child:.0f} MB, this process {own:.0f} MB"
    )


def main() -> None:
    config = load_config(shipped_dir("config"))
    demo = MemorySource({t.title: t.rows for t in demo_tabs()})
    measure("demo (9 districts), cold", config, demo)
    measure("100 districts, cold", *province(100))
    warm = WarmRenderer()
    warm.start()
    time.sleep(3)  # the scheduler starts it at start-up, long before the first brief
    try:
        measure("demo (9 districts), warm", config, demo, warm)
        measure("100 districts, warm", *province(100), warm)
    finally:
        warm.close()


if __name__ == "__main__":
    main()
