"""Proposal → PATCH mapping (contract §4.4): which metric fields an optimiser result changes, and how."""

from __future__ import annotations

import ast
from typing import Any

from tools.cekura.models import Metric, OptimiserOutput

# Fields an optimiser result may write, in the order they are shown to people.
OPTIMISABLE_FIELDS: tuple[str, ...] = (
    "description",
    "type",
    "custom_code",
    "evaluation_trigger",
    "trigger_type",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
    "metric_description_program",
    "metric_description_variables",
    "evaluation_trigger_program",
    "evaluation_trigger_variables",
)
CODE_FIELDS: tuple[str, ...] = ("custom_code", "evaluation_trigger_custom_code")
DEPRECATED_TYPES = frozenset({"basic", "custom_prompt"})


def live_value(metric: Metric, field: str) -> Any:
    """The metric's current value of `field` (declared or extra), `None` when absent."""
    return getattr(metric, field, None)


def trigger_kind_of_text(text: str) -> str:
    """The kind of a free-text trigger that comes without one (Cekura's pending proposal):
    `always`, Python that sets `_result` (custom_code), or else an LLM-judge prompt."""
    stripped = text.strip()
    if stripped in ("", "always"):
        return "always"
    try:
        ast.parse(stripped)
    except SyntaxError:
        return "llm_judge"
    return "custom_code" if "_result" in stripped else "llm_judge"


def desired_fields(output: OptimiserOutput) -> tuple[dict[str, Any], list[str]]:
    """Every field the proposal sets, mapped by trigger kind; plus warnings about what was left out."""
    fields: dict[str, Any] = {}
    warnings: list[str] = []
    if output.improved_metric_description.strip():
        fields["description"] = output.improved_metric_description
    trigger = output.improved_evaluation_trigger
    if output.improved_trigger_kind == "always":
        fields["evaluation_trigger"] = "always"
    elif output.improved_trigger_kind == "llm_judge":
        fields.update(
            evaluation_trigger="custom", trigger_type="llm_judge", evaluation_trigger_prompt=trigger
        )
    else:
        fields.update(
            evaluation_trigger="custom",
            trigger_type="custom_code",
            evaluation_trigger_custom_code=trigger,
        )
    if output.custom_code.strip():
        fields["custom_code"] = output.custom_code
        fields["type"] = "custom_code"
    elif output.type == "custom_code":
        warnings.append("The optimiser suggested type custom_code without any code; type kept.")
    elif output.type and output.type not in DEPRECATED_TYPES:
        fields["type"] = output.type
    programs = [
        name
        for name in ("metric_description_program", "evaluation_trigger_program")
        if getattr(output, name) is not None
    ]
    if programs:
        warnings.append(
            f"Left out of the write: {', '.join(programs)}. Cekura does not return these fields "
            "and its history cannot restore them, so a write could be neither checked nor undone "
            "(Cekura's own auto-apply leaves them out too)."
        )
    for name in ("metric_description_variables", "evaluation_trigger_variables"):
        if getattr(output, name):
            fields[name] = getattr(output, name)
    return fields, warnings


def proposal_patch(output: OptimiserOutput, metric: Metric) -> tuple[dict[str, Any], list[str]]:
    """The PATCH body that writes the proposal onto `metric`: only fields whose value changes."""
    fields, warnings = desired_fields(output)
    patch = {k: v for k, v in fields.items() if not same_value(live_value(metric, k), v)}
    return patch, warnings


def same_value(current: Any, proposed: Any) -> bool:
    """Equality that treats `None` and empty text alike (Cekura returns either for unset text)."""
    if isinstance(proposed, str) or isinstance(current, str):
        return (current or "") == (proposed or "")
    return current == proposed


def patch_matches(metric: Metric, patch: dict[str, Any]) -> bool:
    """True when the live metric already holds every value of `patch`."""
    return all(same_value(live_value(metric, k), v) for k, v in patch.items())


def code_problems(patch: dict[str, Any]) -> list[str]:
    """Syntax errors in the Python a patch would install (metric code and trigger code)."""
    problems = []
    for field in CODE_FIELDS:
        source = patch.get(field)
        if not isinstance(source, str) or not source.strip():
            continue
        try:
            ast.parse(source)
        except SyntaxError as exc:
            problems.append(f"{field} does not parse: line {exc.lineno}: {exc.msg}")
    return problems
