"""The ambiguous start: Cekura may have received POST process_feedbacks but no answer came back.
The tool never starts another run blindly; within the window it refuses unless force=True."""

import pytest

from sandbox import Fault
from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "fault",
    [dict(kind="drop_after"), dict(kind="5xx", status=502), dict(kind="truncated")],
    ids=["dropped-after-receipt", "gateway-error", "unreadable-success"],
)
async def test_unknown_start_is_reported_and_blocks_a_second_start(tmp_path, fault):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.add(Fault(route="process_feedbacks", times=1, **fault))
        first = await optimise_metric(w.wf, 101)
        assert first.status == "failed"
        assert any("force=True" in x for x in first.warnings)
        assert w.state.count("process_feedbacks") == 1
        with pytest.raises(WorkflowError, match="force=True"):
            await optimise_metric(w.wf, 101)
        assert w.state.count("process_feedbacks") == 1
        forced = await optimise_metric(w.wf, 101, force=True)
        assert forced.status == "proposed"
        assert w.state.count("process_feedbacks") == 2


async def test_after_the_window_a_new_run_may_start(tmp_path):
    async with sandbox_world(tmp_path, unknown_start_window_s=600) as w:
        w.state.faults.add(Fault(route="process_feedbacks", kind="drop_after", times=1))
        await optimise_metric(w.wf, 101)
        w.clock.t += 601
        assert (await optimise_metric(w.wf, 101)).status == "proposed"
        assert w.state.count("process_feedbacks") == 2


async def test_a_start_refused_outright_is_not_ambiguous(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.add(Fault(route="process_feedbacks", kind="429", times=1, retry_after=5))
        with pytest.raises(WorkflowError, match="rate limiting"):
            await optimise_metric(w.wf, 101)
        assert w.state.count("process_feedbacks") == 1
        assert (await optimise_metric(w.wf, 101)).status == "proposed"


async def test_the_window_is_a_setting(monkeypatch, tmp_path):
    from server.runtime import Runtime
    from server.settings import Settings, SettingsError

    monkeypatch.setenv("CEKURA_OPTIMISE_UNKNOWN_START_WINDOW_S", "90")
    settings = Settings.from_env(sandbox=True, state_dir=tmp_path)
    runtime = Runtime(settings)
    assert (await runtime.workflow()).policy.unknown_start_window_s == 90
    await runtime.aclose()
    monkeypatch.setenv("CEKURA_OPTIMISE_UNKNOWN_START_WINDOW_S", "soon")
    with pytest.raises(SettingsError, match="CEKURA_OPTIMISE_UNKNOWN_START_WINDOW_S"):
        Settings.from_env()


async def test_a_call_stopped_during_the_start_counts_as_an_unknown_start(tmp_path):
    import anyio

    async with sandbox_world(tmp_path) as w:
        start = w.wf.client.start_optimisation
        with anyio.CancelScope() as scope:

            async def caller_gives_up_mid_start(*args, **kwargs):
                scope.cancel()
                return await start(*args, **kwargs)

            w.wf.client.start_optimisation = caller_gives_up_mid_start
            await optimise_metric(w.wf, 101)
        del w.wf.client.start_optimisation
        assert scope.cancelled_caught
        with pytest.raises(WorkflowError, match="force=True"):
            await optimise_metric(w.wf, 101)
        assert (await optimise_metric(w.wf, 101, force=True)).status == "proposed"
