"""Our MCP server on simulated time, for the timed benchmarks.

It is `python -m server` (same settings from the environment, same `Runtime`, same
`build_server`, stdio) with one difference: the shared Workflow's clock is a `ScaledClock`, so
polling intervals, heartbeats and deadlines run `1/factor` times faster, in step with the
sandbox's run times. `--concurrency` overrides the policy's bound, to measure a proposed change.
`--profile FILE`: cProfile runs from SIGUSR1 to SIGUSR2, then its stats go to FILE (the
benchmark sends them around the timed call, so start-up is left out).

    python -m benchmarks.scaled_server --time-factor 0.01 [--concurrency 50] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import signal

import anyio

from benchmarks.clocks import ScaledClock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-factor", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--profile", help="write cProfile stats of the SIGUSR1-SIGUSR2 window")
    args = parser.parse_args()
    if args.profile:
        _profile_between_signals(args.profile)

    from server.app import build_server
    from server.runtime import Runtime
    from server.settings import Settings

    settings = Settings.from_env()
    runtime = Runtime(settings)
    workflow = anyio.run(runtime.workflow)
    workflow.clock = ScaledClock(args.time_factor)
    if args.concurrency is not None:
        workflow.policy = dataclasses.replace(workflow.policy, concurrency=args.concurrency)
    build_server(settings, runtime=runtime).run("stdio")


def _profile_between_signals(path: str) -> None:
    """Profile from SIGUSR1 until SIGUSR2, then write the stats to `path`."""
    profile = cProfile.Profile()

    def stop(*_: object) -> None:
        profile.disable()
        profile.dump_stats(path)

    signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
    signal.signal(signal.SIGUSR2, stop)


if __name__ == "__main__":
    main()
