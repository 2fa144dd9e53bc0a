"""How long each client waits on a server that trickles its answer, for every way a server can send it.

    pip install ".[test]" && python benchmarks/deadline.py [--timeout 1] [--retries 2]

A loopback server (``tests/trickle.py``) answers one byte every 0.2 s: in the status line, the headers or
the body; HTTP/1.1 kept alive or closing, HTTP/1.0; with a Content-Length or chunked. Each client (Google
Sheets, Google's token endpoint on the way to Sheets, Google Forms, LINE) must give up within its timeout
plus its retry time; the tests allow 10 % and 0.3 s more. Before the watchdog held its own descriptor of
each socket, an answer with ``Connection: close`` or from an HTTP/1.0 server was never cut.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otop_sync.config import Action
from otop_sync.errors import OtopSyncError
from otop_sync.google_api import load_credentials
from otop_sync.google_forms import SCOPE_READ, FormsClient
from otop_sync.http_transport import RetryPolicy
from otop_sync.line import LineClient
from otop_sync.messages import Message
from otop_sync.periods import BANGKOK
from otop_sync.sources.google import GoogleSheetsSource
from otop_sync.sync import sync
from tests.conftest import CONFIG
from tests.fake_line import GROUP, TOKEN
from tests.fake_sheets import service_account_file
from tests.trickle import BEHAVIOURS, TrickleServer

MESSAGE = Message(Action.REMIND, "2567Q4", "2024-09", "2024-09-13", "ทดสอบ")


def sheets(url: str, timeout: float, retries: float) -> Callable[[], object]:
    key = service_account_file(Path(tempfile.mkdtemp()), token_uri=url + "/token")
    source = GoogleSheetsSource(
        "benchmark-sheet-key",
        credentials=load_credentials(str(key)),
        endpoint=url,
        timeout_seconds=timeout,
        retry=RetryPolicy(deadline_seconds=retries),
    )
    now = datetime.now(BANGKOK)
    return lambda: sync(source, config=CONFIG, as_of=now, computed_at=now)


def forms(url: str, timeout: float, retries: float) -> Callable[[], object]:
    key = service_account_file(Path(tempfile.mkdtemp()), token_uri=url + "/token")
    client = FormsClient(
        "benchmark-form",
        credentials=load_credentials(str(key), scopes=(SCOPE_READ,)),
        endpoint=url,
        timeout_seconds=timeout,
        retry_for_seconds=retries,
    )
    return client.get


def line(url: str, timeout: float, retries: float) -> Callable[[], object]:
    client = LineClient(
        token=TOKEN,
        group_id=GROUP,
        state_dir=Path(tempfile.mkdtemp()),
        endpoint=url,
        timeout_seconds=timeout,
        deadline_seconds=retries,
        clock=lambda: datetime.now(BANGKOK),
    )
    return lambda: client.push(MESSAGE)


CLIENTS = {"Sheets": (sheets, False), "token": (sheets, True), "Forms": (forms, False), "LINE": (line, False)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=1)
    parser.add_argument("--retries", type=float, default=2)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the retries' own log lines
    bound = args.timeout + args.retries
    print(f"timeout {args.timeout:g} s a try, retries for {args.retries:g} s: bound {bound:g} s")
    print(f"{'client':<7} {'server behaviour':<48} {'gave up in':>10} {'bound':>6} {'requests':>8}")
    worst = 0.0
    for name, (make, trickle_token) in CLIENTS.items():
        for behaviour in BEHAVIOURS:
            with TrickleServer(behaviour=behaviour, trickle_token=trickle_token) as server:
                action = make(server.url, args.timeout, args.retries)
                started = time.monotonic()
                try:
                    action()
                    outcome = "COMPLETED (a cut answer taken for whole)"
                except OtopSyncError:
                    outcome = ""
                seconds = time.monotonic() - started
                worst = max(worst, seconds / bound)
                print(
                    f"{name:<7} {behaviour.name:<48} {seconds:>9.2f}s {bound:>5g}s {server.connections:>8}"
                    f" {outcome}"
                )
    print(f"worst: {worst:.2f} × the bound")


if __name__ == "__main__":
    main()
