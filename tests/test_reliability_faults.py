"""Transient faults on every endpoint the tools use: reads and identical writes recover within the
deadline, the result says how many retries it took, and nothing is written twice."""

import pytest

from sandbox import Fault
from support import sandbox_world
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio

REPEATABLE_ROUTES = [
    "metric_get",
    "process_feedbacks_progress",
    "metric_history",
    "metric_patch",
    "run_reviews_progress",
]
BURSTS = [
    pytest.param(dict(kind="429", times=2, retry_after=3.0), id="429-retry-after"),
    pytest.param(dict(kind="5xx", status=502, times=2), id="502-burst"),
    pytest.param(dict(kind="5xx", status=503, times=3), id="503-burst"),
    pytest.param(dict(kind="drop", times=1), id="connection-reset"),
    pytest.param(dict(kind="latency", delay_s=0.02, times=3), id="slow"),
]


@pytest.mark.parametrize("route", REPEATABLE_ROUTES)
@pytest.mark.parametrize("burst", BURSTS)
async def test_optimise_and_apply_recover_from_bursts(tmp_path, route, burst):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.add(Fault(route=route, **burst))
        proposed = await optimise_metric(w.wf, 101)
        applied = await apply_if_not_regressed(w.wf, 101)
        assert proposed.status == "proposed"
        assert applied.status == "applied"
        total = proposed.retries + applied.retries
        if burst["kind"] == "latency":
            assert total == 0
        else:
            assert total == burst["times"]
        assert w.state.count("process_feedbacks") == 1
        assert w.state.count("metric_patch", effective=True) == 1
        assert w.state.count("run_reviews") == 1


async def test_retry_after_is_honoured(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.add(Fault(route="metric_get", kind="429", times=1, retry_after=7.0))
        await optimise_metric(w.wf, 105)
        assert 7.0 in w.clock.slept


async def test_restore_recovers_from_a_burst(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 106)
        w.state.faults.add(Fault(route="metric_restore", kind="5xx", status=503, times=2))
        result = await apply_if_not_regressed(w.wf, 106)
        assert result.status == "reverted" and result.retries == 2
        assert w.state.count("metric_restore", effective=True) == 1


async def test_a_write_that_took_effect_but_lost_its_answer_is_not_doubled(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        w.state.faults.add(Fault(route="metric_patch", kind="drop_after", times=1))
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied"
        assert result.retries == 1
        assert w.state.metric(101)["description"].count("Sounds good") == 1


async def test_a_rescore_start_that_fails_is_reported_unverified_not_repeated(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        w.state.faults.add(Fault(route="run_reviews", kind="5xx", status=503, times=5))
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied_unverified"
        assert any("re-score" in x for x in result.warnings)
        assert w.state.count("run_reviews") == 1


async def test_cancel_recovers_from_a_burst(tmp_path):
    from tools.workflows.cancel import cancel_optimisation

    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101)
        await optimise_metric(w.wf, 101, max_wait_s=30)
        w.state.faults.add(Fault(route="process_feedbacks_cancel", kind="5xx", status=503, times=2))
        result = await cancel_optimisation(w.wf, 101)
        assert result.status == "cancelled" and result.retries == 2
