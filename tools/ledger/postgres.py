"""The shared ledger: runs, proposals and writes in one PostgreSQL database, for any number of
replicas. The writes half is in `postgres_writes.py`; the pool, schema and clock in `postgres_db.py`.

Same semantics as the SQLite ledger, enforced the same way: partial unique indexes allow at most
one in-flight run and one write in progress per metric, and one live apply per proposal, so a claim
is one INSERT that either wins or names the holder, whichever replica makes it. Leases are stamped
and judged on the database server's clock (`clock()`)."""

from __future__ import annotations

import copy
from typing import Any

from tools.clock import Clock
from tools.ledger.models import (
    FINISHED_WITH_RESULT,
    INFLIGHT,
    ProposalRow,
    RunChange,
    RunRow,
    RunStatus,
)
from tools.ledger.postgres_db import Connection, PgDatabase
from tools.ledger.postgres_db import fetch_one as _one
from tools.ledger.postgres_writes import PgWrites
from tools.ledger.rows import dump, proposal_row, run_row

# runs this tenant started or joined; takes the tenant twice
_VISIBLE = "(tenant = %s OR id IN (SELECT run_id FROM run_joins WHERE tenant = %s))"


class PgLedger(PgWrites):
    """The Ledger on a PostgreSQL database; every operation is one short transaction."""

    def __init__(self, url: str) -> None:
        self._db = PgDatabase(url)
        self._tenant = ""

    # the store ------------------------------------------------------------------------------

    def for_tenant(self, tenant: str) -> PgLedger:
        view = copy.copy(self)
        view._tenant = tenant
        return view

    def clock(self) -> Clock:
        return self._db.clock

    async def check(self) -> None:
        await self._db.check()

    async def aclose(self) -> None:
        await self._db.aclose()

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
        values = (metric_id, fingerprint, owner, dump(test_set_ids), metric_fingerprint, now, now)

        async def claim(conn: Connection) -> RunChange | None:
            inserted = await _one(
                conn,
                "INSERT INTO runs (metric_id, status, fingerprint, owner, test_set_ids,"
                " metric_fingerprint, started_at, updated_at, tenant)"
                " VALUES (%s, 'starting', %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (*values, self._tenant),
            )
            if inserted is not None:
                return RunChange(won=True, run=await _run(conn, inserted["id"]))
            holder = await _one(
                conn,
                "SELECT id, tenant FROM runs WHERE metric_id = %s AND status = ANY(%s)",
                (metric_id, list(INFLIGHT)),
            )
            if holder is None:  # the holder closed between our insert and this read: try again
                return None
            if holder["tenant"] != self._tenant:
                await conn.execute(
                    "INSERT INTO run_joins (run_id, tenant) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (holder["id"], self._tenant),
                )
            return RunChange(won=False, run=await _run(conn, holder["id"]))

        while True:
            change = await self._db.transaction(claim)
            if change is not None:
                return change

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

        async def move(conn: Connection) -> RunChange:
            cursor = await conn.execute(
                "UPDATE runs SET status = %s, progress_id = COALESCE(%s, progress_id),"
                " note = COALESCE(%s, note), updated_at = %s WHERE id = %s AND status = ANY(%s)",
                (status, progress_id, note, now, run_id, list(expect)),
            )
            return RunChange(won=cursor.rowcount == 1, run=await _run(conn, run_id))

        return await self._db.transaction(move)

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

        async def close(conn: Connection) -> RunChange:
            cursor = await conn.execute(
                "UPDATE runs SET status = %s, proposal_id = %s, result = %s, note = %s,"
                " finished_at = %s, updated_at = %s WHERE id = %s AND status = ANY(%s)",
                (
                    status,
                    proposal.id if proposal else None,
                    dump(result),
                    note,
                    now,
                    now,
                    run_id,
                    list(expect),
                ),
            )
            won = cursor.rowcount == 1
            if won and proposal is not None:
                await conn.execute(
                    "INSERT INTO proposals (id, metric_id, run_id, progress_id, created_at,"
                    " metric_fingerprint, body) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            return RunChange(won=won, run=await _run(conn, run_id))

        return await self._db.transaction(close)

    async def run(self, run_id: int) -> RunRow | None:
        return await self._one_run("id = %s", (run_id,))

    async def inflight_run(self, metric_id: int) -> RunRow | None:
        return await self._one_run(
            "metric_id = %s AND status = ANY(%s)", (metric_id, list(INFLIGHT))
        )

    async def last_finished_run(self, metric_id: int) -> RunRow | None:
        return await self._one_run(
            "metric_id = %s AND status = ANY(%s) ORDER BY finished_at DESC, id DESC",
            (metric_id, list(FINISHED_WITH_RESULT)),
        )

    async def run_by_progress_id(self, progress_id: str) -> RunRow | None:
        return await self._one_run("progress_id = %s ORDER BY id DESC", (progress_id,))

    async def recent_run_durations(self, limit: int = 50) -> list[float]:
        async def durations(conn: Connection) -> list[float]:
            cursor = await conn.execute(
                "SELECT finished_at - started_at AS took FROM runs WHERE status = ANY(%s)"
                f" AND finished_at IS NOT NULL AND {_VISIBLE} ORDER BY finished_at DESC LIMIT %s",
                (list(FINISHED_WITH_RESULT), self._tenant, self._tenant, limit),
            )
            return [row["took"] for row in await cursor.fetchall() if row["took"] > 0]

        return await self._db.transaction(durations)

    async def _one_run(self, where: str, params: tuple[Any, ...]) -> RunRow | None:
        """The first run this tenant sees matching `where` (which may end in ORDER BY)."""

        async def one(conn: Connection) -> RunRow | None:
            row = await _one(
                conn,
                f"SELECT * FROM runs WHERE {_VISIBLE} AND {where} LIMIT 1",
                (self._tenant, self._tenant, *params),
            )
            return run_row(row) if row else None

        return await self._db.transaction(one)

    # proposals ------------------------------------------------------------------------------

    async def proposal(self, proposal_id: str) -> ProposalRow | None:
        return await self._one_proposal("id = %s", (proposal_id,))

    async def latest_proposal(self, metric_id: int) -> ProposalRow | None:
        return await self._one_proposal(
            "metric_id = %s ORDER BY created_at DESC, seq DESC", (metric_id,)
        )

    async def add_proposal(self, proposal: ProposalRow) -> ProposalRow:
        async def add(conn: Connection) -> ProposalRow:
            await conn.execute(
                "INSERT INTO proposals (id, metric_id, run_id, progress_id, created_at,"
                " metric_fingerprint, body) VALUES (%s, %s, %s, %s, %s, %s, %s)"
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
            await conn.execute(
                "INSERT INTO proposal_joins (proposal_id, tenant) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (proposal.id, self._tenant),
            )
            row = await _one(conn, "SELECT * FROM proposals WHERE id = %s", (proposal.id,))
            assert row is not None
            return proposal_row(row)

        return await self._db.transaction(add)

    async def _one_proposal(self, where: str, params: tuple[Any, ...]) -> ProposalRow | None:
        """The first proposal this tenant sees (of a run it sees, or one it added itself) matching
        `where` (may end in ORDER BY)."""

        async def one(conn: Connection) -> ProposalRow | None:
            row = await _one(
                conn,
                f"SELECT * FROM proposals WHERE (run_id IN (SELECT id FROM runs WHERE {_VISIBLE})"
                " OR id IN (SELECT proposal_id FROM proposal_joins WHERE tenant = %s))"
                f" AND {where} LIMIT 1",
                (self._tenant, self._tenant, self._tenant, *params),
            )
            return proposal_row(row) if row else None

        return await self._db.transaction(one)


async def _run(conn: Connection, run_id: int) -> RunRow:
    row = await _one(conn, "SELECT * FROM runs WHERE id = %s", (run_id,))
    assert row is not None
    return run_row(row)
