"""The sandbox's deterministic judge: a pure function of (metric configuration, transcript).

It stands in for Cekura's LLM judge with cue phrases, so a change to the configuration changes the
verdicts in a way people can predict: single-quoted phrases in an `llm_judge` description, or the
`PASS_CUES` / `FAIL_CUES` lists of `custom_code` (read with `ast`, never executed).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.contract import FAIL_VALUE, PASS_VALUE

# An opening quote follows no letter; apostrophes between letters (don't, caller's) stay inside.
_QUOTED = re.compile(r"(?<!\w)'((?:[^'\n]|(?<=\w)'(?=\w))+?)'(?!\w)")


class CodeError(ValueError):
    """Metric or trigger code the sandbox cannot read (it does not parse, or a cue list is bad)."""


@dataclass(frozen=True)
class Cues:
    """Phrases that decide: any fail cue wins, else any pass cue passes, else the call fails."""

    passes: tuple[str, ...] = ()
    fails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """One evaluation: `actual_value` 5, 0 or None (not triggered, or the error in `error`)."""

    actual_value: int | None
    explanation: list[str] | None
    error: str | None = None
    triggered: bool = True


def quoted_phrases(text: str) -> list[str]:
    """The single-quoted phrases of `text` ('like this'), in order, without duplicates."""
    seen: dict[str, str] = {}
    for match in _QUOTED.finditer(text or ""):
        phrase = match.group(1).strip()
        if phrase and phrase.casefold() not in seen:
            seen[phrase.casefold()] = phrase
    return list(seen.values())


def description_cues(description: str) -> Cues:
    """Cues of an LLM-judge description: phrases on FAIL lines are fail cues, the rest pass."""
    passes: list[str] = []
    fails: list[str] = []
    seen: set[str] = set()
    for line in (description or "").splitlines():
        target = fails if line.lstrip().upper().startswith("FAIL") else passes
        for phrase in quoted_phrases(line):
            if phrase.casefold() not in seen:
                seen.add(phrase.casefold())
                target.append(phrase)
    return Cues(tuple(passes), tuple(fails))


def code_lists(code: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Module-level `NAME = [...]` string lists of `code`, for the requested names it defines."""
    try:
        tree = ast.parse(code or "")
    except SyntaxError as exc:
        raise CodeError(f"code does not parse: {exc.msg} (line {exc.lineno})") from exc
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id in names:
                try:
                    value = ast.literal_eval(node.value)
                except ValueError as exc:
                    raise CodeError(f"{target.id} is not a literal list of strings") from exc
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) for v in value
                ):
                    raise CodeError(f"{target.id} is not a literal list of strings")
                found[target.id] = list(value)
    return found


def metric_cues(config: Mapping[str, Any]) -> Cues:
    """The cues a metric configuration decides with (raises CodeError for unreadable custom_code).

    `custom_code` without cue lists that calls `evaluate_basic_metric` wraps the description prompt,
    so it is judged by the description's cues; other code without cue lists cannot be judged.
    """
    if config.get("type") != "custom_code":
        return description_cues(str(config.get("description") or ""))
    code = str(config.get("custom_code") or "")
    lists = code_lists(code, ("PASS_CUES", "FAIL_CUES"))
    if lists:
        return Cues(tuple(lists.get("PASS_CUES", ())), tuple(lists.get("FAIL_CUES", ())))
    if "evaluate_basic_metric" in code:
        return description_cues(str(config.get("description") or ""))
    raise CodeError("custom_code defines no PASS_CUES or FAIL_CUES list")


def trigger_cues(config: Mapping[str, Any]) -> tuple[str, ...]:
    """Phrases one of which must appear for the metric to run; empty means it always runs."""
    if config.get("evaluation_trigger") != "custom":
        return ()
    if config.get("trigger_type") == "custom_code":
        code = str(config.get("evaluation_trigger_custom_code") or "")
        return tuple(code_lists(code, ("TRIGGER_CUES",)).get("TRIGGER_CUES", ()))
    return tuple(quoted_phrases(str(config.get("evaluation_trigger_prompt") or "")))


def evaluate(config: Mapping[str, Any], transcript: str) -> Verdict:
    """Judge one transcript with one configuration; never raises."""
    text = (transcript or "").casefold()
    try:
        gate = trigger_cues(config)
        if gate and not any(cue.casefold() in text for cue in gate):
            names = ", ".join(f"'{cue}'" for cue in gate)
            return Verdict(
                None, [f"trigger did not fire: none of {names} appears"], triggered=False
            )
        cues = metric_cues(config)
    except CodeError as exc:
        return Verdict(None, None, error=str(exc))
    for cue in cues.fails:
        if cue.casefold() in text:
            return Verdict(FAIL_VALUE, [f"Fail cue '{cue}' found in the transcript."])
    for cue in cues.passes:
        if cue.casefold() in text:
            return Verdict(PASS_VALUE, [f"Pass cue '{cue}' found in the transcript."])
    return Verdict(FAIL_VALUE, ["No pass cue found in the transcript."])


def is_correct(actual_value: Any, expected_value: Any) -> bool:
    """A labelled row is correct when the metric's output equals the human label."""
    return expected_value is not None and actual_value == expected_value


def lab_score(reviews: list[dict[str, Any]]) -> tuple[int, int]:
    """(correct, labelled) over Lab rows: rows without an expected value are not scored."""
    labelled = [r for r in reviews if r.get("expected_value") is not None]
    correct = sum(is_correct(r.get("actual_value"), r["expected_value"]) for r in labelled)
    return correct, len(labelled)
