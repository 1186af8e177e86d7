"""The runtime a server process builds: polling starts from the run times the ledger recorded."""

import pytest

from server.runtime import Runtime
from server.settings import Settings
from tools.ledger import open_ledger

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
