"""End to end on PostgreSQL: an OAuth-mode server process with CEKURA_OPTIMISE_DATABASE_URL keeps
its OAuth state and its ledger in the database (no SQLite file at all): a person signs in, runs
the routine, and the rows are there under their tenant; the URL's password never reaches a log."""

import httpx
import psycopg
import pytest
from e2e import OAuthUser, bearer_client, oauth_env, oauth_server

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY = "ck_pg_person_3e9a"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    with start_background(state) as server:
        yield server


async def test_an_oauth_server_on_postgresql_keeps_everything_in_the_database(
    sandbox, tmp_path, pg_database
):
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE ROLE app LOGIN PASSWORD 'pw-never-logged'")
        conn.execute("GRANT ALL ON SCHEMA public TO app")
    url = pg_database.replace("postgres@", "app:pw-never-logged@")
    env = oauth_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_DATABASE_URL=url)
    log = tmp_path / "stderr.log"
    with oauth_server(env, log, verbose=True) as public:
        async with httpx.AsyncClient(timeout=20) as http:
            person = await OAuthUser(http, public).sign_in(KEY)
        async with bearer_client(public, person["access_token"]) as client:
            done = await client.call_tool("optimise_metrics", {"metric_ids": [101]})
    assert [m["status"] for m in done.structured_content["metrics"]] == ["proposed"]
    with psycopg.connect(pg_database) as conn:
        runs = conn.execute("SELECT metric_id, tenant FROM runs").fetchall()
        grants = conn.execute("SELECT COUNT(*) FROM oauth_grants").fetchone()[0]
    assert [metric for metric, _ in runs] == [101] and runs[0][1] != ""
    assert grants == 1
    assert not list(tmp_path.rglob("*.sqlite3"))
    assert "pw-never-logged" not in log.read_text()
