"""Call logs: the paginated, filtered, windowed list; details; votes on items; re-evaluation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox import Fault, SandboxState, sandbox_client
from sandbox.contract import JUDGE_FIELDS
from sandbox.judge import evaluate

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BASE = "http://sandbox.cekura.test"
LIST = "/observability/v2/call-logs/"
RERUN = "/observability/v2/call-logs/rerun_evaluation/"
OLD_LAB_CALL = 3359011  # the call behind metric 101's first Lab row, from July 2026
HELD_OUT_107 = 3360001  # voted for 107 (pass), its live result fails
UNVOTED_109 = 3360015  # the newest call: nobody has voted on it


@pytest.fixture
def state() -> SandboxState:
    return SandboxState.seeded(now=lambda: NOW)


@pytest.fixture
async def client(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client(state, base_url=BASE) as c:
        yield c


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def item(call: dict, metric_id: int) -> dict:
    return next(m for m in call["evaluation"]["metrics"] if m["id"] == metric_id)


async def test_the_default_window_is_the_last_30_days_newest_first(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = (await client.get(LIST, params={"agent_id": 11, "page_size": 100})).json()
    stamps = [row["timestamp"] for row in body["results"]]
    assert body["count"] == 38 and len(stamps) == 38
    assert stamps == sorted(stamps, reverse=True)
    assert body["results"][0]["id"] == UNVOTED_109
    assert all(iso(NOW - timedelta(days=30)) <= s <= iso(NOW) for s in stamps)
    assert OLD_LAB_CALL not in {row["id"] for row in body["results"]}
    assert state.call_log(OLD_LAB_CALL)["timestamp"].startswith("2026-07")


async def test_pages_link_to_each_other_and_a_page_past_the_end_is_404(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.get(LIST, params={"agent_id": 11, "page_size": 15})).json()
    third = (await client.get(LIST, params={"agent_id": 11, "page_size": 15, "page": 3})).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (38, 15, None)
    assert first["next"] == f"{BASE}{LIST}?agent_id=11&page_size=15&page=2"
    assert (len(third["results"]), third["next"]) == (8, None)
    assert third["previous"] == f"{BASE}{LIST}?agent_id=11&page_size=15&page=2"
    default = (await client.get(LIST)).json()
    assert len(default["results"]) == 10
    beyond = await client.get(LIST, params={"page": 5})
    assert (beyond.status_code, beyond.json()) == (404, {"detail": "Invalid page."})


async def test_filters_by_ids_agent_project_and_time(client: httpx.AsyncClient) -> None:
    async def ids(**params: object) -> list[int]:
        response = await client.get(LIST, params={"page_size": 100, **params})
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["results"]]

    assert await ids(call_ids=f"{HELD_OUT_107}, {UNVOTED_109}") == [UNVOTED_109, HELD_OUT_107]
    assert await ids(call_ids=str(OLD_LAB_CALL)) == [], "outside the default window"
    july = {"timestamp_from": "2026-07-01T00:00:00Z", "timestamp_to": "2026-08-01T00:00:00Z"}
    assert OLD_LAB_CALL in await ids(**july)
    assert len(await ids(**july)) == 42  # 36 of agent 11, and the 6 of 111's Lab (agent 12)
    assert await ids(agent_id=12) == []
    assert len(await ids(project_id=1)) == 38 and await ids(project_id=2) == []
    last_day = await ids(timestamp_from=iso(NOW - timedelta(days=1)))
    assert last_day == [3360015, 3360014, 3360013]
    naive = await ids(timestamp_from=(NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert naive == last_day


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"timestamp_from": "2026-10-01T00:00:00Z", "timestamp_to": "2026-11-05T00:00:00Z"},
            {"timestamp_from": ["The time range may not exceed 33 days."]},
        ),
        (
            {"timestamp_from": "2026-10-01T00:00:00Z"},
            {"timestamp_from": ["The time range may not exceed 33 days."]},
        ),
        ({"timestamp_to": "yesterday"}, {"timestamp_to": ["Enter a valid date/time."]}),
        ({"call_ids": "12,abc"}, {"call_ids": ["Enter a comma-separated list of call log ids."]}),
        ({"agent_id": "eleven"}, {"agent_id": ["A valid integer is required."]}),
    ],
)
async def test_bad_list_queries_are_400_with_the_field(
    client: httpx.AsyncClient, params: dict[str, str], error: dict[str, list[str]]
) -> None:
    response = await client.get(LIST, params=params)
    assert (response.status_code, response.json()) == (400, error)


async def test_a_33_day_range_is_allowed(client: httpx.AsyncClient) -> None:
    params = {"timestamp_from": iso(NOW - timedelta(days=33)), "timestamp_to": iso(NOW)}
    assert (await client.get(LIST, params=params)).status_code == 200


async def test_rows_carry_results_without_explanations_and_details_carry_everything(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    [row] = (await client.get(LIST, params={"call_ids": str(HELD_OUT_107)})).json()["results"]
    assert [m["id"] for m in row["metrics"]] == list(range(101, 111))
    row_result = next(m for m in row["metrics"] if m["id"] == 107)
    assert row_result == {"id": 107, "name": "Callback Arranged", "type": "binary", "score": 0}
    assert "evaluation" not in row and "transcript_object" not in row
    detail = (await client.get(f"{LIST}{HELD_OUT_107}/")).json()
    result = item(detail, 107)
    assert (result["score"], result["thumbs_up"], result["expected_value"]) == (0, False, 5)
    assert result["explanation"] == ["No pass cue found in the transcript."]
    not_triggered = item(detail, 101)
    assert (not_triggered["score"], not_triggered["extra"]) == (None, {"trigger_failed": True})
    assert detail["transcript_object"][0] == {
        "role": "Main Agent",
        "content": "Lakeside Dental, how can I help?",
        "timestamp": 1.0,
    }
    assert (detail["is_reviewed"], detail["status"], detail["agent_id"]) == (
        True,
        "reviewed_success",
        "11",
    )
    assert detail["transcript"] == state.call_log(HELD_OUT_107)["transcript"]


async def test_an_unknown_or_slashless_call_log_is_404(client: httpx.AsyncClient) -> None:
    for path in (f"{LIST}424242/", f"{LIST}abc/", f"{LIST}{HELD_OUT_107}", LIST.rstrip("/")):
        response = await client.get(path)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


async def test_new_routes_check_the_api_key() -> None:
    async with sandbox_client(SandboxState.seeded(), api_key=None) as anonymous:
        for response in (
            await anonymous.get(LIST),
            await anonymous.post(RERUN, json={"agent_id": 11, "call_logs": [HELD_OUT_107]}),
        ):
            assert (response.status_code, response.json()) == (
                401,
                {"detail": "Authentication credentials were not provided."},
            )


async def test_a_vote_lands_on_the_metric_item_and_marks_the_call_reviewed(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    before = state.call_log(UNVOTED_109)
    assert (before["is_reviewed"], item(before, 109)["expected_value"]) == (False, None)
    response = await client.post(
        f"{LIST}{UNVOTED_109}/mark_metric_vote/",
        json={
            "metric_id": 109,
            "thumbs_up": False,
            "expected_value": 5,
            "feedback": "At 00:07 the agent said 'your confirmation code is'.",
        },
    )
    assert (response.status_code, response.json()) == (200, {"detail": "Vote recorded"})
    detail = (await client.get(f"{LIST}{UNVOTED_109}/")).json()
    voted = item(detail, 109)
    assert (voted["thumbs_up"], voted["expected_value"], voted["score"]) == (False, 5, 0)
    assert voted["feedback"].startswith("At 00:07")
    assert (detail["is_reviewed"], detail["status"]) == (True, "reviewed_success")
    assert all(
        m["expected_value"] is None for m in detail["evaluation"]["metrics"] if m is not voted
    )
    cleared = await client.post(
        f"{LIST}{UNVOTED_109}/mark_metric_vote/",
        json={"metric_id": 109, "thumbs_up": None, "expected_value": None},
    )
    assert cleared.status_code == 200
    assert item(state.call_log(UNVOTED_109), 109)["expected_value"] is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {},
            {
                "metric_id": ["This field is required."],
                "thumbs_up": ["This field is required."],
                "expected_value": ["This field is required."],
            },
        ),
        (
            {"metric_id": 109, "vote": "agree", "feedback": "skills' shape"},
            {
                "thumbs_up": ["This field is required."],
                "expected_value": ["This field is required."],
            },
        ),
        (
            {"metric_id": 109, "thumbs_up": "maybe", "expected_value": 5},
            {"thumbs_up": ["Must be a valid boolean."]},
        ),
        (
            {"metric_id": 999, "thumbs_up": True, "expected_value": 5},
            {"metric_id": ['Invalid pk "999" - object does not exist.']},
        ),
    ],
)
async def test_a_bad_vote_is_400_and_changes_nothing(
    client: httpx.AsyncClient, state: SandboxState, body: dict, error: dict
) -> None:
    response = await client.post(f"{LIST}{UNVOTED_109}/mark_metric_vote/", json=body)
    assert (response.status_code, response.json()) == (400, error)
    assert state.call_log(UNVOTED_109)["is_reviewed"] is False


async def test_rerun_re_judges_every_assigned_metric_with_its_live_config(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    patched = await client.patch(
        "/test_framework/v2/metrics/107/",
        json={"description": "PASS when the agent says 'ring you back'."},
    )
    assert patched.status_code == 200
    assert item(state.call_log(HELD_OUT_107), 107)["score"] == 0, "stored results stay stale"
    response = await client.post(
        RERUN, json={"agent_id": 11, "call_logs": [HELD_OUT_107, UNVOTED_109]}
    )
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [HELD_OUT_107, UNVOTED_109]
    assert state.credits_used == 2 * 10, "one evaluation per assigned metric per call"
    rerun = state.call_log(HELD_OUT_107)
    assert (item(rerun, 107)["score"], item(rerun, 107)["expected_value"]) == (5, 5)
    assert item(rerun, 107)["thumbs_up"] is False, "the human vote is kept as it was"
    for metric_id in range(101, 111):
        config = {k: state.metric(metric_id).get(k) for k in JUDGE_FIELDS}
        expected = evaluate(config, rerun["transcript"]).actual_value
        assert item(rerun, metric_id)["score"] == expected
    assert rerun["success"] is True, "a reviewed call keeps its outcome"
    assert state.call_log(UNVOTED_109)["success"] is None, "a non-reviewed one is reset"


async def test_rerun_all_bills_every_call_of_the_agent(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    response = await client.post(RERUN, json={"agent_id": 11, "call_logs": "all"})
    assert response.status_code == 200
    assert len(response.json()) == 74
    assert state.credits_used == 74 * 10


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"agent_id": 11}, {"call_logs": ["This field is required."]}),
        (
            {"call_logs": [HELD_OUT_107]},
            {"non_field_errors": ["Provide agent_id or assistant_id."]},
        ),
        (
            {"agent_id": 11, "assistant_id": 4, "call_logs": [HELD_OUT_107]},
            {"non_field_errors": ["Provide either agent_id or assistant_id, not both."]},
        ),
        (
            {"agent_id": 13, "call_logs": [HELD_OUT_107]},
            {"agent_id": ['Invalid pk "13" - object does not exist.']},
        ),
        (
            {"agent_id": 11, "call_logs": [HELD_OUT_107, 1]},
            {"call_logs": ["Call logs not found for this agent: 1."]},
        ),
        ({"agent_id": 11, "call_logs": []}, {"call_logs": ["This list may not be empty."]}),
        (
            {"agent_id": 11, "call_logs": "some"},
            {"call_logs": ['Expected a list of items but got type "str".']},
        ),
    ],
)
async def test_a_bad_rerun_is_400_and_bills_nothing(
    client: httpx.AsyncClient, state: SandboxState, body: dict, error: dict
) -> None:
    response = await client.post(RERUN, json=body)
    assert (response.status_code, response.json()) == (400, error)
    assert state.credits_used == 0


async def test_rerun_is_throttled_with_retry_after_under_faults(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add(Fault(route="rerun_evaluation", kind="429", retry_after=7))
    body = {"agent_id": 11, "call_logs": [HELD_OUT_107]}
    throttled = await client.post(RERUN, json=body)
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "7")
    assert state.credits_used == 0
    assert (await client.post(RERUN, json=body)).status_code == 200
    assert state.credits_used == 10
    assert state.count("rerun_evaluation") == 2
    assert state.count("rerun_evaluation", effective=True) == 1
