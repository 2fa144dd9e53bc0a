"""The systemd unit the operator's guide gives, checked by systemd itself (`systemd-analyze verify`).

Skipped without systemd-analyze (package systemd), unless OTOP_SYNC_REQUIRE_SYSTEMD is set, as `.ci/run`
sets it: there a missing systemd-analyze fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).parent.parent / "docs" / "operator-guide.md"
ANALYZE = shutil.which("systemd-analyze")
INSTALLED_AT = "/opt/otop-sync/bin/otop-sync"

pytestmark = pytest.mark.skipif(
    ANALYZE is None and not os.environ.get("OTOP_SYNC_REQUIRE_SYSTEMD"),
    reason="systemd-analyze is not installed: apt-get install systemd",
)


def the_guides_unit() -> str:
    found = re.search(r"```ini\n# /etc/systemd/system/otop-sync\.service\n(.*?)```", GUIDE.read_text(), re.S)
    assert found, "the operator's guide has no otop-sync.service block"
    return found.group(1)


def verify(unit: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify on `unit`, with the path the guide installs to replaced by this
    installation's otop-sync (verify refuses a command that does not exist)."""
    assert ANALYZE is not None, "systemd-analyze is required here (OTOP_SYNC_REQUIRE_SYSTEMD)"
    assert unit.count(INSTALLED_AT) == 1
    here = Path(sys.executable).parent / "otop-sync"
    assert here.is_file(), f"otop-sync is not installed beside {sys.executable}"
    path = folder / "otop-sync.service"
    path.write_text(unit.replace(INSTALLED_AT, str(here)), encoding="utf-8")
    return subprocess.run([ANALYZE, "verify", str(path)], capture_output=True, text=True, check=False)


def test_the_guides_unit_is_one_systemd_accepts_without_a_warning(tmp_path: Path) -> None:
    done = verify(the_guides_unit(), tmp_path)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize(
    ("old", "new", "warning"),
    [
        ("KillMode=mixed", "KillMode=mixt", "Failed to parse kill mode"),
        ("TimeoutStopSec=11min", "TimeoutStopSecs=11min", "Unknown key 'TimeoutStopSecs'"),
    ],
)
def test_the_check_sees_a_mistake(tmp_path: Path, old: str, new: str, warning: str) -> None:
    # systemd ignores a bad line with a warning and exits 0: the test above must read the warnings.
    unit = the_guides_unit()
    assert old in unit
    done = verify(unit.replace(old, new), tmp_path)
    assert warning in done.stderr


def test_the_unit_keeps_what_a_clean_stop_needs() -> None:
    unit = the_guides_unit()
    # The signal to the main process only, so that a running brief finishes (operator's guide, "A clean
    # stop"), and a stop timeout longer than the ten minutes the scheduler waits for a running job.
    assert "KillMode=mixed" in unit
    minutes = int(re.search(r"TimeoutStopSec=(\d+)min", unit).group(1))  # type: ignore[union-attr]
    assert minutes > 10
    assert "Environment=OTOP_SYNC_DATA_DIR=/var/lib/otop-sync" in unit
