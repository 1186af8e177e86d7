"""Upstream shapes the sandbox never sends, driven with respx: an unknown progress status and a
metric body missing required fields."""

import pytest
import respx

from support import FakeClock
from tools.cekura.client import CekuraClient
from tools.context import Policy, Workflow
from tools.errors import WorkflowError
from tools.ledger import open_ledger
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio
BASE = "https://cekura.test"
METRIC = {
    "id": 7,
    "name": "Booked",
    "description": "Judge it.",
    "type": "llm_judge",
    "eval_type": "binary",
    "evaluation_trigger": "always",
    "reviews": [  # six labelled Lab rows: enough feedback for a run to start
        {"id": 70 + n, "expected_value": 5, "actual_value": 0, "feedback": f"At 00:0{n} 'yes'."}
        for n in range(6)
    ],
}


@pytest.fixture
async def wf(tmp_path):
    clock = FakeClock()
    async with CekuraClient("k-unit", BASE, sleep=clock.sleep, clock=clock.now) as client:
        yield Workflow(
            client=client,
            ledger=open_ledger(tmp_path / "l.db"),
            clock=clock,
            policy=Policy(),
            owner="unit",
        )


async def test_unknown_progress_status_is_treated_as_running_until_the_deadline(wf):
    with respx.mock(base_url=BASE) as api:
        api.get("/test_framework/v2/metrics/7/").respond(json=METRIC)
        api.post("/test_framework/metric-reviews/process_feedbacks/").respond(
            json={"progress_id": "p-1"}
        )
        progress = api.get("/test_framework/metric-reviews/process_feedbacks_progress/").respond(
            json={"status": "thinking_really_hard", "current_step": "step 3 of 9"}
        )
        result = await optimise_metric(wf, 7, max_wait_s=300)
        assert api.calls.call_count == 2 + result.polls
    assert result.status == "timed_out" and result.progress_id == "p-1"
    assert progress.call_count == result.polls > 1


async def test_metric_missing_required_fields_is_a_clear_error_and_nothing_starts(wf):
    with respx.mock(base_url=BASE, assert_all_called=False) as api:
        api.get("/test_framework/v2/metrics/7/").respond(json={"id": 7, "description": "x"})
        start = api.post("/test_framework/metric-reviews/process_feedbacks/")
        with pytest.raises(WorkflowError, match="cannot read"):
            await optimise_metric(wf, 7)
    assert not start.called
