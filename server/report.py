"""Rendering results for people: a tool result's short text view, and for the CLI a rich table on
a terminal or plain lines otherwise."""

from __future__ import annotations

from typing import Any, Literal, TextIO, TypeVar

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from tools.proposals.field_diffs import FieldDiff
from tools.results import BatchResult, MetricOutcome
from tools.untrusted import BLOCK_OPEN, unmark
from tools.workflows.pending import PENDING_PREFIX

Surface = Literal["model", "person"]
R = TypeVar("R", bound=BaseModel)

FAILING = frozenset({"failed", "timed_out"})
STYLE = {
    "applied": "green",
    "applied_unverified": "yellow",
    "already_applied": "green",
    "proposed": "cyan",
    "unchanged": "dim",
    "no_new_feedback": "dim",
    "not_ready": "yellow",
    "needs_answers": "yellow",
    "not_applied_regressed": "red",
    "not_applied_stale": "yellow",
    "not_applied_unsafe": "red",
    "reverted": "magenta",
    "failed": "bold red",
    "timed_out": "yellow",
    "cancelled": "dim",
}


def for_surface(result: R, surface: Surface) -> R:
    """The one place that decides how untrusted text looks. A model reads it marked as data (as
    the workflows make it: MCP results); people and programs (the CLI's table, lines and JSON,
    the demo) read it plain, with each diff a unified diff `patch` and `git apply` take."""
    if surface == "model":
        return result
    return _plain(result)


def _plain(value: Any) -> Any:
    if isinstance(value, FieldDiff) and value.diff.startswith(BLOCK_OPEN):
        header = f"--- a/{value.field}\n+++ b/{value.field}\n"
        return value.model_copy(update={"diff": header + unmark(value.diff)})
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return value.model_copy(update={name: _plain(getattr(value, name)) for name in fields})
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return unmark(value) if isinstance(value, str) else value


FAILED = 1
WAITING_ON_A_PERSON = 3


def exit_code(result: BatchResult) -> int:
    """0 when every metric was handled, 1 when any failed or timed out, else 3 when any waits on
    a person's answer (so cron can alert)."""
    statuses = {m.status for m in result.metrics}
    if statuses & FAILING:
        return FAILED
    return WAITING_ON_A_PERSON if "needs_answers" in statuses else 0


def _scored_on(outcome: MetricOutcome) -> str:
    """Which rows a proposal's scores are on: the optimiser's own sample, or, for a pending
    proposal from Cekura's schedule that went through our guard, the whole Lab we scored
    without saving."""
    proposal_id = outcome.optimise.proposal_id if outcome.optimise else None
    judged = outcome.apply is not None and outcome.apply.evidence is not None
    if judged and proposal_id and proposal_id.startswith(PENDING_PREFIX):
        return "whole Lab, scored without saving,"
    return "optimiser's sample"


def outcome_details(outcome: MetricOutcome) -> list[str]:
    """The lines under a metric's summary: scores, flips, refusal reasons, questions, warnings."""
    lines: list[str] = []
    opt = outcome.optimise
    if opt is not None and opt.baseline and opt.optimised:
        lines.append(
            f"{_scored_on(outcome)} {opt.baseline.correct}/{opt.baseline.total} → "
            f"{opt.optimised.correct}/{opt.optimised.total}; {opt.mcnemar_reading}; fixed "
            f"{opt.flips.fixed or '-'}, broken {opt.flips.broken or '-'}"
        )
    if opt is not None and opt.type_change:
        lines.append(f"type {opt.type_change.before} → {opt.type_change.after}")
    if opt is not None:
        lines.extend(f"question {q.id}: {q.question} options={q.options}" for q in opt.questions)
    if outcome.apply is not None:
        label = "why" if outcome.apply.status == "reverted" else "refused"
        lines.extend(f"{label}: {r}" for r in outcome.apply.reasons)
    held = outcome.apply.held_out if outcome.apply is not None else None
    if held is not None:
        live, proposed = held.comparison.live, held.comparison.proposed
        lines.append(
            f"held-out calls ({len(held.checked)} of {held.found}): {held.status}; live "
            f"{live.score.correct}/{live.score.total} (kappa {_kappa(live.kappa)}), proposal "
            f"{proposed.score.correct}/{proposed.score.total} (kappa {_kappa(proposed.kappa)}); "
            f"broken {held.comparison.flips.broken or '-'}"
        )
    if opt is not None and opt.status == "not_ready":
        lines.append(f"needs {opt.feedback_needed} more labelled call(s) before optimising")
    seen: set[str] = set()
    for source in (opt, outcome.apply):
        for warning in source.warnings if source is not None else []:
            if warning not in seen:
                seen.add(warning)
                lines.append(f"warning: {warning}")
    if outcome.error:
        lines.append(f"error: {outcome.error}")
    return lines


def _kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def diff_lines(outcome: MetricOutcome) -> list[str]:
    """The proposal's unified diffs (as `for_surface` made them for people), if it has any."""
    if outcome.optimise is None:
        return []
    return [line for d in outcome.optimise.diffs for line in d.diff.splitlines()]


def render_plain(result: BatchResult, out: TextIO, *, diffs: bool = False) -> None:
    """One line per metric (id, status, summary), details indented below."""
    result = for_surface(result, "person")
    for outcome in result.metrics:
        print(f"{outcome.metric_id}\t{outcome.status}\t{outcome.summary}", file=out)
        for line in outcome_details(outcome):
            print(f"\t{line}", file=out)
        if diffs:
            for line in diff_lines(outcome):
                print(f"\t| {line}", file=out)
    print(result.summary, file=out)


def render_rich(result: BatchResult, console, *, diffs: bool = False) -> None:
    """A table of metrics and statuses, with details and (optionally) coloured diffs."""
    from rich.table import Table
    from rich.text import Text

    result = for_surface(result, "person")
    table = Table(title=result.summary, show_lines=True)
    table.add_column("metric", justify="right")
    table.add_column("status")
    table.add_column("what happened")
    for outcome in result.metrics:
        detail = Text(outcome.summary)
        for line in outcome_details(outcome):
            detail.append("\n" + line, style="dim")
        table.add_row(
            str(outcome.metric_id),
            Text(outcome.status, style=STYLE.get(outcome.status, "")),
            detail,
        )
    console.print(table)
    if diffs:
        for outcome in result.metrics:
            lines = diff_lines(outcome)
            if not lines:
                continue
            console.print(f"[bold]metric {outcome.metric_id}[/bold] proposed diff:")
            for line in lines:
                style = _diff_style(line)
                console.print(Text(line, style=style))


def _diff_style(line: str) -> str:
    if line.startswith(("--- ", "+++ ", "@@")):
        return "bold"
    return "green" if line.startswith("+") else "red" if line.startswith("-") else ""


def text_view(result: BaseModel) -> str:
    """A short, faithful rendering of a tool result: its summary, the details under it, warnings
    and next steps. The structured content stays the full truth."""
    if isinstance(result, BatchResult):
        lines = [result.summary]
        for outcome in result.metrics:
            lines.append(f"{outcome.metric_id} {outcome.status}: {outcome.summary}")
            lines.extend(f"  {line}" for line in outcome_details(outcome))
    else:
        lines = [getattr(result, "summary", "")]
        lines.extend(f"warning: {w}" for w in getattr(result, "warnings", []))
        changed = getattr(result, "changed_fields", None)
        if changed:
            lines.append(f"changed fields: {', '.join(changed)} (diffs in the structured result)")
        lines.extend(f"refused: {r}" for r in getattr(result, "reasons", []))
    lines.extend(f"next: {step}" for step in getattr(result, "next_steps", []))
    return "\n".join(lines)


def as_tool_result(result: BaseModel) -> CallToolResult:
    """The MCP result: structured content without fields left at their defaults (empty lists,
    nulls, zero counts cost the model tokens and say nothing; the output schema gives the
    defaults), and the short text view for clients that read only text."""
    result = for_surface(result, "model")
    return CallToolResult(
        content=[TextContent(type="text", text=text_view(result))],
        structured_content=result.model_dump(mode="json", exclude_defaults=True),
    )
