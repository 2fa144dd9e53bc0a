"""The exceptions otop_sync raises: every one ends a run, with one line an operator can act on.

    OtopSyncError
    ├── ConfigError        a configuration file is missing, unreadable or inconsistent
    ├── UsageError         a command-line value cannot be used (a quarter, a date)
    ├── SourceError        the workbook or spreadsheet cannot be read or written
    │   └── LayoutError    a tab or a question column the configuration names is not there
    └── BriefError         the brief cannot be rendered or written (the previous one is kept)

A row that cannot be read is not an exception: it is data, a reason in the report.
Adapters translate the errors of the libraries below them with ``raise ... from exc``.
"""

from __future__ import annotations


class OtopSyncError(Exception):
    """A run could not complete; str() is the one line shown to the operator."""


class ConfigError(OtopSyncError):
    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"configuration {file}: {key}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


class UsageError(OtopSyncError):
    pass


class SourceError(OtopSyncError):
    pass


class LayoutError(SourceError):
    pass


class BriefError(OtopSyncError):
    pass
