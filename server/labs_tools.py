"""The Labs tools: find a metric's likely-wrong results, record a person's labels, check the
Lab's readiness, and judge a proposal (before a write) or the metric (after one) on production
calls. Each only adapts its inputs to one workflow in `tools/workflows/`."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from server.tooling import MetricIdArg, call, hints, tool, writes
from tools.inputs import CallId, CallIds, Feedback, Label, ProposalId, ReviewLimit, Since
from tools.results import (
    CheckResult,
    LabelResult,
    LabStatusResult,
    ReviewResultsResult,
    ValidateResult,
)

ConfirmCost = Annotated[
    bool, Field(description="Go ahead although more than 100 evaluations would be billed")
]


def register_labs_tools(mcp: MCPServer, read_only: bool) -> None:
    """review_results and lab_status (read-only), check_on_calls (previews: nothing saved, credits
    spent); label_call and validate_on_calls (they change Cekura)."""
    _reading_tools(mcp)
    _labelling_tools(mcp, read_only)


def _reading_tools(mcp: MCPServer) -> None:
    @tool(
        mcp,
        title="Review a metric's results on production calls",
        annotations=hints(read_only=True, idempotent=True),
    )
    async def review_results(
        metric_id: MetricIdArg,
        ctx: Context,
        agent_id: Annotated[int | None, Field(gt=0, description="Default: the metric's")] = None,
        since: Annotated[Since | None, Field(description="Calls from this time on")] = None,
        result: Annotated[Label | None, Field(description="Only calls with this result")] = None,
        limit: Annotated[ReviewLimit, Field(description="Calls to return")] = 20,
    ) -> ReviewResultsResult:
        """Recent production calls this metric judged, likely misalignments first (a person's vote
        disagrees, flagged, inconsistent, then newest), with result, explanation, a transcript
        excerpt, any vote, and whether the call is in the Lab. Read-only."""
        from tools.workflows.review import review_results as run

        return await call(
            ctx,
            lambda wf, _p: run(
                wf, metric_id, agent_id=agent_id, since=since, result=result, limit=limit
            ),
        )

    @tool(
        mcp, title="How ready a metric's Lab is", annotations=hints(read_only=True, idempotent=True)
    )
    async def lab_status(metric_id: MetricIdArg, ctx: Context) -> LabStatusResult:
        """Lab rows, labelled rows, rows with notes, rows the metric gets wrong, what changed since
        the last optimiser run, and the verdict: ready, not_ready or no_new_feedback."""
        from tools.workflows.lab_status import lab_status as run

        return await call(ctx, lambda wf, _p: run(wf, metric_id))

    @tool(
        mcp,
        title="Check a proposal on held-out production calls (spends credits)",
        annotations=hints(idempotent=True),
    )
    async def check_on_calls(
        metric_id: MetricIdArg,
        ctx: Context,
        proposal_id: Annotated[ProposalId | None, Field(description="Default: the newest")] = None,
        call_ids: Annotated[
            CallIds | None, Field(description="Default: every labelled call outside the Lab")
        ] = None,
        confirm_cost: ConfirmCost = False,
    ) -> CheckResult:
        """Preview a proposal (nothing saved) on labelled production calls the optimiser never saw
        and compare it, and the live metric, with the labels: better, same or worse, with flips,
        McNemar p, Wilson intervals, Cohen's kappa and the confusion matrices."""
        from tools.workflows.check_calls import check_on_calls as run

        return await call(
            ctx,
            lambda wf, progress: run(
                wf,
                metric_id,
                proposal_id=proposal_id,
                call_ids=call_ids,
                confirm_cost=confirm_cost,
                progress=progress,
            ),
        )


def _labelling_tools(mcp: MCPServer, read_only: bool) -> None:
    @tool(mcp, title="Record a person's verdict on a call", annotations=writes(read_only))
    async def label_call(
        metric_id: MetricIdArg,
        call_id: Annotated[CallId, Field(description="The call log id from review_results")],
        expected_value: Annotated[
            Label, Field(description="The right result: 5 pass, 0 fail, or an enum value")
        ],
        feedback: Annotated[
            Feedback,
            Field(description="The person's reasons, citing the moment (timestamp or words)"),
        ],
        ctx: Context,
    ) -> LabelResult:
        """Add the call to the metric's Lab with this expected value and feedback (or correct its
        row) and record the person's vote on the call. Sends nothing if already labelled so."""
        from tools.workflows.label import label_call as run

        return await call(ctx, lambda wf, _p: run(wf, metric_id, call_id, expected_value, feedback))

    @tool(
        mcp,
        title="Re-evaluate calls and compare with their labels (spends credits)",
        annotations=hints(read_only=read_only, destructive=not read_only),
    )
    async def validate_on_calls(
        metric_id: MetricIdArg,
        call_ids: Annotated[CallIds, Field(description="Call log ids, e.g. the misaligned ones")],
        ctx: Context,
        confirm_cost: ConfirmCost = False,
    ) -> ValidateResult:
        """After an apply: re-run evaluation on these calls (Cekura re-runs every metric assigned to
        them) and report, per call, the label and the result before and after."""
        from tools.workflows.validate import validate_on_calls as run

        def work(wf: Any, progress: Any) -> Any:
            return run(wf, metric_id, call_ids, confirm_cost=confirm_cost, progress=progress)

        return await call(ctx, work)
