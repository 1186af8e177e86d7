"""The sandbox's Starlette app: Cekura's paths (trailing slash), API-key check, error bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from sandbox import api_calls, api_cron, api_lab_rows, api_labs, api_metrics, api_preview
from sandbox.middleware import SandboxMiddleware
from sandbox.state import SandboxState
from sandbox.validation import ValidationFailed
from sandbox.web import NOT_FOUND, ApiError, Handler

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
API_KEY_HEADER = "x-cekura-api-key"
_METRICS = "/test_framework/v2/metrics"
_REVIEWS = "/test_framework/metric-reviews"
_CRON = "/schedules/v1/metric-optimiser-cron-jobs"
_CALLS = "/observability/v2/call-logs"
# Sandbox only (not Cekura's): POST here fires a metric-optimiser schedule now.
FIRE_PREFIX = "/sandbox/cron_jobs/"
_PREVIEW = {"POST": ("metric_preview", api_preview.metric_preview)}
_PREVIEW_PROGRESS = {"GET": ("metric_preview_progress", api_preview.metric_preview_progress)}

Methods = dict[str, tuple[str, Handler]]

ENDPOINTS: tuple[tuple[str, Methods], ...] = (
    (f"{_REVIEWS}/process_feedbacks/", {"POST": ("process_feedbacks", api_labs.process_feedbacks)}),
    (
        f"{_REVIEWS}/process_feedbacks_progress/",
        {"GET": ("process_feedbacks_progress", api_labs.process_feedbacks_progress)},
    ),
    (
        f"{_REVIEWS}/process_feedbacks_answer/",
        {"POST": ("process_feedbacks_answer", api_labs.process_feedbacks_answer)},
    ),
    (
        f"{_REVIEWS}/process_feedbacks_cancel/",
        {"POST": ("process_feedbacks_cancel", api_labs.process_feedbacks_cancel)},
    ),
    (f"{_REVIEWS}/{{id}}/", {"PATCH": ("review_patch", api_lab_rows.review_patch)}),
    (f"{_METRICS}/", {"GET": ("metrics_list", api_metrics.metrics_list)}),
    (
        f"{_METRICS}/run_reviews_progress/",
        {"GET": ("run_reviews_progress", api_metrics.run_reviews_progress)},
    ),
    (f"{_METRICS}/preview/", _PREVIEW),
    (f"{_METRICS}/preview-progress/", _PREVIEW_PROGRESS),
    ("/test_framework/v1/metrics/preview/", _PREVIEW),
    ("/test_framework/v1/metrics/preview-progress/", _PREVIEW_PROGRESS),
    (
        f"{_METRICS}/{{id}}/",
        {
            "GET": ("metric_get", api_metrics.metric_get),
            "PATCH": ("metric_patch", api_metrics.metric_patch),
        },
    ),
    (f"{_METRICS}/{{id}}/history/", {"GET": ("metric_history", api_metrics.metric_history)}),
    (
        f"{_METRICS}/{{id}}/history/edit/",
        {"PATCH": ("metric_history_edit", api_metrics.metric_history_edit)},
    ),
    (f"{_METRICS}/{{id}}/restore/", {"POST": ("metric_restore", api_metrics.metric_restore)}),
    (f"{_METRICS}/{{id}}/run_reviews/", {"POST": ("run_reviews", api_metrics.run_reviews)}),
    (
        f"{_METRICS}/{{id}}/apply_optimisation_proposal/",
        {"POST": ("apply_proposal", api_metrics.apply_proposal)},
    ),
    (
        f"{_METRICS}/{{id}}/dismiss_optimisation_proposal/",
        {"POST": ("dismiss_proposal", api_metrics.dismiss_proposal)},
    ),
    (
        f"{_CRON}/",
        {"GET": ("cron_list", api_cron.cron_list), "POST": ("cron_create", api_cron.cron_create)},
    ),
    (
        f"{_CRON}/{{id}}/",
        {
            "GET": ("cron_get", api_cron.cron_get),
            "PUT": ("cron_update", api_cron.cron_update),
            "PATCH": ("cron_update", api_cron.cron_update),
            "DELETE": ("cron_delete", api_cron.cron_delete),
        },
    ),
    (f"{FIRE_PREFIX}{{id}}/fire/", {"POST": ("cron_fire", api_cron.cron_fire)}),
    (
        "/test_framework/test-sets/create_from_call_log/",
        {"POST": ("create_from_call_log", api_lab_rows.create_from_call_log)},
    ),
    (f"{_CALLS}/", {"GET": ("call_logs_list", api_calls.call_logs_list)}),
    (
        f"{_CALLS}/rerun_evaluation/",
        {"POST": ("rerun_evaluation", api_calls.rerun_evaluation)},
    ),
    (f"{_CALLS}/{{id}}/", {"GET": ("call_log_get", api_calls.call_log_get)}),
    (
        f"{_CALLS}/{{id}}/mark_metric_vote/",
        {"POST": ("mark_metric_vote", api_calls.mark_metric_vote)},
    ),
)


def build_app(state: SandboxState) -> Starlette:
    """The sandbox as an ASGI app over `state` (run it in-process or with `sandbox.serve`)."""
    table = [
        (Route(path, _endpoint(state, methods), methods=ALL_METHODS), methods)
        for path, methods in ENDPOINTS
    ]

    def resolve(scope: Scope) -> tuple[str | None, dict[str, Any]]:
        for route, methods in table:
            match, child = route.matches(scope)
            if match is Match.FULL:
                entry = methods.get(scope["method"])
                return (entry[0] if entry else None), child.get("path_params", {})
        return None, {}

    routes = [route for route, _ in table]
    routes.append(Route("/{path:path}", _not_found, methods=ALL_METHODS))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SandboxMiddleware, state=state, resolve=resolve)],
    )
    app.router.redirect_slashes = False
    app.state.sandbox = state
    return app


def _endpoint(state: SandboxState, methods: Methods) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        key = request.headers.get(API_KEY_HEADER, "").strip()
        if not key:
            return JSONResponse(
                {"detail": "Authentication credentials were not provided."}, status_code=401
            )
        if not state.accepts_key(key):
            return JSONResponse({"detail": "Invalid API key."}, status_code=401)
        entry = methods.get(request.method)
        if entry is None:
            return JSONResponse(
                {"detail": f'Method "{request.method}" not allowed.'}, status_code=405
            )
        try:
            return await entry[1](request, state)
        except ApiError as exc:
            return JSONResponse(exc.body, status_code=exc.status)
        except ValidationFailed as exc:
            return JSONResponse(exc.errors, status_code=400)

    return endpoint


async def _not_found(request: Request) -> Response:
    return JSONResponse(NOT_FOUND, status_code=404)
