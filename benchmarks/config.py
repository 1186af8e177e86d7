"""The knobs of a benchmark run: simulated latencies and run times, the time factor, sizes, seed."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BenchConfig:
    """Everything a run depends on. Times are simulated seconds unless the name says `real`.

    `time_factor` is real seconds per simulated second: 0.01 plays a 3-minute optimiser run in
    1.8 real seconds. Run times are lognormal (median, sigma) drawn from `seed`.
    The concurrency benchmark runs on a slower clock (`concurrency_time_factor`): local CPU time
    is not scaled, so a fast clock would magnify it next to the simulated waits.
    `long_transcripts` (N, k): one more routine comparison over N metrics whose Lab transcripts
    are repeated k times, as long as real calls (None: skip it). `rerun_size`: one more, read-only
    over that many metrics, timing a second run after the first left the labels unchanged.
    `cpu_metrics`: the batch size whose server CPU is divided per metric; `floor_requests`: how
    many GETs the bare-httpx floor makes. The throughput benchmark
    runs `throughput_clients` clients for `throughput_seconds` over `throughput_metrics` metrics.
    """

    time_factor: float = 0.01
    api_latency_s: float = 0.25
    optimiser_median_s: float = 180.0
    optimiser_sigma: float = 0.5
    run_reviews_median_s: float = 40.0
    run_reviews_sigma: float = 0.4
    raw_poll_s: float = 30.0
    seed: int = 5
    sizes: tuple[int, ...] = (1, 10, 50)
    long_transcripts: tuple[int, int] | None = (10, 8)
    rerun_size: int | None = 10
    concurrency_metrics: int = 50
    concurrency_time_factor: float = 0.02
    polling_runs: int = 200
    startup_repeats: int = 11
    cpu_metrics: int = 50
    floor_requests: int = 1000
    throughput_clients: int = 8
    throughput_seconds: float = 15.0
    throughput_metrics: int = 10
    quick: bool = False

    @classmethod
    def quick_run(cls, **changes: object) -> BenchConfig:
        """A smoke run of about a minute: small sizes, a faster clock, few repeats."""
        base = cls(
            time_factor=0.004,
            sizes=(1, 6),
            long_transcripts=None,
            rerun_size=6,
            concurrency_metrics=12,
            concurrency_time_factor=0.01,
            polling_runs=60,
            startup_repeats=3,
            cpu_metrics=6,
            floor_requests=100,
            throughput_clients=4,
            throughput_seconds=3.0,
            throughput_metrics=4,
            quick=True,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    def real(self, simulated_s: float) -> float:
        """Real seconds for `simulated_s` simulated seconds."""
        return simulated_s * self.time_factor

    def simulated(self, real_s: float) -> float:
        """Simulated seconds for `real_s` real seconds."""
        return real_s / self.time_factor
