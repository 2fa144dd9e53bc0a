"""Parse and check the TOML configuration once, into frozen, typed values the rest of otop_sync trusts.

Pure: it is handed the files' texts, the folder they came from and the environment's variables (see
``settings.py`` for where those come from), and raises ``ConfigError`` naming the file, the key and what
is wrong. A key or section it does not know is refused with the nearest known name. Paths are resolved
here, once, against the configuration's folder; the environment is merged here, once.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otop_sync.errors import ConfigError
from otop_sync.periods import Quarter
from otop_sync.rules import Checks, Condition, Deadlines, District, Grade, GradeRule, Rubric
from otop_sync.thai import district_key

CONFIG_FILES = ("province.toml", "form.toml", "rubric.toml", "schedule.toml")

T = TypeVar("T")


@dataclass(frozen=True)
class Coordinator:
    name: str
    position: str
    phone: str


DEFAULT_SHEETS_ENDPOINT = "https://sheets.googleapis.com"
DEFAULT_LINE_ENDPOINT = "https://api.line.me"
SHEETS_ENDPOINT_ENV = "OTOP_SYNC_SHEETS_ENDPOINT"
DEFAULT_FORMS_ENDPOINT = "https://forms.googleapis.com"
FORMS_ENDPOINT_ENV = "OTOP_SYNC_FORMS_ENDPOINT"
DEFAULT_DRIVE_ENDPOINT = "https://www.googleapis.com"
DRIVE_ENDPOINT_ENV = "OTOP_SYNC_DRIVE_ENDPOINT"
LINE_ENDPOINT_ENV = "OTOP_SYNC_LINE_ENDPOINT"
LINE_TOKEN_ENV = "LINE_CHANNEL_ACCESS_TOKEN"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"


@dataclass(frozen=True)
class Google:
    spreadsheet_key: str | None
    credentials_file: (
        Path | None
    )  # the setting, else $GOOGLE_APPLICATION_CREDENTIALS; None: application defaults
    endpoint: str = DEFAULT_SHEETS_ENDPOINT
    timeout_seconds: float = 30
    retry_for_seconds: float = 180
    form_id: str | None = None  # the Google Form that fills the spreadsheet, for `form --apply` and check
    forms_endpoint: str = DEFAULT_FORMS_ENDPOINT


@dataclass(frozen=True)
class Drive:
    """Where each edition of the brief is published on Google Drive, in one of two set-ups (neither: it
    is not published). A service account owns no storage, so it cannot create a file in anyone's My
    Drive; it can replace the content of a file a person created and shared with it, or create files in
    a shared drive (Google Workspace) it is a member of."""

    latest_pdf_id: str | None = None  # set-up 1: brief-latest.pdf, created and shared by a person
    latest_html_id: str | None = None  # set-up 1, optional: brief-latest.html likewise
    folder_id: str | None = None  # set-up 2: a folder in a shared drive; every edition is created there
    endpoint: str = DEFAULT_DRIVE_ENDPOINT

    @property
    def configured(self) -> bool:
        return bool(self.latest_pdf_id or self.folder_id)


@dataclass(frozen=True)
class WorkbookLimits:
    """How much a local workbook may make otop_sync read before it refuses, in one line."""

    part_bytes: int = 200_000_000  # a part of the package, uncompressed
    # The last row with content in a tab otop_sync reads: national scale over ten years is 110,000 rows;
    # a million rows of cells would take more memory than the 1 GB otop_sync promises to stay within.
    rows: int = 200_000


@dataclass(frozen=True)
class BriefSettings:
    output: Path
    templates: Path | None
    thai_numerals: bool
    timeout_seconds: float


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    office: str
    department: str
    slogan: str
    mission: str
    form_url: str
    workbook: Path | None
    coordinators: tuple[Coordinator, ...]
    districts: tuple[District, ...]


FIELDS = ("timestamp", "district", "month", "new_products", "sales", "reporter", "phone", "remarks")
REQUIRED_FIELDS = FIELDS[:5]
BASE_FIELDS = ("district", "month", "sales")


@dataclass(frozen=True)
class Tabs:
    responses: tuple[str, ...]
    base_year: str
    summary: str
    quarterly: str
    problems: str
    run_log: str

    @property
    def owned(self) -> tuple[str, str, str, str]:
        return (self.summary, self.quarterly, self.problems, self.run_log)


@dataclass(frozen=True)
class SheetLayout:
    """Where things are in the spreadsheet (form.toml): the tabs, and the titles of the columns the Google
    Form's answers land under. Not the form itself (form_questions.py), nor its API (google_forms.py)."""

    tabs: Tabs
    columns: Mapping[str, tuple[str, ...]]
    base_year_columns: Mapping[str, tuple[str, ...]]


class Action(StrEnum):
    """What a scheduled job does: sync (and perhaps render the brief), or send a LINE message."""

    SYNC = "sync"
    REMIND = "remind"
    ANNOUNCE = "announce"


_LINE_GROUP_ID = re.compile(r"^[CRU][0-9a-f]{32}$")
_LINE_TOKEN = re.compile(r"^[A-Za-z0-9+/=._-]{20,}$")
_SPREADSHEET_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_FORM_URL = re.compile(r"/forms/d/(e/)?([A-Za-z0-9_-]+)")
_GOOGLE_ID = re.compile(r"^[A-Za-z0-9_-]{10,}$")  # a spreadsheet's key or a form's ID
# A Drive file's or folder's link as a browser shows it: …/file/d/ID/view, …/drive/folders/ID, …?id=ID.
_DRIVE_URL = re.compile(r"(?:/file/d/|/folders/|[?&]id=)([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: str  # checked when the scheduler builds its triggers
    brief: bool
    key: str  # where it is configured, for error messages: "jobs[0]"
    action: Action = Action.SYNC


@dataclass(frozen=True)
class Line:
    group_id: str | None
    endpoint: str = DEFAULT_LINE_ENDPOINT
    token: str | None = field(default=None, repr=False)  # from the environment only; never shown
    # The operator's chat (a user who added the bot as a friend, or a group): where a failing unattended
    # run is told, with the same channel access token.
    alert_to: str | None = None


@dataclass(frozen=True)
class Service:
    state_dir: Path
    lock_wait_seconds: float
    catch_up_hours: float
    log_file: Path | None


@dataclass(frozen=True)
class Config:
    province: Province
    google: Google
    brief: BriefSettings
    line: Line
    form: SheetLayout
    checks: Checks
    rubrics: tuple[Rubric, ...]  # by from_fiscal_year, ascending
    deadlines: Deadlines
    timezone: str
    jobs: tuple[ScheduledJob, ...] = ()
    service: Service = Service(Path("state"), 600, 6, None)
    workbook: WorkbookLimits = WorkbookLimits()
    drive: Drive = Drive()

    def rubric_for(self, quarter: Quarter) -> Rubric | None:
        """The version in force for the quarter's fiscal year; None before the first version."""
        applicable = [r for r in self.rubrics if r.from_fiscal_year <= quarter.fiscal_year]
        return applicable[-1] if applicable else None


class _Table:
    """One TOML table, with the file and key path for error messages.

    Every name the parser asks for is recorded, present or not, so that once a file is parsed whatever
    else it holds is known to be unknown: a misspelt key is refused, never silently ignored.
    """

    def __init__(self, file: str, path: str, data: Mapping[str, Any]) -> None:
        self.file, self.path, self._data = file, path, data
        self._asked: set[str] = set()
        self._children: list[_Table] = []

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), problem)

    def has(self, name: str) -> bool:
        self._asked.add(name)
        return name in self._data

    def raw(self, name: str, default: object = None) -> Any:
        self._asked.add(name)
        return self._data.get(name, default)

    def get(self, name: str, kind: type[T], default: T | None = None) -> T:
        if not self.has(name):
            if default is None:
                raise self.fail(name, "is missing" + self._typo_of(name))
            return default
        value = self._data[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(name, f"should be {kind.__name__}, not {type(value).__name__} {value!r}")
        return value

    def text(self, name: str, default: str | None = None) -> str:
        return self.get(name, str, default)

    def _typo_of(self, name: str) -> str:
        """A key of the table that looks like `name` misspelt: named beside "is missing", since the file
        is refused for the missing key before its unknown ones are looked at."""
        close = difflib.get_close_matches(name, [k for k in self._data if k != name], n=1, cutoff=0.75)
        return f" ({close[0]} is not a key otop_sync knows: did you mean {name}?)" if close else ""

    def texts(self, name: str) -> tuple[str, ...]:
        """A title or a list of titles."""
        value = self.raw(name)
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(name, "should be a non-empty text or list of texts")
        return tuple(v.strip() for v in value)

    def amount(self, name: str, default: float, *, zero: bool = False) -> float:
        """A quantity (seconds, hours, megabytes): above 0, or 0 and above when `zero` is allowed, and
        finite: TOML reads `inf` and `nan`, which no timer, wait or limit can take."""
        value = self.raw(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
            or (value == 0 and not zero)
            or value > LARGEST_AMOUNT
        ):
            raise self.fail(
                name,
                f"{value!r} should be a number {'0 or more' if zero else 'above 0'} and at most "
                f"{LARGEST_AMOUNT:,}",
            )
        return float(value)

    def resolved(self, name: str, base: Path, default: str = "") -> Path | None:
        """A file or folder: relative to `base` (the configuration's folder); None when empty."""
        text = self.text(name, default).strip()
        return (base / text) if text else None

    def table(self, name: str) -> _Table:
        child = _Table(self.file, self.key(name), self.get(name, dict))
        self._children.append(child)
        return child

    def optional_table(self, name: str) -> _Table:
        """The table, or an empty one standing for it: every key of it takes its default."""
        return self.table(name) if self.has(name) else _Table(self.file, self.key(name), {})

    def tables(self, name: str, *, named: bool = False) -> list[_Table]:
        """The [[name]] tables. `named`: each is called in messages by its place counted from 1, as a
        person counts them, and its own name ("districts[5] (สังคม)"); else by its index from 0."""
        items = self.get(name, list)
        if not items or not all(isinstance(item, dict) for item in items):
            raise self.fail(name, "should be one or more [[" + self.key(name) + "]] tables")
        children = [
            _Table(self.file, _entry(self.key(name), i, item) if named else f"{self.key(name)}[{i}]", item)
            for i, item in enumerate(items)
        ]
        self._children.extend(children)
        return children

    def decimal(self, name: str) -> Decimal:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(name, "should be a number")
        try:
            # str() first: a TOML float 0.1 should mean 0.1, not its binary neighbour.
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(name, f"{value!r} is not a number") from None
        if not number.is_finite():  # "NaN" and "Infinity" are Decimals, but compare with nothing
            raise self.fail(name, f"{value!r} is not a finite number")
        return number

    def refuse_unknown(self) -> None:
        """Refuse the first key or section nobody asked for, naming the nearest known one."""
        for name, value in self._data.items():
            if name not in self._asked:
                what = (
                    "section"
                    if isinstance(value, dict)
                    or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value))
                    else "key"
                )
                raise self.fail(name, f"unknown {what}{_nearest(name, self._asked)}")
        for child in self._children:
            child.refuse_unknown()


# No setting here needs more (seconds, hours, megabytes); a larger one is a typo, or would overflow a timer.
LARGEST_AMOUNT = 1_000_000


def _entry(key: str, index: int, item: Mapping[str, Any]) -> str:
    name = item.get("name")
    return f"{key}[{index + 1}]" + (f" ({name.strip()})" if isinstance(name, str) and name.strip() else "")


def _nearest(name: str, known: set[str]) -> str:
    by_folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"; did you mean {by_folded[close[0]]}?" if close else f"; known: {', '.join(sorted(known))}"


def parse_config(
    texts: Mapping[str, str],
    *,
    base: Path = Path(),
    data: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Check every file of CONFIG_FILES and build the Config, or raise ConfigError. Relative paths are
    resolved against `base`, but the folders otop_sync writes its own files in (state, briefs, log)
    against `data` when it is given; `environ` gives the endpoints' overrides and the LINE token."""
    environ = environ or {}
    data = base if data is None else data
    files = {name: _load(name, texts) for name in CONFIG_FILES}
    province, form, schedule = files["province.toml"], files["form.toml"], files["schedule.toml"]
    config = Config(
        province=_parse_province(province, base),
        google=_parse_google(province, base, environ),
        brief=_parse_brief(province, base, data),
        line=_parse_line(province, environ),
        form=_parse_form(form),
        checks=_parse_checks(form.table("checks")),
        rubrics=_parse_rubrics(files["rubric.toml"]),
        deadlines=_parse_deadlines(schedule.table("deadlines")),
        timezone=_parse_timezone(schedule),
        jobs=_parse_jobs(schedule),
        service=_parse_service(schedule, data),
        workbook=_parse_workbook(province),
        drive=_parse_drive(province, environ),
    )
    for table in files.values():
        table.refuse_unknown()
    return config


def _load(name: str, texts: Mapping[str, str]) -> _Table:
    if name not in texts:
        raise ConfigError(name, "(file)", "is missing")
    try:
        # A byte-order mark (Windows Notepad saves one) is not part of the text.
        return _Table(name, "", tomllib.loads(texts[name].removeprefix("\ufeff")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, "(syntax)", str(exc)) from exc


def _id_from(text: str, link: re.Pattern[str], wrong: str) -> str:
    """A Google ID, from the ID itself or from a link whose last group is it; ValueError(text + wrong)."""
    text = text.strip()
    found = link.search(text)
    key = found[found.lastindex or 0] if found else text
    if not _GOOGLE_ID.match(key):
        raise ValueError(f"{text!r} {wrong}")
    return key


def spreadsheet_key(text: str) -> str:
    """A spreadsheet's key, from the key itself or from its URL as a browser shows it."""
    return _id_from(
        text,
        _SPREADSHEET_URL,
        "is not a spreadsheet key or URL: the key is the part of the URL between /d/ and /edit",
    )


def form_id(text: str) -> str:
    """A Google Form's ID, from the ID itself or from the URL of its editor."""
    text = text.strip()
    found = _FORM_URL.search(text)
    if found and found[1]:
        raise ValueError(
            f"{text!r} is the form's link for respondents, not its ID: open the form in the editor and "
            "copy its URL (…/forms/d/ID/edit)"
        )
    key = found[2] if found else text
    if not _GOOGLE_ID.match(key):
        raise ValueError(f"{text!r} is not a form ID or the URL of the form's editor (…/forms/d/ID/edit)")
    return key


# The most a QR code holds at the error correction the brief prints (M), as bytes: version 40 (ISO/IEC
# 18004, table 7). A prefilled link to the form can be longer; the form's short link is some 30.
QR_BYTES = 2331


def _form_url(province: _Table) -> str:
    """The form's link for respondents, which the brief and `otop-sync qr` print as a QR code."""
    url = province.text("form_url", "").strip()
    if len(url.encode()) > QR_BYTES:
        raise province.fail(
            "form_url",
            f"{len(url.encode()):,} bytes is more than a QR code holds ({QR_BYTES:,}): use the form's short "
            "link (Send > link > Shorten URL, https://forms.gle/…)",
        )
    return url


def _parse_province(doc: _Table, base: Path) -> Province:
    province = doc.table("province")
    coordinators = tuple(
        Coordinator(c.text("name"), c.text("position", ""), c.text("phone", ""))
        for c in (doc.tables("coordinators") if doc.has("coordinators") else [])
    )
    return Province(
        code=province.text("code"),
        name=province.text("name"),
        office=province.text("office"),
        department=province.text("department"),
        slogan=province.text("slogan", ""),
        mission=province.text("mission"),
        form_url=_form_url(province),
        workbook=province.resolved("workbook", base),
        coordinators=coordinators,
        districts=_parse_districts(doc, province.text("code")),
    )


def _parse_google(doc: _Table, base: Path, environ: Mapping[str, str]) -> Google:
    google = doc.optional_table("google")
    key = google.text("spreadsheet_key", "").strip()
    try:
        key = spreadsheet_key(key) if key else ""
    except ValueError as exc:
        raise google.fail("spreadsheet_key", str(exc)) from None
    form = google.text("form_id", "").strip()
    try:
        form = form_id(form) if form else ""
    except ValueError as exc:
        raise google.fail("form_id", str(exc)) from None
    return Google(
        spreadsheet_key=key or None,
        credentials_file=google.resolved("credentials_file", base)
        or _from_environment(environ, CREDENTIALS_ENV),
        endpoint=_endpoint(
            google.text("endpoint", ""), environ.get(SHEETS_ENDPOINT_ENV), DEFAULT_SHEETS_ENDPOINT
        ),
        timeout_seconds=google.amount("timeout_seconds", 30),
        retry_for_seconds=google.amount("retry_for_seconds", 180),
        form_id=form or None,
        forms_endpoint=_endpoint(
            google.text("forms_endpoint", ""), environ.get(FORMS_ENDPOINT_ENV), DEFAULT_FORMS_ENDPOINT
        ),
    )


def drive_id(text: str) -> str:
    """A Drive file's or folder's ID, from the ID itself or from its link (Share > Copy link)."""
    return _id_from(
        text, _DRIVE_URL, "is not a Drive file or folder ID, nor its link (…/file/d/ID/view, …/folders/ID)"
    )


def _parse_drive(doc: _Table, environ: Mapping[str, str]) -> Drive:
    drive = doc.optional_table("drive")
    ids: dict[str, str | None] = {}
    for name in ("latest_pdf_id", "latest_html_id", "folder_id"):
        text = drive.text(name, "").strip()
        try:
            ids[name] = drive_id(text) if text else None
        except ValueError as exc:
            raise drive.fail(name, str(exc)) from None
    if ids["folder_id"] and (ids["latest_pdf_id"] or ids["latest_html_id"]):
        raise drive.fail(
            "folder_id",
            "choose one set-up: latest_pdf_id (files a person created and shared) or folder_id (a folder "
            "in a shared drive), not both",
        )
    if ids["latest_html_id"] and not ids["latest_pdf_id"]:
        raise drive.fail("latest_pdf_id", "is missing: latest_html_id is published beside the PDF, not alone")
    return Drive(
        latest_pdf_id=ids["latest_pdf_id"],
        latest_html_id=ids["latest_html_id"],
        folder_id=ids["folder_id"],
        endpoint=_endpoint(
            drive.text("endpoint", ""), environ.get(DRIVE_ENDPOINT_ENV), DEFAULT_DRIVE_ENDPOINT
        ),
    )


def _from_environment(environ: Mapping[str, str], name: str) -> Path | None:
    value = (environ.get(name) or "").strip()
    return Path(value) if value else None


def _endpoint(configured: str, from_environment: str | None, default: str) -> str:
    """The configuration's endpoint, else the environment's, else the service's own."""
    chosen = configured.strip() or (from_environment or "").strip()
    return chosen.rstrip("/") or default


def _parse_workbook(doc: _Table) -> WorkbookLimits:
    workbook = doc.optional_table("workbook")
    default = WorkbookLimits()
    megabytes = workbook.amount("max_part_megabytes", default.part_bytes / 1e6)
    rows = workbook.get("max_rows", int, default.rows)
    if rows < 2:
        raise workbook.fail("max_rows", f"{rows} should be 2 or more: a header and a row")
    return WorkbookLimits(int(megabytes * 1e6), rows)


def _parse_brief(doc: _Table, base: Path, data: Path) -> BriefSettings:
    brief = doc.optional_table("brief")
    return BriefSettings(
        output=brief.resolved("output", data, "briefs") or data,
        templates=brief.resolved("templates", base),
        thai_numerals=brief.get("thai_numerals", bool, True),
        timeout_seconds=brief.amount("timeout_seconds", 60),
    )


def _parse_line(doc: _Table, environ: Mapping[str, str]) -> Line:
    line = doc.optional_table("line")
    group_id = line.text("group_id", "").strip()
    if group_id and not _LINE_GROUP_ID.match(group_id):
        raise line.fail("group_id", "should be a LINE group ID: C followed by 32 hexadecimal digits")
    token = (environ.get(LINE_TOKEN_ENV) or "").strip()
    if token and not _LINE_TOKEN.match(token):
        # The token itself is never repeated in a message.
        raise ConfigError(LINE_TOKEN_ENV, "(environment)", "is not a channel access token")
    endpoint = _endpoint(line.text("endpoint", ""), environ.get(LINE_ENDPOINT_ENV), DEFAULT_LINE_ENDPOINT)
    alert_to = line.text("alert_to", "").strip()
    if alert_to and not _LINE_GROUP_ID.match(alert_to):
        raise line.fail(
            "alert_to", "should be a LINE user ID (U and 32 hexadecimal digits) or group ID (C and 32)"
        )
    return Line(group_id or None, endpoint, token or None, alert_to or None)


# All of Thailand has 928 districts, and the brief of all 928 renders in about 15 s of its 60 s limit
# (benchmarks/national.py --brief); ten thousand made it run out of time at 1.8 GB.
MAX_DISTRICTS = 1_000


def _parse_districts(doc: _Table, province_code: str) -> tuple[District, ...]:
    listed = doc.raw("districts")
    count = len(listed) if isinstance(listed, list) else 0
    if count > MAX_DISTRICTS:
        raise doc.fail(
            "districts",
            f"{count:,} districts; otop_sync grades at most {MAX_DISTRICTS:,} in one configuration (all of "
            "Thailand has 928), so that the brief renders within its time limit",
        )
    districts: list[District] = []
    seen: dict[str, str] = {}
    for table in doc.tables("districts", named=True):
        raw = table.raw("code")
        # A code typed without quotes (code = 4301) is the same code: no official one begins with 0.
        code = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else table.text("code")
        name = table.text("name")
        if not code.isdigit():
            raise table.fail("code", f"{code!r} should be the official digits, like 4301")
        if not code.startswith(province_code):
            raise table.fail(
                "code",
                f"{code} is not a district of province {province_code} (whose district codes begin with "
                f"{province_code}): check the code, or [province] code",
            )
        if seen.get(district_key(code)) == code:
            raise table.fail("code", f"{code} is listed twice")
        aliases = tuple(table.get("aliases", list, []))
        if not all(isinstance(a, str) for a in aliases):
            raise table.fail("aliases", "should be a list of texts")
        for field_, spelling in (("code", code), ("name", name), *(("aliases", a) for a in aliases)):
            # Compared as the reader compares them: a spelling that reads as another district's is refused,
            # and blamed on the key that holds it.
            other = seen.setdefault(district_key(spelling), code)
            if other != code:
                raise table.fail(field_, f"{spelling!r} reads as district {other}'s name or alias")
        districts.append(District(code, name, aliases))
    return tuple(districts)


# What Excel accepts as a tab's name, which otop_sync gives the tabs it adds: at most 31 characters, none
# of \ / ? * : [ ], not blank and not quoted. With a longer name Excel says "We found a problem with some
# content" and repairs the workbook by cutting the name to 31 (reported to openxlsx, issue 65, and to
# PHP_XLSXWriter, issue 78), so the next run would not find its tab; Google Sheets takes either.
TAB_NAME_LENGTH = 31
_TAB_NAME_FORBIDDEN = re.compile(r"[\\/?*:\[\]]")


def _owned_tab(tabs: _Table, name: str) -> str:
    """The name of a tab otop_sync adds to the spreadsheet: one Excel accepts."""
    title = tabs.text(name)
    if not title.strip() or title.startswith("'") or title.endswith("'"):
        raise tabs.fail(name, f"{title!r} cannot name a tab: it is blank or quoted")
    if len(title) > TAB_NAME_LENGTH:
        raise tabs.fail(
            name, f"{title!r} has {len(title)} characters; Excel names a tab with {TAB_NAME_LENGTH} at most"
        )
    if found := _TAB_NAME_FORBIDDEN.search(title):
        raise tabs.fail(name, f"{title!r} holds {found[0]!r}, which Excel does not allow in a tab's name")
    return title


def _parse_form(doc: _Table) -> SheetLayout:
    tabs = doc.table("tabs")
    parsed_tabs = Tabs(
        responses=tabs.texts("responses"),
        base_year=tabs.text("base_year"),
        summary=_owned_tab(tabs, "summary"),
        quarterly=_owned_tab(tabs, "quarterly"),
        problems=_owned_tab(tabs, "problems"),
        run_log=_owned_tab(tabs, "run_log"),
    )
    owned = parsed_tabs.owned
    if len(set(owned)) != len(owned) or set(owned) & {*parsed_tabs.responses, parsed_tabs.base_year}:
        raise tabs.fail("summary", "the owned tabs must differ from each other and from the input tabs")
    columns = doc.table("columns")
    base = doc.table("base_year_columns")
    return SheetLayout(
        tabs=parsed_tabs,
        columns={field: columns.texts(field) for field in FIELDS},
        base_year_columns={field: base.texts(field) for field in BASE_FIELDS},
    )


def _parse_checks(checks: _Table) -> Checks:
    stale = checks.get("stale_after_months", int)
    if stale < 1:
        raise checks.fail("stale_after_months", "should be 1 or more")
    return Checks(checks.decimal("suspicious_growth_pct"), stale)


def _parse_rubrics(doc: _Table) -> tuple[Rubric, ...]:
    rubrics = sorted((_parse_rubric(v) for v in doc.tables("version")), key=lambda r: r.from_fiscal_year)
    years = [r.from_fiscal_year for r in rubrics]
    if len(set(years)) != len(years):
        raise doc.fail("version", "two versions start in the same fiscal year")
    return tuple(rubrics)


def _parse_rubric(version: _Table) -> Rubric:
    year = version.get("from_fiscal_year", int)
    if year < 2400:
        raise version.fail("from_fiscal_year", f"{year} should be a B.E. year, like 2567")
    grades = tuple(_parse_grade_rule(g) for g in version.tables("grades"))
    fallback = _parse_enum(version, "fallback", Grade)
    names = [g.grade for g in grades] + [fallback]
    if len(set(names)) != len(names):
        raise version.fail("grades", "each grade may appear once (the fallback included)")
    for better, worse in pairwise(grades):
        if better.products.value < worse.products.value or better.growth_pct.value < worse.growth_pct.value:
            raise version.fail("grades", f"grade {better.grade} asks less than grade {worse.grade} below it")
    back = version.get("base_years_back", int, 1)
    if back < 1:
        raise version.fail("base_years_back", "should be 1 or more")
    return Rubric(year, back, version.get("compare_same_months", bool, True), grades, fallback)


def _parse_grade_rule(table: _Table) -> GradeRule:
    return GradeRule(
        grade=_parse_enum(table, "grade", Grade),
        products=_parse_condition(table.table("products")),
        growth_pct=_parse_condition(table.table("growth_pct")),
    )


def _parse_condition(table: _Table) -> Condition:
    operator = table.text("operator")
    if operator not in (">=", ">"):
        raise table.fail("operator", f"{operator!r} should be '>=' or '>'")
    return Condition(">=" if operator == ">=" else ">", table.decimal("value"))


E = TypeVar("E", bound=StrEnum)


def _parse_enum(table: _Table, name: str, enum: Callable[[str], E]) -> E:
    value = table.text(name)
    try:
        return enum(value)
    except ValueError:
        raise table.fail(name, f"{value!r} is not one of A, B, C, D") from None


def _parse_deadlines(table: _Table) -> Deadlines:
    due_day = table.get("due_day", int)
    if not 1 <= due_day <= 31:
        raise table.fail("due_day", f"{due_day} should be a day of the month, 1..31")
    offset = table.get("month_offset", int, 0)
    if not 0 <= offset <= 2:
        raise table.fail("month_offset", f"{offset} should be 0, 1 or 2")
    grace = table.get("grace_days", int, 30)
    if not 0 <= grace <= 366:
        raise table.fail("grace_days", f"{grace} should be a number of days, 0..366")
    return Deadlines(due_day, offset, grace)


def _parse_timezone(doc: _Table) -> str:
    name = doc.text("timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise doc.fail("timezone", f"{name!r} is not a known time zone") from None
    if name != "Asia/Bangkok":
        # Deadlines, fiscal months and B.E. dates are all Bangkok dates in the letter.
        raise doc.fail("timezone", "only Asia/Bangkok is supported")
    return name


def _parse_jobs(doc: _Table) -> tuple[ScheduledJob, ...]:
    if not doc.has("jobs"):
        return ()
    jobs: list[ScheduledJob] = []
    for table in doc.tables("jobs"):
        name = table.text("name")
        if any(job.name == name for job in jobs):
            raise table.fail("name", f"{name!r} is used by two jobs")
        action = table.text("action", Action.SYNC)
        if action not in tuple(Action):
            raise table.fail("action", f"{action!r} should be one of {', '.join(Action)}")
        jobs.append(
            ScheduledJob(
                name, table.text("cron"), table.get("brief", bool, False), table.path, Action(action)
            )
        )
    return tuple(jobs)


def _parse_service(doc: _Table, data: Path) -> Service:
    service = doc.optional_table("service")
    return Service(
        state_dir=service.resolved("state_dir", data, "state") or data,
        lock_wait_seconds=service.amount("lock_wait_seconds", 600, zero=True),
        catch_up_hours=service.amount("catch_up_hours", 6, zero=True),
        log_file=service.resolved("log_file", data),
    )
