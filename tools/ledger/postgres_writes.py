"""The PostgreSQL ledger's writes: applies of proposals, reverts of applies and restores of history
rows, as in `sqlite_writes.py`.

One write per metric at a time, enforced by the `one_write_per_metric` index over `applying` and
`reverting` rows: a claim is an INSERT (or UPDATE) the database accepts or refuses, whichever
replica makes it. The holder renews its row as it works; each renewal and take-over bumps the
integer `lease`, and a take-over names the lease it saw (compare-and-set)."""

from __future__ import annotations

import json
from typing import Any

from psycopg import errors

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
from tools.ledger.postgres_db import Connection, PgDatabase, fetch_one
from tools.ledger.rows import apply_row, dump

_APPLY_FIELDS = frozenset({"status", "history_id_before", "replaced", "body"})


async def _row(conn: Connection, apply_id: int) -> ApplyRow | None:
    row = await fetch_one(conn, "SELECT * FROM applies WHERE id = %s", (apply_id,))
    return apply_row(row) if row else None


async def _in_the_way(conn: Connection, metric_id: int, proposal_id: str | None) -> ApplyRow | None:
    """The row that refused a claim: the metric's write in progress, else the proposal's live
    apply; None if it ended meanwhile (the caller claims again)."""
    found = await fetch_one(
        conn,
        "SELECT id FROM applies WHERE metric_id = %s AND status = ANY(%s)",
        (metric_id, list(WRITING)),
    )
    if found is None and proposal_id is not None:
        found = await fetch_one(
            conn,
            "SELECT id FROM applies WHERE proposal_id = %s AND status = ANY(%s)",
            (proposal_id, list(LIVE_APPLY)),
        )
    return None if found is None else await _row(conn, found["id"])


class PgWrites:
    """The writes half of PgLedger (which provides `_db` and the viewing `_tenant`)."""

    _db: PgDatabase
    _tenant: str

    async def claim_apply(
        self, proposal_id: str, metric_id: int, owner: str, *, now: float
    ) -> WriteClaim:
        async def claim(conn: Connection) -> WriteClaim | None:
            inserted = await fetch_one(
                conn,
                "INSERT INTO applies (proposal_id, metric_id, status, owner, started_at,"
                " updated_at, tenant) VALUES (%s, %s, 'applying', %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (proposal_id, metric_id, owner, now, now, self._tenant),
            )
            if inserted is None:
                row = await _in_the_way(conn, metric_id, proposal_id)
                return None if row is None else WriteClaim(won=False, row=row)
            return WriteClaim(won=True, row=await _known(conn, inserted["id"]))

        return await self._until_answered(claim)

    async def claim_revert(self, apply_id: int, owner: str, *, now: float) -> WriteClaim:
        async def claim(conn: Connection) -> WriteClaim | None:
            target = await _known(conn, apply_id)
            body = dump({**(target.body or {}), "before_revert": target.status})
            try:
                async with conn.transaction():  # a savepoint: the index may refuse the update
                    cursor = await conn.execute(
                        "UPDATE applies SET status = 'reverting', owner = %s, lease = lease + 1,"
                        " updated_at = %s, body = %s WHERE id = %s AND status = ANY(%s)",
                        (owner, now, body, apply_id, list(REVERTIBLE)),
                    )
                    changed = cursor.rowcount
            except errors.UniqueViolation:
                changed = 0
            if changed == 1:
                return WriteClaim(won=True, row=await _known(conn, apply_id))
            if target.status not in REVERTIBLE:
                return WriteClaim(won=False, row=target)
            row = await _in_the_way(conn, target.metric_id, None)
            return None if row is None else WriteClaim(won=False, row=row)

        return await self._until_answered(claim)

    async def claim_restore(
        self, metric_id: int, history_id: int, owner: str, *, now: float
    ) -> WriteClaim:
        async def claim(conn: Connection) -> WriteClaim | None:
            inserted = await fetch_one(
                conn,
                "INSERT INTO applies (proposal_id, metric_id, status, owner, history_id_before,"
                " started_at, updated_at, tenant) VALUES (%s, %s, 'reverting', %s, %s, %s, %s, %s)"
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
            )
            if inserted is None:
                row = await _in_the_way(conn, metric_id, None)
                return None if row is None else WriteClaim(won=False, row=row)
            return WriteClaim(won=True, row=await _known(conn, inserted["id"]))

        return await self._until_answered(claim)

    async def update_apply(
        self, apply_id: int, *, holder: str, now: float, **fields: Any
    ) -> ApplyRow:
        unknown = set(fields) - _APPLY_FIELDS
        if unknown:
            raise ValueError(f"cannot update apply fields {sorted(unknown)}")
        values = [dump(v) if k in ("replaced", "body") else v for k, v in fields.items()]
        assignments = "".join(f"{k} = %s, " for k in fields)

        async def update(conn: Connection) -> ApplyRow:
            cursor = await conn.execute(
                f"UPDATE applies SET {assignments}lease = lease + 1, updated_at = %s"
                " WHERE id = %s AND owner = %s AND status = ANY(%s)",
                (*values, now, apply_id, holder, list(WRITING)),
            )
            row = await _known(conn, apply_id)
            if cursor.rowcount != 1:
                raise HoldLost(row.metric_id)
            return row

        return await self._db.transaction(update)

    async def mark_apply(
        self,
        apply_id: int,
        *,
        expect: tuple[WriteStatus, ...],
        status: WriteStatus,
        now: float,
    ) -> ApplyRow | None:
        async def mark(conn: Connection) -> ApplyRow | None:
            cursor = await conn.execute(
                "UPDATE applies SET status = %s, updated_at = %s WHERE id = %s AND status = ANY(%s)",
                (status, now, apply_id, list(expect)),
            )
            return await _row(conn, apply_id) if cursor.rowcount == 1 else None

        return await self._db.transaction(mark)

    async def add_apply_notes(self, apply_id: int, notes: dict[str, Any], *, now: float) -> None:
        async def add(conn: Connection) -> None:
            row = await fetch_one(
                conn, "SELECT body FROM applies WHERE id = %s FOR UPDATE", (apply_id,)
            )
            body = {**(json.loads(row["body"]) if row and row["body"] else {}), **notes}
            await conn.execute("UPDATE applies SET body = %s WHERE id = %s", (dump(body), apply_id))

        await self._db.transaction(add)

    async def renew_apply(self, apply_id: int, owner: str, *, now: float) -> bool:
        async def renew(conn: Connection) -> bool:
            cursor = await conn.execute(
                "UPDATE applies SET lease = lease + 1, updated_at = %s WHERE id = %s"
                " AND owner = %s AND status = ANY(%s)",
                (now, apply_id, owner, list(WRITING)),
            )
            return cursor.rowcount == 1

        return await self._db.transaction(renew)

    async def take_over_apply(
        self, apply_id: int, seen_lease: int, owner: str, *, now: float
    ) -> ApplyRow | None:
        async def take(conn: Connection) -> ApplyRow | None:
            cursor = await conn.execute(
                "UPDATE applies SET owner = %s, lease = lease + 1, updated_at = %s WHERE id = %s"
                " AND lease = %s AND status = ANY(%s)",
                (owner, now, apply_id, seen_lease, list(WRITING)),
            )
            return await _row(conn, apply_id) if cursor.rowcount == 1 else None

        return await self._db.transaction(take)

    async def abandon_apply(self, apply_id: int, owner: str, *, now: float) -> None:
        async def abandon(conn: Connection) -> None:
            await conn.execute(
                "UPDATE applies SET"
                " status = CASE WHEN status = 'applying' AND replaced IS NULL THEN 'failed'"
                "  ELSE status END,"
                " updated_at = CASE WHEN status = 'applying' AND replaced IS NULL THEN %s"
                "  ELSE 0 END,"
                " lease = lease + 1"
                " WHERE id = %s AND owner = %s AND status = ANY(%s)",
                (now, apply_id, owner, list(WRITING)),
            )

        await self._db.transaction(abandon)

    async def apply(self, apply_id: int) -> ApplyRow | None:
        return await self._db.transaction(lambda conn: _row(conn, apply_id))

    async def applies_with_status(
        self, metric_id: int, statuses: tuple[WriteStatus, ...], *, every_tenant: bool = False
    ) -> list[ApplyRow]:
        async def rows(conn: Connection) -> list[ApplyRow]:
            cursor = await conn.execute(
                "SELECT * FROM applies WHERE metric_id = %s AND (%s OR tenant = %s)"
                " AND status = ANY(%s) ORDER BY id",
                (metric_id, every_tenant, self._tenant, list(statuses)),
            )
            return [apply_row(row) for row in await cursor.fetchall()]

        return await self._db.transaction(rows)

    async def last_apply(
        self, metric_id: int, statuses: tuple[WriteStatus, ...], *, every_tenant: bool = False
    ) -> ApplyRow | None:
        async def last(conn: Connection) -> ApplyRow | None:
            row = await fetch_one(
                conn,
                "SELECT * FROM applies WHERE metric_id = %s AND (%s OR tenant = %s)"
                " AND status = ANY(%s) ORDER BY id DESC LIMIT 1",
                (metric_id, every_tenant, self._tenant, list(statuses)),
            )
            return apply_row(row) if row else None

        return await self._db.transaction(last)

    async def write_patch(self, proposal_id: str) -> dict[str, Any] | None:
        async def patch(conn: Connection) -> dict[str, Any] | None:
            row = await fetch_one(conn, "SELECT body FROM proposals WHERE id = %s", (proposal_id,))
            return json.loads(row["body"]).get("patch") if row else None

        return await self._db.transaction(patch)

    async def _until_answered(self, claim: Any) -> WriteClaim:
        """Run a claim until it either wins or names the row in the way (that row can end
        between the refused insert and the read that names it)."""
        while True:
            outcome = await self._db.transaction(claim)
            if outcome is not None:
                return outcome


async def _known(conn: Connection, apply_id: int) -> ApplyRow:
    """A write that must exist (its id came from this transaction or a claim)."""
    row = await _row(conn, apply_id)
    if row is None:
        raise LookupError(f"no write {apply_id} in the ledger")
    return row
