"""The SQLite ledger's writes: applies of proposals, reverts of applies and restores of history rows.

One write per metric at a time, enforced by the `one_write_per_metric` index over `applying` and
`reverting` rows: a claim is an INSERT (or UPDATE) that the database either accepts or refuses,
whichever process makes it. The holder renews its row as it works; each renewal and take-over
bumps the integer `lease`, and a take-over names the lease it saw (compare-and-set)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from tools.ledger.models import (
    HISTORY_PREFIX,
    LIVE_APPLY,
    REVERTIBLE,
    WRITING,
    ApplyRow,
    HoldLost,
    WriteClaim,
    WriteStatus,
)
from tools.ledger.rows import apply_row, dump, marks
from tools.ledger.sqlite_file import SqliteFile

_APPLY_FIELDS = frozenset({"status", "history_id_before", "replaced", "body"})


def _row(db: sqlite3.Connection, apply_id: int) -> ApplyRow:
    return apply_row(db.execute("SELECT * FROM applies WHERE id = ?", (apply_id,)).fetchone())


def _in_the_way(db: sqlite3.Connection, metric_id: int, proposal_id: str | None) -> ApplyRow:
    """The row that refused a claim: the metric's write in progress, else the proposal's live apply."""
    found = db.execute(
        f"SELECT id FROM applies WHERE metric_id = ? AND status IN ({marks(WRITING)})",
        (metric_id, *WRITING),
    ).fetchone()
    if found is None and proposal_id is not None:
        found = db.execute(
            f"SELECT id FROM applies WHERE proposal_id = ? AND status IN ({marks(LIVE_APPLY)})",
            (proposal_id, *LIVE_APPLY),
        ).fetchone()
    return _row(db, found["id"])


class SqliteWrites:
    """The writes half of SqliteLedger (which provides `_db` and the viewing `_tenant`)."""

    _db: SqliteFile
    _tenant: str

    async def claim_apply(
        self, proposal_id: str, metric_id: int, owner: str, *, now: float
    ) -> WriteClaim:
        def claim(db: sqlite3.Connection) -> WriteClaim:
            inserted = db.execute(
                "INSERT INTO applies (proposal_id, metric_id, status, owner, started_at,"
                " updated_at, tenant) VALUES (?, ?, 'applying', ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                " RETURNING id",
                (proposal_id, metric_id, owner, now, now, self._tenant),
            ).fetchone()
            if inserted is None:
                return WriteClaim(won=False, row=_in_the_way(db, metric_id, proposal_id))
            return WriteClaim(won=True, row=_row(db, inserted["id"]))

        return await self._db.write(claim)

    async def claim_revert(self, apply_id: int, owner: str, *, now: float) -> WriteClaim:
        def claim(db: sqlite3.Connection) -> WriteClaim:
            target = _row(db, apply_id)
            body = dump({**(target.body or {}), "before_revert": target.status})
            changed = db.execute(
                "UPDATE OR IGNORE applies SET status = 'reverting', owner = ?, lease = lease + 1,"
                f" updated_at = ?, body = ? WHERE id = ? AND status IN ({marks(REVERTIBLE)})",
                (owner, now, body, apply_id, *REVERTIBLE),
            ).rowcount
            if changed == 1:
                return WriteClaim(won=True, row=_row(db, apply_id))
            if target.status not in REVERTIBLE:
                return WriteClaim(won=False, row=target)
            return WriteClaim(won=False, row=_in_the_way(db, target.metric_id, None))

        return await self._db.write(claim)

    async def claim_restore(
        self, metric_id: int, history_id: int, owner: str, *, now: float
    ) -> WriteClaim:
        def claim(db: sqlite3.Connection) -> WriteClaim:
            inserted = db.execute(
                "INSERT INTO applies (proposal_id, metric_id, status, owner, history_id_before,"
                " started_at, updated_at, tenant) VALUES (?, ?, 'reverting', ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (
                    f"{HISTORY_PREFIX}{history_id}",
                    metric_id,
                    owner,
                    history_id,
                    now,
                    now,
                    self._tenant,
                ),
            ).fetchone()
            if inserted is None:
                return WriteClaim(won=False, row=_in_the_way(db, metric_id, None))
            return WriteClaim(won=True, row=_row(db, inserted["id"]))

        return await self._db.write(claim)

    async def update_apply(
        self, apply_id: int, *, holder: str, now: float, **fields: Any
    ) -> ApplyRow:
        unknown = set(fields) - _APPLY_FIELDS
        if unknown:
            raise ValueError(f"cannot update apply fields {sorted(unknown)}")
        values = [dump(v) if k in ("replaced", "body") else v for k, v in fields.items()]
        assignments = "".join(f"{k} = ?, " for k in fields)

        def update(db: sqlite3.Connection) -> ApplyRow:
            changed = db.execute(
                f"UPDATE applies SET {assignments}lease = lease + 1, updated_at = ? WHERE id = ?"
                " AND owner = ?"
                f" AND status IN ({marks(WRITING)})",
                (*values, now, apply_id, holder, *WRITING),
            ).rowcount
            row = _row(db, apply_id)
            if changed != 1:
                raise HoldLost(row.metric_id)
            return row

        return await self._db.write(update)

    async def mark_apply(
        self,
        apply_id: int,
        *,
        expect: tuple[WriteStatus, ...],
        status: WriteStatus,
        now: float,
    ) -> ApplyRow | None:
        def mark(db: sqlite3.Connection) -> ApplyRow | None:
            changed = db.execute(
                "UPDATE applies SET status = ?, updated_at = ?"
                f" WHERE id = ? AND status IN ({marks(expect)})",
                (status, now, apply_id, *expect),
            ).rowcount
            return _row(db, apply_id) if changed == 1 else None

        return await self._db.write(mark)

    async def add_apply_notes(self, apply_id: int, notes: dict[str, Any], *, now: float) -> None:
        def add(db: sqlite3.Connection) -> None:
            body = {**(_row(db, apply_id).body or {}), **notes}
            db.execute("UPDATE applies SET body = ? WHERE id = ?", (json.dumps(body), apply_id))

        await self._db.write(add)

    async def renew_apply(self, apply_id: int, owner: str, *, now: float) -> bool:
        def renew(db: sqlite3.Connection) -> bool:
            return (
                db.execute(
                    "UPDATE applies SET lease = lease + 1, updated_at = ? WHERE id = ?"
                    f" AND owner = ? AND status IN ({marks(WRITING)})",
                    (now, apply_id, owner, *WRITING),
                ).rowcount
                == 1
            )

        return await self._db.write(renew)

    async def take_over_apply(
        self, apply_id: int, seen_lease: int, owner: str, *, now: float
    ) -> ApplyRow | None:
        def take(db: sqlite3.Connection) -> ApplyRow | None:
            changed = db.execute(
                "UPDATE applies SET owner = ?, lease = lease + 1, updated_at = ? WHERE id = ?"
                f" AND lease = ? AND status IN ({marks(WRITING)})",
                (owner, now, apply_id, seen_lease, *WRITING),
            ).rowcount
            return _row(db, apply_id) if changed == 1 else None

        return await self._db.write(take)

    async def abandon_apply(self, apply_id: int, owner: str, *, now: float) -> None:
        def abandon(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE applies SET"
                " status = CASE WHEN status = 'applying' AND replaced IS NULL THEN 'failed'"
                "  ELSE status END,"
                " updated_at = CASE WHEN status = 'applying' AND replaced IS NULL THEN ?"
                "  ELSE 0 END,"
                " lease = lease + 1"
                f" WHERE id = ? AND owner = ? AND status IN ({marks(WRITING)})",
                (now, apply_id, owner, *WRITING),
            )

        await self._db.write(abandon)

    async def apply(self, apply_id: int) -> ApplyRow | None:
        def one(db: sqlite3.Connection) -> ApplyRow | None:
            row = db.execute("SELECT * FROM applies WHERE id = ?", (apply_id,)).fetchone()
            return apply_row(row) if row else None

        return await self._db.read(one)

    async def applies_with_status(
        self, metric_id: int, statuses: tuple[WriteStatus, ...], *, every_tenant: bool = False
    ) -> list[ApplyRow]:
        def rows(db: sqlite3.Connection) -> list[ApplyRow]:
            found = db.execute(
                "SELECT * FROM applies WHERE metric_id = ? AND (? OR tenant = ?)"
                f" AND status IN ({marks(statuses)}) ORDER BY id",
                (metric_id, every_tenant, self._tenant, *statuses),
            ).fetchall()
            return [apply_row(row) for row in found]

        return await self._db.read(rows)

    async def last_apply(
        self, metric_id: int, statuses: tuple[WriteStatus, ...], *, every_tenant: bool = False
    ) -> ApplyRow | None:
        def last(db: sqlite3.Connection) -> ApplyRow | None:
            row = db.execute(
                "SELECT * FROM applies WHERE metric_id = ? AND (? OR tenant = ?)"
                f" AND status IN ({marks(statuses)}) ORDER BY id DESC LIMIT 1",
                (metric_id, every_tenant, self._tenant, *statuses),
            ).fetchone()
            return apply_row(row) if row else None

        return await self._db.read(last)

    async def write_patch(self, proposal_id: str) -> dict[str, Any] | None:
        def patch(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT body FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
            return json.loads(row["body"]).get("patch") if row else None

        return await self._db.read(patch)
