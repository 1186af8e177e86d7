"""The ledger: what makes single flight, `no_new_feedback`, idempotent applies and reverts work
across calls, processes and restarts. Workflows see only the `Ledger` interface and its row
models; a backend implements it: SQLite (embedded, one machine) or PostgreSQL (shared by replicas).

Names load on first use, so the storage layer's own modules can import `LedgerUnavailable` from
here without pulling in the rest."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.ledger.interface import Ledger
    from tools.ledger.oauth import OAuthStorage


class LedgerUnavailable(Exception):
    """The ledger's storage failed (disk, permissions, a lock held past its timeout, a database
    that cannot be reached). Backend-neutral: callers never see a driver's own exception."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")


def is_database_url(location: Path | str) -> bool:
    """True when `location` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_ledger(location: Path | str) -> Ledger:
    """The ledger at `location`: a PostgreSQL database URL (connected, and its schema brought up
    to date, on first use), or the embedded SQLite file at that path, created if missing."""
    if is_database_url(location):
        from tools.ledger.postgres import PgLedger

        return PgLedger(str(location))
    from tools.ledger.sqlite import SqliteLedger

    return SqliteLedger(location)


def open_oauth_store(location: Path | str, now: float) -> OAuthStorage:
    """The OAuth store at `location` (as `open_ledger`); a SQLite file is purged of what expired
    while the server was down (a database is purged by the server as it runs)."""
    if is_database_url(location):
        from tools.ledger.postgres_oauth import PgOAuthStore

        return PgOAuthStore(str(location))
    from tools.ledger.sqlite_oauth import OAuthStore

    return OAuthStore.open(location, now)


_HOMES = {"Ledger": "interface"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Ledger", "LedgerUnavailable", "is_database_url", "open_ledger", "open_oauth_store"]
