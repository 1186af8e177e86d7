"""The packaged prompts (served as MCP prompts and as the Claude Code plugin's commands): the
routine, read-only and with guarded auto-apply (the same texts as claude_routine.md), and the
interactive labelling session."""

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


ID_WORDS = 10
"""Positional arguments a routine prompt declares: Claude Code splits a slash command's text at
spaces and drops words beyond the declared arguments, so `7001, 7003` needs two."""


def id_argument_names() -> list[str]:
    """The routine prompts' arguments in order: `metric_ids`, then `ids_2` … `ids_10`."""
    return ["metric_ids", *(f"ids_{n}" for n in range(2, ID_WORDS + 1))]


def ids_from_words(words: list[str], command: str) -> str:
    """The ids typed as one text, from the words Claude Code passed (`["7001,", "7003"]`). A
    ValueError with the exact form to type when words were evidently dropped: the last one ends
    with a comma, or every argument is used (more may have followed)."""
    given = [w.strip() for w in words if w and w.strip()]
    if not given:
        raise ValueError(f"metric_ids is empty; type the ids joined by commas: /{command} 101,102")
    if given[-1].endswith(",") or (len(words) >= ID_WORDS and words[-1].strip()):
        seen = ",".join(i for w in given for i in w.replace(",", " ").split())
        raise ValueError(
            f"The metric ids look cut off after {given[-1]!r} (Claude Code splits arguments at "
            f"spaces). Type all ids joined by commas, without spaces: /{command} {seen},<more ids>"
        )
    return " ".join(given)


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


COMMANDS = {
    "optimise-routine": (
        "routine_report.md",
        "{metric_ids}",
        "Optimise Cekura metrics and report (writes nothing)",
    ),
    "optimise-routine-apply": (
        "routine_apply.md",
        "{metric_ids}",
        "Optimise Cekura metrics with guarded auto-apply",
    ),
    "label-session": ("label_session.md", "{metric_id}", "Label a Cekura metric's results with me"),
}


def plugin_command(name: str) -> str:
    """The Claude Code plugin command `commands/<name>.md`: the prompt's text, its placeholder
    filled by whatever the person types after the command ($ARGUMENTS)."""
    source, placeholder, description = COMMANDS[name]
    hint = "<metric id, e.g. 109>" if placeholder == "{metric_id}" else "<metric ids, e.g. 101,102>"
    body = files(__package__).joinpath(source).read_text(encoding="utf-8")
    head = f"---\ndescription: {description}\nargument-hint: {hint}\n---\n\n"
    return head + body.replace(placeholder, "$ARGUMENTS")
