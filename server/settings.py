"""Settings from the environment (design §7), overridable by command-line flags."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from tools.ledger import is_database_url

DEFAULT_BASE_URL = "https://api.cekura.ai"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names it and says what is expected."""


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in TRUE_WORDS


def _optional_flag(env: Mapping[str, str], name: str) -> bool | None:
    """A yes/no setting that may be left unset (None: the server decides)."""
    text = env.get(name, "").strip().lower()
    if not text:
        return None
    if text in TRUE_WORDS or text in FALSE_WORDS:
        return text in TRUE_WORDS
    raise SettingsError(f"{name} must be 1 or 0 (or unset), got {text!r}.")


def _number(env: Mapping[str, str], name: str, default: float, *, whole: bool = False) -> float:
    """A non-negative number from the environment, or a SettingsError naming the variable."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise SettingsError(f"{name} must be {kind} of 0 or more, got {text!r}.") from None
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more, got {text!r}.")
    return value


def _check_base_url(url: str, *, allow_http: bool) -> None:
    """Refuse a base URL that is not http(s), and plain http to anything but loopback unless
    CEKURA_OPTIMISE_ALLOW_HTTP is set (the API key would cross the network unencrypted)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"CEKURA_BASE_URL (or --base-url) must start with http:// or https:// and name a host; "
            f"got {url!r}."
        )
    if parts.scheme == "http" and not allow_http and not _loopback(parts.hostname):
        raise SettingsError(
            f"CEKURA_BASE_URL (or --base-url) {url!r} would send the API key unencrypted: use "
            "https://, or set CEKURA_OPTIMISE_ALLOW_HTTP=1 if plain http is intended (http:// is "
            "accepted without it only for loopback addresses such as 127.0.0.1)."
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_state_dir() -> Path:
    """Per-user state directory, e.g. ~/.local/state/cekura-optimise."""
    from platformdirs import user_state_dir

    return Path(user_state_dir("cekura-optimise", appauthor=False))


class Settings(BaseModel):
    """Where Cekura is, who we are to it, where the ledger lives, and what we may do."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    state_dir: Path | None = None
    read_only: bool = False
    sandbox: bool = False
    http_token: SecretStr | None = None
    eval_budget: int = 100
    min_feedback: int = 6
    unknown_start_window_s: float = 1800.0
    tenant_clients: int = 100
    tenant_idle_s: float = 600.0
    write_lease_s: float = 600.0
    database_url: SecretStr | None = None
    http_stateless: bool | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read CEKURA_API_KEY, CEKURA_BASE_URL, CEKURA_OPTIMISE_STATE_DIR, CEKURA_OPTIMISE_READ_ONLY,
        CEKURA_OPTIMISE_HTTP_TOKEN, CEKURA_OPTIMISE_EVAL_BUDGET, CEKURA_OPTIMISE_MIN_FEEDBACK,
        CEKURA_OPTIMISE_UNKNOWN_START_WINDOW_S, CEKURA_OPTIMISE_TENANT_CLIENTS,
        CEKURA_OPTIMISE_TENANT_IDLE_S, CEKURA_OPTIMISE_WRITE_LEASE_S, CEKURA_OPTIMISE_ALLOW_HTTP,
        CEKURA_OPTIMISE_DATABASE_URL and CEKURA_OPTIMISE_HTTP_STATELESS; `overrides` (flags) win."""
        env = os.environ if env is None else env
        budget = _number(env, "CEKURA_OPTIMISE_EVAL_BUDGET", 100, whole=True)
        min_feedback = _number(env, "CEKURA_OPTIMISE_MIN_FEEDBACK", 6, whole=True)
        window = _number(env, "CEKURA_OPTIMISE_UNKNOWN_START_WINDOW_S", 1800)
        tenant_clients = _number(env, "CEKURA_OPTIMISE_TENANT_CLIENTS", 100, whole=True)
        if tenant_clients < 1:
            raise SettingsError("CEKURA_OPTIMISE_TENANT_CLIENTS must be 1 or more.")
        tenant_idle_s = _number(env, "CEKURA_OPTIMISE_TENANT_IDLE_S", 600)
        write_lease_s = _number(env, "CEKURA_OPTIMISE_WRITE_LEASE_S", 600)
        if write_lease_s < 1:
            raise SettingsError("CEKURA_OPTIMISE_WRITE_LEASE_S must be 1 or more (seconds).")
        values: dict[str, object] = {
            "api_key": env.get("CEKURA_API_KEY") or None,
            "base_url": (env.get("CEKURA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            "state_dir": env.get("CEKURA_OPTIMISE_STATE_DIR") or None,
            "read_only": _flag(env, "CEKURA_OPTIMISE_READ_ONLY"),
            "http_token": env.get("CEKURA_OPTIMISE_HTTP_TOKEN") or None,
            "eval_budget": budget,
            "min_feedback": min_feedback,
            "unknown_start_window_s": window,
            "tenant_clients": tenant_clients,
            "tenant_idle_s": tenant_idle_s,
            "write_lease_s": write_lease_s,
            "database_url": env.get("CEKURA_OPTIMISE_DATABASE_URL") or None,
            "http_stateless": _optional_flag(env, "CEKURA_OPTIMISE_HTTP_STATELESS"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        _check_base_url(
            str(values["base_url"]), allow_http=_flag(env, "CEKURA_OPTIMISE_ALLOW_HTTP")
        )
        database_url = values["database_url"]
        if database_url is not None and not is_database_url(str(database_url)):
            # the value may hold a password: never echo it
            raise SettingsError(
                "CEKURA_OPTIMISE_DATABASE_URL (--database-url) must be a PostgreSQL URL "
                "starting with postgresql://; unset it to use the local SQLite file."
            )
        return cls.model_validate(values)

    @property
    def stateless(self) -> bool:
        """Serve HTTP without MCP sessions, so replicas need no affinity: the default with a shared
        database (replicas), since a session lives in one process. With sessions (one process),
        a question can also be put to a person mid-call on 2025 protocol versions."""
        if self.http_stateless is not None:
            return self.http_stateless
        return self.database_url is not None

    def ledger_path(self) -> Path:
        """The ledger file: one per state directory."""
        return (self.state_dir or default_state_dir()) / "ledger.sqlite3"

    def store_location(self) -> Path | str:
        """Where the ledger and the OAuth store live: the PostgreSQL database when a URL is set,
        else the SQLite file under the state directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.ledger_path()
