"""The ledger: what makes single flight, `no_new_feedback`, idempotent applies and reverts work
across calls, processes and restarts. Workflows see only the `Ledger` interface and its row
models; a backend (SQLite, embedded) implements it.

Names load on first use, so the storage layer's own modules can import `LedgerUnavailable` from
here without pulling in the rest."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.ledger.interface import Ledger


class LedgerUnavailable(Exception):
    """The ledger's storage failed (disk, permissions, a lock held past its timeout, a database
    that cannot be reached). Backend-neutral: callers never see a driver's own exception."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")


def open_ledger(path: Path | str) -> Ledger:
    """The embedded SQLite ledger at `path`, created if missing."""
    from tools.ledger.sqlite import SqliteLedger

    return SqliteLedger(path)


_HOMES = {"Ledger": "interface"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Ledger", "LedgerUnavailable", "open_ledger"]
