"""Contract: the ledger under concurrency. Processes racing for one metric see exactly one
winner (the database decides, not a check in our code), and a locked database stalls only the
calls that wait on it, never the event loop."""

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import anyio
import pytest

from tools.ledger import LedgerUnavailable
from tools.ledger.models import WRITING

from .backends import open_backend

RACERS = 4


def _race(backend: str, where: str, kind: str, n: int, barrier, results) -> None:
    """One process: open the ledger, wait for the others, then claim metric 42."""
    ledger = open_backend(backend, where)
    barrier.wait()

    async def claim():
        try:
            if kind == "run":
                return await ledger.claim_run(42, "fp", f"p{n}", None, None, now=1.0)
            return await ledger.claim_apply(f"prop_{n}", 42, f"p{n}", now=1.0)
        finally:
            await ledger.aclose()

    outcome = anyio.run(claim)
    row = outcome.run if kind == "run" else outcome.row
    results.put((outcome.won, row.id))


@pytest.mark.parametrize("kind", ["run", "write"])
def test_processes_racing_for_one_metric_see_exactly_one_winner(backend, where, kind):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(RACERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(backend, where, kind, n, barrier, results))
        for n in range(RACERS)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(won for won, _ in outcomes) == [False] * (RACERS - 1) + [True]
    assert len({row_id for _, row_id in outcomes}) == 1


def test_the_database_itself_refuses_a_second_write_in_progress(backend, where):
    """No check of ours is involved: a raw insert of a second in-progress write is refused."""
    ledger = open_backend(backend, where)

    async def claim():
        try:
            await ledger.claim_apply("prop_1", 42, "a", now=1.0)
        finally:
            await ledger.aclose()

    anyio.run(claim)
    db, refused, mark = _raw(backend, where)
    for status in ("applying", "reverting"):
        with pytest.raises(refused):
            db.execute(
                "INSERT INTO applies (proposal_id, metric_id, status, owner, started_at,"
                f" updated_at) VALUES ('prop_2', 42, {mark}, 'b', 1, 1)",
                (status,),
            )
    with pytest.raises(refused):
        db.execute(
            "INSERT INTO runs (metric_id, status, fingerprint, owner, started_at, updated_at)"
            " VALUES (7, 'running', 'f', 'x', 1, 1), (7, 'paused', 'f', 'y', 1, 1)"
        )
    db.close()


def _raw(backend: str, where: str):
    """A plain driver connection to the ledger's database (autocommit), the error a constraint
    raises, and the driver's parameter mark."""
    if backend == "sqlite":
        return sqlite3.connect(where, isolation_level=None), sqlite3.IntegrityError, "?"
    import psycopg

    return psycopg.connect(where, autocommit=True), psycopg.errors.UniqueViolation, "%s"


def test_servers_opening_a_new_ledger_at_the_same_moment_all_start(backend, tmp_path: Path):
    """Servers started together used to fail with "database is locked" on a fresh file."""
    if backend != "sqlite":
        pytest.skip("file creation race of the SQLite backend")
    failures: list[Exception] = []
    for attempt in range(50):
        where = str(tmp_path / f"ledger-{attempt}.sqlite3")
        barrier = threading.Barrier(8)

        def start(where: str = where, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                ledger = open_backend(backend, where)
                anyio.run(lambda: ledger.claim_run(42, "fp", "x", None, None, now=1.0))
            except Exception as exc:
                failures.append(exc)

        threads = [threading.Thread(target=start) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


@pytest.mark.asyncio
async def test_a_locked_database_does_not_stall_other_calls(backend, where, ledger):
    if backend != "sqlite":
        pytest.skip("holds the SQLite file's write lock directly")
    await ledger.claim_run(1, "fp", "a", None, None, now=1.0)
    locker = sqlite3.connect(where, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    claimed = anyio.Event()
    outcome = {}

    async def blocked_claim() -> None:
        outcome["claim"] = await ledger.claim_apply("prop_1", 5, "a", now=2.0)
        claimed.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(blocked_claim)
        await anyio.sleep(0)
        holder = await ledger.inflight_run(1)  # a read completes while the write waits
        assert holder is not None and not claimed.is_set()
        locker.execute("COMMIT")
        with anyio.fail_after(30):
            await claimed.wait()
    locker.close()
    assert outcome["claim"].won


@pytest.mark.asyncio
async def test_storage_failures_surface_as_ledger_unavailable(backend, where, ledger):
    if backend != "sqlite":
        pytest.skip("corrupts the SQLite file")
    Path(where).write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerUnavailable):
        await ledger.inflight_run(1)


@pytest.mark.asyncio
async def test_a_cancelled_claim_is_either_returned_to_its_caller_or_never_made(ledger):
    """Cancelled at any point, a claim the database committed reaches its caller (which can then
    release it); a claim the caller never saw would hold the metric for a whole lease."""
    started = anyio.current_time()
    await ledger.claim_apply("p0", 999, "o", now=1.0)
    took = anyio.current_time() - started
    for step in range(60):
        metric_id = 1000 + step
        seen = []

        async def claim(metric_id=metric_id, seen=seen):
            seen.append(await ledger.claim_apply(f"p{metric_id}", metric_id, "o", now=1.0))

        async with anyio.create_task_group() as tg:
            tg.start_soon(claim)
            await anyio.sleep(took * step / 40)  # from at once to well after a claim's usual time
            tg.cancel_scope.cancel()
        held = await ledger.applies_with_status(metric_id, WRITING)
        assert bool(held) == bool(seen), f"cancelled after {took * step / 40:.4f} s"
