"""Answering a paused optimiser run from a shell: asked one question at a time on a terminal,
read from `run --answers FILE.json` (or `-` for stdin), or given later with
`cekura-optimise answer --metric 103 --question q_1 --text "…"`. Every answer goes through the
same answer workflow as the MCP tool."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from server.cli_words import for_cli, say_error

if TYPE_CHECKING:
    from server.settings import Settings
    from tools.cekura.models import Question
    from tools.context import Workflow
    from tools.results import BatchResult, MetricOutcome

AnswerMap = dict[str, str | None]
# Given a paused metric and its open questions, the answers to send (None: ask nothing now).
Answerer = Callable[["MetricOutcome"], Awaitable[AnswerMap | None]]

USAGE_ERROR = 2
FAILED = 1
MAX_ROUNDS = 5


def add_answer_command(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The `answer` subcommand: one question of a paused run, answered or skipped."""
    answer = sub.add_parser("answer", help="answer (or skip) a question a paused run asks")
    common(answer)
    answer.add_argument("--metric", required=True, help="the metric id, e.g. 103")
    answer.add_argument("--question", required=True, help="the question id `run` shows, e.g. q_1")
    given = answer.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the answer, in words or one of the options")
    given.add_argument("--skip", action="store_true", help="skip the question instead")
    answer.add_argument("--json", action="store_true", help="print the result as JSON")


def answer_command(settings: Settings, args: argparse.Namespace) -> int:
    """Send one answer (or skip); 0 when the run recorded it, 1 failed, 2 usage."""
    import anyio

    from tools.errors import WorkflowError
    from tools.inputs import AnswerText, MetricId, QuestionId, check

    try:
        metric_id = check(MetricId, args.metric, "--metric", from_text=True)
        question = check(QuestionId, args.question, "--question")
        text = None if args.skip else check(AnswerText, args.text, "--text")
    except WorkflowError as exc:
        say_error("answer", exc)
        return USAGE_ERROR
    return anyio.run(_answer, settings, args, metric_id, {question: text})


async def _answer(
    settings: Settings, args: argparse.Namespace, metric_id: int, answers: AnswerMap
) -> int:
    from server.cli_workflow import with_workflow
    from server.report import for_surface
    from tools.workflows.questions import answer_optimiser_questions

    async def work(wf: Workflow):
        return await answer_optimiser_questions(wf, metric_id, answers)

    result = await with_workflow(settings, "answer", work)
    if result is None:
        return FAILED
    follow = f"cekura-optimise run --metrics {metric_id}"
    result = for_surface(result, "person").model_copy(
        update={"next_steps": [f"{follow} follows the run to its proposal"]}
    )
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(f"{metric_id}\t{result.status}\t{for_cli(result.summary)}")
        for line in result.warnings:
            print(f"\twarning: {for_cli(line)}")
        print(f"\tnext: {follow}")
    return 0 if result.status == "resumed" else FAILED


def load_answers(source: str) -> dict[int, AnswerMap]:
    """`--answers`: a JSON object of metric ids to {question id: answer text, or null to skip},
    from a file or `-` (stdin); a WorkflowError naming --answers for anything else."""
    from tools.errors import WorkflowError
    from tools.inputs import Answers, MetricId, check

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError(f"--answers: cannot read {source!r} ({exc.strerror}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg}, line {exc.lineno}"
        raise WorkflowError(f"--answers: {source!r} is not JSON ({where}).") from None
    if not isinstance(data, dict) or not data:
        raise WorkflowError(
            '--answers must be a JSON object such as {"103": {"q_1": "yes", "q_2": null}} '
            "(metric id → question id → answer, or null to skip)."
        )
    return {
        check(MetricId, key, "--answers metric id", from_text=True): check(
            Answers, value, f"--answers for metric {key}"
        )
        for key, value in data.items()
    }


def from_file(given: dict[int, AnswerMap]) -> Answerer:
    """Answers from `--answers` for the questions the run asks (others stay open)."""

    async def answer(outcome: MetricOutcome) -> AnswerMap | None:
        mine = given.get(outcome.metric_id, {})
        open_ids = [q.id for q in _questions(outcome)]
        chosen = {qid: mine[qid] for qid in open_ids if qid in mine}
        return chosen or None

    return answer


def from_terminal(read: Callable[[str], str] = input) -> Answerer:
    """Ask each question on the terminal: an option's number, one's own words, or Enter to skip.
    End of input (Ctrl-D) leaves the questions open."""
    import anyio

    async def answer(outcome: MetricOutcome) -> AnswerMap | None:
        out = sys.stdout
        answers: AnswerMap = {}
        for question in _questions(outcome):
            _show(question, outcome.metric_id, out)
            try:
                reply = await anyio.to_thread.run_sync(read, "answer> ")
            except EOFError:
                print("", file=out)
                return None
            answers[question.id] = _chosen(reply, question)
            shown = "skipped" if answers[question.id] is None else repr(answers[question.id])
            print(f"  → {shown}", file=out, flush=True)
        return answers or None

    return answer


def _questions(outcome: MetricOutcome) -> list[Question]:
    return list(outcome.optimise.questions) if outcome.optimise else []


def _show(question: Question, metric_id: int, out: TextIO) -> None:
    print(f"\nMetric {metric_id}: the optimiser asks ({question.id}):", file=out)
    print(f"  {for_cli(question.question)}", file=out)
    if question.context:
        print(f"  context: {for_cli(question.context)}", file=out)
    for number, option in enumerate(question.options, 1):
        print(f"  {number}) {option}", file=out)
    hint = "an option's number, your own words," if question.options else "your answer"
    print(f"Type {hint} or press Enter to skip.", file=out, flush=True)


def _chosen(reply: str, question: Question) -> str | None:
    """The option a number picks, the words typed, or None (skip) for nothing or 'skip'."""
    reply = reply.strip()
    if not reply or reply.lower() == "skip":
        return None
    if reply.isdigit() and 1 <= int(reply) <= len(question.options):
        return question.options[int(reply) - 1]
    return reply


async def answer_paused(
    wf: Workflow,
    result: BatchResult,
    answerer: Answerer,
    rerun: Callable[[list[int]], Awaitable[BatchResult]],
) -> BatchResult:
    """While metrics wait on questions the answerer can answer: send the answers through the
    answer workflow, follow those runs again with `rerun`, and fold the new outcomes in. Answers
    that do not reach the run are reported on stderr; the metric then stays `needs_answers`."""
    for _ in range(MAX_ROUNDS):
        resumed: list[int] = []
        for outcome in [m for m in result.metrics if m.status == "needs_answers"]:
            answers = await answerer(outcome)
            if answers is not None and await _send(wf, outcome.metric_id, answers):
                resumed.append(outcome.metric_id)
        if not resumed:
            return result
        result = merged(result, await rerun(resumed))
    return result


async def _send(wf: Workflow, metric_id: int, answers: AnswerMap) -> bool:
    """Whether the run recorded the answers; if not, why, on stderr."""
    from tools.errors import WorkflowError
    from tools.workflows.questions import answer_optimiser_questions

    try:
        sent = await answer_optimiser_questions(wf, metric_id, answers)
    except WorkflowError as exc:
        say_error("run", exc)
        return False
    if sent.status != "resumed":
        say_error("run", " ".join([sent.summary, *sent.warnings]))
    return sent.status == "resumed"


def merged(first: BatchResult, again: BatchResult) -> BatchResult:
    """`first` with the metrics `again` followed replaced by their new outcomes, recounted."""
    from collections import Counter

    newer = {m.metric_id: m for m in again.metrics}
    metrics = [newer.get(m.metric_id, m) for m in first.metrics]
    counts = dict(Counter(m.status for m in metrics))
    head = first.summary.partition(": ")[0]
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return first.model_copy(
        update={
            "metrics": metrics,
            "counts": counts,
            "summary": f"{head}: {parts}.",
            "elapsed_s": round(first.elapsed_s + again.elapsed_s, 3),
            "retries": first.retries + again.retries,
        }
    )


def cli_next_steps(result: BatchResult, apply: bool) -> list[str]:
    """What to run next, as commands: each open question's `answer` command, then the `run`
    that follows the answered runs, applies proposals, or resumes timed-out runs."""
    steps: list[str] = []
    waiting = [m for m in result.metrics if m.status == "needs_answers"]
    for outcome in waiting:
        for q in _questions(outcome):
            steps.append(
                f'cekura-optimise answer --metric {outcome.metric_id} --question {q.id} --text "…"'
                " (or --skip)"
            )
    flag = " --apply" if apply else ""
    if waiting:
        ids = _ids([m.metric_id for m in waiting])
        steps.append(
            f"cekura-optimise run --metrics {ids}{flag} then follows the answered runs (on a "
            "terminal it asks the questions itself)"
        )
    timed_out = [m.metric_id for m in result.metrics if m.status == "timed_out"]
    if timed_out:
        steps.append(f"cekura-optimise run --metrics {_ids(timed_out)}{flag} resumes waiting")
    proposed = [m.metric_id for m in result.metrics if m.status == "proposed"]
    if proposed and not apply:
        steps.append(f"cekura-optimise run --metrics {_ids(proposed)} --apply")
    for outcome in result.metrics:
        needed = outcome.optimise.feedback_needed if outcome.optimise else 0
        if outcome.status == "not_ready" and needed:
            steps.append(
                f"label {needed} more call(s) of metric {outcome.metric_id} with "
                f'cekura-optimise label --metric {outcome.metric_id} --call ID --expected V --feedback "…"'
            )
    return steps


def _ids(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids)
