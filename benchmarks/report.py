"""The printed tables (Markdown, so they paste into the README) and the issue's targets, each
stated as met or missed with the measured figure. Nothing here asserts: it only reports."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version

from benchmarks.concurrency import BatchRun
from benchmarks.config import BenchConfig
from benchmarks.poll_bench import FIXED, OURS, PollStats
from benchmarks.routine import BATCH, PER_METRIC, RAW, Scenario, VariantResult
from benchmarks.startup import StartupResult


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _outcomes(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _kb(n: float) -> str:
    return f"{n / 1000:,.1f} kB"


def machine() -> str:
    """nproc, CPU model, Python, mcp and the OS, on one line."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores (nproc), {model}, Python {platform.python_version()}, "
        f"mcp {version('mcp')}, {platform.system()} {platform.release()}"
    )


def settings(config: BenchConfig) -> str:
    return (
        f"time factor {config.time_factor:g} (real s per simulated s); API latency "
        f"{config.api_latency_s:g} s; optimiser run lognormal median {config.optimiser_median_s:g} "
        f"s sigma {config.optimiser_sigma:g}; re-score median {config.run_reviews_median_s:g} s "
        f"sigma {config.run_reviews_sigma:g}; raw chain polls every {config.raw_poll_s:g} s; "
        f"seed {config.seed}. Times below are real seconds; 'sim' is the same in simulated minutes."
    )


def routine_table(results: list[VariantResult], config: BenchConfig) -> str:
    rows = [
        [
            str(r.n),
            r.scenario.mode,
            r.variant,
            str(r.calls),
            _kb(r.bytes_read),
            _kb(r.bytes_read / r.n),
            str(r.requests),
            str(r.runs_started),
            f"{r.wall_s:.1f} s ({config.simulated(r.wall_s) / 60:.0f} min)",
            _outcomes(r.statuses),
        ]
        for r in results
    ]
    header = ["N", "mode", "variant", "tool calls", "bytes read", "per metric", "Cekura requests"]
    return _table([*header, "optimiser runs", "wall (sim)", "outcomes"], rows)


def _by_scenario(results: list[VariantResult]) -> dict[Scenario, dict[str, VariantResult]]:
    grouped: dict[Scenario, dict[str, VariantResult]] = {}
    for r in results:
        grouped.setdefault(r.scenario, {})[r.variant] = r
    return grouped


def ratio_table(results: list[VariantResult]) -> str:
    rows = []
    for scenario, group in _by_scenario(results).items():
        raw = group[RAW]
        for ours in (group[BATCH], group[PER_METRIC]):
            rows.append(
                [
                    str(raw.n),
                    scenario.mode,
                    f"raw / {ours.variant}",
                    f"{raw.calls / ours.calls:.1f}x",
                    f"{raw.bytes_read / ours.bytes_read:.1f}x",
                    f"{raw.requests / ours.requests:.2f}x",
                    f"{raw.wall_s / ours.wall_s:.2f}x",
                ]
            )
    header = ["N", "mode", "ratio", "tool calls", "bytes read", "Cekura requests", "wall time"]
    return _table(header, rows)


def polling_table(results: list[PollStats]) -> str:
    rows = [
        [
            s.distribution,
            s.policy,
            str(s.runs),
            f"{s.requests_mean:.2f}",
            f"{s.lag_median_s:.1f} s",
            f"{s.lag_mean_s:.1f} s",
            f"{s.lag_p90_s:.1f} s",
        ]
        for s in results
    ]
    header = ["run times", "policy", "runs", "progress requests / run", "median lag"]
    return _table([*header, "mean lag", "p90 lag"], rows)


def concurrency_table(runs: list[BatchRun], config: BenchConfig) -> str:
    one = {r.time_factor: r.wall_s for r in runs if r.n == 1}
    rows = [
        [
            r.label,
            f"{r.wall_s:.1f} s ({r.wall_s / r.time_factor / 60:.1f} min)",
            f"{r.wall_s / one.get(r.time_factor, r.wall_s):.2f}x",
            f"{r.peak_rss_mb:.0f} MiB" if r.peak_rss_mb else "n/a",
            f"{r.server_cpu_s:.1f} s" if r.server_cpu_s is not None else "n/a",
            str(r.requests),
            _outcomes(r.statuses),
        ]
        for r in runs
    ]
    header = ["optimise_metrics(apply=True)", "wall (sim)", "vs 1 metric", "peak RSS"]
    table = _table([*header, "server CPU", "Cekura requests", "outcomes"], rows)
    factor = runs[0].time_factor if runs else config.concurrency_time_factor
    return (
        f"Time factor {factor:g} unless the row says otherwise; 'vs 1 metric' compares with the "
        "1-metric row on the same clock. Every metric is a clone of 101 with the same run times. "
        "Server CPU is real CPU time, which a time factor magnifies next to simulated waits.\n\n"
        + table
    )


def startup_table(result: StartupResult) -> str:
    rows = [
        [
            "python -m server (ours)",
            f"{result.ours_median_s * 1000:.0f} ms",
            f"{min(result.ours_s) * 1000:.0f}-{max(result.ours_s) * 1000:.0f} ms",
            str(len(result.ours_s)),
        ],
        [
            "one-tool MCPServer",
            f"{result.minimal_median_s * 1000:.0f} ms",
            f"{min(result.minimal_s) * 1000:.0f}-{max(result.minimal_s) * 1000:.0f} ms",
            str(len(result.minimal_s)),
        ],
    ]
    rows[0].append(f"{statistics.median(result.ours_cpu_s) * 1000:.0f} ms")
    rows[1].append(f"{statistics.median(result.minimal_cpu_s) * 1000:.0f} ms")
    header = ["server", "spawn to tools/list (median)", "range", "runs", "CPU used (median)"]
    table = _table(header, rows)
    packages = ", ".join(f"{name} {ms:.0f} ms" for name, ms in result.extra_by_package_ms.items())
    modules = ", ".join(f"{name} {ms:.0f} ms" for name, ms in result.top_modules_ms)
    return (
        f"{table}\n\nRatio ours / one-tool: **{result.ratio:.2f}x** (median of the paired "
        f"ratios {result.paired_ratio:.2f}x; CPU time {result.cpu_ratio or 0:.2f}x). "
        "Import time of modules our "
        f"server loads beyond the one-tool server (`-X importtime`, self time, median of 3): "
        f"{result.extra_import_ms:.0f} ms ({packages}). Slowest: {modules}."
    )


@dataclass
class Target:
    text: str
    measured: str
    verdict: str


def _verdict(passes: list[bool]) -> str:
    if all(passes):
        return "met"
    return "missed" if not any(passes) else "partly met"


def targets(
    routine: list[VariantResult],
    polling: list[PollStats],
    batches: list[BatchRun],
    startup: StartupResult | None,
) -> list[Target]:
    """Each target of issue 5 with the figures it was judged on."""
    out: list[Target] = []
    groups = _by_scenario(routine)
    if groups:
        calls = [(s, g[BATCH].calls, g[RAW].calls) for s, g in groups.items()]
        out.append(
            Target(
                "Tool calls for a routine over N metrics: 1, against at least 3N raw",
                "; ".join(f"N={s.n} {s.mode}: {ours} vs {raw}" for s, ours, raw in calls),
                _verdict([ours == 1 and raw >= 3 * s.n for s, ours, raw in calls]),
            )
        )
        for variant in (BATCH, PER_METRIC):
            ratios = [(s, g[RAW].bytes_read / g[variant].bytes_read) for s, g in groups.items()]
            out.append(
                Target(
                    f"Bytes the model reads per metric: at least 5x fewer than raw ({variant})",
                    "; ".join(f"N={s.n} {s.mode}: {r:.1f}x" for s, r in ratios),
                    _verdict([r >= 5 for _s, r in ratios]),
                )
            )
    if polling:
        main = polling[0].distribution
        stats = {s.policy: s for s in polling if s.distribution == main}
        ours, fixed = stats[OURS], stats[FIXED]
        out.append(
            Target(
                "Cekura requests per optimisation no more than fixed 30 s polling, lower median lag",
                f"{main}: {ours.requests_mean:.2f} vs {fixed.requests_mean:.2f} requests, median "
                f"lag {ours.lag_median_s:.1f} s vs {fixed.lag_median_s:.1f} s",
                _verdict(
                    [
                        ours.requests_mean <= fixed.requests_mean
                        and ours.lag_median_s < fixed.lag_median_s
                    ]
                ),
            )
        )
    if len(batches) >= 2:
        ratio = batches[1].wall_s / batches[0].wall_s
        extra = ""
        if len(batches) > 2:
            extra = f" (with the bound lifted: {batches[2].wall_s / batches[0].wall_s:.2f}x"
            if len(batches) > 4:
                extra += (
                    f", {batches[4].wall_s / batches[3].wall_s:.2f}x on a clock "
                    f"{batches[4].time_factor / batches[0].time_factor:g} times slower"
                )
            extra += ")"
        out.append(
            Target(
                f"{batches[1].n} metrics concurrently: wall time at most 1.5x that of one",
                f"{ratio:.2f}x as shipped{extra}",
                _verdict([ratio <= 1.5]),
            )
        )
    if startup is not None:
        out.append(
            Target(
                "Start-up: at most 1.15x the minimal server",
                f"{startup.ratio:.2f}x ({startup.ours_median_s * 1000:.0f} ms vs "
                f"{startup.minimal_median_s * 1000:.0f} ms)",
                _verdict([startup.ratio <= 1.15]),
            )
        )
    return out


def targets_table(items: list[Target]) -> str:
    rows = [[t.text, t.measured, f"**{t.verdict}**"] for t in items]
    return _table(["target", "measured", ""], rows)


def full_report(
    config: BenchConfig,
    command: str,
    elapsed_s: float,
    routine: list[VariantResult],
    polling: list[PollStats],
    batches: list[BatchRun],
    startup: StartupResult | None,
    more_targets: list[Target] | None = None,
    more_parts: list[str] | None = None,
) -> str:
    """Everything as one Markdown document (`more_parts`: further sections, already titled)."""
    parts = [
        "## Benchmarks",
        f"Command: `{command}` (took {elapsed_s / 60:.1f} min). Machine: {machine()}.",
        f"Settings: {settings(config)}",
        "### Targets",
        targets_table(targets(routine, polling, batches, startup) + (more_targets or [])),
    ]
    if routine:
        parts += [
            "### 1. The routine: raw chain against our tools (MCP over stdio)",
            routine_table(routine, config),
            "Ratios (raw / ours; above 1 means ours is smaller or faster):",
            ratio_table(routine),
        ]
    if polling:
        parts += ["### 2. Polling (fake clock)", polling_table(polling)]
    if batches:
        parts += ["### 3. Concurrency", concurrency_table(batches, config)]
    if startup is not None:
        parts += ["### 4. Start-up", startup_table(startup)]
    parts += more_parts or []
    return "\n\n".join(parts) + "\n"


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
