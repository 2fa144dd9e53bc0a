"""Parse and check the TOML configuration once, into frozen values the rest of otop_sync trusts.

Pure: it is handed the files' texts (see ``settings.py`` for where they come from) and raises
``ConfigError`` naming the file, the key and what is wrong.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otop_sync.errors import ConfigError
from otop_sync.periods import Quarter

CONFIG_FILES = ("province.toml", "form.toml", "rubric.toml", "schedule.toml")

T = TypeVar("T")
Operator = Literal[">=", ">"]


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@dataclass(frozen=True)
class Condition:
    operator: Operator
    value: Decimal

    def holds(self, measured: Decimal) -> bool:
        # Compared at full precision: +2.004 % is more than 2 %, exactly +2 % is not.
        return measured >= self.value if self.operator == ">=" else measured > self.value


@dataclass(frozen=True)
class GradeRule:
    grade: Grade
    products: Condition
    growth_pct: Condition


@dataclass(frozen=True)
class Rubric:
    from_fiscal_year: int
    base_years_back: int
    compare_same_months: bool
    grades: tuple[GradeRule, ...]  # best first
    fallback: Grade


@dataclass(frozen=True)
class District:
    code: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Coordinator:
    name: str
    position: str
    phone: str


@dataclass(frozen=True)
class Google:
    spreadsheet_key: str
    credentials_file: str
    endpoint: str
    timeout_seconds: float
    retry_for_seconds: float


@dataclass(frozen=True)
class BriefSettings:
    output: str
    templates: str
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
    workbook: str
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
class Form:
    tabs: Tabs
    columns: Mapping[str, tuple[str, ...]]
    base_year_columns: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Checks:
    suspicious_growth_pct: Decimal
    stale_after_months: int


@dataclass(frozen=True)
class Deadlines:
    due_day: int
    month_offset: int


JOB_ACTIONS = ("sync", "remind", "announce")
_LINE_GROUP_ID = re.compile(r"^[CRU][0-9a-f]{32}$")


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: str  # checked when the scheduler builds its triggers
    brief: bool
    key: str  # where it is configured, for error messages: "jobs[0]"
    action: str = "sync"  # one of JOB_ACTIONS


@dataclass(frozen=True)
class Line:
    group_id: str
    endpoint: str


@dataclass(frozen=True)
class Service:
    state_dir: str
    lock_wait_seconds: float
    catch_up_hours: float
    log_file: str


@dataclass(frozen=True)
class Config:
    province: Province
    google: Google
    brief: BriefSettings
    line: Line
    form: Form
    checks: Checks
    rubrics: tuple[Rubric, ...]  # by from_fiscal_year, ascending
    deadlines: Deadlines
    timezone: str
    jobs: tuple[ScheduledJob, ...] = ()
    service: Service = Service("state", 600, 6, "")

    def rubric_for(self, quarter: Quarter) -> Rubric | None:
        """The version in force for the quarter's fiscal year; None before the first version."""
        applicable = [r for r in self.rubrics if r.from_fiscal_year <= quarter.fiscal_year]
        return applicable[-1] if applicable else None


class _Table:
    """One TOML table, with the file and key path for error messages."""

    def __init__(self, file: str, path: str, data: Mapping[str, Any]) -> None:
        self.file, self.path, self.data = file, path, data

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), problem)

    def get(self, name: str, kind: type[T], default: T | None = None) -> T:
        if name not in self.data:
            if default is None:
                raise self.fail(name, "is missing")
            return default
        value = self.data[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(name, f"should be {kind.__name__}, not {type(value).__name__} {value!r}")
        return value

    def text(self, name: str, default: str | None = None) -> str:
        return self.get(name, str, default)

    def texts(self, name: str) -> tuple[str, ...]:
        """A title or a list of titles."""
        value = self.data.get(name)
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(name, "should be a non-empty text or list of texts")
        return tuple(v.strip() for v in value)

    def table(self, name: str) -> _Table:
        return _Table(self.file, self.key(name), self.get(name, dict))

    def tables(self, name: str) -> list[_Table]:
        items = self.get(name, list)
        if not items or not all(isinstance(item, dict) for item in items):
            raise self.fail(name, "should be one or more [[" + self.key(name) + "]] tables")
        return [_Table(self.file, f"{self.key(name)}[{i}]", item) for i, item in enumerate(items)]

    def decimal(self, name: str) -> Decimal:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(name, "should be a number")
        try:
            # str() first: a TOML float 0.1 should mean 0.1, not its binary neighbour.
            return Decimal(str(value))
        except InvalidOperation:
            raise self.fail(name, f"{value!r} is not a number") from None


def parse_config(texts: Mapping[str, str]) -> Config:
    """Check every file of CONFIG_FILES and build the Config, or raise ConfigError."""
    files = {name: _load(name, texts) for name in CONFIG_FILES}
    form = files["form.toml"]
    schedule = files["schedule.toml"]
    return Config(
        province=_parse_province(files["province.toml"]),
        google=_parse_google(files["province.toml"]),
        brief=_parse_brief(files["province.toml"]),
        line=_parse_line(files["province.toml"]),
        form=_parse_form(form),
        checks=_parse_checks(form.table("checks")),
        rubrics=_parse_rubrics(files["rubric.toml"]),
        deadlines=_parse_deadlines(schedule.table("deadlines")),
        timezone=_parse_timezone(schedule),
        jobs=_parse_jobs(schedule),
        service=_parse_service(schedule),
    )


def _load(name: str, texts: Mapping[str, str]) -> _Table:
    if name not in texts:
        raise ConfigError(name, "(file)", "is missing")
    try:
        return _Table(name, "", tomllib.loads(texts[name]))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, "(syntax)", str(exc)) from exc


def _parse_province(doc: _Table) -> Province:
    province = doc.table("province")
    coordinators = tuple(
        Coordinator(c.text("name"), c.text("position", ""), c.text("phone", ""))
        for c in (doc.tables("coordinators") if "coordinators" in doc.data else [])
    )
    return Province(
        code=province.text("code"),
        name=province.text("name"),
        office=province.text("office"),
        department=province.text("department"),
        slogan=province.text("slogan", ""),
        mission=province.text("mission"),
        form_url=province.text("form_url", ""),
        workbook=province.text("workbook", ""),
        coordinators=coordinators,
        districts=_parse_districts(doc),
    )


def _parse_google(doc: _Table) -> Google:
    google = doc.table("google") if "google" in doc.data else _Table(doc.file, "google", {})
    seconds = {}
    for name, default in (("timeout_seconds", 30), ("retry_for_seconds", 180)):
        value = google.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise google.fail(name, f"{value!r} should be a number of seconds above 0")
        seconds[name] = float(value)
    return Google(
        spreadsheet_key=google.text("spreadsheet_key", "").strip(),
        credentials_file=google.text("credentials_file", "").strip(),
        endpoint=google.text("endpoint", "").strip().rstrip("/"),
        timeout_seconds=seconds["timeout_seconds"],
        retry_for_seconds=seconds["retry_for_seconds"],
    )


def _parse_brief(doc: _Table) -> BriefSettings:
    brief = doc.table("brief") if "brief" in doc.data else _Table(doc.file, "brief", {})
    timeout = brief.data.get("timeout_seconds", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise brief.fail("timeout_seconds", f"{timeout!r} should be a number of seconds above 0")
    return BriefSettings(
        output=brief.text("output", "briefs"),
        templates=brief.text("templates", ""),
        thai_numerals=brief.get("thai_numerals", bool, True),
        timeout_seconds=float(timeout),
    )


def _parse_line(doc: _Table) -> Line:
    line = doc.table("line") if "line" in doc.data else _Table(doc.file, "line", {})
    group_id = line.text("group_id", "").strip()
    if group_id and not _LINE_GROUP_ID.match(group_id):
        raise line.fail("group_id", "should be a LINE group ID: C followed by 32 hexadecimal digits")
    return Line(group_id, line.text("endpoint", "").strip().rstrip("/"))


def _parse_districts(doc: _Table) -> tuple[District, ...]:
    districts: list[District] = []
    seen: dict[str, str] = {}
    for table in doc.tables("districts"):
        code, name = table.text("code"), table.text("name")
        if not code.isdigit():
            raise table.fail("code", f"{code!r} should be the official digits, like 4301")
        if any(d.code == code for d in districts):
            raise table.fail("code", f"{code} is listed twice")
        aliases = tuple(table.get("aliases", list, []))
        if not all(isinstance(a, str) for a in aliases):
            raise table.fail("aliases", "should be a list of texts")
        for spelling in (code, name, *aliases):
            other = seen.setdefault(_fold(spelling), code)
            if other != code:
                raise table.fail("aliases", f"{spelling!r} already names district {other}")
        districts.append(District(code, name, aliases))
    return tuple(districts)


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def _parse_form(doc: _Table) -> Form:
    tabs = doc.table("tabs")
    parsed_tabs = Tabs(
        responses=tabs.texts("responses"),
        base_year=tabs.text("base_year"),
        summary=tabs.text("summary"),
        quarterly=tabs.text("quarterly"),
        problems=tabs.text("problems"),
        run_log=tabs.text("run_log"),
    )
    owned = parsed_tabs.owned
    if len(set(owned)) != len(owned) or set(owned) & {*parsed_tabs.responses, parsed_tabs.base_year}:
        raise tabs.fail("summary", "the owned tabs must differ from each other and from the input tabs")
    columns = doc.table("columns")
    base = doc.table("base_year_columns")
    return Form(
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
    return Deadlines(due_day, offset)


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
    if "jobs" not in doc.data:
        return ()
    jobs: list[ScheduledJob] = []
    for table in doc.tables("jobs"):
        name = table.text("name")
        if any(job.name == name for job in jobs):
            raise table.fail("name", f"{name!r} is used by two jobs")
        action = table.text("action", "sync")
        if action not in JOB_ACTIONS:
            raise table.fail("action", f"{action!r} should be one of {', '.join(JOB_ACTIONS)}")
        jobs.append(
            ScheduledJob(name, table.text("cron"), table.get("brief", bool, False), table.path, action)
        )
    return tuple(jobs)


def _parse_service(doc: _Table) -> Service:
    service = doc.table("service") if "service" in doc.data else _Table(doc.file, "service", {})
    numbers = {}
    for name, default in (("lock_wait_seconds", 600), ("catch_up_hours", 6)):
        value = service.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise service.fail(name, f"{value!r} should be a number, 0 or more")
        numbers[name] = float(value)
    return Service(
        state_dir=service.text("state_dir", "state"),
        lock_wait_seconds=numbers["lock_wait_seconds"],
        catch_up_hours=numbers["catch_up_hours"],
        log_file=service.text("log_file", ""),
    )
