"""The seeded world's machinery: one project, one agent, metrics built from Lab texts, Lab calls.

The metrics and their Lab texts live in `sandbox.seed_labs` (101–106), `sandbox.seed_loop`
(107–110) and `sandbox.seed_pending` (111, with a pending proposal); the production calls that are in no Lab live in `sandbox.seed_calls`. Every
`actual_value` is the judge's output on the seeded configuration. Times of recent calls are
relative to the sandbox's clock (`now`), so they stay inside Cekura's default 30-day window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.contract import FAIL_VALUE, PASS_VALUE
from sandbox.judge import evaluate, lab_score
from sandbox.seed_labs import METRICS, MetricSpec
from sandbox.seed_loop import LOOP_METRICS
from sandbox.seed_pending import PENDING_111, PENDING_METRIC_ID, SPEC_111

PROJECT_ID = 1
AGENT_ID = 11
AGENT_NAME = "Front Desk Agent"
SEEDED_AT = "2026-08-10T10:30:45Z"
LABELLED_AT = "2026-08-11T08:02:13Z"
# The calls behind the first Labs happened in July 2026, before those Labs were seeded.
_OLD_CALLS_FROM = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
_LABELS = {"pass": PASS_VALUE, "fail": FAIL_VALUE, "none": None}
_AGE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?")


@dataclass(frozen=True)
class LabRow:
    """One Lab row: the human label (5 pass, 0 fail, None unlabelled), the call, the note.

    `age` is how long before the sandbox's `now` the call happened (None: an old call, before the
    Labs were seeded); `voted` puts the label and note on the call log as a human vote too.
    """

    expected: int | None
    lines: tuple[str, ...]
    feedback: str = ""
    age: timedelta | None = None
    voted: bool = False


@dataclass(frozen=True)
class SeedCall:
    """A production call of the seed: its call-log id, transcript, time and human votes."""

    id: int
    lines: tuple[str, ...]
    at: datetime
    votes: tuple[tuple[int, Any, str | None], ...] = ()  # (metric id, expected value, feedback)
    agent: int = AGENT_ID


def all_specs() -> tuple[MetricSpec, ...]:
    """Every seeded metric, in display order."""
    return (*METRICS, *LOOP_METRICS, SPEC_111)


def parse_age(text: str) -> timedelta:
    """`18d`, `6h` or `2d3h` as a timedelta."""
    match = _AGE.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"bad age {text!r}: expected e.g. 18d, 6h or 2d3h")
    return timedelta(days=int(match[1] or 0), hours=int(match[2] or 0))


def parse_lab(text: str) -> tuple[LabRow, ...]:
    """Rows of a Lab text block: `expected:` pass|fail|none, optional `age:` and `voted: yes`,
    an optional `feedback:` (indented lines continue it), then the transcript; a blank line
    separates rows."""
    rows = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, Any] = {"expected": None, "age": None, "voted": False}
        feedback: list[str] = []
        lines: list[str] = []
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            if key == "expected":
                fields["expected"] = _LABELS[value.strip()]
            elif key == "age":
                fields["age"] = parse_age(value)
            elif key == "voted":
                fields["voted"] = value.strip() == "yes"
            elif key == "feedback":
                feedback.append(value.strip())
            elif line.startswith("  ") and feedback:
                feedback.append(line.strip())
            else:
                lines.append(line)
        rows.append(LabRow(lines=tuple(lines), feedback=" ".join(feedback), **fields))
    return tuple(rows)


def lab_call_log_id(metric_id: int, index: int) -> int:
    """The call log a seeded Lab row was made from (its test set's `source_id`)."""
    return 3_358_000 + metric_id * 10 + index


def recording_url(call_log_id: int) -> str:
    return f"https://storage.sandbox.invalid/recordings/call_{call_log_id}.mp3"


def stamp(at: datetime) -> str:
    """A time as Cekura writes it (ISO 8601, UTC, `Z`, whole seconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def call_time(now: datetime, metric_id: int, index: int, row: LabRow) -> datetime:
    """When the call behind a Lab row happened: `age` before now, or a fixed day in July 2026."""
    if row.age is not None:
        return now - row.age
    return _OLD_CALLS_FROM + timedelta(days=(metric_id - 101) * 3, hours=index * 2)


def seed_metrics(now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Fresh metric records (MetricDetail fields plus write-only ones), keyed by id, Lab rows
    judged; `now` is the sandbox's clock (recent Lab rows are dated from it)."""
    now = now or datetime.now(UTC)
    metrics = {
        spec.id: _metric_record(spec, order, now) for order, spec in enumerate(all_specs(), start=1)
    }
    metrics[PENDING_METRIC_ID]["pending_optimisation_proposal"] = dict(PENDING_111)
    return metrics


def lab_calls(now: datetime) -> list[SeedCall]:
    """The production calls every seeded Lab row was made from, with the votes `voted:` asks for."""
    calls = []
    for spec in all_specs():
        for index, row in enumerate(parse_lab(spec.lab), start=1):
            votes = ((spec.id, row.expected, row.feedback or None),) if row.voted else ()
            calls.append(
                SeedCall(
                    agent=spec.agent or AGENT_ID,
                    id=lab_call_log_id(spec.id, index),
                    lines=row.lines,
                    at=call_time(now, spec.id, index, row),
                    votes=votes,
                )
            )
    return calls


def _metric_record(spec: MetricSpec, order: int, now: datetime) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "id": spec.id,
        "slug": f"{spec.name.lower().replace(' ', '_')}_{spec.id}",
        "project": PROJECT_ID,
        "agents": [spec.agent or AGENT_ID],
        "name": spec.name,
        "description": spec.description,
        "type": "llm_judge",
        "eval_type": "binary",
        "enum_values": [],
        "audio_enabled": False,
        "prompt": "",
        "evaluation_trigger": spec.trigger,
        "trigger_type": spec.trigger_type,
        "evaluation_trigger_prompt": spec.trigger_prompt,
        "evaluation_trigger_custom_code": spec.trigger_code,
        "priority_assignment_prompt": "",
        "configuration": {},
        "knowledge_base_files": "[]",
        "observability_enabled": True,
        "simulation_enabled": True,
        "sampling_enabled": False,
        "alert_enabled": False,
        "alert_type": "disabled",
        "alert_filters": None,
        "slack_workspace": None,
        "slack_channel_id": None,
        "significant_change_alert_status": "disabled",
        "significant_change_alert_direction": "",
        "function_name": None,
        "custom_code": "",
        "vocera_defined_metric_code": "",
        "window_size": 50,
        "std_multiplier": 2.0,
        "ewma_alpha": 0.1,
        "add_to_new_agents": True,
        "pending_optimisation_proposal": None,
        "display_order": order,
        "llm_provider": "gemini",
        "relevance_llm_provider": "gemini",
        "metric_description_program": None,
        "metric_description_variables": [],
        "evaluation_trigger_program": None,
        "evaluation_trigger_variables": [],
    }
    metric["reviews"] = [
        _review(spec.id, index, row, metric, call_time(now, spec.id, index, row))
        for index, row in enumerate(parse_lab(spec.lab), start=1)
    ]
    correct, total = lab_score(metric["reviews"])
    metric["overall_score"] = metric["total_score"] = f"{correct}/{total}"
    return metric


def _review(
    metric_id: int, index: int, row: LabRow, metric: dict[str, Any], called_at: datetime
) -> dict[str, Any]:
    transcript = "\n".join(row.lines)
    call_log_id = lab_call_log_id(metric_id, index)
    verdict = evaluate(metric, transcript)
    created, labelled = SEEDED_AT, LABELLED_AT
    if row.age is not None:
        created, labelled = (
            stamp(called_at + timedelta(hours=1)),
            stamp(called_at + timedelta(days=1)),
        )
    return {
        "id": metric_id * 100 + index,
        "test_set": {
            "id": 8000 + (metric_id - 100) * 10 + index,
            "agent": metric["agents"][0],
            "name": str(call_log_id),
            "transcript": transcript,
            "voice_recording_url": recording_url(call_log_id),
            "call_end_reason": "customer-ended-call",
            "duration": duration(row.lines),
            "source_model": "CallLog",
            "source_id": str(call_log_id),
            "created_at": created,
            "updated_at": created,
        },
        "metric": metric_id,
        "expected_value": row.expected,
        "actual_value": verdict.actual_value,
        "explanation": verdict.explanation,
        "feedback": row.feedback,
        "created_at": created,
        "updated_at": labelled,
    }


def duration(lines: tuple[str, ...]) -> str:
    """MM:SS a few seconds after the last utterance's timestamp."""
    minutes, seconds = (int(part) for part in lines[-1][1:6].split(":"))
    total = minutes * 60 + seconds + 4
    return f"{total // 60:02d}:{total % 60:02d}"
