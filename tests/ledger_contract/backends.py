"""The ledger backends the contract suite runs against, each opened at a location string (a file
path for SQLite), so that spawned processes can open the same ledger."""

from __future__ import annotations

from pathlib import Path

from tools.ledger import open_ledger
from tools.ledger.interface import Ledger

BACKENDS = ("sqlite",)


def location(backend: str, tmp_path: Path) -> str:
    """Where a fresh ledger of `backend` lives for one test."""
    assert backend == "sqlite"
    return str(tmp_path / "ledger.sqlite3")


def open_backend(backend: str, where: str) -> Ledger:
    """The ledger of `backend` at `where`, created if missing."""
    assert backend == "sqlite"
    return open_ledger(where)
