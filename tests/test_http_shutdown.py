"""Graceful stop over HTTP: SIGTERM mid-call ends the server within a bound and with exit code 0,
leaving the optimiser run in the ledger (the next server resumes it, no second start), a write
that had sent its PATCH released for the next call to settle (one PATCH), and one that had sent
nothing marked `failed` (the next call writes it, one PATCH)."""

import signal
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from e2e import API_KEY, http_process, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from sandbox import SandboxState, start_background
from tools.ledger import open_ledger
from tools.ledger.models import WRITING

pytestmark = pytest.mark.anyio
TOKEN = "e2e-bearer-shutdown-5e6f"
STOP_BOUND_S = 10.0


class JobClock:
    """The sandbox's job clock: runs finish only when the test moves it on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _call(url: str, tool: str, arguments: dict) -> dict:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def _interrupted(url: str, tool: str, arguments: dict, started, proc) -> float:
    """Call `tool`, SIGTERM the server once `started()` holds; the seconds it took to exit."""
    async with anyio.create_task_group() as tg:

        async def doomed() -> None:
            try:
                await _call(url, tool, arguments)
            except Exception:  # the server went away mid-call: expected
                return
            raise AssertionError(f"{tool} finished before the server was stopped")

        tg.start_soon(doomed)
        while not started():
            await anyio.sleep(0.02)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await anyio.to_thread.run_sync(lambda: proc.wait(timeout=STOP_BOUND_S + 5))
        took = time.monotonic() - sent
        tg.cancel_scope.cancel()
    return took


async def test_sigterm_while_polling_leaves_the_run_for_the_next_server(tmp_path):
    clock = JobClock()
    state = SandboxState.seeded(
        optimiser_seconds=60, run_reviews_polls=0, api_keys=[API_KEY], clock=clock
    )
    with start_background(state) as sandbox:
        env = server_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
        with http_process(env) as (proc, url):
            polled = lambda: state.count("process_feedbacks_progress") >= 1  # noqa: E731
            took = await _interrupted(url, "optimise_metric", {"metric_id": 101}, polled, proc)
            assert proc.returncode == 0
        run = await open_ledger(Path(tmp_path) / "ledger.sqlite3").inflight_run(101)
        assert run is not None and run.status == "running"
        clock.now += 60
        with http_process(env) as (_proc, url):
            result = await _call(url, "optimise_metric", {"metric_id": 101})
    assert took < STOP_BOUND_S
    assert result["status"] == "proposed"
    assert result["progress_id"] == run.progress_id
    assert state.count("process_feedbacks") == 1


async def test_sigterm_after_a_write_releases_the_hold_for_settling(tmp_path):
    state = SandboxState.seeded(optimiser_seconds=0.0, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as sandbox:
        env = server_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
        with http_process(env) as (proc, url):
            proposed = await _call(url, "optimise_metric", {"metric_id": 101})
            state.faults.stuck_run(101, job="run_reviews")
            rescoring = lambda: state.count("run_reviews_progress") >= 1  # noqa: E731
            args = {"metric_id": 101, "max_holdout_calls": 0}
            took = await _interrupted(url, "apply_if_not_regressed", args, rescoring, proc)
            assert proc.returncode == 0
        ledger = open_ledger(Path(tmp_path) / "ledger.sqlite3")
        [held] = await ledger.applies_with_status(101, WRITING)
        with http_process(env) as (_proc, url):
            settled = await _call(url, "apply_if_not_regressed", args)
    assert took < STOP_BOUND_S
    assert proposed["status"] == "proposed"
    assert held.replaced is not None and held.updated_at == 0  # sent, released for settling
    assert settled["status"] == "applied_unverified"
    assert "stopped after writing" in settled["summary"]
    assert state.count("metric_patch", metric_id=101) == 1


async def test_sigterm_before_a_write_marks_it_failed_and_sends_nothing(tmp_path):
    state = SandboxState.seeded(
        optimiser_seconds=0.0, run_reviews_polls=0, preview_seconds=600, api_keys=[API_KEY]
    )
    with start_background(state) as sandbox:
        env = server_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
        with http_process(env) as (proc, url):
            proposed = await _call(url, "optimise_metric", {"metric_id": 107})
            checking = lambda: state.count("metric_preview_progress") >= 1  # noqa: E731
            args = {"metric_id": 107}
            took = await _interrupted(url, "apply_if_not_regressed", args, checking, proc)
            assert proc.returncode == 0
        ledger = open_ledger(Path(tmp_path) / "ledger.sqlite3")
        held = await ledger.applies_with_status(107, WRITING)
        last = await ledger.last_apply(107, ("failed",))
        state.preview_seconds = None  # the next held-out check finishes at once
        with http_process(env) as (_proc, url):
            applied = await _call(url, "apply_if_not_regressed", args)
    assert took < STOP_BOUND_S
    assert proposed["status"] == "proposed"
    assert held == [] and last is not None and last.replaced is None
    assert applied["status"] == "applied"
    assert state.count("metric_patch", metric_id=107) == 1
