"""`cekura-optimise demo`: the whole workflow on the built-in sandbox, no account needed.

A person labels two calls of a metric short of feedback and sees it become ready; a read-only
pass shows each metric's summary and diff; the optimiser's question is answered; then the guarded
apply shows what was applied, what was refused and why (including a proposal that does worse on
held-out production calls, and a pending proposal from Cekura's schedule that Cekura's own guard
would have applied), and one automatic revert.
"""

from __future__ import annotations

import sys
import time

import anyio

from server.report import exit_code, render_plain, render_rich
from server.runtime import Runtime
from server.settings import Settings


class _Out:
    """Headings and lines to a rich console on a terminal, plain text otherwise."""

    def __init__(self) -> None:
        self.console = None
        if sys.stdout.isatty():
            from rich.console import Console

            self.console = Console()

    def heading(self, text: str) -> None:
        if self.console is not None:
            self.console.rule(f"[bold]{text}")
        else:
            print(f"\n== {text} ==")

    def line(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, markup=False, highlight=False)
        else:
            print(text)

    def report(self, result, *, diffs: bool) -> None:
        if self.console is not None:
            render_rich(result, self.console, diffs=diffs)
        else:
            render_plain(result, sys.stdout, diffs=diffs)


def run_demo() -> int:
    """Run the demo; 0 when every step behaved as the sandbox's scenarios promise."""
    return anyio.run(_demo)


LABELLED_METRIC = 109


async def _demo() -> int:
    from tools.workflows.routine import optimise_metrics

    started = time.monotonic()
    out = _Out()
    runtime = Runtime(Settings(sandbox=True))
    try:
        wf = await runtime.workflow()
        metrics = await wf.client.list_metrics(project_id=1)
        ids = [m.id for m in metrics]
        out.line(
            f"Sandbox project with {len(ids)} metrics: "
            + ", ".join(f"{m.id} {m.name}" for m in metrics)
        )
        out.heading(f"1. Label two calls of metric {LABELLED_METRIC} with a person's verdict")
        await _label_two(wf, out, LABELLED_METRIC)

        out.heading("2. Read-only pass: optimise every metric, write nothing")
        report = await optimise_metrics(wf, ids)
        out.report(report, diffs=True)
        await _answer_questions(wf, out, report)

        out.heading(
            "4. Guarded auto-apply: held-out calls decide too; re-score, revert regressions"
        )
        applied = await optimise_metrics(wf, ids, apply=True)
        out.report(applied, diffs=False)
    finally:
        await runtime.aclose()
    out.heading("Done")
    out.line(f"Demo finished in {time.monotonic() - started:.1f}s against the in-process sandbox.")
    out.line("Next: `cekura-optimise serve --sandbox` to try the MCP tools from Claude Code.")
    return exit_code(applied)


async def _label_two(wf, out: _Out, metric_id: int) -> None:
    """Readiness before and after a person labels the two likeliest-wrong calls (in the demo, the
    person says each result is wrong and cites the call's last line)."""
    from tools.workflows.lab_status import lab_status
    from tools.workflows.label import label_call
    from tools.workflows.review import review_results

    out.line((await lab_status(wf, metric_id)).summary)
    review = await review_results(wf, metric_id, limit=5)
    for call in [c for c in review.calls if not c.in_lab and c.result in (0, 5)][:2]:
        detail = await wf.client.get_call_log(call.call_id)
        right = 5 if call.result == 0 else 0
        stamp, words = _agent_says(detail.transcript or "")
        feedback = (
            f"At {stamp} the agent said '{words}' followed by the code; that counts, so the metric should "
            f"{'pass' if right == 5 else 'fail'} this call."
        )
        out.line(f"call {call.call_id}: result {call.result}, the person says {right}: {feedback}")
        out.line((await label_call(wf, metric_id, call.call_id, right, feedback)).summary)
    out.line((await lab_status(wf, metric_id)).summary)


def _agent_says(transcript: str) -> tuple[str, str]:
    """(timestamp, words) of the agent's last sentence, less a trailing code such as 'RC-9120':
    the words a person would quote as the moment that decides the call."""
    for line in reversed(transcript.splitlines()):
        stamp, _, rest = line.partition("] ")
        speaker, _, said = rest.partition(": ")
        if said and "Main Agent" in speaker:
            sentence = said.rstrip(".").split(". ")[-1].split()
            if sentence and any(ch.isdigit() for ch in sentence[-1]):
                sentence = sentence[:-1]
            return stamp.lstrip("["), " ".join(sentence)
    return "the end", transcript.strip()[-80:]


async def _answer_questions(wf, out: _Out, report) -> None:
    """Answer each paused run's questions with the first option, then follow it to its proposal."""
    from tools.workflows.optimise import optimise_metric
    from tools.workflows.questions import answer_optimiser_questions

    paused = [m for m in report.metrics if m.status == "needs_answers" and m.optimise]
    if paused:
        out.heading("3. Answer the optimiser's questions, then follow the run to its proposal")
    for outcome in paused:
        assert outcome.optimise is not None
        answers = {q.id: (q.options[0] if q.options else "yes") for q in outcome.optimise.questions}
        for qid, answer in answers.items():
            out.line(f"metric {outcome.metric_id}, question {qid}: answering {answer!r}")
        resumed = await answer_optimiser_questions(wf, outcome.metric_id, answers)
        out.line(resumed.summary)
        followed = await optimise_metric(wf, outcome.metric_id)
        out.line(followed.summary)
