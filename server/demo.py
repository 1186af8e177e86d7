"""`cekura-optimise demo`: the whole workflow on the built-in sandbox, no account needed.

A read-only pass shows each metric's summary and diff; the optimiser's question is answered; then
the guarded apply shows what was applied, what was refused and why, and one automatic revert.
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


async def _demo() -> int:
    from tools.workflows.optimise import optimise_metric
    from tools.workflows.questions import answer_optimiser_questions
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

        out.heading("1. Read-only pass: optimise every metric, write nothing")
        report = await optimise_metrics(wf, ids)
        out.report(report, diffs=True)

        paused = [m for m in report.metrics if m.status == "needs_answers" and m.optimise]
        if paused:
            out.heading("2. Answer the optimiser's questions, then follow the run to its proposal")
        for outcome in paused:
            assert outcome.optimise is not None
            answers = {
                q.id: (q.options[0] if q.options else "yes") for q in outcome.optimise.questions
            }
            for qid, answer in answers.items():
                out.line(f"metric {outcome.metric_id}, question {qid}: answering {answer!r}")
            resumed = await answer_optimiser_questions(wf, outcome.metric_id, answers)
            out.line(resumed.summary)
            followed = await optimise_metric(wf, outcome.metric_id)
            out.line(followed.summary)

        out.heading("3. Guarded auto-apply: write only what passes, re-score, revert regressions")
        applied = await optimise_metrics(wf, ids, apply=True)
        out.report(applied, diffs=False)
    finally:
        await runtime.aclose()
    out.heading("Done")
    out.line(f"Demo finished in {time.monotonic() - started:.1f}s against the in-process sandbox.")
    out.line("Next: `cekura-optimise serve --sandbox` to try the MCP tools from Claude Code.")
    return exit_code(applied)
