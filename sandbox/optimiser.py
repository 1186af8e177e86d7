"""The deterministic optimiser: (metric, Lab rows, answers) → a proposal, questions or an error.

It learns the way reviewers teach: for each sampled row the current configuration gets wrong, the
single-quoted phrases its feedback note cites (and that occur in its transcript) become new pass or
fail cues. A cue that a feedback row labelled the other way also contains raises a question instead.
A note that calls the check "deterministic" turns the proposal into `custom_code`. Nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.contract import FAIL_VALUE, JUDGE_FIELDS, PASS_VALUE
from sandbox.judge import CodeError, Cues, evaluate, is_correct, metric_cues, quoted_phrases
from sandbox.judge import trigger_cues as judge_trigger_cues

NO_LAB_ROWS = "No metric reviews with feedback found for this metric's Lab."
NO_CHANGES = "No changes proposed"
_DETERMINISTIC = re.compile(r"\bdeterministic\b", re.IGNORECASE)
CueKey = tuple[str, str]


@dataclass(frozen=True)
class Question:
    """A point the optimiser will not decide alone; `key` names the cue the answer decides."""

    key: CueKey
    kind: Literal["contradictory_labels", "ambiguous_label"]
    question: str
    options: tuple[str, str]
    review_id: int
    test_set_id: int
    context: str


@dataclass(frozen=True)
class Paused:
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Failed:
    error: str


@dataclass(frozen=True)
class Proposal:
    """A finished run: `output` holds the ProcessFeedbacksResponse fields plus `meta_harness`."""

    output: dict[str, Any]


@dataclass(frozen=True)
class _Cue:
    kind: Literal["pass", "fail"]
    phrase: str
    review_id: int

    @property
    def key(self) -> CueKey:
        return (self.kind, self.phrase.casefold())


def optimise(
    metric: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    decisions: Mapping[CueKey, bool] | None = None,
    simplified_prompt: str | None = None,
    skip_evaluation: bool = False,
) -> Proposal | Paused | Failed:
    """One optimisation pass; `decisions` are the answers so far (True: add the disputed cue)."""
    if not rows:
        return Failed(NO_LAB_ROWS)
    current = {name: metric.get(name) for name in JUDGE_FIELDS}
    start = {**current, "description": simplified_prompt or current["description"]}
    sample = select_sample(rows)
    old = [evaluate(current, transcript(row)) for row in sample]
    start_verdicts = old if start == current else [evaluate(start, transcript(r)) for r in sample]
    wrong = [
        row
        for row, verdict in zip(sample, start_verdicts, strict=True)
        if row.get("expected_value") is not None
        and not is_correct(verdict.actual_value, row["expected_value"])
    ]
    try:
        known = metric_cues(start)
    except CodeError:
        known = Cues()
    cues, questions = _choose_cues(wrong, sample, known, decisions or {})
    if questions:
        return Paused(tuple(questions))
    convert = start.get("type") == "custom_code" or any(
        _DETERMINISTIC.search(str(row.get("feedback") or "")) for row in sample
    )
    if cues:
        proposed, trigger = _proposed_config(metric, start, known, cues, convert)
        summary = _summary(cues, convert)
    else:
        proposed, trigger = start, _trigger_report(start)
        summary = f"{NO_CHANGES}: " + (
            "the current configuration already matches every sampled label."
            if not wrong
            else "the feedback on the rows it gets wrong quotes no phrase from their transcripts."
        )
    new = [evaluate(proposed, transcript(row)) for row in sample]
    new_score = _score(sample, new)
    code = proposed["custom_code"] if proposed.get("type") == "custom_code" and cues else ""
    output: dict[str, Any] = {
        "improved_metric_description": proposed["description"] or "",
        "improved_evaluation_trigger": trigger[1],
        "improved_trigger_kind": trigger[0],
        "trigger_type": trigger[0] if trigger[0] != "always" else _trigger_type(metric),
        "metric_description_program": None,
        "metric_description_variables": list(metric.get("metric_description_variables") or []),
        "evaluation_trigger_program": None,
        "evaluation_trigger_variables": list(metric.get("evaluation_trigger_variables") or []),
        "review_results": [] if skip_evaluation else _review_results(sample, new),
        "custom_code": code,
        "type": proposed.get("type") or "llm_judge",
        "feedback_edits": [],
        "unauthorized_label_changes": [],
        "unresolved_samples": _unresolved(wrong, sample, new),
        "optimization_summary": summary,
        "old_score": _score(sample, old),
        "new_score": new_score,
    }
    output["meta_harness"] = {
        "optimized_code": code,
        "type": output["type"],
        "score": new_score["score"],
        "num_correct": new_score["num_correct"],
        "num_total": new_score["num_total"],
    }
    return Proposal(output)


def select_sample(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows with feedback, plus the two lowest-id labelled rows without feedback, by id."""
    ordered = sorted(rows, key=lambda row: row["id"])
    with_feedback = [row for row in ordered if str(row.get("feedback") or "").strip()]
    plain = [
        row
        for row in ordered
        if not str(row.get("feedback") or "").strip() and row.get("expected_value") is not None
    ]
    return sorted(with_feedback + plain[:2], key=lambda row: row["id"])


def transcript(row: Mapping[str, Any]) -> str:
    return str((row.get("test_set") or {}).get("transcript") or "")


def _choose_cues(
    wrong: list[Mapping[str, Any]],
    sample: list[Mapping[str, Any]],
    known: Cues,
    decisions: Mapping[CueKey, bool],
) -> tuple[list[_Cue], list[Question]]:
    """New cues from the wrong rows' feedback, minus disputed ones not (yet) approved."""
    seen = {("pass", c.casefold()) for c in known.passes} | {
        ("fail", c.casefold()) for c in known.fails
    }
    chosen: list[_Cue] = []
    questions: list[Question] = []
    for row in wrong:
        if row["expected_value"] not in (PASS_VALUE, FAIL_VALUE):
            continue
        kind: Literal["pass", "fail"] = "pass" if row["expected_value"] == PASS_VALUE else "fail"
        text = transcript(row).casefold()
        for phrase in quoted_phrases(str(row.get("feedback") or "")):
            cue = _Cue(kind, phrase, row["id"])
            if cue.key in seen or phrase.casefold() not in text:
                continue
            seen.add(cue.key)
            rival = _rival(cue, sample)
            if rival is None or decisions.get(cue.key) is True:
                chosen.append(cue)
            elif cue.key not in decisions:
                questions.append(_question(cue, row, rival))
    return chosen, questions


def _rival(cue: _Cue, sample: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """A sampled row with feedback, labelled the other way, whose transcript contains the cue."""
    other = FAIL_VALUE if cue.kind == "pass" else PASS_VALUE
    for row in sample:
        if (
            row["id"] != cue.review_id
            and str(row.get("feedback") or "").strip()
            and row.get("expected_value") == other
            and cue.phrase.casefold() in transcript(row).casefold()
        ):
            return row
    return None


def _question(cue: _Cue, row: Mapping[str, Any], rival: Mapping[str, Any]) -> Question:
    verdict = "pass" if cue.kind == "pass" else "fail"
    other = "fail" if cue.kind == "pass" else "pass"
    return Question(
        key=cue.key,
        kind="contradictory_labels",
        question=(
            f"Review {row['id']} treats '{cue.phrase}' as a reason to {verdict}, but review "
            f"{rival['id']} also contains '{cue.phrase}' and is labelled {other}. "
            f"Should '{cue.phrase}' count as a {verdict}?"
        ),
        options=(
            f"Yes, '{cue.phrase}' counts as a {verdict}",
            f"No, leave '{cue.phrase}' out",
        ),
        review_id=int(row["id"]),
        test_set_id=int((row.get("test_set") or {}).get("id") or 0),
        context=(
            f"Review {rival['id']} (test set {(rival.get('test_set') or {}).get('id')}) is "
            f"labelled {other}; its feedback: {str(rival.get('feedback') or '').strip()}"
        ),
    )


def _proposed_config(
    metric: Mapping[str, Any],
    start: dict[str, Any],
    known: Cues,
    cues: list[_Cue],
    convert: bool,
) -> tuple[dict[str, Any], tuple[str, str]]:
    """The configuration the proposal describes, and its (trigger kind, trigger text)."""
    passes = [*known.passes, *(c.phrase for c in cues if c.kind == "pass")]
    fails = [*known.fails, *(c.phrase for c in cues if c.kind == "fail")]
    if not convert:
        lines = [
            f"Count '{c.phrase}' as a sign that the call should PASS."
            if c.kind == "pass"
            else f"FAIL if the transcript contains '{c.phrase}'."
            for c in cues
        ]
        description = "\n".join([str(start.get("description") or "").rstrip(), *lines]).strip()
        return {**start, "description": description}, _trigger_report(start)
    try:
        gate = list(judge_trigger_cues(start))
    except CodeError:
        gate = []
    trigger_code = render_trigger_code(gate)
    proposed = {
        **start,
        "type": "custom_code",
        "custom_code": render_metric_code(str(metric.get("name") or "metric"), passes, fails),
        "evaluation_trigger": "custom",
        "trigger_type": "custom_code",
        "evaluation_trigger_custom_code": trigger_code,
    }
    return proposed, ("custom_code", trigger_code)


def render_metric_code(name: str, passes: list[str], fails: list[str]) -> str:
    """A readable custom_code metric that decides with cue lists, as the sandbox's judge does."""
    return (
        f'"""{name}: deterministic cue match on the call transcript."""\n\n'
        f"PASS_CUES = {passes!r}\n"
        f"FAIL_CUES = {fails!r}\n\n"
        'transcript = str(data.get("transcript", "")).lower()\n'
        "fail_hits = [cue for cue in FAIL_CUES if cue.lower() in transcript]\n"
        "pass_hits = [cue for cue in PASS_CUES if cue.lower() in transcript]\n"
        "if fail_hits:\n"
        "    _result = False\n"
        '    _explanation = f"Fail cue {fail_hits[0]!r} found in the transcript."\n'
        "elif pass_hits:\n"
        "    _result = True\n"
        '    _explanation = f"Pass cue {pass_hits[0]!r} found in the transcript."\n'
        "else:\n"
        "    _result = False\n"
        '    _explanation = "No pass cue found in the transcript."\n'
    )


def render_trigger_code(cues: list[str]) -> str:
    """Trigger code: evaluate when any cue occurs (always, when the list is empty)."""
    return (
        f"TRIGGER_CUES = {cues!r}\n\n"
        'transcript = str(data.get("transcript", "")).lower()\n'
        "_result = not TRIGGER_CUES or any(cue.lower() in transcript for cue in TRIGGER_CUES)\n"
        '_explanation = "Trigger fired" if _result else "No trigger cue in the transcript"\n'
    )


def _trigger_report(config: Mapping[str, Any]) -> tuple[str, str]:
    """(improved_trigger_kind, improved_evaluation_trigger) echoing the configuration's trigger."""
    if config.get("evaluation_trigger") != "custom":
        return "always", "always"
    if config.get("trigger_type") == "custom_code":
        return "custom_code", str(config.get("evaluation_trigger_custom_code") or "")
    return "llm_judge", str(config.get("evaluation_trigger_prompt") or "")


def _trigger_type(metric: Mapping[str, Any]) -> str:
    value = metric.get("trigger_type")
    return value if value in ("llm_judge", "custom_code") else "llm_judge"


def _score(sample: list[Mapping[str, Any]], verdicts: list[Any]) -> dict[str, Any]:
    pairs = [
        (row, v)
        for row, v in zip(sample, verdicts, strict=True)
        if row.get("expected_value") is not None
    ]
    correct = sum(is_correct(v.actual_value, row["expected_value"]) for row, v in pairs)
    total = len(pairs)
    return {
        "num_correct": correct,
        "num_total": total,
        "score": round(correct / total, 4) if total else 0.0,
    }


def _review_results(sample: list[Mapping[str, Any]], verdicts: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "review_id": row["id"],
            "test_set_id": (row.get("test_set") or {}).get("id"),
            "actual_value": v.actual_value,
            "explanation": v.explanation,
            "success": v.error is None,
            "error": v.error,
        }
        for row, v in zip(sample, verdicts, strict=True)
    ]


def _unresolved(
    wrong: list[Mapping[str, Any]], sample: list[Mapping[str, Any]], new: list[Any]
) -> list[dict[str, Any]]:
    """Rows wrong before and still wrong after (pass_rate: share of runs that matched the label)."""
    after = {row["id"]: v for row, v in zip(sample, new, strict=True)}
    return [
        {
            "review_id": row["id"],
            "verdict": "prompt_limit",
            "pass_rate": 0.0,
            "explanation": (
                f"The proposal still outputs {after[row['id']].actual_value!r} where the label is "
                f"{row['expected_value']!r}: no accepted cue from its feedback decides this call."
            ),
        }
        for row in wrong
        if not is_correct(after[row["id"]].actual_value, row["expected_value"])
    ]


def _summary(cues: list[_Cue], convert: bool) -> str:
    added = "; ".join(
        f"{'passes' if c.kind == 'pass' else 'fails'} on '{c.phrase}' (review {c.review_id})"
        for c in cues
    )
    form = "Rewritten as deterministic custom_code that " if convert else "The metric now also "
    return f"{form}{added}."
