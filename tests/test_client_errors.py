"""How Cekura's error answers and unreadable 2xx answers become typed, readable exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import respx

from openapi_schemas import fixtures
from tools.cekura import (
    CekuraAuthError,
    CekuraBadRequest,
    CekuraClient,
    CekuraError,
    CekuraHTTPError,
    CekuraMalformedResponse,
    CekuraNotFound,
    CekuraRateLimited,
    CekuraServerError,
)

pytestmark = pytest.mark.asyncio

BASE = "https://cekura.example.test"
KEY = "ck_errors_key_16180"
METRIC = "/test_framework/v2/metrics/101/"
ERRORS = fixtures()["errors"]

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
    "<style>body { font-family: sans-serif; }</style>"
    "<script>var tracking = 'do-not-show-this-script';</script></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream server returned an invalid response.</p>"
    + "<div>filler paragraph</div>" * 400
    + "<p>END-OF-PAGE-MARKER</p></body></html>"
)


async def _record(seconds: float) -> None:
    return None


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CekuraClient]:
    async with CekuraClient(KEY, BASE, sleep=_record, max_attempts=2) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


# ---------------------------------------------------------------- error statuses


async def test_400_field_errors(client, api):
    api.patch(METRIC).respond(400, json=ERRORS["400_validation"])
    with pytest.raises(CekuraBadRequest) as caught:
        await client.patch_metric(
            101, {"evaluation_trigger": "Evaluate only if the caller asked to book"}
        )
    err = caught.value
    assert err.status == 400
    assert err.field_errors == {
        "evaluation_trigger": ['"Evaluate only if the caller asked to book" is not a valid choice.']
    }
    assert str(err) == (
        "Cekura rejected the request to PATCH /test_framework/v2/metrics/101/ (400): "
        'evaluation_trigger: "Evaluate only if the caller asked to book" is not a valid choice.'
    )
    assert (err.method, err.path) == ("PATCH", METRIC)


async def test_400_non_field_errors_become_the_detail(client, api):
    api.patch(METRIC).respond(400, json={"non_field_errors": ["Metric is locked.", "Try later."]})
    with pytest.raises(CekuraBadRequest) as caught:
        await client.patch_metric(101, {"description": "x"})
    assert caught.value.detail == "Metric is locked.; Try later."
    assert caught.value.field_errors == {}
    assert "Metric is locked." in str(caught.value)


async def test_400_nested_field_errors_are_flattened(client, api):
    api.post("/schedules/v1/metric-optimiser-cron-jobs/").respond(
        400,
        json={
            "metrics": {"1": ['Invalid pk "99" - object does not exist.']},
            "timezone": "Unknown zone",
        },
    )
    with pytest.raises(CekuraBadRequest) as caught:
        await client.create_cron_job(project=1, metrics=[5, 99], crontab_expression="0 9 * * 1")
    assert caught.value.field_errors == {
        "metrics.1": ['Invalid pk "99" - object does not exist.'],
        "timezone": ["Unknown zone"],
    }


async def test_400_with_a_detail_only(client, api):
    api.get("/test_framework/v2/metrics/").respond(
        400, json={"detail": "Please provide one of the required query parameter"}
    )
    with pytest.raises(CekuraBadRequest) as caught:
        await client.list_metrics()
    assert caught.value.detail == "Please provide one of the required query parameter"
    assert caught.value.field_errors == {}


async def test_401_is_an_auth_error(client, api):
    api.get(METRIC).respond(401, json=ERRORS["401"])
    with pytest.raises(CekuraAuthError) as caught:
        await client.get_metric(101)
    assert caught.value.status == 401
    assert caught.value.detail == "Authentication credentials were not provided."
    assert "API key" in str(caught.value)


async def test_403_is_an_auth_error_naming_permissions(client, api):
    api.patch(METRIC).respond(403, json=ERRORS["403_project_scoped_key"])
    with pytest.raises(CekuraAuthError) as caught:
        await client.patch_metric(101, {"description": "x"})
    assert caught.value.status == 403
    assert "permission" in str(caught.value)
    assert "Project-scoped API keys are not allowed" in str(caught.value)


async def test_404_is_not_found(client, api):
    api.get("/test_framework/metric-reviews/process_feedbacks_progress/").respond(
        404, json=ERRORS["404"]
    )
    with pytest.raises(CekuraNotFound) as caught:
        await client.get_optimisation_progress("gone")
    assert caught.value.detail == "Not found."
    assert str(caught.value).startswith(
        "Cekura found nothing at GET /test_framework/metric-reviews/process_feedbacks_progress/ (404)"
    )


async def test_429_after_retries_is_rate_limited_with_retry_after(client, api):
    route = api.get(METRIC).respond(429, headers={"Retry-After": "4"}, json=ERRORS["429"])
    with pytest.raises(CekuraRateLimited) as caught:
        await client.get_metric(101)
    assert route.call_count == 2
    assert caught.value.retry_after == 4.0
    assert caught.value.retry_helps is True


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_after_retries_is_a_server_error(client, api, status):
    route = api.get(METRIC).respond(status, text="")
    with pytest.raises(CekuraServerError) as caught:
        await client.get_metric(101)
    assert route.call_count == 2
    assert caught.value.status == status
    assert f"({status})" in str(caught.value)


async def test_html_error_page_gives_a_short_tag_free_excerpt(client, api):
    api.get(METRIC).respond(502, text=HTML_PAGE, headers={"Content-Type": "text/html"})
    with pytest.raises(CekuraServerError) as caught:
        await client.get_metric(101)
    message = str(caught.value)
    assert "502 Bad Gateway" in message
    assert "<" not in message and ">" not in message
    assert "do-not-show-this-script" not in message
    assert "END-OF-PAGE-MARKER" not in message
    assert len(message) < 600


async def test_html_404_page_is_still_not_found(client, api):
    api.get(METRIC).respond(404, text="<html><title>Page not found</title></html>")
    with pytest.raises(CekuraNotFound) as caught:
        await client.get_metric(101)
    assert caught.value.detail is None
    assert "Page not found" in str(caught.value)


async def test_redirects_are_not_followed(client, api):
    route = api.patch(METRIC).respond(301, headers={"Location": f"{BASE}/elsewhere/"})
    with pytest.raises(CekuraHTTPError) as caught:
        await client.patch_metric(101, {"description": "x"})
    assert route.call_count == 1
    assert caught.value.status == 301
    assert "base URL" in str(caught.value)


# ---------------------------------------------------------------- unreadable 2xx answers


async def test_2xx_html_is_malformed_with_a_bounded_excerpt(client, api):
    api.get(METRIC).respond(200, text=HTML_PAGE, headers={"Content-Type": "text/html"})
    with pytest.raises(CekuraMalformedResponse) as caught:
        await client.get_metric(101)
    err = caught.value
    assert "not valid JSON" in str(err)
    assert "<" not in err.body_excerpt and len(err.body_excerpt) <= 200
    assert "END-OF-PAGE-MARKER" not in str(err)
    assert (err.method, err.path) == ("GET", METRIC)


async def test_2xx_truncated_json_is_malformed(client, api):
    api.get(METRIC).respond(
        200, content=b'{"id": 101, "name": "Appoint', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(CekuraMalformedResponse, match="not valid JSON"):
        await client.get_metric(101)


async def test_2xx_empty_body_where_json_is_needed_is_malformed(client, api):
    api.post("/test_framework/metric-reviews/process_feedbacks/").respond(200, content=b"")
    with pytest.raises(CekuraMalformedResponse, match="empty body"):
        await client.start_optimisation(101)


async def test_2xx_missing_required_field_is_malformed(client, api):
    body = {k: v for k, v in fixtures()["metric_detail"].items() if k != "name"}
    api.get(METRIC).respond(json=body)
    with pytest.raises(CekuraMalformedResponse) as caught:
        await client.get_metric(101)
    assert "name (field required)" in str(caught.value)
    assert "Treat short affirmative" not in str(caught.value)  # no echo of the body's values


async def test_2xx_wrong_type_for_a_list_endpoint_is_malformed(client, api):
    api.get("/schedules/v1/metric-optimiser-cron-jobs/").respond(json={"detail": "ok"})
    with pytest.raises(CekuraMalformedResponse, match="expected a JSON array"):
        await client.list_cron_jobs()


async def test_start_without_progress_id_is_malformed(client, api):
    api.post("/test_framework/metric-reviews/process_feedbacks/").respond(json={"status": "queued"})
    with pytest.raises(CekuraMalformedResponse, match="no progress_id"):
        await client.start_optimisation(101)


async def test_progress_body_that_is_not_an_object_is_malformed(client, api):
    api.get("/test_framework/v2/metrics/run_reviews_progress/").respond(json=["in_progress"])
    with pytest.raises(CekuraMalformedResponse) as caught:
        await client.get_run_reviews_progress("p-1")
    assert "GET /test_framework/v2/metrics/run_reviews_progress/" in str(caught.value)


async def test_answer_with_html_2xx_is_malformed_but_empty_is_fine(client, api):
    api.post("/test_framework/metric-reviews/process_feedbacks_answer/").mock(
        side_effect=[
            httpx.Response(200, text="<html><body>Sign in</body></html>"),
            httpx.Response(200, content=b""),
        ]
    )
    with pytest.raises(CekuraMalformedResponse):
        await client.answer_questions("p-1", {"q_1": None})
    await client.answer_questions("p-1", {"q_1": None})


async def test_every_error_is_a_cekura_error(client, api):
    api.get(METRIC).respond(418, json={"detail": "teapot"})
    with pytest.raises(CekuraError) as caught:
        await client.get_metric(101)
    assert type(caught.value) is CekuraHTTPError
    assert caught.value.status == 418 and caught.value.detail == "teapot"
