"""One SQLite file shared by processes: WAL, a generous busy timeout, short transactions, each run
on a worker thread so a locked database never blocks the event loop.

The ledger and the OAuth store both sit on this; it is the one place that names `sqlite3`'s
errors, turning them into `LedgerUnavailable`. `check` is the readiness probe: the file opens
(without being created) and holds every table, column and index the current schema makes.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

import anyio

from tools.ledger import LedgerUnavailable

BUSY_TIMEOUT_S = 30.0
MIN_SQLITE = (3, 35, 0)  # INSERT … RETURNING
T = TypeVar("T")


class SqliteFile:
    """A database file; `read(fn)` and `write(fn)` run `fn(connection)` off the event loop, the
    latter inside one IMMEDIATE transaction (rolled back if `fn` raises)."""

    def __init__(self, path: Path | str, schema: str) -> None:
        self.path = Path(path)
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            needed = ".".join(map(str, MIN_SQLITE))
            raise LedgerUnavailable(
                RuntimeError(
                    f"SQLite {needed} or newer is needed, this Python has {sqlite3.sqlite_version}"
                )
            )
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _private(self.path)
            self._initialise(schema)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailable(exc) from exc
        with closing(sqlite3.connect(":memory:")) as blank:
            blank.executescript(schema)
            self._shape = _shape(blank)

    def _initialise(self, schema: str) -> None:
        """Switch to WAL and create the schema, waiting out other processes doing the same.

        SQLite answers "database is locked" at once, without its busy handler, when two
        connections race to change the journal mode of a new file; so that step is retried.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                with self._connect() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(f"BEGIN IMMEDIATE;\n{schema}\nCOMMIT;")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection (autocommit, rows as sqlite3.Row), closed afterwards."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        try:
            yield db
        finally:
            db.close()

    def read_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn` on a fresh connection, on this thread (for start-up work outside any event loop)."""
        try:
            with self._connect() as db:
                return fn(db)
        except sqlite3.Error as exc:
            raise LedgerUnavailable(exc) from exc

    def write_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn` inside one IMMEDIATE transaction, on this thread; rolled back on any error."""
        try:
            with self._connect() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
        except sqlite3.Error as exc:
            raise LedgerUnavailable(exc) from exc

    def check_now(self) -> None:
        """Raise `LedgerUnavailable` unless the existing file opens and has the current schema."""
        try:
            uri = f"{self.path.resolve().as_uri()}?mode=rw"
            with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)) as db:
                missing = self._shape - _shape(db)
        except sqlite3.Error as exc:
            raise LedgerUnavailable(exc) from exc
        if missing:
            raise LedgerUnavailable(RuntimeError(f"schema is not current: {sorted(missing)[0]}"))

    async def check(self) -> None:
        """`check_now` on a worker thread."""
        await anyio.to_thread.run_sync(self.check_now)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn` on a fresh connection, on a worker thread."""
        return await anyio.to_thread.run_sync(self.read_now, fn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn` inside one IMMEDIATE transaction, on a worker thread."""
        return await anyio.to_thread.run_sync(self.write_now, fn)


def _shape(db: sqlite3.Connection) -> set[tuple[str, str]]:
    """Every (table, column) and (index, "") of a database, to compare it with the schema."""
    names = db.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')"
        " AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    shape = {(name, "") for kind, name in names if kind == "index"}
    for kind, name in names:
        if kind == "table":
            shape |= {(name, col[1]) for col in db.execute(f"PRAGMA table_info({name!r})")}
    return shape


def _private(path: Path) -> None:
    """Make the database file readable by its owner only before SQLite opens it (SQLite gives its
    -wal and -shm files the same mode), and tighten files an earlier version left 0644."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists() and name.stat().st_mode & 0o077:
            name.chmod(0o600)
