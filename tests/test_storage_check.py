"""The readiness probe of the SQLite stores: `check()` passes on a current database and raises
`LedgerUnavailable` when the file is gone or its schema is not the current one."""

import shutil
import sqlite3

import pytest

from tools.ledger import LedgerUnavailable, open_ledger
from tools.ledger.sqlite_oauth import OAuthStore

pytestmark = pytest.mark.asyncio

STORES = {"ledger": open_ledger, "oauth": OAuthStore}


@pytest.fixture(params=sorted(STORES))
def store(request, tmp_path):
    return STORES[request.param](tmp_path / "state" / "ledger.sqlite3")


async def test_a_current_store_is_ready(store):
    await store.check()


async def test_a_removed_state_directory_is_unavailable_and_not_recreated(store):
    shutil.rmtree(store.path.parent)
    with pytest.raises(LedgerUnavailable):
        await store.check()
    assert not store.path.parent.exists()


@pytest.mark.parametrize("change", ["table", "column"])
async def test_a_schema_behind_the_code_is_unavailable(store, change):
    with sqlite3.connect(store.path) as db:
        table = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name LIMIT 1"
        ).fetchone()[0]
        if change == "table":
            db.execute(f"DROP TABLE {table}")
        else:
            column = db.execute(f"PRAGMA table_info({table})").fetchall()[-1][1]
            for (index,) in db.execute(  # SQLite drops no column an index names
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql IS NOT NULL",
                (table,),
            ).fetchall():
                db.execute(f"DROP INDEX {index}")
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    with pytest.raises(LedgerUnavailable, match="schema is not current"):
        await store.check()


async def test_a_file_that_is_not_a_database_is_unavailable(store):
    store.path.write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    with pytest.raises(LedgerUnavailable):
        await store.check()
