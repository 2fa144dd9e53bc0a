"""How long a run waits on an endpoint that trickles its answer, on the Sheets and the LINE paths.

    pip install ".[test]" && python benchmarks/deadline.py

A loopback server (``tests/trickle.py``) answers one byte every 0.2 s. Each path must give up within
its timeout plus its retry time (the tests allow 10 % more); before the per-request deadline, a socket
timeout never fired and a run went on for as long as the trickle did.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from otop_sync.config import Action
from otop_sync.errors import OtopSyncError
from otop_sync.line import LineClient
from otop_sync.messages import Message
from otop_sync.periods import BANGKOK
from otop_sync.sources.google import GoogleSheetsSource, RetryPolicy, load_credentials
from otop_sync.sync import sync
from tests.conftest import CONFIG
from tests.fake_line import GROUP, TOKEN
from tests.fake_sheets import service_account_file
from tests.trickle import TrickleServer

MESSAGE = Message(Action.REMIND, "2567Q4", "2024-09", "2024-09-13", "ทดสอบ")


def sheets(timeout: float, retries: float) -> tuple[float, int]:
    with TrickleServer() as server:
        key = service_account_file(Path(tempfile.mkdtemp()), token_uri=server.url + "/token")
        source = GoogleSheetsSource(
            "benchmark-sheet-key",
            credentials=load_credentials(str(key)),
            endpoint=server.url,
            timeout_seconds=timeout,
            retry=RetryPolicy(deadline_seconds=retries),
        )
        started = time.monotonic()
        now = datetime.now(BANGKOK)
        with contextlib.suppress(OtopSyncError):
            sync(source, config=CONFIG, as_of=now, computed_at=now)
        return time.monotonic() - started, source.api_calls


def line(timeout: float, retries: float) -> tuple[float, int]:
    with TrickleServer() as server:
        client = LineClient(
            token=TOKEN,
            group_id=GROUP,
            state_dir=Path(tempfile.mkdtemp()),
            endpoint=server.url,
            timeout_seconds=timeout,
            deadline_seconds=retries,
            clock=lambda: datetime.now(BANGKOK),
        )
        started = time.monotonic()
        with contextlib.suppress(OtopSyncError):
            client.push(MESSAGE)
        return time.monotonic() - started, server.connections


def main() -> None:
    logging.disable(logging.WARNING)  # the retries' own log lines
    print(f"{'path':<7} {'timeout':>7} {'retries':>7} {'ended in':>9} {'bound':>7} {'requests':>8}")
    for timeout, retries in ((1, 2), (2, 5)):
        for name, measure in (("Sheets", sheets), ("LINE", line)):
            seconds, requests = measure(timeout, retries)
            bound = timeout + retries
            print(f"{name:<7} {timeout:>6}s {retries:>6}s {seconds:>8.2f}s {bound:>6}s {requests:>8}")


if __name__ == "__main__":
    main()
