"""Benchmark 1: the routine over N metrics, the raw chain against our tools, through MCP over stdio.

Each variant gets a fresh sandbox on loopback with the same N metrics and run times, and its own
server process: the raw tools (`benchmarks.raw_server`) driven by the scripted agent, or our
server on simulated time (`benchmarks.scaled_server`) called once with `optimise_metrics`, or per
metric with `optimise_metric` (+ `apply_if_not_regressed`). All variants of one group of
scenarios run at the same time; each is timed from its first tool call, after every server has
started.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp import Client

from benchmarks.clocks import SimSeconds
from benchmarks.config import BenchConfig
from benchmarks.mcp_session import ModelSide, server_env, server_params
from benchmarks.raw_agent import raw_routine
from benchmarks.world import build_state, draw_durations, metric_ids
from sandbox import start_background

RAW = "raw chain"
BATCH = "optimise_metrics"
PER_METRIC = "per-metric tools"
VARIANTS = (RAW, BATCH, PER_METRIC)
APPLICABLE = ("proposed", "no_new_feedback")
READY_TIMEOUT_S = 600


@dataclass(frozen=True)
class Scenario:
    """One routine to compare: N metrics, read-only or apply, transcript length, and whether the
    timed routine is a second run over labels unchanged since the first."""

    n: int
    apply: bool
    transcript_repeat: int = 1
    rerun: bool = False

    @property
    def mode(self) -> str:
        text = "apply" if self.apply else "read-only"
        if self.transcript_repeat > 1:
            text += f", transcripts x{self.transcript_repeat}"
        if self.rerun:
            text += ", re-run on unchanged labels"
        return text


@dataclass
class VariantResult:
    """What one variant cost for one routine."""

    variant: str
    scenario: Scenario
    calls: int
    bytes_read: int
    requests: int
    wall_s: float
    runs_started: int
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def n(self) -> int:
        return self.scenario.n


async def _ours_per_metric(model: ModelSide, ids: list[int], apply: bool) -> Counter[str]:
    statuses: Counter[str] = Counter()
    for metric_id in ids:
        result = await model.call("optimise_metric", {"metric_id": metric_id})
        body = result.structured_content or {}
        status = body.get("status", "error")
        if apply and status in APPLICABLE and body.get("proposal_id"):
            applied = await model.call(
                "apply_if_not_regressed",
                {"metric_id": metric_id, "proposal_id": body["proposal_id"]},
            )
            status = (applied.structured_content or {}).get("status", "error")
        statuses[status] += 1
    return statuses


async def _ours_batch(model: ModelSide, ids: list[int], apply: bool) -> Counter[str]:
    result = await model.call("optimise_metrics", {"metric_ids": ids, "apply": apply})
    body = result.structured_content or {}
    return Counter({k: int(v) for k, v in (body.get("counts") or {"error": 1}).items()})


async def _routine(
    variant: str, model: ModelSide, ids: list[int], apply: bool, config: BenchConfig
) -> Counter[str]:
    if variant == RAW:
        outcomes = await raw_routine(
            model, ids, apply=apply, poll_real_s=config.real(config.raw_poll_s)
        )
        return Counter(o.status for o in outcomes)
    if variant == BATCH:
        return await _ours_batch(model, ids, apply)
    return await _ours_per_metric(model, ids, apply)


async def run_variant(
    variant: str, scenario: Scenario, config: BenchConfig, go: anyio.Event, ready: list[str]
) -> VariantResult:
    """Start a sandbox and the variant's server (and, for a re-run, do the first run), wait for
    `go`, run the routine timed, count."""
    durations = draw_durations(config, scenario.n)
    state = build_state(
        config,
        durations,
        SimSeconds(config.time_factor),
        transcript_repeat=scenario.transcript_repeat,
    )
    ids = metric_ids(scenario.n)
    with start_background(state) as sandbox, tempfile.TemporaryDirectory() as tmp:
        env = server_env(sandbox.url, Path(tmp))
        if variant == RAW:
            params = server_params("benchmarks.raw_server", env=env)
        else:
            params = server_params(
                "benchmarks.scaled_server", "--time-factor", str(config.time_factor), env=env
            )
        async with Client(params) as client:
            await client.list_tools()
            if scenario.rerun:
                await _routine(variant, ModelSide(client), ids, scenario.apply, config)
            ready.append(variant)
            await go.wait()
            model = ModelSide(client)
            before = len(state.requests)
            started = time.perf_counter()
            statuses = await _routine(variant, model, ids, scenario.apply, config)
            wall = time.perf_counter() - started
            timed = state.requests[before:]
            requests = len(timed)
            runs_started = sum(r.route == "process_feedbacks" and r.effective for r in timed)
    return VariantResult(
        variant, scenario, model.calls, model.bytes_read, requests, wall, runs_started, statuses
    )


async def run_group(scenarios: list[Scenario], config: BenchConfig) -> list[VariantResult]:
    """Every variant of every scenario, started together once all are ready."""
    results: list[VariantResult] = []
    go = anyio.Event()
    ready: list[str] = []
    jobs = [(v, s) for s in scenarios for v in VARIANTS]

    async def one(variant: str, scenario: Scenario) -> None:
        results.append(await run_variant(variant, scenario, config, go, ready))

    async with anyio.create_task_group() as tg:
        for variant, scenario in jobs:
            tg.start_soon(one, variant, scenario)
        with anyio.fail_after(READY_TIMEOUT_S):
            while len(ready) < len(jobs):
                await anyio.sleep(0.05)
        go.set()
    order = {job: i for i, job in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r.variant, r.scenario)])


def groups(config: BenchConfig) -> list[list[Scenario]]:
    """What runs together: read-only and apply per size; then long transcripts and the re-run."""
    out = [[Scenario(n, False), Scenario(n, True)] for n in config.sizes]
    extra: list[Scenario] = []
    if config.long_transcripts:
        n, repeat = config.long_transcripts
        extra += [Scenario(n, False, repeat), Scenario(n, True, repeat)]
    if config.rerun_size:
        extra.append(Scenario(config.rerun_size, False, rerun=True))
    if extra:
        out.append(extra)
    return out


async def run_routines(
    config: BenchConfig, report: Callable[[list[VariantResult]], None] | None = None
) -> list[VariantResult]:
    """Every group in turn."""
    results: list[VariantResult] = []
    for scenarios in groups(config):
        group = await run_group(scenarios, config)
        results.extend(group)
        if report:
            report(group)
    return results
