"""The OAuth store on its own, a contract every backend keeps (SQLite, and PostgreSQL when its
server binaries are installed): single-use codes, refresh rotation, purges, pending consents, its
errors; and for SQLite, a locked database file that must not stall the event loop."""

import sqlite3
import threading

import anyio
import pytest
import pytest_asyncio

from server.oauth.crypto import digest, new_token
from tools.ledger import LedgerUnavailable, open_oauth_store
from tools.ledger.oauth import IDLE_CLIENT_S, Code, Grant, NewToken, OAuthStorage
from tools.ledger.sqlite_file import SqliteFile
from tools.ledger.sqlite_oauth import OAuthStore

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    """A fresh store of each backend."""
    if request.param == "postgres":
        where = request.getfixturevalue("pg_database")
    else:
        where = tmp_path / "ledger.sqlite3"
    opened = open_oauth_store(where, 0.0)
    yield opened
    await opened.aclose()


async def _grant(store: OAuthStorage, grant_id: str, now: float, code_ttl: float = 60) -> str:
    code = new_token("coc_")
    await store.add_grant_with_code(
        Grant(grant_id, "client-1", "sealed", ["optimise"], now),
        digest(code),
        Code(
            grant_id,
            "client-1",
            "http://127.0.0.1/cb",
            "c" * 43,
            ["optimise"],
            now + code_ttl,
            None,
        ),
    )
    return code


async def test_codes_redeem_once_and_refresh_rotates_once(store):
    code = await _grant(store, "g1", 100.0)
    pair = [NewToken(digest("a1"), "access", 200.0), NewToken(digest("r1"), "refresh", 900.0)]
    assert await store.redeem_code(digest(code), "client-1", ["optimise"], pair, 101.0)
    assert not await store.redeem_code(digest(code), "client-1", ["optimise"], pair, 102.0)
    assert (await store.code(digest(code))).used_at == 101.0
    again = [NewToken(digest("a2"), "access", 300.0), NewToken(digest("r2"), "refresh", 900.0)]
    assert await store.rotate_refresh(digest("r1"), ["optimise"], again, 150.0)
    assert not await store.rotate_refresh(digest("r1"), ["optimise"], again, 151.0)
    assert await store.token(digest("a1"), "access") is None  # the old access token went with it
    assert (
        await store.token(digest("r1"), "refresh")
    ).rotated_at == 150.0  # kept, to spot a replay
    assert (await store.token(digest("a2"), "access")).grant_id == "g1"


async def test_expired_codes_cannot_be_redeemed(store):
    code = await _grant(store, "g1", 100.0, code_ttl=10)
    pair = [NewToken(digest("a"), "access", 999.0), NewToken(digest("r"), "refresh", 999.0)]
    assert not await store.redeem_code(digest(code), "client-1", ["optimise"], pair, 111.0)
    assert not await store.redeem_code(digest(code), "client-2", ["optimise"], pair, 101.0)


async def test_purge_forgets_what_can_no_longer_be_used(store):
    await store.add_pending(digest("p"), "client-1", {"state": "s"}, expires_at=50.0)
    await _grant(store, "unused", 0.0, code_ttl=60)  # its code expires unused at 60
    live = await _grant(store, "live", 0.0)
    rows = [NewToken(digest("a"), "access", 70.0), NewToken(digest("r"), "refresh", 1000.0)]
    await store.redeem_code(digest(live), "client-1", ["optimise"], rows, 1.0)
    await store.purge(100.0)
    assert await store.pending(digest("p"), 0.0) is None
    assert await store.grant("unused") is None  # and its encrypted key with it
    assert await store.grant("live") is not None
    assert await store.token(digest("a"), "access") is None
    assert await store.token(digest("r"), "refresh") is not None
    await store.revoke_grant("live")
    assert await store.grant("live") is None and await store.token(digest("r"), "refresh") is None


async def test_purge_drops_client_registrations_idle_for_an_hour_without_a_grant(store):
    for client_id in ("idle", "consenting", "client-1"):
        await store.save_client(client_id, {"client_id": client_id}, None, 0.0)
    await store.add_pending(digest("p"), "consenting", {"state": "s"}, expires_at=99_999.0)
    await _grant(store, "g1", 0.0, code_ttl=99_999)
    await store.purge(IDLE_CLIENT_S - 1)
    assert await store.client_count() == 3
    await store.purge(IDLE_CLIENT_S + 1)
    assert await store.client("idle") is None
    assert (
        await store.client("consenting") is not None and await store.client("client-1") is not None
    )


async def test_a_pending_consent_is_taken_once(store):
    await store.add_pending(digest("p"), "client-1", {"state": "s"}, expires_at=50.0)
    assert await store.count_attempt(digest("p")) == 1
    assert (await store.take_pending(digest("p"), 10.0)).params == {"state": "s"}
    assert await store.take_pending(digest("p"), 10.0) is None


async def test_a_duplicate_registration_is_ledger_unavailable(store):
    await store.save_client("client-1", {"client_id": "client-1"}, None, 0.0)
    with pytest.raises(LedgerUnavailable):
        await store.save_client("client-1", {"client_id": "client-1"}, None, 0.0)
    await store.check()  # and the store still answers


async def test_store_failures_are_ledger_unavailable(tmp_path):
    with pytest.raises(LedgerUnavailable):
        OAuthStore(tmp_path)  # a directory, not a database file
    store = OAuthStore(tmp_path / "ledger.sqlite3")
    await store.save_client("client-1", {"client_id": "client-1"}, None, 0.0)
    with pytest.raises(LedgerUnavailable, match="IntegrityError"):
        await store.save_client("client-1", {"client_id": "client-1"}, None, 0.0)


async def test_a_locked_database_does_not_stall_the_event_loop(tmp_path, monkeypatch):
    store = OAuthStore(tmp_path / "ledger.sqlite3")
    entered = threading.Event()
    write_now = SqliteFile.write_now

    def spy(self, fn):
        entered.set()
        return write_now(self, fn)

    monkeypatch.setattr(SqliteFile, "write_now", spy)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-write: the write lock is taken
    saved, meanwhile = anyio.Event(), anyio.Event()

    async def save() -> None:
        await store.save_client("late", {"client_id": "late"}, None, 0.0)
        saved.set()

    async def other() -> None:
        meanwhile.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(save)
            try:
                assert await anyio.to_thread.run_sync(entered.wait, 10)  # the write is under way
                tasks.start_soon(other)
                await meanwhile.wait()  # another task ran while the write waits on the lock
                assert await store.client_count() == 0  # and another store call completed
                assert await store.client("late") is None
                assert not saved.is_set()
            finally:
                holder.close()  # the other process lets go
            await saved.wait()
    assert await store.client("late") is not None
