"""Operator logs on stderr: the plain format, or one JSON object per line (`--log-format json`,
CEKURA_OPTIMISE_LOG_FORMAT=json) carrying the id of the HTTP request that led to each line.

The request id lives in a context variable set by `server.request_ids`, so a tool call's logs (its
Cekura requests, its ledger failures) carry the id of the request that made the call. Both formats
mask every secret the process was given in its environment, bearer tokens and database URL
passwords, wherever they appear in a line (messages, arguments, tracebacks).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime

from server.settings import SettingsError

REQUEST_ID: ContextVar[str | None] = ContextVar("cekura_optimise_request_id", default=None)
LOG_FORMATS = ("plain", "json")
FORMAT_ENV = "CEKURA_OPTIMISE_LOG_FORMAT"
SECRET_ENV = (
    "CEKURA_API_KEY",
    "CEKURA_OPTIMISE_HTTP_TOKEN",
    "CEKURA_OPTIMISE_SECRET",
    "CEKURA_OPTIMISE_DATABASE_URL",
)
MASK = "[redacted]"
MIN_SECRET = 6  # shorter values would mask ordinary words
_PATTERNS = (
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"), rf"\g<1>{MASK}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(@)"), rf"\g<1>{MASK}\g<2>"),
    (re.compile(r"(?i)(\bpassword=)[^&\s\"',;]+"), rf"\g<1>{MASK}"),
)


class Scrubber:
    """Masks secret values and credential-shaped text in log output."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s.strip() for s in secrets if len(s.strip()) >= MIN_SECRET}
        self._secrets = sorted(values, key=len, reverse=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Scrubber:
        """Every value of the secret-holding variables (a comma list counts item by item)."""
        values: list[str] = []
        for name in SECRET_ENV:
            text = env.get(name, "")
            values += [text, *text.split(",")]
        return cls(values)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class PlainFormatter(logging.Formatter):
    """Today's `LEVEL logger: message`, scrubbed."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        return self._scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (and exception)."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._scrub(record.getMessage()),
            "request_id": REQUEST_ID.get(),
        }
        if record.exc_info:
            entry["exception"] = self._scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def log_format(flag: str | None, env: Mapping[str, str] | None = None) -> str:
    """The flag, else CEKURA_OPTIMISE_LOG_FORMAT, else plain; a SettingsError for anything else."""
    env = os.environ if env is None else env
    chosen = (flag or env.get(FORMAT_ENV, "") or "plain").strip().lower()
    if chosen not in LOG_FORMATS:
        raise SettingsError(f"{FORMAT_ENV} must be plain or json, got {chosen!r}.")
    return chosen


def configure(verbose: int, fmt: str, env: Mapping[str, str] | None = None) -> None:
    """Send the process's logs to stderr in `fmt` at the level `-v` counts ask for."""
    scrub = Scrubber.from_env(os.environ if env is None else env)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(scrub) if fmt == "json" else PlainFormatter(scrub))
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, handlers=[handler])
