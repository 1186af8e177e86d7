"""Each change of a run's state races another caller releasing the run (force, cancel, the
unknown-start window) while a newer run takes the metric's slot: the loser gets a clear outcome
and the slot's holder is untouched (a released run is never revived)."""

from contextlib import contextmanager

import anyio
import pytest

from support import sandbox_world
from tools.cekura.errors import CekuraOutcomeUnknown
from tools.workflows.cancel import cancel_optimisation
from tools.workflows.optimise import optimise_metric
from tools.workflows.questions import answer_optimiser_questions

pytestmark = pytest.mark.anyio


@contextmanager
def _before(client, method: str, step):
    """Run `step()` (another caller's move) right before the first call to `client.<method>`."""
    real = getattr(client, method)
    done = False

    async def racing(*args, **kwargs):
        nonlocal done
        if not done:
            done = True
            await step()
        return await real(*args, **kwargs)

    setattr(client, method, racing)
    try:
        yield
    finally:
        delattr(client, method)


class _Release:
    """Another caller's move: close the run in flight and claim the slot with a newer run."""

    def __init__(self, w, metric_id: int, status: str = "abandoned") -> None:
        self.w, self.metric_id, self.status = w, metric_id, status
        self.newer = None

    async def __call__(self) -> None:
        ledger, now = self.w.wf.ledger, self.w.clock.now()
        held = await ledger.inflight_run(self.metric_id)
        await ledger.close_run(held.id, self.status, note="released by another call", now=now)
        claim = await ledger.claim_run(self.metric_id, "newer", "other", None, None, now=now)
        assert claim.won
        self.newer = claim.run


async def _assert_holder_untouched(w, newer) -> None:
    holder = await w.wf.ledger.inflight_run(newer.metric_id)
    assert holder == newer


async def test_a_start_answered_after_the_slot_was_released_is_reported_not_revived(tmp_path):
    async with sandbox_world(tmp_path) as w:
        release = _Release(w, 101)
        with _before(w.wf.client, "start_optimisation", release):
            result = await optimise_metric(w.wf, 101)
        assert result.status == "failed"
        assert "released this metric's slot" in result.summary
        assert result.progress_id and result.next_steps
        await _assert_holder_untouched(w, release.newer)


async def test_an_unknown_start_after_the_slot_was_released_leaves_the_new_holder(tmp_path):
    async with sandbox_world(tmp_path) as w:
        release = _Release(w, 101)

        async def release_then_lose_the_answer():
            await release()
            raise CekuraOutcomeUnknown("no answer", method="POST", path="/process_feedbacks/")

        with _before(w.wf.client, "start_optimisation", release_then_lose_the_answer):
            result = await optimise_metric(w.wf, 101)
        assert result.status == "failed" and "not repeated" in result.summary
        await _assert_holder_untouched(w, release.newer)


async def test_a_pause_seen_after_the_run_was_cancelled_elsewhere_is_not_revived(tmp_path):
    async with sandbox_world(tmp_path) as w:
        cancel_elsewhere = _Release(w, 103, "cancelled")
        with _before(w.wf.client, "get_optimisation_progress", cancel_elsewhere):
            result = await optimise_metric(w.wf, 103)
        assert result.status == "cancelled"
        assert "closed by another call (cancelled)" in result.summary
        assert not result.questions
        await _assert_holder_untouched(w, cancel_elsewhere.newer)


async def test_an_outcome_recorded_after_another_call_released_the_run_is_theirs(tmp_path):
    async with sandbox_world(tmp_path) as w:
        release = _Release(w, 101)
        with _before(w.wf.client, "get_optimisation_progress", release):
            result = await optimise_metric(w.wf, 101)
        assert result.status == "failed"
        assert "closed by another call (abandoned)" in result.summary
        assert result.proposal_id is None
        assert await w.wf.ledger.latest_proposal(101) is None
        await _assert_holder_untouched(w, release.newer)


async def test_answers_sent_after_the_run_was_released_do_not_revive_it(tmp_path):
    async with sandbox_world(tmp_path) as w:
        paused = await optimise_metric(w.wf, 103)
        assert paused.status == "needs_answers"
        old = await w.wf.ledger.inflight_run(103)
        release = _Release(w, 103)
        answers = {q.id: "yes" for q in paused.questions}
        with _before(w.wf.client, "answer_questions", release):
            result = await answer_optimiser_questions(w.wf, 103, answers)
        assert result.status == "resumed"
        assert any("abandoned" in warning for warning in result.warnings)
        assert (await w.wf.ledger.run(old.id)).status == "abandoned"
        await _assert_holder_untouched(w, release.newer)


async def test_a_stalled_start_that_went_through_meanwhile_is_followed(tmp_path):
    """The resolver finds a `starting` run past its grace and would mark it unknown, but the
    starter records its run first: the resolver follows that run, and starts none of its own."""
    async with sandbox_world(tmp_path) as w:
        ledger = w.wf.ledger
        began = w.clock.now() - w.wf.policy.starting_grace_s - 1
        starting = (await ledger.claim_run(101, "fp", "starter", None, None, now=began)).run
        real_move = ledger.move_run

        async def starter_wins(run_id, **kwargs):
            if kwargs.get("status") == "unknown":
                progress_id = await w.wf.client.start_optimisation(101)
                await real_move(
                    run_id,
                    expect=("starting",),
                    status="running",
                    progress_id=progress_id,
                    now=w.clock.now(),
                )
            return await real_move(run_id, **kwargs)

        ledger.move_run = starter_wins
        try:
            result = await optimise_metric(w.wf, 101)
        finally:
            del ledger.move_run
        assert result.status == "proposed"
        assert w.state.count("process_feedbacks") == 1
        assert (await ledger.run(starting.id)).status == "proposed"


async def test_an_unknown_start_that_answered_meanwhile_is_followed_not_released(tmp_path):
    """A forced call releases an unknown start, but the start answers first: the forced call
    follows that run and starts none of its own."""
    async with sandbox_world(tmp_path) as w:
        ledger = w.wf.ledger
        run = (await ledger.claim_run(101, "fp", "starter", None, None, now=w.clock.now())).run
        await ledger.move_run(run.id, expect=("starting",), status="unknown", now=w.clock.now())
        real_close = ledger.close_run

        async def start_answers_first(run_id, status, **kwargs):
            if status == "abandoned":
                progress_id = await w.wf.client.start_optimisation(101)
                moved = await ledger.move_run(
                    run_id,
                    expect=("unknown",),
                    status="running",
                    progress_id=progress_id,
                    now=w.clock.now(),
                )
                assert moved.won
            return await real_close(run_id, status, **kwargs)

        ledger.close_run = start_answers_first
        try:
            result = await optimise_metric(w.wf, 101, force=True)
        finally:
            del ledger.close_run
        assert result.status == "proposed"
        assert w.state.count("process_feedbacks") == 1
        assert (await ledger.run(run.id)).status == "proposed"


async def test_a_cancel_recorded_after_the_run_ended_reports_the_outcome(tmp_path):
    async with sandbox_world(tmp_path) as w:
        run = (await w.wf.ledger.claim_run(101, "fp", "other", None, None, now=1.0)).run
        await w.wf.ledger.move_run(
            run.id, expect=("starting",), status="running", progress_id="p-101", now=2.0
        )

        async def ends_first():
            await w.wf.ledger.close_run(run.id, "proposed", result={"status": "proposed"}, now=3)

        with _before(w.wf.client, "cancel_optimisation", ends_first):
            result = await cancel_optimisation(w.wf, 101)
        assert result.status == "nothing_running"
        assert "already ended (proposed)" in result.summary
        assert (await w.wf.ledger.run(run.id)).status == "proposed"


async def test_a_call_cancelled_right_after_its_start_answered_keeps_the_progress_id(tmp_path):
    async with sandbox_world(tmp_path) as w:
        real = w.wf.client.start_optimisation
        with anyio.CancelScope() as scope:

            async def answered_then_cancelled(*args, **kwargs):
                progress_id = await real(*args, **kwargs)
                scope.cancel()
                return progress_id

            w.wf.client.start_optimisation = answered_then_cancelled
            try:
                await optimise_metric(w.wf, 101)
            finally:
                del w.wf.client.start_optimisation
        assert scope.cancelled_caught
        held = await w.wf.ledger.inflight_run(101)
        assert held.status == "running" and held.progress_id
        resumed = await optimise_metric(w.wf, 101)
        assert resumed.status == "proposed" and resumed.progress_id == held.progress_id
        assert w.state.count("process_feedbacks") == 1
