"""The guard refuses what it cannot show to be safe, whatever the scores say: each refusal on an
optimiser run that the sandbox tampers with, and the metric left untouched."""

import pytest

from support import sandbox_world
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio

TAMPERED = {
    "unapproved-label-change": (
        101,
        {"unauthorized_label_changes": [{"review_id": 10101, "from": "fail", "to": "pass"}]},
        "changed 1 label(s) without approval",
    ),
    "code-that-does-not-parse": (
        102,
        {"custom_code": "def evaluate(transcript:\n    return _result ="},
        "does not parse",
    ),
    "scores-on-other-samples": (
        101,
        {
            "old_score": {"num_correct": 3, "num_total": 6, "score": 0.5},
            "new_score": {"num_correct": 5, "num_total": 5, "score": 1.0},
        },
        "different samples (6 vs 5)",
    ),
    "no-per-review-results": (101, {"review_results": []}, "no per-review results"),
}


@pytest.mark.parametrize(("metric_id", "output", "reason"), TAMPERED.values(), ids=TAMPERED)
async def test_the_guard_refuses_an_unsafe_proposal_and_writes_nothing(
    tmp_path, metric_id, output, reason
):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.tampered_run(metric_id, output)
        before = dict(w.state.metric(metric_id))
        proposed = await optimise_metric(w.wf, metric_id)
        assert proposed.status == "proposed"
        result = await apply_if_not_regressed(w.wf, metric_id)
        assert result.status == "not_applied_unsafe"
        assert any(reason in r for r in result.reasons), result.reasons
        assert w.state.count("metric_patch") == 0
        assert w.state.metric(metric_id) == before


async def test_a_larger_max_broken_lets_a_proposal_that_breaks_one_review_through(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 104)
        refused = await apply_if_not_regressed(w.wf, 104)
        assert refused.status == "not_applied_regressed"
        assert refused.evidence.flips.broken
        allowed = await apply_if_not_regressed(w.wf, 104, max_broken=1)
        assert allowed.status in ("applied", "reverted")
        assert w.state.count("metric_patch", metric_id=104) == 1
