"""Find and read the configuration and the shipped assets: the only module that reads the environment.

The defaults (Nong Khai's configuration, the brief's templates) ship inside the wheel under
``otop_sync/_defaults``; in a source checkout they are the repository's top-level folders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from otop_sync.config import CONFIG_FILES, Config, parse_config
from otop_sync.errors import ConfigError

CONFIG_ENV = "OTOP_SYNC_CONFIG"
SHEETS_ENDPOINT_ENV = "OTOP_SYNC_SHEETS_ENDPOINT"
DEFAULT_SHEETS_ENDPOINT = "https://sheets.googleapis.com"

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def shipped_dir(name: str) -> Path:
    """A folder shipped with otop_sync ("config", "templates"): inside the wheel, or in the checkout."""
    for candidate in (_PACKAGE / "_defaults" / name, _CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(name, "(folder)", f"the shipped {name}/ folder is missing: reinstall otop_sync")


def config_dir(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """--config wins, then OTOP_SYNC_CONFIG, then the configuration shipped with otop_sync."""
    environ = os.environ if environ is None else environ
    chosen = explicit or environ.get(CONFIG_ENV)
    return Path(chosen) if chosen else shipped_dir("config")


def load_config(directory: Path) -> Config:
    if not directory.is_dir():
        raise ConfigError(str(directory), "(folder)", "is not a folder")
    texts: dict[str, str] = {}
    for name in CONFIG_FILES:
        path = directory / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(str(path), "(file)", "is missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), "(file)", f"cannot be read: {exc}") from exc
    try:
        return parse_config(texts)
    except ConfigError as exc:
        raise ConfigError(str(directory / exc.file), exc.key, exc.problem) from exc


def sheets_endpoint(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """The configuration's endpoint, else $OTOP_SYNC_SHEETS_ENDPOINT, else Google's."""
    environ = os.environ if environ is None else environ
    chosen = config.google.endpoint or environ.get(SHEETS_ENDPOINT_ENV, "").strip()
    return chosen.rstrip("/") or DEFAULT_SHEETS_ENDPOINT


LINE_TOKEN_ENV = "LINE_CHANNEL_ACCESS_TOKEN"
LINE_ENDPOINT_ENV = "OTOP_SYNC_LINE_ENDPOINT"
DEFAULT_LINE_ENDPOINT = "https://api.line.me"


def line_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The channel access token, from the environment only (never from a file of the project)."""
    environ = os.environ if environ is None else environ
    return environ.get(LINE_TOKEN_ENV, "").strip() or None


def line_endpoint(config: Config, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    chosen = config.line.endpoint or environ.get(LINE_ENDPOINT_ENV, "").strip()
    return chosen.rstrip("/") or DEFAULT_LINE_ENDPOINT
