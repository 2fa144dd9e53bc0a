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
# The folder otop_sync keeps its own files in (the state, the briefs, the log) when the configuration
# names them relatively: a configuration mounted read-only (Docker) needs them elsewhere, and so does
# one shared by several machines. Unset: they are relative to the configuration, as every other path.
DATA_ENV = "OTOP_SYNC_DATA_DIR"

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


def is_shipped(directory: Path) -> bool:
    """Whether `directory` is the example configuration shipped with otop_sync (Nong Khai's)."""
    return directory.resolve() == shipped_dir("config").resolve()


def load_config(directory: Path, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration of `directory` with the environment merged in, read once.

    Relative paths in it are relative to `directory`, so that the service and an operator's manual run
    from another folder use the same state, lock and workbook. The shipped example lives inside the
    installed package, so its relative paths are relative to the current folder instead: a try-out
    writes where it is run. With OTOP_SYNC_DATA_DIR set, the state, briefs and log folders named
    relatively are relative to it instead.
    """
    environ = os.environ if environ is None else environ
    if not directory.is_dir():
        raise ConfigError(str(directory), "(folder)", "is not a folder")
    texts: dict[str, str] = {}
    for name in CONFIG_FILES:
        path = directory / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(str(path), "(file)", "is missing") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(str(path), "(file)", _not_utf8(path, exc)) from None
        except OSError as exc:
            raise ConfigError(str(path), "(file)", f"cannot be read: {exc}") from exc
    base = Path.cwd() if is_shipped(directory) else directory.resolve()
    data = Path(environ[DATA_ENV]).resolve() if environ.get(DATA_ENV) else None
    try:
        return parse_config(texts, base=base, data=data, environ=environ)
    except ConfigError as exc:
        where = exc.file if exc.key == "(environment)" else str(directory / exc.file)
        raise ConfigError(where, exc.key, exc.problem) from exc


def _not_utf8(path: Path, error: UnicodeDecodeError) -> str:
    """What to do with a configuration file saved in another encoding: Windows Notepad's "ANSI" on a Thai
    system is cp874 (TIS-620), which Python's TOML reader cannot take."""
    raw = path.read_bytes()
    try:
        raw.decode("cp874")
        guess = " (it looks saved as Windows Thai, cp874/TIS-620)"
    except UnicodeDecodeError:
        guess = ""
    return (
        f"is not UTF-8 text{guess}: byte {error.start} cannot be read; save it as UTF-8 (in Notepad: "
        "Save As, Encoding: UTF-8), or convert it: iconv -f cp874 -t utf-8"
    )
