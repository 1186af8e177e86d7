"""Progress while polling: a notification at least every 20 s of (fake) wall time, even when the
remote status does not change, and increasing progress values."""

import itertools
import re

import pytest

from support import sandbox_world
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio


async def test_heartbeat_every_20_seconds_while_a_run_is_stuck(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101)
        seen: list[tuple[float, float, str]] = []

        async def on_progress(value, total, message):
            seen.append((w.clock.now(), value, message))

        started = w.clock.now()
        result = await optimise_metric(w.wf, 101, max_wait_s=600, progress=on_progress)
    assert result.status == "timed_out"
    times = [started] + [t for t, _, _ in seen]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 20
    assert times[-1] - started >= 590
    values = [v for _, v, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert any("still waiting" in m for _, _, m in seen)


async def test_polls_back_off_to_the_cap(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101)
        result = await optimise_metric(w.wf, 101, max_wait_s=1200)
    assert result.status == "timed_out"
    polls = w.state.count("process_feedbacks_progress", metric_id=None)
    assert polls == result.polls
    assert polls <= 1200 / 30 + 8


async def test_a_batch_reports_one_line_with_every_metric_state(tmp_path):
    from tools.workflows.routine import optimise_metrics

    async with sandbox_world(tmp_path) as w:
        seen: list[tuple[float, str]] = []

        async def on_progress(value, total, message):
            seen.append((value, message))

        result = await optimise_metrics(w.wf, [101, 103, 105], progress=on_progress)
    assert [m.status for m in result.metrics] == ["proposed", "needs_answers", "not_ready"]
    values = [v for v, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)
    for _, message in seen:
        assert re.match(r"^[0-3]/3 metrics done, \d+s: 101 .+ · 103 .+ · 105 .+$", message)
    assert seen[-1][1].startswith("3/3 metrics done")
    assert seen[-1][1].endswith("101 proposed · 103 needs_answers · 105 not_ready")
    running = [m for _, m in seen if "105 not_ready" in m and "101 proposed" not in m]
    assert running, "a finished metric's state shows while the others still run"
    assert any("optimiser" in m.split("101 ")[1].split(" · ")[0] for m in running)
