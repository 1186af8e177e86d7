"""Soak: optimise-and-apply cycles under seeded random faults, several workers sharing one ledger.

Not a test: it reports what happened. Three counts must be zero: duplicate runs started, silent
regressions (a metric left scoring worse than before without any result saying so) and unhandled
exceptions. A start is a duplicate when another run of the same metric is still going at that
moment, unless that run's start got no readable answer (so its id was never learned) and the
unknown-start window had passed since: that release is the documented policy, and the window is
shortened here so the soak exercises it. Those releases are counted on their own line.

    .venv/bin/python -m benchmarks.soak --seconds 60 --workers 4 --seed 7
    .venv/bin/python -m benchmarks.soak --seconds 45 --workers 4 --seeds 7,8,9,10,11
    .venv/bin/python -m benchmarks.soak --seconds 60 --workers 4 --processes 2 \
        --database-url postgresql://…   # workers in two processes sharing PostgreSQL
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import anyio

from sandbox import Fault, SandboxState, sandbox_transport
from sandbox.judge import evaluate, is_correct
from tools.cekura.client import CekuraClient
from tools.context import Policy, Workflow
from tools.errors import WorkflowError
from tools.ledger import open_ledger
from tools.polling.schedule import PollPolicy
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric
from tools.workflows.revert import revert_metric
from tools.writes.settle import report_interrupted

METRICS = (101, 102, 103, 104, 105, 106)
ROUTES = (
    "metric_get",
    "process_feedbacks",
    "process_feedbacks_progress",
    "metric_history",
    "metric_patch",
    "metric_restore",
    "run_reviews",
    "run_reviews_progress",
    "process_feedbacks_answer",
)
UNKNOWN_START_WINDOW_S = 2.0
CANCEL_SHARE = 0.05
DISCLOSED = frozenset({"failed", "applied_unverified"})
# an apply that wrote nothing warns when another proposal's stopped write is live and unchecked
LIVE_UNCHECKED = ("stopped after writing it", "LIVE although its re-score fell")


@dataclass
class Tally:
    """What the soak observed."""

    cycles: int = 0
    cancelled: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    cycle_s: list[float] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    starts: list[tuple[int, float, set[str]]] = field(default_factory=list)
    started_at: dict[str, float] = field(default_factory=dict)
    disclosed: dict[int, set[str]] = field(default_factory=dict)
    cycles_by_process: Counter[int] = field(default_factory=Counter)


def true_score(state: SandboxState, metric_id: int) -> tuple[int, int]:
    """The metric's real accuracy now: its live configuration judged on every labelled row."""
    metric = state.metric(metric_id)
    labelled = [r for r in metric["reviews"] if r.get("expected_value") is not None]
    correct = sum(
        is_correct(evaluate(metric, r["test_set"]["transcript"]).actual_value, r["expected_value"])
        for r in labelled
    )
    return correct, len(labelled)


def watch_starts(state: SandboxState, tally: Tally) -> None:
    """Record, for every optimiser start, when it happened and the runs of the same metric still
    going at that moment."""
    original = state.start_optimisation

    def start(metric_id: int, *args, **kwargs):
        now = time.monotonic()
        live = {
            j.progress_id
            for j in state.optimiser_jobs.values()
            if j.metric_id == metric_id and j.status in ("in_progress", "paused")
        }
        tally.starts.append((metric_id, now, live))
        job = original(metric_id, *args, **kwargs)
        tally.started_at[job.progress_id] = now
        return job

    state.start_optimisation = start  # type: ignore[method-assign]


def relabel(state: SandboxState, metric_id: int, rng: random.Random) -> None:
    """A reviewer edits a feedback note in the Lab, so the next optimisation has new input."""
    rows = [r for r in state.metric(metric_id)["reviews"] if r.get("feedback")]
    if rows:
        row = rng.choice(rows)
        note = row["feedback"]
        row["feedback"] = note.rstrip() if note.endswith(" ") else note + " "


class Chaos(Protocol):
    """What a worker does to the world besides its calls: inject faults, edit feedback notes."""

    def fault(self, fault: Fault) -> None: ...

    def relabel(self, metric_id: int) -> None: ...


@dataclass
class LocalChaos:
    """Chaos on a sandbox state in this process, drawn with the worker's own random numbers."""

    state: SandboxState
    rng: random.Random

    def fault(self, fault: Fault) -> None:
        self.state.faults.add(fault)

    def relabel(self, metric_id: int) -> None:
        relabel(self.state, metric_id, self.rng)


@dataclass
class WorkerSetup:
    """Where a worker's calls go: its ledger (a file or a database URL), and Cekura: the
    in-process sandbox over `state`, or a sandbox served at `url`."""

    ledger: Path | str
    chaos: Callable[[random.Random], Chaos]
    state: SandboxState | None = None
    url: str = "http://sandbox.soak"

    def client(self) -> CekuraClient:
        transport = sandbox_transport(self.state) if self.state is not None else None
        return CekuraClient(
            "soak-key",
            self.url,
            transport=transport,
            backoff_initial_s=0.01,
            backoff_max_s=0.1,
            deadline_s=10,
        )


async def known_progress_ids(location: Path | str, seen: set[str]) -> set[str]:
    """The progress ids among `seen` that the ledger learned (read through the ledger)."""
    ledger = open_ledger(location)
    try:
        return {pid for pid in seen if await ledger.run_by_progress_id(pid) is not None}
    finally:
        await ledger.aclose()


def random_fault(rng: random.Random) -> Fault:
    """One fault drawn from the menu of things Cekura and the network do."""
    route = rng.choice(ROUTES)
    kind = rng.choice(["429", "5xx", "5xx", "drop", "drop_after", "latency", "html", "truncated"])
    if kind == "429":
        return Fault(route=route, kind="429", times=rng.randint(1, 3), retry_after=0.05)
    if kind == "5xx":
        return Fault(
            route=route, kind="5xx", status=rng.choice([500, 502, 503]), times=rng.randint(1, 3)
        )
    if kind == "latency":
        return Fault(route=route, kind="latency", delay_s=rng.uniform(0.005, 0.05), times=3)
    return Fault(route=route, kind=kind, times=1)


async def cycle(
    wf: Workflow, chaos: Chaos, metric_id: int, rng: random.Random, tally: Tally
) -> None:
    """Optimise, apply through the guard, and sometimes revert so later cycles have work."""
    started = time.monotonic()
    if rng.random() < 0.8:
        chaos.relabel(metric_id)
    try:
        optimised = await optimise_metric(wf, metric_id, on_questions="skip", max_wait_s=20)
        tally.statuses[f"optimise:{optimised.status}"] += 1
        if optimised.proposal_id and optimised.status in ("proposed", "no_new_feedback"):
            applied = await apply_if_not_regressed(wf, metric_id, proposal_id=optimised.proposal_id)
            tally.statuses[f"apply:{applied.status}"] += 1
            if applied.status in DISCLOSED or any(
                m in w for m in LIVE_UNCHECKED for w in applied.warnings
            ):
                tally.disclosed.setdefault(metric_id, set()).add(applied.status)
            live = ("applied", "applied_unverified", "already_applied", "failed")
            if applied.status in live and rng.random() < 0.9:
                reverted = await revert_metric(wf, metric_id)
                tally.statuses[f"revert:{reverted.status}"] += 1
    except WorkflowError as exc:
        tally.refusals[str(exc).split(":")[0][:60]] += 1
        await anyio.sleep(0.2)
    except Exception as exc:
        tally.unhandled.append(f"{type(exc).__name__}: {exc}")
    tally.cycles += 1
    tally.cycle_s.append(time.monotonic() - started)


async def settle_leftovers(wf: Workflow, tally: Tally) -> None:
    """What the next routine run does first: settle applies that cancelled calls left behind. One
    that had written is disclosed then (`applied_unverified`), as a real routine would report it."""
    for metric_id in METRICS:
        try:
            interrupted = await report_interrupted(wf, metric_id)
        except WorkflowError:
            continue
        if interrupted is not None:
            tally.statuses[f"settled:{interrupted.status}"] += 1
            tally.disclosed.setdefault(metric_id, set()).add(interrupted.status)


async def worker(
    name: str, setup: WorkerSetup, deadline: float, max_cycles: int, seed: int, tally: Tally
) -> None:
    rng = random.Random(seed)
    chaos = setup.chaos(rng)
    fast = PollPolicy(initial_s=0.01, factor=1.5, max_s=0.05, heartbeat_s=15)
    policy = Policy(
        poll=fast,
        run_reviews_poll=fast,
        verify_timeout_s=20,
        unknown_start_window_s=UNKNOWN_START_WINDOW_S,
    )
    ledger = open_ledger(setup.ledger)
    try:
        async with setup.client() as client:
            wf = Workflow(client=client, ledger=ledger, owner=name, policy=policy)
            while time.monotonic() < deadline and tally.cycles < max_cycles:
                if rng.random() < 0.3:
                    chaos.fault(random_fault(rng))
                metric_id = rng.choice(METRICS)
                if rng.random() < CANCEL_SHARE:
                    with anyio.move_on_after(rng.uniform(0.005, 0.2)) as scope:
                        await cycle(wf, chaos, metric_id, rng, tally)
                    tally.cancelled += scope.cancelled_caught
                else:
                    await cycle(wf, chaos, metric_id, rng, tally)
            await settle_leftovers(wf, tally)
    finally:
        await ledger.aclose()


async def run_workers(
    setup: WorkerSetup,
    indices: list[int],
    deadline: float,
    max_cycles: int,
    seed: int,
    tally: Tally,
    prefix: str = "",
) -> None:
    """Run the workers numbered `indices` in this process until the deadline."""
    async with anyio.create_task_group() as tg:
        for i in indices:
            name = f"{prefix}worker-{i}"
            tg.start_soon(worker, name, setup, deadline, max_cycles, seed * 1000 + i, tally)


@contextmanager
def ledger_location(database_url: str | None) -> Iterator[Path | str]:
    """A fresh ledger for one soak: a new database on the PostgreSQL server at `database_url`
    (dropped afterwards), else a SQLite file in a temporary directory."""
    if database_url is not None:
        with fresh_database(database_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        open_ledger(path)
        yield path


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server (CREATEDB needed), dropped at exit; its URL."""
    import psycopg
    from psycopg import sql

    name = f"soak_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


async def soak(
    seconds: float,
    workers: int,
    max_cycles: int,
    seed: int,
    *,
    database_url: str | None = None,
    processes: int = 1,
) -> Tally:
    """One seed's soak; with `processes` above 1 the workers are spread over that many processes
    (see benchmarks.soak_procs), which share the ledger and a sandbox served on loopback."""
    state = SandboxState.seeded(optimiser_polls=2, run_reviews_polls=1)
    before = {m: true_score(state, m) for m in METRICS}
    tally = Tally()
    watch_starts(state, tally)
    with ledger_location(database_url) as location:
        if processes > 1:
            from benchmarks.soak_procs import spread

            await spread(state, location, workers, processes, seconds, max_cycles, seed, tally)
        else:
            setup = WorkerSetup(location, lambda rng: LocalChaos(state, rng), state=state)
            deadline = time.monotonic() + seconds
            await run_workers(setup, list(range(workers)), deadline, max_cycles, seed, tally)
        seen = set().union(*(live for _, _, live in tally.starts))
        known = await known_progress_ids(location, seen)
    tally.duplicates = sum(  # type: ignore[attr-defined]
        any(run in known or now - tally.started_at[run] < UNKNOWN_START_WINDOW_S for run in live)
        for _, now, live in tally.starts
    )
    unknown_ids = set().union(*(live - known for _, _, live in tally.starts))
    tally.released = len(unknown_ids)  # type: ignore[attr-defined]
    tally.faults = sum(1 for r in state.requests if r.fault)  # type: ignore[attr-defined]
    tally.regressions = [  # type: ignore[attr-defined]
        (m, before[m], true_score(state, m))
        for m in METRICS
        if true_score(state, m)[0] < before[m][0] and m not in tally.disclosed
    ]
    return tally


def quiet() -> None:
    """Keep the expected warnings off stderr: the client's retries, and the database driver's
    notes on connections closed by cancelled calls."""
    for name in ("cekura_optimise", "psycopg"):
        logging.getLogger(name).setLevel(logging.ERROR)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report(seed: int, tally: Tally) -> bool:
    """Print one seed's figures; True when a must-be-zero count is not zero."""
    silent = tally.regressions  # type: ignore[attr-defined]
    print(f"seed {seed}")
    print(f"cycles                 {tally.cycles}")
    if len(tally.cycles_by_process) > 1:
        shares = ", ".join(
            f"{n} in process {p}" for p, n in sorted(tally.cycles_by_process.items())
        )
        print(f"cycles per process     {shares}")
    print(f"faults injected        {tally.faults}")  # type: ignore[attr-defined]
    print(f"calls cancelled midway {tally.cancelled}")
    print(f"duplicate runs started {tally.duplicates}")  # type: ignore[attr-defined]
    print(f"unknown starts later released {tally.released}")  # type: ignore[attr-defined]
    print(f"silent regressions     {len(silent)} {silent or ''}")
    print(f"unhandled exceptions   {len(tally.unhandled)} {tally.unhandled[:3] or ''}")
    print(
        f"cycle time p50 / p95   {statistics.median(tally.cycle_s or [0]):.3f}s / "
        f"{percentile(tally.cycle_s, 0.95):.3f}s"
    )
    print(
        "outcomes               " + ", ".join(f"{k} {v}" for k, v in sorted(tally.statuses.items()))
    )
    print(
        "refusals (ToolErrors)  " + ", ".join(f"{v}× {k}" for k, v in tally.refusals.most_common(5))
    )
    print()
    return bool(tally.duplicates or silent or tally.unhandled)  # type: ignore[attr-defined]


def summary_table(rows: list[tuple[int, Tally]]) -> str:
    """One line per seed: the three must-be-zero counts and the cycles behind them."""
    lines = [
        "| seed | cycles | faults | cancelled | duplicate runs | silent regressions | unhandled |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for seed, t in rows:
        lines.append(
            f"| {seed} | {t.cycles} | {t.faults} | {t.cancelled} | {t.duplicates} "  # type: ignore[attr-defined]
            f"| {len(t.regressions)} | {len(t.unhandled)} |"  # type: ignore[attr-defined]
        )
    return "\n".join(lines)


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"--seeds takes whole numbers, e.g. 7,8,9; got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds needs at least one seed, e.g. 7,8,9")
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="per seed")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cycles", type=int, default=10_000, help="stop after this many")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--seeds", type=_seeds, help="run once per seed, e.g. 7,8,9,10,11 (overrides --seed)"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="spread the workers over this many processes"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL: each seed's ledger is a fresh database made on it (and "
        "dropped after); default a temporary SQLite file",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the client's retries")
    args = parser.parse_args(argv)
    if not 1 <= args.processes <= args.workers:
        parser.error("--processes must be from 1 to --workers")
    if not args.verbose:
        quiet()
    rows = []
    for seed in args.seeds or [args.seed]:
        run = functools.partial(
            soak,
            args.seconds,
            args.workers,
            args.cycles,
            seed,
            database_url=args.database_url,
            processes=args.processes,
        )
        rows.append((seed, anyio.run(run)))
    bad = [report(seed, tally) for seed, tally in rows]
    if len(rows) > 1:
        print(summary_table(rows))
    return 1 if any(bad) else 0


if __name__ == "__main__":
    raise SystemExit(main())
