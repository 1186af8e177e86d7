"""The packaged routine prompts (served as MCP prompts; the same texts as claude_routine.md)."""

from __future__ import annotations

from importlib.resources import files

MAX_IDS = 100


def parse_metric_ids(text: str) -> list[int]:
    """'101, 102 103' → [101, 102, 103]; a clear ValueError for anything else."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise ValueError("metric_ids is empty: give metric ids such as 101,102.")
    if len(parts) > MAX_IDS:
        raise ValueError(f"at most {MAX_IDS} metric ids at once, got {len(parts)}.")
    ids: list[int] = []
    for part in parts:
        if not part.isdigit() or not 0 < int(part) < 2**31:
            raise ValueError(f"{part!r} is not a metric id (a positive whole number).")
        ids.append(int(part))
    return list(dict.fromkeys(ids))


def template(apply: bool) -> str:
    """The routine text with its `{metric_ids}` placeholder."""
    name = "routine_apply.md" if apply else "routine_report.md"
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def routine_text(metric_ids: str, *, apply: bool) -> str:
    """The routine for these metric ids, read-only or with guarded auto-apply."""
    ids = ", ".join(str(i) for i in parse_metric_ids(metric_ids))
    return template(apply).replace("{metric_ids}", ids)
