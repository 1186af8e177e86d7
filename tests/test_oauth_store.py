"""The OAuth store on its own, a contract every backend keeps (SQLite, and PostgreSQL when its
server binaries are installed): single-use codes, refresh rotation, purges, pending consents, its
errors, registrations counted by address and purged sooner when unused, settings, re-keying and
forgetting secrets; and for SQLite, a locked database file that must not stall the event loop, the
space purges give back and private file modes."""

import os
import sqlite3
import stat
import threading

import anyio
import pytest
import pytest_asyncio

from server.oauth.crypto import digest, new_token
from tools.ledger import LedgerUnavailable, open_oauth_store
from tools.ledger.oauth import IDLE_CLIENT_S, UNUSED_CLIENT_S, Code, Grant, NewToken, OAuthStorage
from tools.ledger.sqlite_file import SqliteFile
from tools.ledger.sqlite_oauth import OAuthStore

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path):
    """Where a fresh store of each backend lives: a SQLite file or a PostgreSQL database."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_database")
    return tmp_path / "ledger.sqlite3"


@pytest_asyncio.fixture
async def store(location):
    """A fresh store of each backend."""
    opened = open_oauth_store(location, 0.0)
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


async def test_purge_drops_unused_registrations_after_minutes_and_idle_ones_after_an_hour(
    store,
):
    for client_id in ("never-used", "consenting", "client-1", "used-once"):
        await store.save_client(client_id, {"client_id": client_id}, None, 0.0)
    await store.add_pending(digest("p"), "consenting", {"state": "s"}, expires_at=99_999.0)
    await _grant(store, "g1", 0.0, code_ttl=99_999)  # client-1 holds a live grant
    await store.add_grant_with_code(
        Grant("g2", "used-once", "sealed", ["optimise"], 1.0),
        digest("c2"),
        Code("g2", "used-once", "http://127.0.0.1/cb", "c" * 43, ["optimise"], 99_999.0, None),
    )
    await store.revoke_grant("g2")  # used once, then disconnected
    await store.purge(UNUSED_CLIENT_S - 1)
    assert await store.client_count() == 4
    await store.purge(UNUSED_CLIENT_S + 1)
    assert await store.client("never-used") is None
    assert await store.client_count() == 3
    await store.purge(IDLE_CLIENT_S + 1)
    assert await store.client("used-once") is None
    assert (
        await store.client("consenting") is not None and await store.client("client-1") is not None
    )


async def test_unused_registrations_are_counted_per_address(store):
    for n in range(3):
        await store.save_client(f"flood-{n}", {}, None, 0.0, "198.51.100.7")
    await store.save_client("client-1", {}, None, 0.0, "203.0.113.9")
    assert await store.unused_clients("198.51.100.7") == 3
    assert await store.unused_clients("203.0.113.9") == 1
    assert await store.unused_clients("192.0.2.1") == 0
    await _grant(store, "g1", 0.0)  # a consent uses client-1
    assert await store.unused_clients("203.0.113.9") == 0
    await store.revoke_grant("g1")
    assert await store.unused_clients("203.0.113.9") == 0  # used once is used


async def test_settings_are_kept_and_replaced(store, location):
    assert await store.setting("secret_canary") is None
    await store.save_setting("secret_canary", "one")
    await store.save_setting("secret_canary", "two")
    assert await store.setting("secret_canary") == "two"
    reopened = open_oauth_store(location, 0.0)
    assert await reopened.setting("secret_canary") == "two"
    await reopened.aclose()


async def test_rekeying_replaces_the_stored_ciphertexts(store):
    await store.save_client("client-1", {"client_id": "client-1"}, "old-secret-enc", 0.0)
    await _grant(store, "g1", 0.0)
    await store.rekey_client("client-1", "new-secret-enc")
    await store.rekey_grant("g1", "new-key-enc")
    assert (await store.client("client-1")).secret_enc == "new-secret-enc"
    grant = await store.grant("g1")
    assert (grant.key_enc, grant.client_id, grant.scopes) == (
        "new-key-enc",
        "client-1",
        ["optimise"],
    )


async def test_forgetting_secrets_drops_every_connection_and_confidential_client(store):
    await store.save_client("confidential", {}, "secret-enc", 0.0)
    await store.save_client("public", {}, None, 0.0)
    code = await _grant(store, "g1", 0.0)
    rows = [NewToken(digest("a"), "access", 900.0), NewToken(digest("r"), "refresh", 900.0)]
    await store.redeem_code(digest(code), "client-1", ["optimise"], rows, 1.0)
    await _grant(store, "g2", 0.0)
    await store.add_pending(digest("p"), "public", {"state": "s"}, expires_at=900.0)
    await store.save_setting("secret_canary", "kept")
    await store.forget_secrets()
    assert await store.grant("g1") is None and await store.grant("g2") is None
    assert await store.token(digest("a"), "access") is None
    assert await store.token(digest("r"), "refresh") is None
    assert await store.code(digest(code)) is None
    assert await store.pending(digest("p"), 0.0) is None
    assert await store.client("confidential") is None
    assert await store.client("public") is not None
    assert await store.setting("secret_canary") == "kept"


# SQLite only: the file itself ----------------------------------------------------------------


async def test_purged_registrations_give_their_space_back(tmp_path):
    store = OAuthStore(tmp_path / "ledger.sqlite3")
    empty = os.path.getsize(store.path)
    metadata = {"client_name": "n" * 200, "redirect_uris": ["https://a.example/" + "p" * 1500]}

    async def register(first: int) -> None:
        for n in range(first, 10_000, 20):
            await store.save_client(f"c-{n}", metadata, None, 0.0, f"10.0.{n % 250}.1")

    async with anyio.create_task_group() as tasks:
        for first in range(20):
            tasks.start_soon(register, first)
    full = os.path.getsize(store.path)
    assert await store.client_count() == 10_000 and full > 15_000_000
    await store.purge(UNUSED_CLIENT_S + 1)
    assert await store.client_count() == 0
    assert os.path.getsize(store.path) < empty + 100_000  # the file shrank back


async def test_a_database_from_an_earlier_version_is_upgraded_in_place(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE oauth_clients (client_id TEXT PRIMARY KEY, metadata TEXT NOT NULL,"
        " secret_enc TEXT, created_at REAL NOT NULL)"
    )
    db.execute("INSERT INTO oauth_clients VALUES ('old', '{}', NULL, 0)")
    db.commit()
    db.close()
    store = OAuthStore(path)
    assert await store.unused_clients("") == 1  # the old row counts as unused, no address
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental from now on
    finally:
        db.close()


async def test_state_files_are_private_to_their_owner(tmp_path):
    old = tmp_path / "old.sqlite3"
    old.touch(mode=0o644)
    os.chmod(old, 0o644)  # as an earlier version left it
    for path in (tmp_path / "state" / "ledger.sqlite3", old):
        store = OAuthStore(path)
        holder = sqlite3.connect(path)  # keeps -wal and -shm in place to look at
        try:
            holder.execute("SELECT COUNT(*) FROM oauth_clients").fetchone()
            await store.save_client("c", {}, None, 0.0)
            files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
            assert all(f.exists() for f in files)
            for f in files:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        finally:
            holder.close()
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


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
