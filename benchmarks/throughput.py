"""Benchmark 6: tool calls per second on the cheap path, one replica against two on PostgreSQL.

The cheap path is `optimise_metric` on a metric whose labels have not changed since its last run:
one metric read from Cekura and a few ledger reads, answered `no_new_feedback`. A scaled server
first runs every metric once (read-only) into a fresh PostgreSQL database; then `python -m server
--transport http` replicas on that database take calls from `throughput_clients` MCP clients over
stateless streamable HTTP, spread over the replicas (no affinity), each calling in a loop for
`throughput_seconds`. Reported: calls per second, p50/p99 latency, the replicas' CPU per call, and
this driver's own CPU (clients and sandbox share it, so a busy driver caps the figure).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks.clocks import SimSeconds
from benchmarks.config import BenchConfig
from benchmarks.mcp_session import ROOT, child_env, server_env, server_params
from benchmarks.pg import fresh_database, pg_server
from benchmarks.procs import cpu_seconds
from benchmarks.world import build_state, draw_durations, metric_ids
from sandbox import start_background
from tests.e2e import free_port, wait_for_port

CHEAP = "no_new_feedback"
WARM_UP_CALLS = 2
START_TIMEOUT_S = 30.0


@dataclass
class LoadRun:
    """What one replica count achieved on the cheap path."""

    replicas: int
    calls: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    server_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        """The q-th percentile latency in seconds (0 without calls)."""
        if len(self.latencies_s) < 2:
            return self.latencies_s[0] if self.latencies_s else 0.0
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[q - 1]


@dataclass
class ThroughputResult:
    """One and two replicas, or why they did not run."""

    runs: list[LoadRun]
    skipped: str = ""


@contextmanager
def replicas(count: int, env: dict[str, str]) -> Iterator[list[tuple[subprocess.Popen, str]]]:
    """`count` HTTP servers on free loopback ports (stderr discarded); (process, /mcp URL) each."""
    with ExitStack() as stack:
        started = []
        for port in [free_port() for _ in range(count)]:
            proc = subprocess.Popen(
                [sys.executable, "-m", "server", "--transport", "http", "--port", str(port)],
                env=child_env(env),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(proc.wait, 15)
            stack.callback(proc.terminate)
            started.append((proc, port))
        for proc, port in started:
            wait_for_port(port, proc, lambda: "replica exited", START_TIMEOUT_S)
        yield [(proc, f"http://127.0.0.1:{port}/mcp") for proc, port in started]


async def _seed(env: dict[str, str], ids: list[int], config: BenchConfig) -> None:
    """Run every metric once through a scaled server, so the next calls find nothing new."""
    params = server_params(
        "benchmarks.scaled_server", "--time-factor", str(config.time_factor), env=env
    )
    async with Client(params) as client:
        result = await client.call_tool("optimise_metrics", {"metric_ids": ids, "apply": False})
    counts = (result.structured_content or {}).get("counts") or {}
    if counts.get("proposed") != len(ids):
        raise RuntimeError(f"seeding the ledger gave {counts}, not {len(ids)} proposed")


async def _client_loop(
    url: str, ids: list[int], stop_at: list[float], warm: list[int], run: LoadRun
) -> None:
    """Warm up (then count itself in `warm`), then call the cheap path over and over until
    `stop_at[0]`, recording each call in `run`."""
    async with Client(streamable_http_client(url)) as client:
        for i in range(WARM_UP_CALLS):
            await client.call_tool("optimise_metric", {"metric_id": ids[i % len(ids)]})
        warm[0] += 1
        i = 0
        while time.perf_counter() < stop_at[0]:
            started = time.perf_counter()
            result = await client.call_tool("optimise_metric", {"metric_id": ids[i % len(ids)]})
            run.latencies_s.append(time.perf_counter() - started)
            run.statuses[(result.structured_content or {}).get("status", "error")] += 1
            run.calls += 1
            i += 1


async def _load(
    servers: list[tuple[subprocess.Popen, str]], ids: list[int], config: BenchConfig
) -> LoadRun:
    """`throughput_clients` clients round-robin over the replicas for `throughput_seconds`."""
    run = LoadRun(len(servers), 0, 0.0)
    stop_at, warm = [float("inf")], [0]
    pids = [proc.pid for proc, _url in servers]
    async with anyio.create_task_group() as tg:
        for i in range(config.throughput_clients):
            url = servers[i % len(servers)][1]
            tg.start_soon(_client_loop, url, ids[i:] + ids[:i], stop_at, warm, run)
        while warm[0] < config.throughput_clients:
            await anyio.sleep(0.01)
        run.latencies_s.clear()
        run.statuses.clear()
        run.calls = 0
        cpu_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        stop_at[0] = started + config.throughput_seconds
    run.seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    run.server_cpu_s = sum(cpu_seconds(pid) or 0.0 for pid in pids) - cpu_before
    run.driver_cpu_s = (usage.ru_utime + usage.ru_stime) - (
        usage_before.ru_utime + usage_before.ru_stime
    )
    return run


async def run_throughput(
    config: BenchConfig,
    database_url: str | None = None,
    report: Callable[[ThroughputResult], None] | None = None,
) -> ThroughputResult:
    """Seed a fresh database, then load one replica, then two, on it."""
    ids = metric_ids(config.throughput_metrics)
    durations = draw_durations(config, len(ids), fixed=True)
    state = build_state(config, durations, SimSeconds(config.time_factor), templates=(101,))
    result = ThroughputResult([])
    with ExitStack() as stack:
        server, why = stack.enter_context(pg_server(database_url))
        if server is None:
            result.skipped = why
        else:
            url = stack.enter_context(fresh_database(server))
            sandbox = stack.enter_context(start_background(state))
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            env = {**server_env(sandbox.url, tmp), "CEKURA_OPTIMISE_DATABASE_URL": url}
            await _seed(env, ids, config)
            for count in (1, 2):
                with replicas(count, env) as servers:
                    result.runs.append(await _load(servers, ids, config))
    if report:
        report(result)
    return result
