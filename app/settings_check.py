"""Start-up checks on the configuration: misnamed variables, refusals as one line each, exit 2."""

from __future__ import annotations

import difflib
import ipaddress
import re
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError
from pydantic_settings import SettingsError

from app.config import Settings, get_settings

PREFIX = "BENZO_CDS_"
# Read outside the Settings model: the preview's fixture folder (per request), the image's
# worker count (its CMD), and the test suite's PostgreSQL server and screenshot folder.
OTHER_VARIABLES = frozenset(
    {
        "BENZO_CDS_FIXTURES_DIR",
        "BENZO_CDS_WORKERS",
        "BENZO_CDS_TEST_POSTGRES_URL",
        "BENZO_CDS_SCREENSHOTS_DIR",
    }
)
EXIT_CONFIG = 2
_FIELD_IN_MESSAGE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


class ConfigError(Exception):
    """The configuration cannot be used; `lines` say why, each naming a variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def variable(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


def known_variables() -> dict[str, str]:
    """Every BENZO_CDS_* variable the service reads -> its Settings field ('' for others)."""
    names = {variable(field): field for field in Settings.model_fields}
    return names | dict.fromkeys(OTHER_VARIABLES, "")


def environment_warnings(
    names: Mapping[str, str | None], where: str = "the environment", also_set: Collection[str] = ()
) -> list[str]:
    """Variables that look meant for this service but are not read: unprefixed or unknown."""
    known = known_variables()
    is_set = set(names) | set(also_set)
    warnings = []
    for name in sorted(names):
        if name.startswith(PREFIX):
            if name not in known:
                close = _closest(name, known)
                hint = f"did you mean {close}?" if close else "see README, Configuration"
                warnings.append(
                    f"{name} (in {where}) is not a setting of this service and is ignored; {hint}"
                )
        elif known.get(PREFIX + name) and PREFIX + name not in is_set:
            warnings.append(f"{name} (in {where}) is ignored: this service reads {PREFIX}{name}")
    return warnings


def _closest(name: str, known: Collection[str]) -> str | None:
    """The variable `name` was probably meant to be: a unique completion, else a close spelling."""
    suffix = name.removeprefix(PREFIX)
    suffixes = [k.removeprefix(PREFIX) for k in known]
    completions = [k for k in suffixes if k.startswith(suffix)]
    if len(completions) == 1:
        return PREFIX + completions[0]
    close = difflib.get_close_matches(suffix, suffixes, n=1, cutoff=0.75)
    return PREFIX + close[0] if close else None


def all_warnings(environ: Mapping[str, str], env_file: Path = Path(".env")) -> list[str]:
    """Warnings for the process environment and for the .env file the settings also read."""
    values: dict[str, str | None] = {}
    if env_file.is_file():
        from dotenv import dotenv_values

        values = dict(dotenv_values(env_file))
    return environment_warnings(environ, also_set=values) + environment_warnings(
        values, str(env_file), also_set=environ
    )


def _readable(message: str) -> str:
    """A pydantic message with settings' field names turned into their variable names."""
    message = message.removeprefix("Value error, ")
    return _FIELD_IN_MESSAGE.sub(
        lambda m: variable(m[0]) if m[0] in Settings.model_fields else m[0], message
    )


def validation_lines(error: ValidationError) -> list[str]:
    """One line per problem, naming the variable; never the value (it may be a secret)."""
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        text = _readable(str(item["msg"]))
        if loc and loc[0] in Settings.model_fields:
            where = variable(loc[0]) + (f" (at {'.'.join(loc[1:])})" if len(loc) > 1 else "")
            lines.append(f"{where}: {text}")
        else:
            lines.append(text)
    return lines


def load_settings() -> Settings:
    """The settings from the environment and .env, or a ConfigError naming what to fix."""
    try:
        return get_settings()
    except ValidationError as error:
        raise ConfigError(validation_lines(error)) from None
    except SettingsError as error:
        found = re.search(r'field "(\w+)"', str(error))
        name = variable(found[1]) if found else "a BENZO_CDS_* variable"
        raise ConfigError(
            [
                f"{name} cannot be parsed: give a JSON value (e.g. a list in "
                "[...]) or a comma-separated list"
            ]
        ) from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refusals(settings: Settings, host: str | None = None) -> list[str]:
    """Why the service must not start with these settings (on `host`, when known)."""
    if settings.environment == "production":
        return settings.production_problems()
    if host is not None and not is_loopback(host) and not settings.demo:
        return [
            f"development mode (no JWT verification, any FHIR server) on {host} would "
            f"trust any caller on the network: set {variable('environment')}=production "
            f"with trusted issuers, or {variable('demo')}=true for a demo"
        ]
    return []


def refuse(lines: list[str], program: str = "benzo-cds") -> NoReturn:
    """Print one line per reason on stderr and exit 2 (no traceback)."""
    # Plain lines on stderr, not log records: logging may not be configured yet, and a person
    # starting the service reads them.
    sys.stderr.write("".join(f"{program}: refusing to start: {line}\n" for line in lines))
    sys.stderr.flush()
    raise SystemExit(EXIT_CONFIG)


def checked_settings(host: str | None = None) -> Settings:
    """The settings, or exit 2 with one line per problem."""
    try:
        settings = load_settings()
    except ConfigError as error:
        refuse(error.lines)
    problems = refusals(settings, host)
    if problems:
        refuse(problems)
    return settings
