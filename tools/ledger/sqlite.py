"""The embedded ledger: runs, proposals and writes in one SQLite file (WAL), shared safely by every
process of a user. The writes half is in `sqlite_writes.py`.

Single flight and one writer per metric are enforced by the database: partial unique indexes allow
at most one in-flight run and one write in progress per metric, and one live apply per proposal,
so a claim is one INSERT that either wins or names the holder, across processes and restarts.
Rows carry the tenant that made them (`""` in single-user mode); see `Ledger` for who sees what."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any

from tools.clock import Clock, SystemClock
from tools.ledger import LedgerUnavailable
from tools.ledger.models import (
    FINISHED_WITH_RESULT,
    INFLIGHT,
    LIVE_APPLY,
    WRITING,
    ProposalRow,
    RunChange,
    RunRow,
    RunStatus,
)
from tools.ledger.rows import dump, marks, proposal_row, run_row
from tools.ledger.sqlite_file import SqliteFile
from tools.ledger.sqlite_writes import SqliteWrites


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    metric_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    progress_id TEXT,
    fingerprint TEXT NOT NULL,
    owner TEXT NOT NULL,
    test_set_ids TEXT,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    proposal_id TEXT,
    metric_fingerprint TEXT,
    result TEXT,
    note TEXT,
    tenant TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS run_joins (
    run_id INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    PRIMARY KEY (run_id, tenant)
);
CREATE TABLE IF NOT EXISTS proposal_joins (
    proposal_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    PRIMARY KEY (proposal_id, tenant)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_inflight_run ON runs(metric_id)
    WHERE status IN ({_quoted(INFLIGHT)});
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    metric_id INTEGER NOT NULL,
    run_id INTEGER,
    progress_id TEXT,
    created_at REAL NOT NULL,
    metric_fingerprint TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id TEXT NOT NULL,
    metric_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease INTEGER NOT NULL DEFAULT 0,
    history_id_before INTEGER,
    replaced TEXT,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    body TEXT,
    tenant TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_apply ON applies(proposal_id)
    WHERE status IN ({_quoted(LIVE_APPLY)});
"""


SCHEMA_VERSION = 3  # PRAGMA user_version: 2 added tenants, 3 proposals added without a run


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a ledger made by an earlier version up to date (it lacked the lease counter, the
    one-writer-per-metric index or the tenant columns; its rows become the default tenant's)."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(applies)")}
    if "lease" not in columns:
        db.execute("ALTER TABLE applies ADD COLUMN lease INTEGER NOT NULL DEFAULT 0")
    for table in ("runs", "applies"):
        if "tenant" not in {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN tenant TEXT NOT NULL DEFAULT ''")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS one_write_per_metric ON applies(metric_id)"
        f" WHERE status IN ({_quoted(WRITING)})"
    )


class SqliteLedger(SqliteWrites):
    """The Ledger on one SQLite file; every operation is one short transaction off the event loop."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteFile(path, SCHEMA)
        self._db.write_now(_upgrade)
        self.path = self._db.path
        self._tenant = ""

    # the store ------------------------------------------------------------------------------

    def for_tenant(self, tenant: str) -> SqliteLedger:
        view = copy.copy(self)
        view._tenant = tenant
        return view

    def clock(self) -> Clock:
        return SystemClock()

    async def check(self) -> None:
        """Raise `LedgerUnavailable` unless the file opens with every table, column and index of
        the current schema, at the current version."""
        await self._db.check()
        version = await self._db.read(lambda db: db.execute("PRAGMA user_version").fetchone()[0])
        if version != SCHEMA_VERSION:
            raise LedgerUnavailable(
                RuntimeError(f"ledger schema version {version}, this server needs {SCHEMA_VERSION}")
            )

    async def aclose(self) -> None:
        """Nothing to release: every operation opens and closes its own connection."""

    def _visible(self, alias: str = "runs") -> tuple[str, tuple[str, str]]:
        """The condition (and its parameters) for runs this tenant started or joined."""
        return (
            f"({alias}.tenant = ? OR {alias}.id IN (SELECT run_id FROM run_joins WHERE tenant = ?))",
            (self._tenant, self._tenant),
        )

    # runs -----------------------------------------------------------------------------------

    async def claim_run(
        self,
        metric_id: int,
        fingerprint: str,
        owner: str,
        test_set_ids: list[int] | None,
        metric_fingerprint: str | None,
        *,
        now: float,
    ) -> RunChange:
        def claim(db: sqlite3.Connection) -> RunChange:
            inserted = db.execute(
                "INSERT INTO runs (metric_id, status, fingerprint, owner, test_set_ids,"
                " metric_fingerprint, started_at, updated_at, tenant)"
                " VALUES (?, 'starting', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (
                    metric_id,
                    fingerprint,
                    owner,
                    dump(test_set_ids),
                    metric_fingerprint,
                    now,
                    now,
                    self._tenant,
                ),
            ).fetchone()
            if inserted is not None:
                return RunChange(won=True, run=_run(db, inserted["id"]))
            holder = db.execute(
                f"SELECT id, tenant FROM runs WHERE metric_id = ? AND status IN ({marks(INFLIGHT)})",
                (metric_id, *INFLIGHT),
            ).fetchone()
            if holder["tenant"] != self._tenant:
                db.execute(
                    "INSERT OR IGNORE INTO run_joins (run_id, tenant) VALUES (?, ?)",
                    (holder["id"], self._tenant),
                )
            return RunChange(won=False, run=_run(db, holder["id"]))

        return await self._db.write(claim)

    async def move_run(
        self,
        run_id: int,
        *,
        expect: tuple[RunStatus, ...],
        status: RunStatus,
        now: float,
        progress_id: str | None = None,
        note: str | None = None,
    ) -> RunChange:
        if status not in INFLIGHT or any(s not in INFLIGHT for s in expect):
            raise ValueError("move_run changes an in-flight run to another in-flight status")

        def move(db: sqlite3.Connection) -> RunChange:
            changed = db.execute(
                "UPDATE runs SET status = ?, progress_id = COALESCE(?, progress_id),"
                " note = COALESCE(?, note), updated_at = ?"
                f" WHERE id = ? AND status IN ({marks(expect)})",
                (status, progress_id, note, now, run_id, *expect),
            ).rowcount
            return RunChange(won=changed == 1, run=_run(db, run_id))

        return await self._db.write(move)

    async def close_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        now: float,
        expect: tuple[RunStatus, ...] = INFLIGHT,
        result: dict[str, Any] | None = None,
        proposal: ProposalRow | None = None,
        note: str | None = None,
    ) -> RunChange:
        if status in INFLIGHT or any(s not in INFLIGHT for s in expect):
            raise ValueError(f"close_run ends an in-flight run with a final status, not {status!r}")

        def close(db: sqlite3.Connection) -> RunChange:
            changed = db.execute(
                "UPDATE runs SET status = ?, proposal_id = ?, result = ?, note = ?,"
                f" finished_at = ?, updated_at = ? WHERE id = ? AND status IN ({marks(expect)})",
                (
                    status,
                    proposal.id if proposal else None,
                    dump(result),
                    note,
                    now,
                    now,
                    run_id,
                    *expect,
                ),
            ).rowcount
            if changed == 1 and proposal is not None:
                db.execute(
                    "INSERT INTO proposals (id, metric_id, run_id, progress_id, created_at,"
                    " metric_fingerprint, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        proposal.id,
                        proposal.metric_id,
                        run_id,
                        proposal.progress_id,
                        now,
                        proposal.metric_fingerprint,
                        dump(proposal.body),
                    ),
                )
            return RunChange(won=changed == 1, run=_run(db, run_id))

        return await self._db.write(close)

    async def run(self, run_id: int) -> RunRow | None:
        return await self._one_run("id = ?", (run_id,))

    async def inflight_run(self, metric_id: int) -> RunRow | None:
        return await self._one_run(
            f"metric_id = ? AND status IN ({marks(INFLIGHT)})", (metric_id, *INFLIGHT)
        )

    async def last_finished_run(self, metric_id: int) -> RunRow | None:
        return await self._one_run(
            f"metric_id = ? AND status IN ({marks(FINISHED_WITH_RESULT)})"
            " ORDER BY finished_at DESC, id DESC",
            (metric_id, *FINISHED_WITH_RESULT),
        )

    async def run_by_progress_id(self, progress_id: str) -> RunRow | None:
        return await self._one_run("progress_id = ? ORDER BY id DESC", (progress_id,))

    async def recent_run_durations(self, limit: int = 50) -> list[float]:
        visible, seen = self._visible()

        def durations(db: sqlite3.Connection) -> list[float]:
            rows = db.execute(
                "SELECT finished_at - started_at FROM runs WHERE status IN"
                f" ({marks(FINISHED_WITH_RESULT)}) AND finished_at IS NOT NULL AND {visible}"
                " ORDER BY finished_at DESC LIMIT ?",
                (*FINISHED_WITH_RESULT, *seen, limit),
            ).fetchall()
            return [row[0] for row in rows if row[0] and row[0] > 0]

        return await self._db.read(durations)

    async def _one_run(self, where: str, params: tuple[Any, ...]) -> RunRow | None:
        """The first run this tenant sees matching `where` (which may end in ORDER BY)."""
        visible, seen = self._visible()

        def one(db: sqlite3.Connection) -> RunRow | None:
            row = db.execute(
                f"SELECT * FROM runs WHERE {visible} AND {where} LIMIT 1", (*seen, *params)
            ).fetchone()
            return run_row(row) if row else None

        return await self._db.read(one)

    # proposals ------------------------------------------------------------------------------

    async def proposal(self, proposal_id: str) -> ProposalRow | None:
        return await self._one_proposal("id = ?", (proposal_id,))

    async def latest_proposal(self, metric_id: int) -> ProposalRow | None:
        return await self._one_proposal(
            "metric_id = ? ORDER BY created_at DESC, rowid DESC", (metric_id,)
        )

    async def add_proposal(self, proposal: ProposalRow) -> ProposalRow:
        def add(db: sqlite3.Connection) -> ProposalRow:
            db.execute(
                "INSERT INTO proposals (id, metric_id, run_id, progress_id, created_at,"
                " metric_fingerprint, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    proposal.id,
                    proposal.metric_id,
                    proposal.run_id,
                    proposal.progress_id,
                    proposal.created_at,
                    proposal.metric_fingerprint,
                    dump(proposal.body),
                ),
            )
            db.execute(
                "INSERT OR IGNORE INTO proposal_joins (proposal_id, tenant) VALUES (?, ?)",
                (proposal.id, self._tenant),
            )
            row = db.execute("SELECT * FROM proposals WHERE id = ?", (proposal.id,)).fetchone()
            return proposal_row(row)

        return await self._db.write(add)

    async def _one_proposal(self, where: str, params: tuple[Any, ...]) -> ProposalRow | None:
        """The first proposal this tenant sees (of a run it sees, or one it added itself) matching
        `where` (may end in ORDER BY)."""
        visible, seen = self._visible()

        def one(db: sqlite3.Connection) -> ProposalRow | None:
            row = db.execute(
                f"SELECT * FROM proposals WHERE (run_id IN (SELECT id FROM runs WHERE {visible})"
                " OR id IN (SELECT proposal_id FROM proposal_joins WHERE tenant = ?))"
                f" AND {where} LIMIT 1",
                (*seen, self._tenant, *params),
            ).fetchone()
            return proposal_row(row) if row else None

        return await self._db.read(one)


def _run(db: sqlite3.Connection, run_id: int) -> RunRow:
    return run_row(db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())
