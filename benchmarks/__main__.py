"""`python -m benchmarks`: run every benchmark against the sandbox and print the tables.

    .venv/bin/python -m benchmarks                 # the full run (8-10 minutes on 2 cores)
    .venv/bin/python -m benchmarks --quick         # a smoke run (under 2 minutes)
    .venv/bin/python -m benchmarks --only polling,startup --markdown out.md
    .venv/bin/python -m benchmarks --load          # only server CPU and replica throughput

Progress goes to stderr, the Markdown report to stdout (and to --markdown FILE).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from pathlib import Path

import anyio

from benchmarks.concurrency import BatchRun, run_concurrency
from benchmarks.config import BenchConfig
from benchmarks.poll_bench import PollStats, run_polling
from benchmarks.report import (
    concurrency_table,
    full_report,
    polling_table,
    progress,
    routine_table,
    startup_table,
)
from benchmarks.report_load import cpu_table, load_targets, throughput_table
from benchmarks.routine import VariantResult, run_routines
from benchmarks.server_cpu import CpuRun, Floor, run_server_cpu
from benchmarks.startup import StartupResult, run_startup
from benchmarks.throughput import ThroughputResult, run_throughput

SECTIONS = ("routine", "polling", "concurrency", "startup", "cpu", "replicas")
LOAD = ("cpu", "replicas")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, fast clock")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--time-factor", type=float, help="real seconds per simulated second")
    parser.add_argument("--api-latency", type=float, help="simulated seconds per request")
    parser.add_argument("--optimiser-median", type=float, help="simulated seconds")
    parser.add_argument("--optimiser-sigma", type=float)
    parser.add_argument("--run-reviews-median", type=float, help="simulated seconds")
    parser.add_argument("--run-reviews-sigma", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--sizes", help="comma-separated metric counts, e.g. 1,10,50")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    parser.add_argument("--load", action="store_true", help="same as --only cpu,replicas")
    parser.add_argument(
        "--profile", type=Path, help="cpu: write the server's cProfile stats to this directory"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server for cpu/replicas (a fresh database is made on it); default: a "
        "throwaway server from the system's binaries",
    )
    return parser


def config_from(args: argparse.Namespace) -> BenchConfig:
    config = BenchConfig.quick_run() if args.quick else BenchConfig()
    changes = {
        "time_factor": args.time_factor,
        "api_latency_s": args.api_latency,
        "optimiser_median_s": args.optimiser_median,
        "optimiser_sigma": args.optimiser_sigma,
        "run_reviews_median_s": args.run_reviews_median,
        "run_reviews_sigma": args.run_reviews_sigma,
        "seed": args.seed,
        "sizes": tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None,
    }
    return dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})


async def run_load(
    config: BenchConfig, sections: set[str], database_url: str | None, profile: Path | None
) -> tuple[list[CpuRun], Floor | None, ThroughputResult | None]:
    """The server-load sections that `sections` names, printing each table as it is done."""
    cpu: list[CpuRun] = []
    floor: Floor | None = None
    throughput: ThroughputResult | None = None
    if "cpu" in sections:
        progress("server CPU per metric: SQLite, PostgreSQL ...")
        cpu, floor = await run_server_cpu(
            config, database_url, lambda r, f: progress(cpu_table(r, f)), profile
        )
    if "replicas" in sections:
        progress("cheap-path calls per second: one replica, two ...")
        throughput = await run_throughput(
            config, database_url, lambda r: progress(throughput_table(r))
        )
    return cpu, floor, throughput


def load_parts(
    cpu: list[CpuRun], floor: Floor | None, throughput: ThroughputResult | None
) -> list[str]:
    """The server-load sections of the report, titled."""
    parts = ["### 5. Server CPU per metric", cpu_table(cpu, floor)] if cpu else []
    if throughput is not None:
        parts += ["### 6. Replicas: cheap-path calls per second", throughput_table(throughput)]
    return parts


async def _run(config: BenchConfig, sections: set[str]) -> tuple:
    routine: list[VariantResult] = []
    polling: list[PollStats] = []
    batches: list[BatchRun] = []
    startup: StartupResult | None = None
    if "polling" in sections:
        progress("polling: fake clock ...")
        polling = await run_polling(config, lambda g: progress(polling_table(g)))
    if "routine" in sections:
        progress("routine: raw chain vs our tools ...")
        routine = await run_routines(config, lambda g: progress(routine_table(g, config)))
    if "concurrency" in sections:
        progress("concurrency ...")
        batches = await run_concurrency(config, lambda b: progress(concurrency_table(b, config)))
    if "startup" in sections:
        progress("start-up ...")
        startup = await anyio.to_thread.run_sync(
            lambda: run_startup(config.startup_repeats, lambda s: progress(startup_table(s)))
        )
    return routine, polling, batches, startup


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sections = set(LOAD) if args.load else {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        print(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}", file=sys.stderr)
        return 2
    config = config_from(args)
    started = time.perf_counter()
    routine, polling, batches, startup = anyio.run(_run, config, sections)
    cpu, floor, throughput = anyio.run(run_load, config, sections, args.database_url, args.profile)
    shown = ["***" if "postgres" in a and "@" in a else a for a in (argv or sys.argv[1:])]
    command = " ".join([".venv/bin/python -m benchmarks", *map(shlex.quote, shown)])
    report = full_report(
        config,
        command,
        time.perf_counter() - started,
        routine,
        polling,
        batches,
        startup,
        load_targets(cpu, throughput),
        load_parts(cpu, floor, throughput),
    )
    print(report)
    if args.markdown:
        args.markdown.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
