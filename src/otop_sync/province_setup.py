"""`otop-sync init DIR`: a new province's configuration folder and a blank workbook, ready to fill in.

The folder is a copy of the shipped one with the province's own code, name and districts written in
(or marked blanks to fill), so that every comment that explains a setting is there to read. The workbook
has the form's responses tab (its header only), the base-year tab with a row for each district and
month of the base year, to paste the amounts into, and the tabs otop_sync owns (headers only; the first
run fills them).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from otop_sync.config import CONFIG_FILES, Config
from otop_sync.errors import UsageError
from otop_sync.periods import Month, Quarter
from otop_sync.responses import Tab
from otop_sync.tables import PROBLEM_COLUMNS, RESULT_COLUMNS, RUN_LOG_COLUMNS

WORKBOOK = "otop.xlsx"  # in the folder, where province.toml's `workbook` names it
BLANK = "ใส่"  # the start of every blank to fill: easy to find, and refused until it is filled


@dataclass(frozen=True)
class NewDistrict:
    code: str
    name: str


def parse_district(text: str) -> NewDistrict:
    """ "4101:เมืองอุดรธานี" as typed on the command line."""
    code, _, name = text.partition(":")
    if not (code.strip().isdigit() and name.strip()):
        raise ValueError(f"{text!r} is not CODE:NAME, like 4101:เมืองอุดรธานี")
    return NewDistrict(code.strip(), name.strip())


def province_toml(
    shipped: str, *, code: str | None, name: str | None, districts: Sequence[NewDistrict]
) -> str:
    """The shipped province.toml with this province's values in place of Nong Khai's; what is not given
    is a blank starting with BLANK, which the configuration refuses until a person fills it in."""
    name_or_blank = name or f"{BLANK}ชื่อจังหวัด"
    values = {
        "code": code or f"{BLANK}รหัสจังหวัด 2 หลัก",
        "name": name_or_blank,
        "office": f"สำนักงานพัฒนาชุมชนจังหวัด{name_or_blank}",
        "slogan": "",
        "form_url": "",
        "workbook": WORKBOOK,
    }
    head, _, _ = shipped.partition("\n[workbook]")
    tail = shipped[len(head) :]
    for key, value in values.items():
        head = re.sub(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', head, count=1)
    start = tail.index("[[districts]]")
    entries = districts or [NewDistrict(f"{BLANK}รหัสอำเภอ 4 หลัก", f"{BLANK}ชื่ออำเภอ")]
    listed = "\n".join(
        f'[[districts]]\ncode = "{d.code}"\nname = "{d.name}"\naliases = []\n' for d in entries
    )
    return head + tail[:start] + listed


def base_months(fiscal_year: int) -> tuple[Month, ...]:
    return tuple(m for n in range(1, 5) for m in Quarter(fiscal_year, n).months)


def blank_tabs(config: Config, *, base_fiscal_year: int) -> list[Tab]:
    """The workbook's tabs: responses (header), base year (a row per district and month, the amount to
    paste in), and the owned tabs (headers)."""
    form, tabs = config.form, config.form.tabs
    responses = tuple(titles[0] for titles in form.columns.values())
    base_header = tuple(form.base_year_columns[f][0] for f in ("district", "month", "sales"))
    base_rows = tuple(
        (district.name, month.label, None)
        for month in base_months(base_fiscal_year)
        for district in config.province.districts
    )
    return [
        Tab(tabs.responses[0], (responses,)),
        Tab(tabs.base_year, (base_header, *base_rows)),
        Tab(tabs.summary, (tuple(c.title for c in RESULT_COLUMNS),)),
        Tab(tabs.quarterly, (tuple(c.title for c in RESULT_COLUMNS),)),
        Tab(tabs.problems, (tuple(c.title for c in PROBLEM_COLUMNS),)),
        Tab(tabs.run_log, (tuple(c.title for c in RUN_LOG_COLUMNS),)),
    ]


def write_folder(folder: Path, shipped: Path, province: str) -> None:
    """The configuration folder: the shipped files, `province` as its province.toml. An existing folder
    with anything in it is refused: init never overwrites a province's settings."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} exists and is not an empty folder: init writes a new one")
    folder.mkdir(parents=True, exist_ok=True)
    for name in CONFIG_FILES:
        if name != "province.toml":
            shutil.copyfile(shipped / name, folder / name)
    (folder / "province.toml").write_text(province, encoding="utf-8")
