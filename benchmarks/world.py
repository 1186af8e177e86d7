"""Sandbox worlds for the benchmarks: N metrics cloned from the six seeded ones, each with its own
optimiser and re-score run time, and API latency on every request.

Metrics beyond the seeded six are clones of them under new ids (template 101 + i mod 6), made from
a seeded state's public `metrics` and handed to `SandboxState`'s constructor, so every variant of
a comparison sees the same N distinct metrics with the same behaviours and run times.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.config import BenchConfig
from sandbox import Fault, SandboxState

API_KEY = "bench-key-5c1e"
FIRST_ID = 1001
TEMPLATES = (101, 102, 103, 104, 105, 106)


@dataclass(frozen=True)
class Durations:
    """Simulated run times per metric position: optimiser and Lab re-score."""

    optimiser: tuple[float, ...]
    run_reviews: tuple[float, ...]


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def draw_durations(config: BenchConfig, n: int, *, fixed: bool = False) -> Durations:
    """`n` run times from the configured distributions and seed (`fixed`: every run the median)."""
    if fixed:
        return Durations((config.optimiser_median_s,) * n, (config.run_reviews_median_s,) * n)
    rng = random.Random(config.seed)
    optimiser = tuple(
        lognormal(rng, config.optimiser_median_s, config.optimiser_sigma) for _ in range(n)
    )
    run_reviews = tuple(
        lognormal(rng, config.run_reviews_median_s, config.run_reviews_sigma) for _ in range(n)
    )
    return Durations(optimiser, run_reviews)


def metric_ids(n: int) -> list[int]:
    return [FIRST_ID + i for i in range(n)]


def cloned_metrics(
    n: int, templates: tuple[int, ...] = TEMPLATES, transcript_repeat: int = 1
) -> dict[int, dict[str, Any]]:
    """`n` metric records: clone i copies seeded metric `templates[i % len]` under id 1001 + i.

    `transcript_repeat` > 1 repeats each Lab transcript's lines that many times, to give calls a
    realistic length (the seeded ones last about 25 s). The sandbox's judge and optimiser go by
    which phrases occur in a transcript, so verdicts and proposals stay the same.
    """
    seeded = SandboxState.seeded().metrics
    metrics: dict[int, dict[str, Any]] = {}
    for i, metric_id in enumerate(metric_ids(n)):
        template = seeded[templates[i % len(templates)]]
        metric = copy.deepcopy(template)
        metric.update(
            id=metric_id,
            slug=f"{template['slug']}_c{metric_id}",
            name=f"{template['name']} ({metric_id})",
            display_order=i + 1,
        )
        for index, review in enumerate(metric["reviews"], start=1):
            review["id"] = metric_id * 100 + index
            review["metric"] = metric_id
            review["test_set"]["id"] = 100_000 + metric_id * 100 + index
            if transcript_repeat > 1:
                text = review["test_set"]["transcript"]
                review["test_set"]["transcript"] = "\n".join([text] * transcript_repeat)
        metrics[metric_id] = metric
    return metrics


def build_state(
    config: BenchConfig,
    durations: Durations,
    clock: Callable[[], float],
    *,
    templates: tuple[int, ...] = TEMPLATES,
    latency: bool = True,
    transcript_repeat: int = 1,
) -> SandboxState:
    """A sandbox with one metric per duration, run times on `clock` (simulated seconds), and
    `config.api_latency_s` (scaled to real time) added to every request."""
    n = len(durations.optimiser)
    state = SandboxState(
        cloned_metrics(n, templates, transcript_repeat), clock=clock, api_keys=[API_KEY]
    )
    for metric_id, optimiser_s, rescore_s in zip(
        metric_ids(n), durations.optimiser, durations.run_reviews, strict=True
    ):
        state.faults.slow_run(metric_id, seconds=optimiser_s)
        state.faults.slow_run(metric_id, seconds=rescore_s, job="run_reviews")
    if latency and config.api_latency_s > 0:
        state.faults.add(
            Fault(route="*", kind="latency", times=None, delay_s=config.real(config.api_latency_s))
        )
    return state
