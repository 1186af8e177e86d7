"""The runtime a server process builds: polling starts from the run times the ledger recorded;
the one ledger store it opens is the SQLite file or, given a database URL, PostgreSQL."""

from pathlib import Path

import pytest

from server.runtime import Runtime
from server.settings import Settings, SettingsError
from tools.ledger import LedgerUnavailable, open_ledger

pytestmark = pytest.mark.anyio


async def test_a_new_process_polls_with_the_run_times_its_ledger_saw(tmp_path):
    settings = Settings(api_key="k-runtime", state_dir=tmp_path)
    ledger = open_ledger(settings.ledger_path())
    for metric_id in range(1, 7):
        run = (
            await ledger.claim_run(metric_id, "fp", "earlier-process", None, None, now=1000.0)
        ).run
        await ledger.close_run(run.id, "proposed", now=1000.0 + 60 * metric_id)
    runtime = Runtime(settings)
    policy = (await runtime.workflow()).policy
    await runtime.aclose()
    assert sorted(policy.poll.run_times.samples()) == [60.0 * m for m in range(1, 7)]
    assert len(policy.run_reviews_poll.run_times) == 0


async def test_with_a_database_url_the_process_opens_one_store_on_postgresql(pg_database):
    runtime = Runtime(Settings(api_key="k-runtime", database_url=pg_database))
    workflow = await runtime.workflow()
    store = await runtime.store()
    assert workflow.ledger is store and workflow.clock is store.clock()
    assert type(store).__name__ == "PgLedger"
    await store.check()
    await runtime.aclose()
    with pytest.raises(LedgerUnavailable):  # closed with the runtime
        await store.check()


def test_the_database_url_comes_from_the_flag_or_the_environment_and_is_never_echoed():
    env = {"CEKURA_OPTIMISE_DATABASE_URL": "postgresql://u:pw-env@db/x"}
    assert Settings.from_env(env).store_location() == "postgresql://u:pw-env@db/x"
    flagged = Settings.from_env(env, database_url="postgresql://u:pw-flag@db/y")
    assert flagged.store_location() == "postgresql://u:pw-flag@db/y"
    assert "pw-flag" not in repr(flagged)
    assert Settings.from_env({}, state_dir="/tmp/s").store_location() == Path(
        "/tmp/s/ledger.sqlite3"
    )
    with pytest.raises(SettingsError, match="CEKURA_OPTIMISE_DATABASE_URL") as caught:
        Settings.from_env({"CEKURA_OPTIMISE_DATABASE_URL": "mysql://u:pw-bad@db/x"})
    assert "pw-bad" not in str(caught.value)
