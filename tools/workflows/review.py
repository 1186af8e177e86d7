"""review_results: recent production calls a metric evaluated, likely misalignments first, for a
person to confirm or correct with label_call. Read-only.

Order: calls whose human vote disagrees with the metric's result; then calls a person flagged (a
note on the call, but no vote on this metric) or whose result looks inconsistent (no verdict, or a
verdict although the trigger did not fire, or none although it did); then the newest. Calls the
metric did not apply to (its trigger did not fire) are left out unless a person voted on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.cekura.call_log_models import CallLog, CallLogRow
from tools.cekura.errors import CekuraError
from tools.cekura.models import Metric
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import Label, MetricId, ReviewLimit, Since, check
from tools.labs.calls import epoch, lab_call_ids
from tools.live_metric import read_metric
from tools.results import ReviewedCall, ReviewResultsResult
from tools.untrusted import bound, quote_untrusted

PAGE_SIZE = 25
MAX_PAGES = 4
EXCERPT_CHARS = 600
RANK = {"vote_disagrees": 0, "flagged": 1, "inconsistent": 2, "recent": 3}


@reports_retries
async def review_results(
    wf: Workflow,
    metric_id: int,
    *,
    agent_id: int | None = None,
    since: datetime | str | None = None,
    result: Any = None,
    limit: int = 20,
) -> ReviewResultsResult:
    """The metric's recent results on production calls, likely misalignments first."""
    metric_id = check(MetricId, metric_id, "metric_id")
    agent_id = None if agent_id is None else check(MetricId, agent_id, "agent_id")
    since = None if since is None else check(Since, since, "since")
    result = None if result is None else check(Label, result, "result")
    limit = check(ReviewLimit, limit, "limit")
    metric = await read_metric(wf, metric_id)
    try:
        rows = await _scan(wf, metric, agent_id, since)
        rows = [r for r in rows if result is None or _row_item(r, metric_id).verdict == result]
        details = [await wf.client.get_call_log(r.id) for r in _worth_reading(rows, limit)]
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"reading metric {metric_id}'s production calls")) from exc
    in_lab = lab_call_ids(metric)
    judged = [call for call in details if _applies(call, metric_id)]
    calls = sorted(
        (_reviewed(call, metric_id, in_lab) for call in judged),
        key=lambda c: (RANK[c.why], -epoch(c.timestamp)),
    )[:limit]
    misaligned = sum(c.why == "vote_disagrees" for c in calls)
    return ReviewResultsResult(
        metric_id=metric_id,
        calls=calls,
        scanned=len(rows),
        summary=(
            f"Metric {metric_id}: {len(calls)} of {len(rows)} recent calls shown, {misaligned} "
            "where a person's vote disagrees with the result."
        ),
        next_steps=[f"label_call(metric_id={metric_id}, call_id=…, expected_value=…, feedback=…)"],
    )


async def _scan(
    wf: Workflow, metric: Metric, agent_id: int | None, since: datetime | None
) -> list[CallLogRow]:
    """Recent call-log rows that carry a result of this metric, newest pages first."""
    scope: dict[str, Any] = {"agent_id": agent_id or (metric.agents[0] if metric.agents else None)}
    if scope["agent_id"] is None:
        scope = {"project_id": metric.project}
    rows: list[CallLogRow] = []
    for page in range(1, MAX_PAGES + 1):
        found = await wf.client.list_call_logs(
            **scope, timestamp_from=since, page=page, page_size=PAGE_SIZE
        )
        rows.extend(r for r in found.results if _row_item(r, metric.id) is not None)
        if not found.next:
            break
    return rows


def _row_item(row: CallLogRow, metric_id: int) -> Any:
    """The metric's result on a list row, None when the metric did not evaluate the call."""
    return next((m for m in row.metrics if m.id == metric_id), None)


def _worth_reading(rows: list[CallLogRow], limit: int) -> list[CallLogRow]:
    """The rows to open (votes live on the detail): the newest `limit` reviewed ones and the
    newest `limit` of all, at most twice `limit` reads."""
    newest = sorted(rows, key=lambda r: -epoch(r.timestamp))
    reviewed = [r for r in newest if r.is_reviewed][:limit]
    chosen = {r.id: r for r in reviewed}
    for row in newest[:limit]:
        chosen.setdefault(row.id, row)
    return list(chosen.values())


def _short(verdict: Any) -> Any:
    """A verdict as shown: numbers as they are, text (an enum value) bounded."""
    return bound(verdict, 100) if isinstance(verdict, str) else verdict


def _trigger_failed(item: Any) -> bool:
    return bool((item.extra or {}).get("trigger_failed"))


def _applies(call: CallLog, metric_id: int) -> bool:
    """Whether the metric judged the call (its trigger fired), or a person voted on it anyway."""
    item = call.result_for(metric_id)
    if item is None:
        return False
    return not (_trigger_failed(item) and item.verdict is None and item.expected_value is None)


def _reviewed(call: CallLog, metric_id: int, in_lab: set[int]) -> ReviewedCall:
    item = call.result_for(metric_id)
    verdict = item.verdict if item is not None else None
    why = "recent"
    if item is not None and item.expected_value is not None and item.expected_value != verdict:
        why = "vote_disagrees"
    elif (call.feedback or "").strip() and (item is None or item.expected_value is None):
        why = "flagged"
    elif item is None or (verdict is None) != _trigger_failed(item):
        why = "inconsistent"
    explanation = " ".join(item.explanation) if item is not None and item.explanation else None
    return ReviewedCall(
        call_id=call.id,
        timestamp=call.timestamp.isoformat() if call.timestamp else None,
        result=_short(verdict),
        explanation=quote_untrusted(explanation, 500) if explanation else None,
        transcript=quote_untrusted(call.transcript, EXCERPT_CHARS) if call.transcript else None,
        thumbs_up=item.thumbs_up if item is not None else None,
        expected_value=_short(item.expected_value) if item is not None else None,
        in_lab=call.id in in_lab,
        why=why,  # type: ignore[arg-type]
    )
