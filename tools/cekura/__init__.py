"""Cekura API client: typed models, typed errors, progress parsing and the async client.

Names are loaded on first use, so importing the models does not pay for httpx and the client.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "CekuraAuthError": "errors",
    "CekuraBadRequest": "errors",
    "CekuraClient": "client",
    "CekuraError": "errors",
    "CekuraHTTPError": "errors",
    "CekuraMalformedResponse": "errors",
    "CekuraNotFound": "errors",
    "CekuraOutcomeUnknown": "errors",
    "CekuraRateLimited": "errors",
    "CekuraServerError": "errors",
    "CekuraTransportError": "errors",
    "CronJob": "models",
    "DEFAULT_BASE_URL": "client",
    "HistoryEntry": "models",
    "HistoryPage": "models",
    "Metric": "models",
    "MetricReview": "models",
    "MetricSummary": "models",
    "MetricType": "models",
    "OptimiserOutput": "models",
    "OptimiserProgress": "models",
    "OptimiserState": "models",
    "PendingProposal": "models",
    "Question": "models",
    "ReviewResult": "models",
    "RunReviewsProgress": "models",
    "RunReviewsState": "models",
    "Score": "models",
    "TestSet": "models",
    "TriggerKind": "models",
    "parse_optimiser_progress": "progress",
    "parse_run_reviews_progress": "progress",
    "resolve_trigger_kind": "progress",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)


__all__ = [
    "DEFAULT_BASE_URL",
    "CekuraAuthError",
    "CekuraBadRequest",
    "CekuraClient",
    "CekuraError",
    "CekuraHTTPError",
    "CekuraMalformedResponse",
    "CekuraNotFound",
    "CekuraOutcomeUnknown",
    "CekuraRateLimited",
    "CekuraServerError",
    "CekuraTransportError",
    "CronJob",
    "HistoryEntry",
    "HistoryPage",
    "Metric",
    "MetricReview",
    "MetricSummary",
    "MetricType",
    "OptimiserOutput",
    "OptimiserProgress",
    "OptimiserState",
    "PendingProposal",
    "Question",
    "ReviewResult",
    "RunReviewsProgress",
    "RunReviewsState",
    "Score",
    "TestSet",
    "TriggerKind",
    "parse_optimiser_progress",
    "parse_run_reviews_progress",
    "resolve_trigger_kind",
]
