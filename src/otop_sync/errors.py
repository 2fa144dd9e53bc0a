"""The exceptions otop_sync raises: every one ends a run, with one line an operator can act on.

    OtopSyncError
    ├── ConfigError          a configuration file is missing, unreadable or inconsistent
    ├── UsageError           a command-line value cannot be used (a quarter, a date), or a command
    │                        cannot run where it was asked to (the demo, a folder that exists)
    ├── SourceError          the workbook, the spreadsheet, the form or Drive cannot be read or written
    │   ├── LayoutError      a tab or a question column the configuration names is not there
    │   └── FormChanged      the form is not at the revision read (edited, or our lost update)
    ├── BriefError           the brief cannot be rendered or written (the previous one is kept)
    │   ├── PublishError     the brief is written but could not be published on Google Drive
    │   └── RendererStopped  the renderer was stopped by a signal before it finished
    ├── LineError            LINE refused a message or could not be reached (it is not recorded as sent)
    ├── BusyError            another run holds the spreadsheet's lock past the wait
    └── Stopped              the service is stopping: the run was abandoned before it wrote anything

A row that cannot be read is not an exception: it is data, a reason in the report.
Adapters translate the errors of the libraries below them with ``raise ... from exc``. A few signals
never leave the adapter that raises them, and are not in this tree: the workbook reader's
(DamagedError, TooLargeError, OtherKindError, StrictError, PackageError: a SourceError at its
boundary), http_transport's BrokenAnswer (a connection error, so that it is retried) and statefile's
WrongShape (a state file set aside).
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


class PublishError(BriefError):
    """The brief is written on disk but could not be published on Google Drive: the run failed (it is
    recorded, told and retried like any failure), and nothing on disk is lost."""


class FormChanged(SourceError):
    """The form's revision is not the one read: someone edited it, or an earlier try of this very update
    went through although its answer was lost. Reading the form again tells which."""


class RendererStopped(BriefError):
    """The renderer was stopped by a signal (the service stopping, an operator) before it finished."""


class LineError(OtopSyncError):
    pass


class BusyError(OtopSyncError):
    """Another run holds the lock."""


class Stopped(OtopSyncError):
    """The service is stopping: the run was abandoned before it wrote anything."""
