"""The ledger's `applies` table: guarded writes of proposals and the reverts that undo them.

One write per metric at a time: an apply (`applying`) or a revert (`reverting`) claims the metric
inside an IMMEDIATE transaction, so no two calls, in any processes, write the same metric at once.
A partial unique index also keeps one live apply per proposal. The holder renews its row as it
works; a row whose holder is gone can be taken over (compare-and-swap on `updated_at`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any, Literal

from pydantic import BaseModel

from tools.errors import WorkflowError
from tools.ledger.sqlite_file import SqliteFile

ApplyStatus = Literal[
    "applying",
    "reverting",
    "applied",
    "applied_unverified",
    "reverted",
    "restored",
    "failed",
    "refused",
    "superseded",
]
LIVE_APPLY: tuple[str, ...] = ("applying", "applied", "applied_unverified")
WRITING: tuple[str, ...] = ("applying", "reverting")
REVERTIBLE: tuple[str, ...] = ("applied", "applied_unverified")
HISTORY_PREFIX = "history:"

APPLIES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS applies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id TEXT NOT NULL,
    metric_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    history_id_before INTEGER,
    replaced TEXT,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    body TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_apply ON applies(proposal_id)
    WHERE status IN ({", ".join(repr(s) for s in LIVE_APPLY)});
"""


class HoldLost(WorkflowError):
    """Another call took over a write this call held, after this one stopped renewing it."""

    def __init__(self, metric_id: int) -> None:
        super().__init__(
            f"Another call took over this write to metric {metric_id} after this call stopped "
            "renewing it; that call finishes the job. Call again to see the outcome."
        )


class ApplyRow(BaseModel):
    """One guarded write of a proposal (or, with `proposal_id` "history:<id>", a restore of a
    named history row), with what it replaced so it can be undone. `body` holds notes:
    `regressed` (its re-score fell), `restoring` (its automatic restore was sent),
    `before_revert` (status to go back to if a revert does not happen)."""

    id: int
    proposal_id: str
    metric_id: int
    status: str
    owner: str
    history_id_before: int | None
    replaced: dict[str, Any] | None
    started_at: float
    updated_at: float
    body: dict[str, Any] | None

    @property
    def regressed(self) -> bool:
        return bool(self.body and self.body.get("regressed"))

    @property
    def history_restore(self) -> bool:
        return self.proposal_id.startswith(HISTORY_PREFIX)

    def note(self, name: str) -> Any:
        return (self.body or {}).get(name)


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def _row(db: sqlite3.Connection, apply_id: int) -> ApplyRow:
    row = db.execute("SELECT * FROM applies WHERE id = ?", (apply_id,)).fetchone()
    data = dict(row)
    for name in ("replaced", "body"):
        data[name] = json.loads(data[name]) if data[name] is not None else None
    return ApplyRow(**data)


def _writing(db: sqlite3.Connection, metric_id: int) -> sqlite3.Row | None:
    return db.execute(
        f"SELECT id FROM applies WHERE metric_id = ? AND status IN ({_marks(WRITING)})"
        " ORDER BY id LIMIT 1",
        (metric_id, *WRITING),
    ).fetchone()


class AppliesLedger:
    """The applies half of the Ledger (which provides `_db`)."""

    _db: SqliteFile

    def claim_apply(
        self, proposal_id: str, metric_id: int, owner: str, now: float | None = None
    ) -> tuple[bool, ApplyRow]:
        """Start an apply of a proposal; or return the row in the way: a write in progress on
        the metric (any proposal, or a revert), or this proposal's live apply."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            busy = _writing(db, metric_id)
            if busy is not None:
                return False, _row(db, busy["id"])
            try:
                cur = db.execute(
                    "INSERT INTO applies (proposal_id, metric_id, status, owner, started_at,"
                    " updated_at) VALUES (?, ?, 'applying', ?, ?, ?)",
                    (proposal_id, metric_id, owner, now, now),
                )
            except sqlite3.IntegrityError:
                live = db.execute(
                    f"SELECT id FROM applies WHERE proposal_id = ? AND status IN"
                    f" ({_marks(LIVE_APPLY)})",
                    (proposal_id, *LIVE_APPLY),
                ).fetchone()
                return False, _row(db, live["id"])
            return True, _row(db, cur.lastrowid)

    def claim_revert(
        self, apply_id: int, owner: str, now: float | None = None
    ) -> tuple[bool, ApplyRow]:
        """Hold the metric to undo a live apply: the row goes `reverting` (remembering its status
        to go back to if the restore does not happen); or return the write in the way."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            target = _row(db, apply_id)
            busy = _writing(db, target.metric_id)
            if busy is not None:
                return False, _row(db, busy["id"])
            if target.status not in REVERTIBLE:
                return False, target
            body = {**(target.body or {}), "before_revert": target.status}
            db.execute(
                "UPDATE applies SET status = 'reverting', owner = ?, updated_at = ?, body = ?"
                " WHERE id = ?",
                (owner, now, json.dumps(body), apply_id),
            )
            return True, _row(db, apply_id)

    def claim_restore(
        self, metric_id: int, history_id: int, owner: str, now: float | None = None
    ) -> tuple[bool, ApplyRow]:
        """Hold the metric to restore a named history row; or return the write in the way."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            busy = _writing(db, metric_id)
            if busy is not None:
                return False, _row(db, busy["id"])
            cur = db.execute(
                "INSERT INTO applies (proposal_id, metric_id, status, owner, history_id_before,"
                " started_at, updated_at) VALUES (?, ?, 'reverting', ?, ?, ?, ?)",
                (f"{HISTORY_PREFIX}{history_id}", metric_id, owner, history_id, now, now),
            )
            return True, _row(db, cur.lastrowid)

    def update_apply(
        self, apply_id: int, *, holder: str | None = None, now: float | None = None, **fields: Any
    ) -> ApplyRow:
        """Set fields of an apply (status, history_id_before, replaced, body). With `holder`, only
        while that call still holds the write; HoldLost if another call took it over."""
        allowed = {"status", "history_id_before", "replaced", "body"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update apply fields {sorted(unknown)}")
        values = [
            json.dumps(v) if k in ("replaced", "body") and v is not None else v
            for k, v in fields.items()
        ]
        now = time.time() if now is None else now
        assignments = ", ".join(f"{k} = ?" for k in fields)
        held = f" AND owner = ? AND status IN ({_marks(WRITING)})" if holder is not None else ""
        with self._db.transaction() as db:
            cur = db.execute(
                f"UPDATE applies SET {assignments}, updated_at = ? WHERE id = ?{held}",
                (*values, now, apply_id, *((holder, *WRITING) if holder is not None else ())),
            )
            row = _row(db, apply_id)
            if cur.rowcount != 1:
                raise HoldLost(row.metric_id)
            return row

    def renew_apply(self, apply_id: int, owner: str, now: float | None = None) -> bool:
        """Heartbeat of a write in progress; False when `owner` no longer holds it."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            cur = db.execute(
                f"UPDATE applies SET updated_at = ? WHERE id = ? AND owner = ? AND status IN"
                f" ({_marks(WRITING)})",
                (now, apply_id, owner, *WRITING),
            )
        return cur.rowcount == 1

    def take_over_apply(
        self, apply_id: int, seen_updated_at: float, owner: str, now: float | None = None
    ) -> ApplyRow | None:
        """Become the holder of a write whose holder stopped, if nobody renewed or took it since
        `seen_updated_at` (compare-and-swap); None when someone else got there first."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            cur = db.execute(
                f"UPDATE applies SET owner = ?, updated_at = ? WHERE id = ? AND updated_at = ?"
                f" AND status IN ({_marks(WRITING)})",
                (owner, now, apply_id, seen_updated_at, *WRITING),
            )
            return _row(db, apply_id) if cur.rowcount == 1 else None

    def abandon_apply(self, apply_id: int, owner: str, now: float | None = None) -> None:
        """The holder stops early (an error, a cancelled call). An apply that sent nothing simply
        `failed`; otherwise nobody knows if its write landed, so the row stays as it is with its
        lease expired, for the next call to settle from the live metric. A no-op once `owner`
        no longer holds the row."""
        now = time.time() if now is None else now
        with self._db.transaction() as db:
            db.execute(
                "UPDATE applies SET"
                " status = CASE WHEN status = 'applying' AND replaced IS NULL THEN 'failed'"
                "  ELSE status END,"
                " updated_at = CASE WHEN status = 'applying' AND replaced IS NULL THEN ?"
                "  ELSE 0 END"
                f" WHERE id = ? AND owner = ? AND status IN ({_marks(WRITING)})",
                (now, apply_id, owner, *WRITING),
            )

    def apply(self, apply_id: int) -> ApplyRow | None:
        with self._db.connect() as db:
            found = db.execute("SELECT id FROM applies WHERE id = ?", (apply_id,)).fetchone()
            return _row(db, apply_id) if found else None

    def applies_in_progress(self, metric_id: int) -> list[ApplyRow]:
        """The metric's writes in progress (applies and reverts), oldest first."""
        return self.applies_with_status(metric_id, WRITING)

    def applies_with_status(self, metric_id: int, statuses: tuple[str, ...]) -> list[ApplyRow]:
        """The metric's applies whose status is one of `statuses`, oldest first."""
        with self._db.connect() as db:
            ids = db.execute(
                f"SELECT id FROM applies WHERE metric_id = ? AND status IN ({_marks(statuses)})"
                " ORDER BY id",
                (metric_id, *statuses),
            ).fetchall()
            return [_row(db, row["id"]) for row in ids]

    def last_apply(self, metric_id: int, statuses: tuple[str, ...] = LIVE_APPLY) -> ApplyRow | None:
        """The newest apply of a metric whose status is one of `statuses` (by claim order: claims
        are serialised, while callers' clocks may disagree)."""
        with self._db.connect() as db:
            found = db.execute(
                f"SELECT id FROM applies WHERE metric_id = ? AND status IN ({_marks(statuses)})"
                " ORDER BY id DESC LIMIT 1",
                (metric_id, *statuses),
            ).fetchone()
            return _row(db, found["id"]) if found else None
