"""The ledger store as a deployment meets it: a single-user SQLite ledger from before tenants keeps
working; on PostgreSQL, replicas starting together against an empty database all start and make
one schema, `check()` tells a current schema from a stale one, a database that cannot be reached
is `LedgerUnavailable` without its password, and leases are stamped on the database's clock."""

import multiprocessing
import sqlite3
import time

import anyio
import psycopg
import pytest

from tools.ledger import LedgerUnavailable, open_ledger
from tools.ledger.postgres_schema import SCHEMA_VERSION
from tools.writes.hold import holder_gone

REPLICAS = 8

# The ledger file as the version before tenants made it (a run with a proposal, one write).
_BEFORE_TENANTS = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, metric_id INTEGER NOT NULL,
    status TEXT NOT NULL, progress_id TEXT, fingerprint TEXT NOT NULL, owner TEXT NOT NULL,
    test_set_ids TEXT, started_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL,
    proposal_id TEXT, metric_fingerprint TEXT, result TEXT, note TEXT);
CREATE TABLE proposals (id TEXT PRIMARY KEY, metric_id INTEGER NOT NULL, run_id INTEGER,
    progress_id TEXT, created_at REAL NOT NULL, metric_fingerprint TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE TABLE applies (id INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL,
    metric_id INTEGER NOT NULL, status TEXT NOT NULL, owner TEXT NOT NULL,
    lease INTEGER NOT NULL DEFAULT 0, history_id_before INTEGER, replaced TEXT,
    started_at REAL NOT NULL, updated_at REAL NOT NULL, body TEXT);
INSERT INTO runs (metric_id, status, fingerprint, owner, started_at, updated_at, finished_at,
    proposal_id, result) VALUES (7, 'proposed', 'fp', 'me', 1, 2, 2, 'prop_old', '{"s": 1}');
INSERT INTO proposals VALUES ('prop_old', 7, 1, 'p', 2, 'm', '{"patch": {}}');
INSERT INTO applies (proposal_id, metric_id, status, owner, started_at, updated_at)
    VALUES ('prop_old', 7, 'applied', 'me', 3, 3);
"""


@pytest.mark.asyncio
async def test_a_single_user_ledger_from_before_tenants_keeps_working(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_BEFORE_TENANTS)
    db.close()
    ledger = open_ledger(path)
    await ledger.check()
    assert (await ledger.latest_proposal(7)).id == "prop_old"
    assert (await ledger.last_finished_run(7)).result == {"s": 1}
    assert (await ledger.last_apply(7, ("applied",))).proposal_id == "prop_old"
    assert (await ledger.claim_run(7, "fp2", "me", None, None, now=4)).won


def _replica(url: str, barrier, results) -> None:
    """One replica starting: open the store against the database, then use it."""
    barrier.wait()

    async def start() -> bool:
        ledger = open_ledger(url)
        try:
            await ledger.check()
            return (await ledger.claim_run(42, "fp", "x", None, None, now=1.0)).won
        finally:
            await ledger.aclose()

    results.put(anyio.run(start))


def test_replicas_starting_at_once_on_an_empty_database_all_start_with_one_schema(pg_database):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(REPLICAS), ctx.Queue()
    procs = [
        ctx.Process(target=_replica, args=(pg_database, barrier, results)) for _ in range(REPLICAS)
    ]
    for proc in procs:
        proc.start()
    won = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0] * REPLICAS
    assert sorted(won) == [False] * (REPLICAS - 1) + [True]
    with psycopg.connect(pg_database) as conn:
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
    assert rows == [(SCHEMA_VERSION,)]


@pytest.mark.asyncio
async def test_check_refuses_a_schema_that_is_not_this_servers(pg_database):
    ledger = open_ledger(pg_database)
    try:
        await ledger.check()
        for version, words in ((SCHEMA_VERSION + 1, "newer"), (0, "needs")):
            with psycopg.connect(pg_database, autocommit=True) as conn:
                conn.execute("UPDATE schema_version SET version = %s", (version,))
            with pytest.raises(LedgerUnavailable, match=words):
                await ledger.check()
    finally:
        await ledger.aclose()


@pytest.mark.asyncio
async def test_an_unreachable_database_is_unavailable_and_never_shows_its_password(pg_url):
    port = int(pg_url.rsplit(":", 1)[1].split("/")[0])
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{port + 1}/nowhere"
    ledger = open_ledger(url)
    try:
        with pytest.raises(LedgerUnavailable) as caught:
            await ledger.inflight_run(1)
        with pytest.raises(LedgerUnavailable):
            await ledger.check()
    finally:
        await ledger.aclose()
    assert "s3cret-pw" not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.asyncio
async def test_a_replica_whose_clock_is_an_hour_slow_stamps_leases_on_the_databases(
    pg_database, monkeypatch
):
    honest, slow = open_ledger(pg_database), open_ledger(pg_database)
    try:
        await honest.check()
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() - 3600)
        await slow.check()  # anchors its clock on the server's
        row = (await slow.claim_apply("prop_1", 5, "slow", now=slow.clock().now())).row
        with psycopg.connect(pg_database) as conn:
            server_now = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
        assert abs(row.updated_at - float(server_now[0])) < 5
        assert not holder_gone(row, honest.clock().now(), lease_s=600, exited=lambda _: False)
    finally:
        await honest.aclose()
        await slow.aclose()


@pytest.mark.asyncio
async def test_a_store_opened_before_its_database_exists_works_once_it_does(pg_url):
    url = pg_url.rsplit("/", 1)[0] + "/not_yet"
    ledger = open_ledger(url)
    try:
        with pytest.raises(LedgerUnavailable, match=r"not_yet.*does not exist"):
            await ledger.check()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE not_yet")
        await ledger.check()
        assert (await ledger.claim_run(1, "fp", "x", None, None, now=1.0)).won
    finally:
        await ledger.aclose()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS not_yet WITH (FORCE)")


@pytest.mark.asyncio
async def test_a_database_lost_while_serving_is_unavailable_with_its_cause_then_recovers(pg_url):
    url = pg_url.rsplit("/", 1)[0] + "/comes_and_goes"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE comes_and_goes")
    ledger = open_ledger(url)
    try:
        assert (await ledger.claim_run(1, "fp", "x", None, None, now=1.0)).won
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE comes_and_goes WITH (FORCE)")
        with pytest.raises(LedgerUnavailable, match=r"comes_and_goes.*does not exist"):
            await ledger.inflight_run(1)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE comes_and_goes")
        with pytest.raises(LedgerUnavailable, match=r"relation .* does not exist"):
            await ledger.inflight_run(1)  # the pool is back; the schema went with the database
    finally:
        await ledger.aclose()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS comes_and_goes WITH (FORCE)")
