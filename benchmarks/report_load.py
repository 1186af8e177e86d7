"""The printed tables for server load: CPU per metric (SQLite, PostgreSQL) and cheap-path calls per
second with one and two replicas, each with its target stated as met or missed."""

from __future__ import annotations

from benchmarks.report import Target, _outcomes, _table, _verdict
from benchmarks.server_cpu import CpuRun, Floor
from benchmarks.throughput import ThroughputResult

CPU_TARGET_MS = 30.0


def cpu_table(runs: list[CpuRun], floor: Floor | None = None) -> str:
    rows = []
    for r in runs:
        b = r.batch
        if b is None:
            rows.append([r.backend, "-", "-", "-", "-", "-", f"skipped: {r.skipped}"])
            continue
        rows.append(
            [
                r.backend,
                str(b.n),
                f"{b.server_cpu_s:.2f} s",
                f"**{r.ms_per_metric:.0f} ms**",
                str(b.requests),
                f"{r.ms_per_request:.2f} ms",
                f"{b.wall_s:.1f} s; {_outcomes(b.statuses)}",
            ]
        )
    header = ["ledger", "metrics", "server CPU", "CPU per metric", "Cekura requests"]
    table = _table([*header, "CPU per request", "wall; outcomes"], rows)
    if floor is not None:
        table += (
            f"\n\nFloor: a bare httpx client (one pool, 8 in flight) used "
            f"**{floor.ms_per_request:.2f} ms** of CPU per metric GET ({floor.requests} GETs, "
            f"{floor.cpu_s:.2f} s) against the same sandbox."
        )
    return (
        "`optimise_metrics(apply=True)`; server CPU is the server process's user + system time "
        "from /proc during the call (not wall time, which a shared machine inflates).\n\n" + table
    )


def throughput_table(result: ThroughputResult) -> str:
    if not result.runs:
        return f"Skipped: {result.skipped}"
    rows = [
        [
            str(r.replicas),
            f"{r.per_second:.1f}",
            f"{r.percentile(50) * 1000:.0f} ms",
            f"{r.percentile(99) * 1000:.0f} ms",
            f"{r.server_cpu_s * 1000 / max(r.calls, 1):.1f} ms",
            f"{r.driver_cpu_s / r.seconds:.0%}" if r.seconds else "n/a",
            f"{r.calls} in {r.seconds:.1f} s; {_outcomes(r.statuses)}",
        ]
        for r in result.runs
    ]
    header = ["replicas", "calls/s", "p50", "p99", "server CPU per call", "driver CPU"]
    table = _table([*header, "calls; outcomes"], rows)
    ratio = ""
    if len(result.runs) == 2 and result.runs[0].per_second:
        ratio = f"\n\nTwo / one replica: **{two_over_one(result):.2f}x** calls per second."
    return (
        "`optimise_metric` on unchanged labels (`no_new_feedback`), PostgreSQL ledger, stateless "
        "HTTP; 'driver CPU' is this process (clients and sandbox) as a share of one core.\n\n"
        + table
        + ratio
    )


def two_over_one(result: ThroughputResult) -> float:
    one, two = result.runs[0], result.runs[1]
    return two.per_second / one.per_second if one.per_second else 0.0


def load_targets(cpu: list[CpuRun], throughput: ThroughputResult | None) -> list[Target]:
    """The CPU-per-metric target, and the replica ratio (reported, no target in the issue)."""
    out: list[Target] = []
    measured = [r for r in cpu if r.ms_per_metric is not None]
    if measured:
        out.append(
            Target(
                f"Server CPU per metric, optimise_metrics(apply=True): at most {CPU_TARGET_MS:g} ms",
                "; ".join(f"{r.backend} {r.ms_per_metric:.0f} ms" for r in measured),
                _verdict([(r.ms_per_metric or 0) <= CPU_TARGET_MS for r in measured]),
            )
        )
    if throughput is not None and len(throughput.runs) == 2:
        one, two = throughput.runs
        out.append(
            Target(
                "Cheap-path calls per second, two replicas against one (PostgreSQL)",
                f"{two.per_second:.1f} vs {one.per_second:.1f} calls/s: "
                f"{two_over_one(throughput):.2f}x",
                "reported",
            )
        )
    return out
