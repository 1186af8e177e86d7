"""Injected faults reach an httpx client as real failures would; the log says what took effect."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from sandbox import Fault, FaultSpecError, RunFault, SandboxState, parse_fault_spec
from sandbox.__main__ import main as sandbox_main

pytestmark = pytest.mark.anyio

START = "/test_framework/metric-reviews/process_feedbacks/"
PROGRESS = "/test_framework/metric-reviews/process_feedbacks_progress/"


async def test_429_carries_retry_after_and_is_counted_as_received_not_effective(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="metric_get", kind="429", times=2, retry_after=3))
    first = await client.get("/test_framework/v2/metrics/101/")
    second = await client.get("/test_framework/v2/metrics/101/")
    third = await client.get("/test_framework/v2/metrics/101/")
    assert (first.status_code, first.headers["retry-after"]) == (429, "3")
    assert first.json() == {"detail": "Request was throttled. Expected available in 3 seconds."}
    assert (second.status_code, third.status_code) == (429, 200)
    assert state.count("metric_get", metric_id=101) == 3
    assert state.count("metric_get", metric_id=101, effective=True) == 1
    assert [r.fault for r in state.requests] == ["429", "429", None]


async def test_5xx_is_an_html_error_page(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults.add(Fault(route="metric_patch", kind="5xx", status=502))
    response = await client.patch("/test_framework/v2/metrics/101/", json={"description": "x"})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "Server Error (502)" in response.text
    assert state.metric(101)["description"] != "x", "the write never reached the handler"


async def test_html_is_a_200_that_is_not_json(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="metrics_list", kind="html"))
    response = await client.get("/test_framework/v2/metrics/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_latency_delays_then_answers(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults.add(Fault(route="*", kind="latency", delay_s=0.03, times=1))
    started = time.perf_counter()
    response = await client.get("/test_framework/v2/metrics/101/")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.03
    assert state.count("metric_get", effective=True) == 1


async def test_a_drop_before_processing_is_a_transport_error_with_no_effect(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="process_feedbacks", kind="drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(START, json={"metric_id": 101})
    assert state.optimiser_jobs == {}
    assert state.count("process_feedbacks", metric_id=101) == 1
    assert state.count("process_feedbacks", effective=True) == 0


async def test_a_drop_after_processing_loses_the_response_but_not_the_effect(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="process_feedbacks", kind="drop_after"))
    with pytest.raises(httpx.TransportError):
        await client.post(START, json={"metric_id": 101})
    assert len(state.optimiser_jobs) == 1, (
        "the optimisation started although the client saw an error"
    )
    assert state.count("process_feedbacks", effective=True) == 1
    retried = await client.post(START, json={"metric_id": 101})
    assert retried.status_code == 200
    assert len(state.optimiser_jobs) == 2, "a blind retry starts a second optimisation"


async def test_a_truncated_body_is_a_200_with_broken_json(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="metric_patch", kind="truncated"))
    response = await client.patch("/test_framework/v2/metrics/101/", json={"description": "new"})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert state.metric(101)["description"] == "new"


async def test_faults_match_by_method_and_metric_and_fire_in_order(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="metric_get", kind="5xx", metric_id=102))
    state.faults.add(Fault(route="*", kind="5xx", method="PATCH", status=500))
    state.faults.add(Fault(route="*", kind="5xx", status=504, times=None))
    assert (await client.get("/test_framework/v2/metrics/101/")).status_code == 504
    assert (await client.get("/test_framework/v2/metrics/102/")).status_code == 503
    assert (await client.patch("/test_framework/v2/metrics/101/", json={})).status_code == 500
    assert (await client.get("/test_framework/v2/metrics/102/")).status_code == 504
    assert [f.fired for f in state.faults.faults] == [1, 1, 2]


async def test_a_stuck_run_never_finishes_and_a_failing_run_errors(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.stuck_run(101)
    state.faults.failing_run(102, error="Lab evaluation crashed")
    stuck = (await client.post(START, json={"metric_id": 101})).json()["progress_id"]
    failing = (await client.post(START, json={"metric_id": 102})).json()["progress_id"]
    for _ in range(20):
        body = (await client.get(PROGRESS, params={"progress_id": stuck})).json()
        assert body == {"status": "in_progress"}
    failed = (await client.get(PROGRESS, params={"progress_id": failing})).json()
    assert failed == {"status": "error", "error": "Lab evaluation crashed"}


async def test_run_faults_can_target_rescoring_and_be_limited(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.failing_run(101, error="worker lost", job="run_reviews", times=1)
    url = "/test_framework/v2/metrics/101/run_reviews/"
    first = (await client.post(url, json={})).json()["progress_id"]
    second = (await client.post(url, json={})).json()["progress_id"]
    progress = "/test_framework/v2/metrics/run_reviews_progress/"
    failed = (await client.get(progress, params={"progress_id": first})).json()
    done = (await client.get(progress, params={"progress_id": second})).json()
    assert (failed["status"], failed["error"], failed["metric"]) == ("failed", "worker lost", None)
    assert done["status"] == "completed"


async def test_a_slow_run_uses_its_own_duration(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.slow_run(105, polls=3)
    progress_id = (await client.post(START, json={"metric_id": 105})).json()["progress_id"]
    seen = [
        (await client.get(PROGRESS, params={"progress_id": progress_id})).json()["status"]
        for _ in range(4)
    ]
    assert seen == ["in_progress", "in_progress", "in_progress", "success"]


def test_the_spec_grammar() -> None:
    items = parse_fault_spec(
        "429x2@process_feedbacks_progress, 503x1@metric_get, latency=0.2@*, "
        "drop_after@process_feedbacks, 5xxx3@metric_patch:PATCH#101, html=502@metrics_list, "
        "429=7@*, truncated@cron_list, stuck@process_feedbacks#101, fail@run_reviews#104, "
        "slow=2.5@process_feedbacks#106"
    )
    faults = [i for i in items if isinstance(i, Fault)]
    runs = [i for i in items if isinstance(i, RunFault)]
    assert [(f.kind, f.route, f.times, f.status) for f in faults] == [
        ("429", "process_feedbacks_progress", 2, 429),
        ("5xx", "metric_get", 1, 503),
        ("latency", "*", None, None),
        ("drop_after", "process_feedbacks", 1, None),
        ("5xx", "metric_patch", 3, 503),
        ("html", "metrics_list", 1, 502),
        ("429", "*", 1, 429),
        ("truncated", "cron_list", 1, None),
    ]
    assert faults[2].delay_s == 0.2 and faults[6].retry_after == 7
    assert (faults[4].method, faults[4].metric_id) == ("PATCH", 101)
    assert [(r.kind, r.job, r.metric_id, r.seconds) for r in runs] == [
        ("stuck", "process_feedbacks", 101, None),
        ("fail", "run_reviews", 104, None),
        ("slow", "process_feedbacks", 106, 2.5),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("429x2@metric_gets", "fault 1 ('429x2@metric_gets'): unknown route 'metric_gets'"),
        (
            "503@metric_get, teapot@metric_get",
            "fault 2 ('teapot@metric_get'): unknown kind 'teapot'",
        ),
        ("503", "expected KIND[=VALUE][xCOUNT]@ROUTE"),
        ("latency=fast@*", "latency='fast': the value must be a number"),
        ("drop=1@*", "drop takes no =VALUE"),
        ("stuck@process_feedbacks", "stuck needs a metric"),
        ("fail@metric_get#101", "fail applies to a job"),
        ("604@metric_get", "unknown kind '604'"),
    ],
)
def test_bad_specs_name_the_item_and_the_problem(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_fault_spec(spec)
    assert message in str(caught.value)


def test_the_cli_refuses_a_bad_spec_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    assert sandbox_main(["--faults", "429@nowhere", "--port", "0"]) == 2
    assert "unknown route 'nowhere'" in capsys.readouterr().err


async def test_lab_row_faults_target_the_metric_named_in_the_body_or_by_the_row(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="*", kind="5xx", metric_id=109, times=None))
    url = "/test_framework/test-sets/create_from_call_log/"
    other = await client.post(url, json={"call_log_id": 3360015, "metrics": [{"metric": 101}]})
    named = await client.post(url, json={"call_log_id": 3360015, "metrics": [{"metric": 109}]})
    row = await client.patch("/test_framework/metric-reviews/10901/", json={"feedback": "x"})
    vote = await client.post(
        "/observability/v2/call-logs/3360015/mark_metric_vote/",
        json={"metric_id": 109, "thumbs_up": True, "expected_value": 0},
    )
    assert (other.status_code, named.status_code, row.status_code, vote.status_code) == (
        200,
        503,
        503,
        503,
    )
    assert [r.metric_id for r in state.requests] == [101, 109, 109, 109]
