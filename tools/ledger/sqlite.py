"""The local ledger: runs, proposals and applies in SQLite, shared safely by every process of a user
(the applies table is in `tools/ledger_applies.py`).

Single flight is enforced by the database itself: a partial unique index allows at most one
in-flight run per metric and one live apply per proposal, so a claim is one INSERT that either
wins or tells who holds the slot, across processes and restarts.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from tools.ledger.sqlite_applies import (
    APPLIES_SCHEMA,
    LIVE_APPLY,
    AppliesLedger,
    ApplyRow,
    ApplyStatus,
)
from tools.ledger.sqlite_file import SqliteFile

__all__ = ["LIVE_APPLY", "ApplyRow", "ApplyStatus", "Ledger", "ProposalRow", "RunClaim", "RunRow"]

RunStatus = Literal[
    "starting",
    "running",
    "paused",
    "unknown",
    "proposed",
    "unchanged",
    "failed",
    "cancelled",
    "abandoned",
]
INFLIGHT: tuple[str, ...] = ("starting", "running", "paused", "unknown")

_SCHEMA = (
    f"""
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
    note TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_inflight_run ON runs(metric_id)
    WHERE status IN ({", ".join(repr(s) for s in INFLIGHT)});
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    metric_id INTEGER NOT NULL,
    run_id INTEGER,
    progress_id TEXT,
    created_at REAL NOT NULL,
    metric_fingerprint TEXT NOT NULL,
    body TEXT NOT NULL
);
"""
    + APPLIES_SCHEMA
)


class RunRow(BaseModel):
    """One optimisation run as the ledger knows it."""

    id: int
    metric_id: int
    status: str
    progress_id: str | None
    fingerprint: str
    owner: str
    test_set_ids: list[int] | None
    started_at: float
    updated_at: float
    finished_at: float | None
    proposal_id: str | None
    metric_fingerprint: str | None
    result: dict[str, Any] | None
    note: str | None


class ProposalRow(BaseModel):
    """A stored proposal: the PATCH it implies, the metric fingerprint it was made against, the
    evidence shown to the user (`body`, a JSON object)."""

    id: str
    metric_id: int
    run_id: int | None
    progress_id: str | None
    created_at: float
    metric_fingerprint: str
    body: dict[str, Any]


class RunClaim(BaseModel):
    """The answer to "may I start a run for this metric?": `won`, or the run that holds the slot."""

    won: bool
    run: RunRow


class Ledger(AppliesLedger):
    """SQLite ledger (WAL). Each call opens a short transaction; claims use BEGIN IMMEDIATE."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteFile(path, _SCHEMA)
        self.path = self._db.path

    # runs -----------------------------------------------------------------------------------

    def claim_run(
        self,
        metric_id: int,
        fingerprint: str,
        owner: str,
        test_set_ids: list[int] | None = None,
        metric_fingerprint: str | None = None,
        now: float | None = None,
    ) -> RunClaim:
        """Take the metric's in-flight slot with a new `starting` run, or return the holder."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            try:
                cur = db.execute(
                    "INSERT INTO runs (metric_id, status, fingerprint, owner, test_set_ids,"
                    " metric_fingerprint, started_at, updated_at)"
                    " VALUES (?, 'starting', ?, ?, ?, ?, ?, ?)",
                    (
                        metric_id,
                        fingerprint,
                        owner,
                        _dump(test_set_ids),
                        metric_fingerprint,
                        now,
                        now,
                    ),
                )
                run_id = cur.lastrowid
                won = True
            except sqlite3.IntegrityError:
                row = db.execute(
                    f"SELECT id FROM runs WHERE metric_id = ? AND status IN ({_marks(INFLIGHT)})",
                    (metric_id, *INFLIGHT),
                ).fetchone()
                run_id = row["id"]
                won = False
            run = _run(db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())
        return RunClaim(won=won, run=run)

    def update_run(self, run_id: int, *, now: float | None = None, **fields: Any) -> RunRow:
        """Set fields of a run (status, progress_id, proposal_id, result, note, finished_at)."""
        allowed = {"status", "progress_id", "proposal_id", "result", "note", "finished_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update run fields {sorted(unknown)}")
        values = [_dump(v) if k == "result" else v for k, v in fields.items()]
        now = time.time() if now is None else now
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._db.transaction() as db:
            db.execute(
                f"UPDATE runs SET {assignments}, updated_at = ? WHERE id = ?",
                (*values, now, run_id),
            )
            return _run(db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())

    def settle_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        result: dict[str, Any] | None = None,
        proposal: ProposalRow | None = None,
        note: str | None = None,
        now: float | None = None,
    ) -> tuple[bool, RunRow]:
        """Close an in-flight run exactly once, freeing the metric's slot. The first caller stores
        its result (and proposal) and gets True; a later caller gets False and the stored run."""
        if status in INFLIGHT:
            raise ValueError(f"{status!r} is not a terminal status")
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise LookupError(f"no run {run_id} in the ledger")
            if row["status"] not in INFLIGHT:
                return False, _run(row)
            if proposal is not None:
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
                        _dump(proposal.body),
                    ),
                )
            db.execute(
                "UPDATE runs SET status = ?, proposal_id = ?, result = ?, note = ?,"
                " finished_at = ?, updated_at = ? WHERE id = ?",
                (status, proposal.id if proposal else None, _dump(result), note, now, now, run_id),
            )
            return True, _run(db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())

    def finish_run(
        self, run_id: int, status: RunStatus, *, note: str | None = None, now: float | None = None
    ) -> RunRow:
        """Close a run with no result to keep (failed, cancelled, abandoned)."""
        return self.settle_run(run_id, status, note=note, now=now)[1]

    def run(self, run_id: int) -> RunRow | None:
        with self._db.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def inflight_run(self, metric_id: int) -> RunRow | None:
        """The run holding the metric's slot, if any."""
        with self._db.connect() as db:
            row = db.execute(
                f"SELECT * FROM runs WHERE metric_id = ? AND status IN ({_marks(INFLIGHT)})",
                (metric_id, *INFLIGHT),
            ).fetchone()
        return _run(row) if row else None

    def last_finished_run(self, metric_id: int) -> RunRow | None:
        """The newest run that ended with a result (`proposed` or `unchanged`)."""
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE metric_id = ? AND status IN ('proposed', 'unchanged')"
                " ORDER BY finished_at DESC, id DESC LIMIT 1",
                (metric_id,),
            ).fetchone()
        return _run(row) if row else None

    def recent_run_durations(self, limit: int = 50) -> list[float]:
        """How long the newest finished runs took (seconds), newest first, to seed polling."""
        with self._db.connect() as db:
            rows = db.execute(
                "SELECT finished_at - started_at FROM runs WHERE status IN ('proposed',"
                " 'unchanged') AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [row[0] for row in rows if row[0] and row[0] > 0]

    def run_by_progress_id(self, progress_id: str) -> RunRow | None:
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE progress_id = ? ORDER BY id DESC LIMIT 1", (progress_id,)
            ).fetchone()
        return _run(row) if row else None

    # proposals ------------------------------------------------------------------------------

    @staticmethod
    def new_proposal(
        metric_id: int,
        *,
        progress_id: str | None,
        metric_fingerprint: str,
        body: dict[str, Any],
        now: float | None = None,
    ) -> ProposalRow:
        """A proposal under a fresh id (`prop_<hex>`), stored when its run is settled."""
        return ProposalRow(
            id=f"prop_{uuid.uuid4().hex[:12]}",
            metric_id=metric_id,
            run_id=None,
            progress_id=progress_id,
            created_at=time.time() if now is None else now,
            metric_fingerprint=metric_fingerprint,
            body=body,
        )

    def proposal(self, proposal_id: str) -> ProposalRow | None:
        with self._db.connect() as db:
            row = db.execute("SELECT * FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
        return _proposal(row) if row else None

    def latest_proposal(self, metric_id: int) -> ProposalRow | None:
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM proposals WHERE metric_id = ? ORDER BY created_at DESC, rowid DESC"
                " LIMIT 1",
                (metric_id,),
            ).fetchone()
        return _proposal(row) if row else None


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _run(row: sqlite3.Row) -> RunRow:
    data = dict(row)
    data["test_set_ids"] = _load(data["test_set_ids"])
    data["result"] = _load(data["result"])
    return RunRow(**data)


def _proposal(row: sqlite3.Row) -> ProposalRow:
    data = dict(row)
    data["body"] = _load(data["body"])
    return ProposalRow(**data)
