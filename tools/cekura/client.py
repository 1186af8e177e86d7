"""Async client for the Cekura endpoints this project uses (contract: cekura-api.md §2-§6).

Retry policy, per endpoint:

* Repeated when repeating is harmless: every GET; PATCH (the same body gives the same result);
  POST restore (restores the same history row); POST process_feedbacks_cancel; DELETE of a cron
  job (a retry that finds it already gone counts as deleted). These are retried on 429
  (waiting `Retry-After`, seconds or HTTP date), 500, 502, 503, 504 and on connection errors and
  timeouts, with capped exponential backoff and jitter, up to `max_attempts` in total, and never
  past the call's `deadline_s` (a wait that would end after it means giving up now).
* Never repeated: every other POST. process_feedbacks and run_reviews start a job each time;
  answering twice, applying or dismissing a proposal twice, or creating a cron job twice is not
  harmless either, so they are not repeated even after a 429. After such a POST is sent and no
  answer comes back (read timeout, dropped connection) the client raises `CekuraOutcomeUnknown`;
  when the connection was never made it raises `CekuraTransportError`; a 5xx raises
  `CekuraServerError` at once.

The API key is sent only in the `X-CEKURA-API-KEY` header. It is never logged, and every error
message is scrubbed of it, even if Cekura echoes it back.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel

from .errors import (
    CekuraError,
    CekuraMalformedResponse,
    CekuraOutcomeUnknown,
    CekuraTransportError,
)
from .models import (
    CronJob,
    HistoryPage,
    Metric,
    MetricSummary,
    OptimiserProgress,
    RunReviewsProgress,
)
from .progress import parse_optimiser_progress, parse_run_reviews_progress
from .responses import NotJSON, decode_json, error_for_response, excerpt, malformed, to_model
from .retry import RETRYABLE_STATUSES, Deadline, backoff_delay
from .tally import note_retry

__all__ = ["DEFAULT_BASE_URL", "CekuraClient"]

log = logging.getLogger("cekura_optimise.client")

DEFAULT_BASE_URL = "https://api.cekura.ai"

M = TypeVar("M", bound=BaseModel)

# Contract §2 paths. Labs endpoints have no version segment; schedules live under v1.
_REVIEWS = "/test_framework/metric-reviews"
_METRICS = "/test_framework/v2/metrics"
_CRON = "/schedules/v1/metric-optimiser-cron-jobs"

METRIC_TYPES = frozenset({"basic", "custom_prompt", "custom_code", "llm_judge"})
NOTIFY_ON = frozenset({"never", "success", "failure", "both"})
# RunReviewsRequest's override fields (skip_save has its own parameter). An unknown key would be
# silently ignored by Cekura, so the re-score would quietly use the live config instead.
RUN_REVIEWS_OVERRIDES = frozenset(
    {
        "llm_provider",
        "evaluation_trigger",
        "evaluation_trigger_prompt",
        "trigger_type",
        "evaluation_trigger_custom_code",
        "description",
        "type",
        "custom_code",
        "prompt",
        "metric_description_program",
        "metric_description_variables",
        "evaluation_trigger_program",
        "evaluation_trigger_variables",
    }
)
MAX_PAGE_SIZE = 200

_NO_BODY: Any = object()
# Failures where the request certainly never reached Cekura.
_UNSENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
# Failures that another attempt cannot fix (a bad URL or a request httpx refuses to send).
_PERMANENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r:.60}")
    return value


def _id_list(name: str, values: Any) -> list[int]:
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(f"{name} must be a non-empty list of positive integers")
    return [_positive_int(f"each of {name}", v) for v in values]


def _token(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r:.60}")
    return value.strip()


def _fields(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{name} must be a non-empty dict of field names to values")
    if not all(isinstance(k, str) and k for k in value):
        raise ValueError(f"{name} keys must be non-empty field names")
    return dict(value)


class CekuraClient:
    """One shared HTTP connection pool to Cekura; use `async with` or call `aclose()`.

    At most `max_in_flight` requests are on the wire at once (many workflows share one client).
    `sleep` and `clock` exist so tests can run retries and deadlines without waiting.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        deadline_s: float = 120.0,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        user_agent: str = "cekura-optimise/0.1",
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 8,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key must be a non-empty string")
        if not api_key.isprintable() or any(c.isspace() for c in api_key):
            raise ValueError("api_key must not contain spaces or control characters")
        base = str(base_url).strip().rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// or http://")
        for name, value in (
            ("timeout_s", timeout_s),
            ("deadline_s", deadline_s),
            ("backoff_max_s", backoff_max_s),
        ):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds")
        if not (isinstance(backoff_initial_s, int | float) and backoff_initial_s >= 0):
            raise ValueError("backoff_initial_s must be zero or a positive number of seconds")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError("max_attempts must be an integer of at least 1")
        self._key = api_key
        self._short_key = re.compile(rf"(?<![A-Za-z0-9]){re.escape(api_key)}(?![A-Za-z0-9])")
        self.base_url = base
        self._timeout_s = float(timeout_s)
        self._deadline_s = float(deadline_s)
        self._max_attempts = max_attempts
        self._backoff_initial_s = float(backoff_initial_s)
        self._backoff_max_s = float(backoff_max_s)
        self._sleep = sleep
        self._clock = clock
        self._in_flight = anyio.CapacityLimiter(max_in_flight)
        self._http = httpx.AsyncClient(
            base_url=base,
            headers={
                "X-CEKURA-API-KEY": api_key,
                "Accept": "application/json",
                "X-Client-Source": "mcp",
                "User-Agent": user_agent,
            },
            transport=transport,
            timeout=self._timeout_s,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"CekuraClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> CekuraClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _redact(self, text: str) -> str:
        """Text with the API key blanked out. A short key is blanked only where it stands alone,
        so that a test key like "abc" does not mangle ordinary words."""
        if self._key not in text:
            return text
        if len(self._key) >= 8:
            return text.replace(self._key, "[redacted]")
        return self._short_key.sub("[redacted]", text)

    # ------------------------------------------------------------------ transport

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = _NO_BODY,
        repeatable: bool,
        gone_means_done: bool = False,
    ) -> httpx.Response:
        """One call: attempts, waits and error mapping. Returns a 2xx response."""
        deadline = Deadline(self._deadline_s, self._clock)
        attempt = 0
        earlier_outcome_unknown = False
        while True:
            attempt += 1
            remaining = deadline.remaining()
            started = self._clock()
            failure: CekuraError
            delay: float | None = None
            async with self._in_flight:
                outcome = await self._attempt(method, path, params, body, remaining)
            if isinstance(outcome, BaseException):
                # Raised outside any `except` block: the httpx exception is neither chained nor
                # kept as context, since its text can carry header values.
                what = self._describe_transport(outcome)
                unsent = isinstance(outcome, _UNSENT)
                if not repeatable and not unsent:
                    log.warning("%s %s: %s; outcome unknown, not retried", method, path, what)
                    raise CekuraOutcomeUnknown(
                        f"Sent {method} {path} but got no answer: {what}. Cekura may or may not "
                        "have acted on it; check before trying again (repeating it blindly could "
                        "start a second job).",
                        method=method,
                        path=path,
                    )
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                failure = CekuraTransportError(
                    f"Could not reach Cekura for {method} {path}{tries}: {what}",
                    method=method,
                    path=path,
                )
                if not repeatable or isinstance(outcome, _PERMANENT):
                    raise failure
                earlier_outcome_unknown = earlier_outcome_unknown or not unsent
            else:
                response = outcome
                status = response.status_code
                log.debug(
                    "%s %s -> %d in %.2fs (attempt %d)",
                    method,
                    path,
                    status,
                    self._clock() - started,
                    attempt,
                )
                if 200 <= status < 300:
                    return response
                if status == 404 and gone_means_done and earlier_outcome_unknown:
                    log.warning("%s %s: already gone after an unanswered attempt", method, path)
                    return response
                note = ""
                if status >= 500 and not repeatable:
                    note = "Not retried: Cekura may or may not have acted on the request"
                http_error = error_for_response(
                    method, path, response, attempts=attempt, redact=self._redact, note=note
                )
                if not repeatable or status not in RETRYABLE_STATUSES:
                    raise http_error
                earlier_outcome_unknown = earlier_outcome_unknown or status >= 500
                failure, delay = http_error, http_error.retry_after

            if attempt >= self._max_attempts:
                log.warning("%s %s: giving up after %d attempts", method, path, attempt)
                raise failure
            if delay is None:
                delay = backoff_delay(
                    attempt, initial_s=self._backoff_initial_s, max_s=self._backoff_max_s
                )
            if delay >= deadline.remaining():
                log.warning(
                    "%s %s: giving up; waiting %.1fs would pass the %gs deadline",
                    method,
                    path,
                    delay,
                    self._deadline_s,
                )
                raise failure
            log.warning(
                "%s %s: %s; retrying in %.1fs (attempt %d of %d)",
                method,
                path,
                type(failure).__name__,
                delay,
                attempt + 1,
                self._max_attempts,
            )
            note_retry()
            await self._sleep(delay)

    async def _attempt(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any, remaining: float
    ) -> httpx.Response | httpx.TransportError | TimeoutError:
        """One HTTP exchange, bounded by the per-request timeout and the call's deadline.
        A transport failure is returned, not raised, so the caller can raise its own error
        without chaining httpx's."""
        try:
            with anyio.fail_after(max(remaining, 0.0)):
                return await self._http.request(
                    method,
                    path,
                    params=params,
                    json=None if body is _NO_BODY else body,
                    timeout=min(self._timeout_s, max(remaining, 0.001)),
                )
        except (httpx.TransportError, TimeoutError) as exc:
            return exc

    def _describe_transport(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return "no answer before the call's deadline"
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
        said = self._redact(excerpt(str(exc), 120))
        return f"{kind} ({type(exc).__name__}{': ' + said if said else ''})"

    def _json(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            return decode_json(response.content)
        except NotJSON as exc:
            problem = "empty body" if str(exc) == "empty body" else "not valid JSON"
            raise malformed(
                method, path, problem, content=response.content, redact=self._redact
            ) from None

    def _ignore_body(self, method: str, path: str, response: httpx.Response) -> Any:
        """For answers whose body is undocumented: empty or any JSON is fine, HTML is not."""
        if not response.content.strip():
            return None
        return self._json(method, path, response)

    async def _get_model(
        self, cls: type[M], path: str, *, params: dict[str, Any] | None = None
    ) -> M:
        response = await self._send("GET", path, params=params, repeatable=True)
        return self._model(cls, "GET", path, self._json("GET", path, response))

    def _model(self, cls: type[M], method: str, path: str, data: Any) -> M:
        return to_model(cls, data, method=method, path=path, redact=self._redact)

    def _model_list(self, cls: type[M], method: str, path: str, data: Any) -> list[M]:
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            data = data["results"]  # tolerate a paginated answer where a bare array is documented
        if not isinstance(data, list):
            raise malformed(
                method,
                path,
                f"expected a JSON array, got {type(data).__name__}",
                redact=self._redact,
            )
        return [self._model(cls, method, path, item) for item in data]

    def _progress_id(self, method: str, path: str, data: Any) -> str:
        """`{"progress_id": ...}`, with `job_id` accepted as a fallback (contract §3.1)."""
        if isinstance(data, dict):
            for key in ("progress_id", "job_id"):
                value = data.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                if isinstance(value, str) and value.strip():
                    log.debug("%s %s: progress_id %s", method, path, value.strip())
                    return value.strip()
        raise malformed(method, path, "no progress_id in the answer", redact=self._redact)

    def _parse_progress(self, parse: Callable[[Any], M], path: str, data: Any) -> M:
        try:
            return parse(data)
        except CekuraMalformedResponse as exc:
            raise malformed(
                "GET",
                path,
                exc.message.removeprefix("progress body could not be read: "),
                content=exc.body_excerpt,
                redact=self._redact,
            ) from None

    # ------------------------------------------------------------------ optimiser

    async def start_optimisation(
        self,
        metric_id: int,
        *,
        test_set_ids: list[int] | None = None,
        metric_type: str | None = None,
        skip_evaluation: bool = False,
    ) -> str:
        """POST process_feedbacks; returns the progress id. Never retried (it starts a job).

        `test_set_ids=None` lets Cekura use every test set in the metric's Lab.
        """
        body: dict[str, Any] = {"metric_id": _positive_int("metric_id", metric_id)}
        if test_set_ids is not None:
            body["test_set_ids"] = _id_list("test_set_ids", test_set_ids)
        if metric_type is not None:
            if metric_type not in METRIC_TYPES:
                raise ValueError(f"metric_type must be one of {sorted(METRIC_TYPES)}")
            body["metric_type"] = metric_type
        body["skip_evaluation"] = bool(skip_evaluation)
        path = f"{_REVIEWS}/process_feedbacks/"
        response = await self._send("POST", path, body=body, repeatable=False)
        return self._progress_id("POST", path, self._json("POST", path, response))

    async def get_optimisation_progress(self, progress_id: str) -> OptimiserProgress:
        """GET process_feedbacks_progress, parsed by `parse_optimiser_progress`."""
        params = {"progress_id": _token("progress_id", progress_id)}
        path = f"{_REVIEWS}/process_feedbacks_progress/"
        response = await self._send("GET", path, params=params, repeatable=True)
        return self._parse_progress(
            parse_optimiser_progress, path, self._json("GET", path, response)
        )

    async def answer_questions(self, progress_id: str, answers: dict[str, str | None]) -> None:
        """POST process_feedbacks_answer. A None answer skips that question. Never retried."""
        pid = _token("progress_id", progress_id)
        if not isinstance(answers, dict) or not answers:
            raise ValueError("answers must be a non-empty dict of question id to answer or None")
        encoded: dict[str, dict[str, str]] = {}
        for qid, answer in answers.items():
            key = _token("question id", qid)
            if answer is None:
                encoded[key] = {"action": "skip"}
            elif isinstance(answer, str) and answer.strip():
                encoded[key] = {"action": "answer", "answer": answer}
            else:
                raise ValueError(
                    f"answer to question {key!r:.60} must be non-empty text, or None to skip"
                )
        path = f"{_REVIEWS}/process_feedbacks_answer/"
        body = {"progress_id": pid, "answers": encoded}
        response = await self._send("POST", path, body=body, repeatable=False)
        self._ignore_body("POST", path, response)

    async def cancel_optimisation(self, progress_id: str) -> None:
        """POST process_feedbacks_cancel. Retried: cancelling twice is harmless."""
        path = f"{_REVIEWS}/process_feedbacks_cancel/"
        body = {"progress_id": _token("progress_id", progress_id)}
        response = await self._send("POST", path, body=body, repeatable=True)
        self._ignore_body("POST", path, response)

    # ------------------------------------------------------------------ metrics

    async def list_metrics(
        self, *, project_id: int | None = None, agent_id: int | None = None
    ) -> list[MetricSummary]:
        """GET the metrics list (a bare array). Pass a scope: unscoped lists can be huge."""
        params: dict[str, Any] = {}
        if project_id is not None:
            params["project_id"] = _positive_int("project_id", project_id)
        if agent_id is not None:
            params["agent_id"] = _positive_int("agent_id", agent_id)
        path = f"{_METRICS}/"
        response = await self._send("GET", path, params=params or None, repeatable=True)
        return self._model_list(MetricSummary, "GET", path, self._json("GET", path, response))

    async def get_metric(self, metric_id: int | str) -> Metric:
        """GET one metric with its Lab rows, by integer id or slug."""
        if isinstance(metric_id, str):
            ref = quote(_token("metric slug", metric_id), safe="")
        else:
            ref = str(_positive_int("metric_id", metric_id))
        return await self._get_model(Metric, f"{_METRICS}/{ref}/")

    async def patch_metric(self, metric_id: int, fields: dict[str, Any]) -> Metric:
        """PATCH the live metric (this changes what production evaluates). Retried."""
        path = f"{_METRICS}/{_positive_int('metric_id', metric_id)}/"
        body = _fields("fields", fields)
        response = await self._send("PATCH", path, body=body, repeatable=True)
        return self._model(Metric, "PATCH", path, self._json("PATCH", path, response))

    async def metric_history(
        self, metric_id: int, *, page: int = 1, page_size: int = 20
    ) -> HistoryPage:
        """GET one page of the metric's saved versions."""
        path = f"{_METRICS}/{_positive_int('metric_id', metric_id)}/history/"
        _positive_int("page", page)
        if _positive_int("page_size", page_size) > MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be at most {MAX_PAGE_SIZE}")
        return await self._get_model(
            HistoryPage, path, params={"page": page, "page_size": page_size}
        )

    async def latest_history_id(self, metric_id: int) -> int | None:
        """The newest history row's id (the rollback point), or None when there is no history.

        History is documented newest first; if a page comes back oldest first, the newest row is
        looked up on the last page instead of trusting the first row.
        """
        size = 20
        first = await self.metric_history(metric_id, page=1, page_size=size)
        ids = [entry.history_id for entry in first.results]
        if not ids:
            return None
        if ids == sorted(ids, reverse=True) or first.next is None:
            return max(ids)
        if first.count <= len(ids):
            raise CekuraMalformedResponse(
                f"Cekura's history for metric {metric_id} is oldest first and its count is "
                "unusable, so the newest version cannot be found",
                method="GET",
                path=f"{_METRICS}/{metric_id}/history/",
            )
        last = await self.metric_history(metric_id, page=-(-first.count // size), page_size=size)
        return max([*ids, *(entry.history_id for entry in last.results)])

    async def restore_metric(self, metric_id: int, history_id: int) -> Metric:
        """POST restore: put a saved version back live. Retried (same row, same result)."""
        path = f"{_METRICS}/{_positive_int('metric_id', metric_id)}/restore/"
        body = {"history_id": _positive_int("history_id", history_id)}
        response = await self._send("POST", path, body=body, repeatable=True)
        return self._model(Metric, "POST", path, self._json("POST", path, response))

    async def run_reviews(
        self, metric_id: int, *, overrides: dict[str, Any] | None = None, skip_save: bool = False
    ) -> str:
        """POST run_reviews: re-score the Lab, optionally with an unsaved config (`overrides`)
        and without saving results (`skip_save`). Returns the progress id. Never retried."""
        path = f"{_METRICS}/{_positive_int('metric_id', metric_id)}/run_reviews/"
        body: dict[str, Any] = {}
        if overrides:
            unknown = sorted(set(overrides) - RUN_REVIEWS_OVERRIDES)
            if unknown:
                raise ValueError(
                    f"run_reviews cannot override {', '.join(map(str, unknown))}; allowed: "
                    f"{', '.join(sorted(RUN_REVIEWS_OVERRIDES))} (use skip_save= for skip_save)"
                )
            body.update(overrides)
        if skip_save:
            body["skip_save"] = True
        response = await self._send("POST", path, body=body, repeatable=False)
        return self._progress_id("POST", path, self._json("POST", path, response))

    async def get_run_reviews_progress(self, progress_id: str) -> RunReviewsProgress:
        """GET run_reviews_progress, parsed by `parse_run_reviews_progress`."""
        params = {"progress_id": _token("progress_id", progress_id)}
        path = f"{_METRICS}/run_reviews_progress/"
        response = await self._send("GET", path, params=params, repeatable=True)
        return self._parse_progress(
            parse_run_reviews_progress, path, self._json("GET", path, response)
        )

    async def apply_pending_proposal(self, metric_id: int) -> Metric | None:
        """POST apply_optimisation_proposal. Returns the updated metric when Cekura sends it
        (the response body is undocumented), else None. Never retried."""
        path = f"{_METRICS}/{_positive_int('metric_id', metric_id)}/apply_optimisation_proposal/"
        response = await self._send("POST", path, repeatable=False)
        data = self._ignore_body("POST", path, response)
        if isinstance(data, dict) and isinstance(data.get("metric"), dict):
            data = data["metric"]
        if isinstance(data, dict) and "id" in data and "name" in data:
            return self._model(Metric, "POST", path, data)
        return None

    async def dismiss_pending_proposal(self, metric_id: int) -> None:
        """POST dismiss_optimisation_proposal. Never retried."""
        path = f"{_METRICS}/{_positive_int('metric_id', metric_id)}/dismiss_optimisation_proposal/"
        response = await self._send("POST", path, repeatable=False)
        self._ignore_body("POST", path, response)

    # ------------------------------------------------------------------ in-product schedules

    async def list_cron_jobs(self, *, project_id: int | None = None) -> list[CronJob]:
        """GET Cekura's optimiser schedules (a bare array)."""
        params = None
        if project_id is not None:
            params = {"project_id": _positive_int("project_id", project_id)}
        path = f"{_CRON}/"
        response = await self._send("GET", path, params=params, repeatable=True)
        return self._model_list(CronJob, "GET", path, self._json("GET", path, response))

    async def create_cron_job(
        self,
        *,
        project: int,
        metrics: list[int],
        crontab_expression: str,
        name: str | None = None,
        timezone: str | None = None,
        auto_apply: bool = False,
        skip_evaluation: bool = False,
        is_active: bool = True,
        notify_on: str | None = None,
    ) -> CronJob:
        """POST a new optimiser schedule. Never retried (a repeat would create a duplicate)."""
        cron = _token("crontab_expression", crontab_expression)
        if len(cron.split()) != 5:
            raise ValueError("crontab_expression must have 5 fields: minute hour dom month dow")
        body: dict[str, Any] = {
            "project": _positive_int("project", project),
            "metrics": _id_list("metrics", metrics),
            "crontab_expression": cron,
            "auto_apply": bool(auto_apply),
            "skip_evaluation": bool(skip_evaluation),
            "is_active": bool(is_active),
        }
        if name is not None:
            body["name"] = _token("name", name)
            if len(body["name"]) > 255:
                raise ValueError("name must be at most 255 characters")
        if timezone is not None:
            body["timezone"] = _token("timezone", timezone)
        if notify_on is not None:
            if notify_on not in NOTIFY_ON:
                raise ValueError(f"notify_on must be one of {sorted(NOTIFY_ON)}")
            body["notify_on"] = notify_on
        path = f"{_CRON}/"
        response = await self._send("POST", path, body=body, repeatable=False)
        return self._model(CronJob, "POST", path, self._json("POST", path, response))

    async def update_cron_job(self, job_id: int, fields: dict[str, Any]) -> CronJob:
        """PATCH an optimiser schedule. Retried (same body, same result)."""
        path = f"{_CRON}/{_positive_int('job_id', job_id)}/"
        body = _fields("fields", fields)
        response = await self._send("PATCH", path, body=body, repeatable=True)
        return self._model(CronJob, "PATCH", path, self._json("PATCH", path, response))

    async def delete_cron_job(self, job_id: int) -> None:
        """DELETE an optimiser schedule. Retried; if a retry finds it already gone after an
        unanswered attempt, it counts as deleted."""
        path = f"{_CRON}/{_positive_int('job_id', job_id)}/"
        await self._send("DELETE", path, repeatable=True, gone_means_done=True)
