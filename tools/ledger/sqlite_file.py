"""One SQLite file shared by processes: WAL, a generous busy timeout, short transactions.

The ledger and the OAuth store both sit on this; claims use BEGIN IMMEDIATE so that a
check-then-insert is atomic across processes.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_BUSY_TIMEOUT_S = 30.0


class SqliteFile:
    """Opens a connection per operation; `write()` is one IMMEDIATE transaction."""

    def __init__(self, path: Path | str, schema: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._initialise(schema)

    def _initialise(self, schema: str) -> None:
        """Switch to WAL and create the schema, waiting out other processes doing the same.

        SQLite answers "database is locked" at once, without its busy handler, when two
        connections race to change the journal mode of a new file; so that step is retried.
        """
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while True:
            try:
                with self.connect() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(f"BEGIN IMMEDIATE;\n{schema}\nCOMMIT;")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection (autocommit, rows as sqlite3.Row), closed afterwards."""
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front, rolled back on any error."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
