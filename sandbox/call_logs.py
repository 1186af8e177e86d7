"""Production call logs: the store, Cekura's call-log shapes, votes, and re-evaluation's credits.

A call log keeps one evaluation item per metric assigned to its agent: what the judge said about
the call with that metric's live configuration when the call was last evaluated. Binary results go
in `score` (5 pass, 0 fail, null when the trigger did not fire, with `extra.trigger_failed`). A
human vote (`mark_metric_vote`) sits on that metric's item as `thumbs_up`, `expected_value` and
`feedback`, as contract §12.7 suggests; re-evaluation replaces the result and keeps the vote.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox.contract import JUDGE_FIELDS
from sandbox.judge import evaluate
from sandbox.seed import AGENT_NAME, duration, recording_url, stamp

VOTE_FIELDS = ("thumbs_up", "expected_value", "feedback")
_LINE = re.compile(r"\[(\d+):(\d\d)\] ([^:]+): (.*)")
# CallLogList fields a row carries; `transcript_object` and `evaluation` (typed string on rows in
# the 08-18 schema) are left out, as later versions leave them out unless asked for (§12.1).
ROW_FIELDS = (
    "id",
    "call_id",
    "agent",
    "agent_name",
    "timestamp",
    "duration",
    "success",
    "is_reviewed",
    "status",
    "feedback",
    "metrics",
    "call_ended_reason",
    "customer_number",
    "trace_id",
    "error_message",
    "dropoff_point",
    "topic",
    "transcript",
    "created_at",
    "updated_at",
)
DETAIL_FIELDS = (
    "id",
    "call_id",
    "agent",
    "agent_id",
    "agent_name",
    "project",
    "status",
    "success",
    "is_reviewed",
    "feedback",
    "timestamp",
    "duration",
    "transcript",
    "transcript_object",
    "voice_recording_url",
    "critical_categories",
    "evaluation",
    "metadata",
    "dynamic_variables",
    "rubric",
    "user_generated_transcript",
    "call_ended_reason",
    "customer_number",
    "dropoff_point",
    "topic",
    "error_message",
    "trace_id",
    "testing_channel_index",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class CallQuery:
    """The call-log list's filters, already validated (the window is inclusive at both ends)."""

    start: datetime
    end: datetime
    agent_id: int | None = None
    project_id: int | None = None
    call_ids: frozenset[int] | None = None


def assigned(metrics: Mapping[int, dict[str, Any]], agent_id: int) -> list[dict[str, Any]]:
    """The metrics assigned to an agent, in display order: each evaluates every call it takes."""
    chosen = [m for m in metrics.values() if agent_id in (m.get("agents") or [])]
    return sorted(chosen, key=lambda m: (m.get("display_order") or 0, m["id"]))


def evaluation_item(metric: Mapping[str, Any], transcript: str) -> dict[str, Any]:
    """One metric's result on one call, judged with the metric's live configuration."""
    verdict = evaluate({name: metric.get(name) for name in JUDGE_FIELDS}, transcript)
    extra: dict[str, Any] = {}
    if not verdict.triggered:
        extra["trigger_failed"] = True
    if verdict.error is not None:
        extra["error"] = verdict.error
    return {
        "id": metric["id"],
        "name": metric["name"],
        "type": metric.get("eval_type") or "binary",
        "score": verdict.actual_value,
        "explanation": verdict.explanation or ([verdict.error] if verdict.error else []),
        "extra": extra,
        "vocera_defined_metric_code": metric.get("vocera_defined_metric_code") or "",
        "function_name": metric.get("function_name") or "",
        "thumbs_up": None,
        "expected_value": None,
        "feedback": None,
    }


def transcript_object(transcript: str) -> list[dict[str, Any]]:
    """`[MM:SS] Role: text` lines as `{role, content, timestamp}` (seconds from the start)."""
    turns = []
    for line in transcript.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match:
            seconds = int(match[1]) * 60 + int(match[2])
            turns.append({"role": match[3], "content": match[4], "timestamp": float(seconds)})
    return turns


def new_call_log(
    call_log_id: int,
    lines: tuple[str, ...],
    at: datetime,
    metrics: Mapping[int, dict[str, Any]],
    *,
    agent_id: int,
    project_id: int,
) -> dict[str, Any]:
    """A stored call log, evaluated by every metric assigned to its agent."""
    transcript = "\n".join(lines)
    digest = hashlib.sha1(str(call_log_id).encode()).hexdigest()
    return {
        "id": call_log_id,
        "call_id": f"call_{digest[:24]}",
        "agent": agent_id,
        "project": project_id,
        "timestamp": stamp(at),
        "duration": duration(lines),
        "transcript": transcript,
        "success": True,
        "is_reviewed": False,
        "feedback": "",
        "call_ended_reason": "customer-ended-call",
        "customer_number": f"+4479460{call_log_id % 100_000:05d}",
        "trace_id": digest[:32],
        "topic": "",
        "dropoff_point": "",
        "evaluation": {
            "metrics": [evaluation_item(m, transcript) for m in assigned(metrics, agent_id)]
        },
        "created_at": stamp(at + timedelta(minutes=1)),
        "updated_at": stamp(at + timedelta(minutes=2)),
    }


class CallLogStore:
    """The sandbox's call logs and the evaluations re-running them cost (`evaluations`)."""

    def __init__(
        self,
        calls: dict[int, dict[str, Any]],
        metrics: dict[int, dict[str, Any]],
        now: Callable[[], datetime],
    ) -> None:
        self.calls = calls
        self.metrics = metrics
        self.now = now
        self.evaluations = 0

    def get(self, call_log_id: int) -> dict[str, Any] | None:
        return self.calls.get(call_log_id)

    def agents(self) -> set[int]:
        """Agents the sandbox knows: those with call logs and those metrics are assigned to."""
        known = {c["agent"] for c in self.calls.values()}
        return known | {a for m in self.metrics.values() for a in (m.get("agents") or [])}

    def select(self, query: CallQuery) -> list[dict[str, Any]]:
        """Call logs matching the filters, newest first."""
        found = [
            call
            for call in self.calls.values()
            if query.start <= datetime.fromisoformat(call["timestamp"]) <= query.end
            and (query.agent_id is None or call["agent"] == query.agent_id)
            and (query.project_id is None or call["project"] == query.project_id)
            and (query.call_ids is None or call["id"] in query.call_ids)
        ]
        return sorted(found, key=lambda c: (c["timestamp"], c["id"]), reverse=True)

    def vote(
        self,
        call: dict[str, Any],
        metric_id: int,
        thumbs_up: bool | None,
        expected_value: Any,
        feedback: str | None,
    ) -> bool:
        """Put a human vote on the call's item for the metric and mark the call reviewed; False
        when the metric has no result on this call."""
        item = result_for(call, metric_id)
        if item is None:
            return False
        item.update(thumbs_up=thumbs_up, expected_value=expected_value, feedback=feedback)
        call.update(is_reviewed=True, updated_at=stamp(self.now()))
        return True

    def rerun(self, calls: Iterable[dict[str, Any]]) -> None:
        """Re-judge every metric assigned to each call's agent with its live configuration; one
        evaluation per metric per call. Votes stay; non-reviewed calls get `success` null."""
        for call in calls:
            old = {item["id"]: item for item in call["evaluation"]["metrics"]}
            fresh = []
            for metric in assigned(self.metrics, call["agent"]):
                item = evaluation_item(metric, call["transcript"])
                previous = old.pop(metric["id"], None)
                if previous is not None:
                    item.update({name: previous.get(name) for name in VOTE_FIELDS})
                fresh.append(item)
                self.evaluations += 1
            call["evaluation"]["metrics"] = fresh + list(old.values())
            if not call["is_reviewed"]:
                call["success"] = None
            call["updated_at"] = stamp(self.now())


def result_for(call: Mapping[str, Any], metric_id: int) -> dict[str, Any] | None:
    """The call's evaluation item for a metric (mutable), or None."""
    return next((m for m in call["evaluation"]["metrics"] if m["id"] == metric_id), None)


def call_status(call: Mapping[str, Any]) -> str:
    outcome = "success" if call.get("success") else "failure"
    return f"reviewed_{outcome}" if call.get("is_reviewed") else outcome


def call_detail(call: Mapping[str, Any]) -> dict[str, Any]:
    """CallLogDetail."""
    derived = {
        "agent_id": str(call["agent"]),
        "agent_name": AGENT_NAME,
        "status": call_status(call),
        "transcript_object": transcript_object(call["transcript"]),
        "voice_recording_url": recording_url(call["id"]),
        "critical_categories": [],
        "metadata": {"ended_reason": call["call_ended_reason"], "call_type": "inbound"},
        "dynamic_variables": {},
        "rubric": None,
        "user_generated_transcript": None,
        "error_message": None,
        "testing_channel_index": None,
    }
    return {
        name: copy.deepcopy(derived[name] if name in derived else call.get(name))
        for name in DETAIL_FIELDS
    }


def call_row(call: Mapping[str, Any]) -> dict[str, Any]:
    """CallLogList: the row of the paginated list, results without explanations."""
    derived = {
        "agent_name": AGENT_NAME,
        "status": call_status(call),
        "error_message": None,
        "metrics": [
            {
                key: item[key]
                for key in ("id", "name", "type", "score", "enum", "value")
                if key in item
            }
            for item in call["evaluation"]["metrics"]
        ],
    }
    return {
        name: copy.deepcopy(derived[name] if name in derived else call.get(name))
        for name in ROW_FIELDS
    }
