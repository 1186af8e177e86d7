"""The ledger backends the contract suite runs against, each opened at a location string (a file
path for SQLite, a database URL for PostgreSQL), so that spawned processes can open the same
ledger."""

from __future__ import annotations

from pathlib import Path

from tools.ledger import open_ledger
from tools.ledger.interface import Ledger

BACKENDS = ("sqlite", "postgres")


def location(backend: str, tmp_path: Path, database_url: str | None) -> str:
    """Where a fresh ledger of `backend` lives for one test."""
    if backend == "postgres":
        assert database_url is not None
        return database_url
    return str(tmp_path / "ledger.sqlite3")


def open_backend(backend: str, where: str) -> Ledger:
    """The ledger of `backend` at `where`, created if missing (a database on first use)."""
    return open_ledger(where)
