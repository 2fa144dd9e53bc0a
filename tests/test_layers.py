"""The direction of dependencies, held by a guard that can fail: the pure core imports no adapter, service
or settings; adapters never import the use case, the App or the command line; only the scheduler imports
APScheduler; only the Google layer imports google-auth and gspread. Both import forms count (`import a.b`,
`from a import b`, and `from otop_sync import sync`), imports inside functions too, and a tree with no
module is a failure, not a pass."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import otop_sync

CORE = {
    "otop_sync.rules",
    "otop_sync.periods",
    "otop_sync.config",
    "otop_sync.thai",
    "otop_sync.cells",
    "otop_sync.responses",
    "otop_sync.grading",
    "otop_sync.tables",
    "otop_sync.lengths",
    "otop_sync.outcome",
    "otop_sync.numerals",
    "otop_sync.remedies",
    "otop_sync.quarter_life",
    "otop_sync.messages",
    "otop_sync.charts",
    "otop_sync.form_questions",
    "otop_sync.demo",
    "otop_sync.errors",
}
ADAPTERS = {
    "otop_sync.line",
    "otop_sync.google_forms",
    "otop_sync.drive",
    "otop_sync.google_api",
    "otop_sync.http_transport",
    "otop_sync.brief",
    "otop_sync.brief_pdf",
    "otop_sync.brief_files",
    "otop_sync.brief_renderer",
}
USE_CASE_AND_ABOVE = {
    "otop_sync.sync",
    "otop_sync.app",
    "otop_sync.cli",
    "otop_sync.scheduler",
    "otop_sync.checkup",
}
PACKAGES = {"otop_sync", "otop_sync.sources"}
SERVICE = {"otop_sync.scheduler", "otop_sync.jobs"}
GOOGLE_LAYER = {
    "otop_sync.sources.google",
    "otop_sync.google_api",
    "otop_sync.google_forms",
    "otop_sync.drive",
}


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[str], bool]  # to the importing module
    forbids: Callable[[str, str], bool]  # (importer, imported)


def _is_adapter(module: str) -> bool:
    return module in ADAPTERS or module.startswith("otop_sync.sources.")


RULES = (
    Rule(
        "the grading vocabulary stands alone",
        lambda m: m == "otop_sync.rules",
        lambda _, i: i.startswith("otop_sync"),
    ),
    Rule(
        "the core imports only the core",
        lambda m: m in CORE,
        lambda _, i: i.startswith("otop_sync.") and i not in CORE,
    ),
    Rule(
        "an adapter never imports the use case, the App or the command line",
        _is_adapter,
        lambda _, i: i in USE_CASE_AND_ABOVE,
    ),
    Rule(
        "only the service (its loop and its plan) imports APScheduler",
        lambda m: m not in SERVICE,
        lambda _, i: i.split(".")[0] == "apscheduler",
    ),
    Rule(
        "the clients of the other services never import a spreadsheet adapter",
        lambda m: (
            m in {"otop_sync.google_api", "otop_sync.google_forms", "otop_sync.drive", "otop_sync.line"}
        ),
        lambda _, i: i.startswith("otop_sync.sources"),
    ),
    Rule(
        "the body of a Sheets batch is pure: it imports no client",
        lambda m: m == "otop_sync.sources.sheets_batch",
        lambda _, i: i.split(".")[0] in ("google", "gspread", "requests") or i in ADAPTERS,
    ),
    Rule(
        "only the Google layer imports google-auth and gspread",
        lambda m: m not in GOOGLE_LAYER,
        lambda _, i: i.split(".")[0] in ("google", "gspread"),
    ),
)


def imports_of(source: str, *, at_run_time: bool = False) -> set[str]:
    """Every module a source imports, anywhere in it: `import a.b` gives a.b; `from a import b` gives a,
    and a.b too when a is one of otop_sync's packages (`from otop_sync import sync`). `at_run_time`:
    not those under `if TYPE_CHECKING:`, which only the type checker follows."""
    found: set[str] = set()
    tree = ast.parse(source)
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for statement in node.body
        for child in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if at_run_time and id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            if node.module in PACKAGES:  # what is imported from a package is one of its modules
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def violations(modules: Mapping[str, str]) -> list[str]:
    """Each import that breaks a rule, as "rule: importer imports imported"."""
    if not modules:
        raise AssertionError("no module to check: the guard would pass on nothing")
    broken = []
    for module, source in sorted(modules.items()):
        for imported in sorted(imports_of(source)):
            broken.extend(
                f"{rule.name}: {module} imports {imported}"
                for rule in RULES
                if rule.applies(module) and rule.forbids(module, imported)
            )
    return broken


def package_modules() -> dict[str, str]:
    root = Path(otop_sync.__file__).parent
    return {
        "otop_sync."
        + ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): path.read_text(
            encoding="utf-8"
        )
        for path in root.rglob("*.py")
    }


def test_the_layers_hold_in_the_package() -> None:
    modules = package_modules()
    assert len(modules) > 30
    assert set(modules) >= CORE | ADAPTERS  # every module named here exists: no rule guards nothing
    assert violations(modules) == []


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        (
            "otop_sync.grading",
            "from otop_sync.sources.google import quoted",
            "the core imports only the core",
        ),
        ("otop_sync.tables", "def f():\n    import otop_sync.app\n", "the core imports only the core"),
        ("otop_sync.rules", "from otop_sync.config import Config", "the grading vocabulary stands alone"),
        ("otop_sync.periods", "from otop_sync import settings", "the core imports only the core"),
        ("otop_sync.sources.memory", "from otop_sync import sync", "an adapter never imports the use case"),
        ("otop_sync.line", "import otop_sync.cli", "an adapter never imports the use case"),
        (
            "otop_sync.app",
            "from apscheduler.schedulers.blocking import BlockingScheduler",
            "only the service",
        ),
        ("otop_sync.app", "import gspread", "only the Google layer"),
        (
            "otop_sync.google_forms",
            "from otop_sync.sources.google import quoted",
            "the clients of the other services never import a spreadsheet adapter",
        ),
        ("otop_sync.sources.sheets_batch", "import requests", "the body of a Sheets batch is pure"),
        ("otop_sync.line", "from google.auth import exceptions", "only the Google layer"),
    ],
)
def test_each_rule_fails_when_broken_on_purpose(module: str, source: str, rule: str) -> None:
    modules = {**package_modules(), module: source}
    (broken,) = violations(modules)
    assert broken.startswith(rule)


def test_the_guard_refuses_to_pass_on_nothing() -> None:
    with pytest.raises(AssertionError, match="no module to check"):
        violations({})


def cycles(modules: Mapping[str, str]) -> list[list[str]]:
    """Import loops among otop_sync's modules, imports inside functions included (a loop hidden in a
    function still ties the modules together: app -> checkup -> scheduler -> app was one)."""
    graph = {
        m: sorted(i for i in imports_of(s, at_run_time=True) if i in modules and i != m)
        for m, s in modules.items()
    }
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in graph[module]:
            if state.get(imported) == 1:
                found.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_no_module_imports_itself_round_a_loop() -> None:
    modules = {m: s for m, s in package_modules().items() if m not in PACKAGES}
    assert cycles(modules) == []
    # And the check sees a loop when there is one, even inside a function.
    looped = {
        **modules,
        "otop_sync.checkup": modules["otop_sync.checkup"] + "\ndef f():\n    import otop_sync.scheduler\n",
    }
    assert ["otop_sync.app", "otop_sync.checkup", "otop_sync.scheduler", "otop_sync.app"] in cycles(looped)
