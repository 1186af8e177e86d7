"""Upstream situations the seeded sandbox cannot stage, driven with respx: more labelled
production calls than the cost guard allows, and a re-evaluation whose results never come back."""

import httpx
import pytest
import pytest_asyncio
import respx

from support import FakeClock
from tools.cekura.client import CekuraClient
from tools.context import Policy, Workflow
from tools.ledger import open_ledger
from tools.ledger.models import new_proposal
from tools.workflows.check_calls import check_on_calls
from tools.workflows.validate import validate_on_calls

pytestmark = pytest.mark.asyncio
BASE = "https://cekura.test"
METRIC = {"id": 7, "name": "Booked", "type": "llm_judge", "eval_type": "binary", "agents": [3]}
CALLS = "/observability/v2/call-logs/"


def _item(score, expected=None):
    return {
        "id": 7,
        "name": "Booked",
        "type": "binary",
        "score": score,
        "enum": "",
        "value": "",
        "explanation": [],
        "extra": {},
        "expected_value": expected,
    }


def _call(call_id, score, expected=None):
    return {
        "id": call_id,
        "call_id": f"c-{call_id}",
        "agent": 3,
        "is_reviewed": True,
        "timestamp": "2026-11-30T10:00:00Z",
        "evaluation": {"metrics": [_item(score, expected)]},
    }


@pytest_asyncio.fixture
async def wf(tmp_path):
    clock = FakeClock()
    async with CekuraClient("k-unit", BASE, sleep=clock.sleep, clock=clock.now) as client:
        yield Workflow(
            client=client,
            ledger=open_ledger(tmp_path / "l.db"),
            clock=clock,
            policy=Policy(verify_timeout_s=60),
            owner="unit",
        )


async def test_over_100_held_out_calls_need_confirmation_and_nothing_is_previewed(wf):
    run = (await wf.ledger.claim_run(7, "fp", "unit", None, None, now=1.0)).run
    proposal = new_proposal(
        7,
        progress_id="p",
        metric_fingerprint="m",
        body={"patch": {"description": "New."}, "evidence": {}},
    )
    await wf.ledger.close_run(run.id, "proposed", proposal=proposal, now=2.0)
    rows = [{**_call(n, 0), "metrics": [_item(0)]} for n in range(1, 102)]
    with respx.mock(base_url=BASE, assert_all_called=False) as api:
        api.get("/test_framework/v2/metrics/7/").respond(json=METRIC)
        api.get(CALLS).respond(json={"count": 101, "next": None, "previous": None, "results": rows})
        for n in range(1, 102):
            api.get(f"{CALLS}{n}/").respond(json=_call(n, 0, expected=5))
        preview = api.post("/test_framework/v2/metrics/preview/")
        result = await check_on_calls(wf, 7)
    assert result.status == "needs_confirmation"
    assert (result.cost.calls, result.cost.evaluations) == (101, 101)
    assert not preview.called


async def test_a_re_evaluation_that_never_returns_is_timed_out_with_the_calls_named(wf):
    reads = []

    def call_log(request):
        reads.append(request)
        score = 0 if len(reads) == 1 else None  # the re-run's result never arrives
        return httpx.Response(200, json=_call(11, score, expected=5))

    with respx.mock(base_url=BASE) as api:
        api.get(f"{CALLS}11/").mock(side_effect=call_log)
        api.post(f"{CALLS}rerun_evaluation/").respond(json=[_call(11, None, expected=5)])
        result = await validate_on_calls(wf, 7, [11])
    assert len(reads) > 2 and wf.clock.now() - 1_800_000_000.0 >= 60
    assert result.status == "timed_out" and result.pending == [11]
    assert result.next_steps and "call_ids=[11]" in result.next_steps[0]
