"""The packaged prompts (served as MCP prompts): the routine, read-only and with guarded
auto-apply (the same texts as claude_routine.md), and the interactive labelling session."""

from __future__ import annotations

from importlib.resources import files

from tools.errors import WorkflowError
from tools.inputs import MetricId, MetricIds, check


def parse_metric_ids(text: str, name: str = "metric_ids") -> list[int]:
    """'101, 102 103' → [101, 102, 103] by the shared MetricIds rules; a ValueError naming `name`
    (the prompt's argument, or the CLI's flag) for anything else."""
    try:
        return check(MetricIds, text.replace(",", " ").split(), name, from_text=True)
    except WorkflowError as exc:
        raise ValueError(str(exc)) from None


def template(apply: bool) -> str:
    """The routine text with its `{metric_ids}` placeholder."""
    name = "routine_apply.md" if apply else "routine_report.md"
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def routine_text(metric_ids: str, *, apply: bool) -> str:
    """The routine for these metric ids, read-only or with guarded auto-apply."""
    ids = ", ".join(str(i) for i in parse_metric_ids(metric_ids))
    return template(apply).replace("{metric_ids}", ids)


def label_session_text(metric_id: str) -> str:
    """The labelling session for one metric; a ValueError naming `metric_id` for a bad id."""
    try:
        checked = check(MetricId, metric_id.strip(), "metric_id", from_text=True)
    except WorkflowError as exc:
        raise ValueError(str(exc)) from None
    text = files(__package__).joinpath("label_session.md").read_text(encoding="utf-8")
    return text.replace("{metric_id}", str(checked))
