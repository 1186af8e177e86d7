"""The soak's workers spread over several processes that share one ledger (a PostgreSQL database,
or the SQLite file), as replicas of a team deployment do.

This process serves the sandbox on loopback and starts one worker process per share of the
workers (`python -m benchmarks.soak_procs`). Each runs its workers against that sandbox and that
ledger, and tells this process, as JSON lines on its stdout, the faults and feedback edits its
workers draw (applied here, where the sandbox's state lives) and, at the end, its tally. Starts,
faults and scores are counted here, on the one sandbox, as in a one-process soak.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from benchmarks.soak import Tally, WorkerSetup, quiet, relabel, run_workers
from sandbox import Fault, SandboxState, start_background

ROOT = Path(__file__).resolve().parents[1]
LEDGER_ENV = "SOAK_LEDGER"  # the ledger's location: not on the command line, it may hold a password
MAX_LINE = 16 * 1024 * 1024


def shares(workers: int, processes: int) -> list[list[int]]:
    """The worker numbers each process runs, dealt round-robin."""
    return [list(range(p, workers, processes)) for p in range(processes)]


async def spread(
    state: SandboxState,
    location: Path | str,
    workers: int,
    processes: int,
    seconds: float,
    max_cycles: int,
    seed: int,
    tally: Tally,
) -> None:
    """Run the soak's workers in `processes` worker processes; their tallies are added to
    `tally`."""
    rng = random.Random(seed)  # picks the notes the workers' edits change
    with start_background(state) as sandbox:
        async with anyio.create_task_group() as tg:
            for number, indices in enumerate(shares(workers, processes)):
                command = [sys.executable, "-m", "benchmarks.soak_procs", "--process", str(number)]
                command += ["--workers", ",".join(map(str, indices)), "--sandbox-url", sandbox.url]
                command += ["--seconds", str(seconds), "--cycles", str(max_cycles)]
                command += ["--seed", str(seed)]
                tg.start_soon(_follow, number, command, str(location), state, rng, tally)


async def _follow(
    number: int,
    command: list[str],
    location: str,
    state: SandboxState,
    rng: random.Random,
    tally: Tally,
) -> None:
    """Run one worker process to its end, acting on each line it sends."""
    env = {**os.environ, LEDGER_ENV: location}
    async with await anyio.open_process(
        command, stdout=subprocess.PIPE, stderr=None, env=env, cwd=ROOT
    ) as proc:
        assert proc.stdout is not None
        lines = BufferedByteReceiveStream(proc.stdout)
        while True:
            try:
                line = await lines.receive_until(b"\n", MAX_LINE)
            except (anyio.EndOfStream, anyio.IncompleteRead):
                break
            _act(json.loads(line), state, rng, tally)
    if proc.returncode != 0:
        tally.unhandled.append(f"worker process {number} exited with {proc.returncode}")


def _act(message: dict[str, Any], state: SandboxState, rng: random.Random, tally: Tally) -> None:
    if "fault" in message:
        state.faults.add(Fault(**message["fault"]))
    elif "relabel" in message:
        relabel(state, message["relabel"], rng)
    elif "tally" in message:
        _merge(tally, message["tally"])


def _merge(tally: Tally, other: dict[str, Any]) -> None:
    tally.cycles += other["cycles"]
    tally.cancelled += other["cancelled"]
    tally.statuses.update(other["statuses"])
    tally.refusals.update(other["refusals"])
    tally.cycle_s.extend(other["cycle_s"])
    tally.unhandled.extend(other["unhandled"])
    for metric_id, statuses in other["disclosed"].items():
        tally.disclosed.setdefault(int(metric_id), set()).update(statuses)
    tally.cycles_by_process[other["process"]] += other["cycles"]


class PipeChaos:
    """A worker process's chaos: sent to the process that holds the sandbox's state."""

    def __init__(self, _rng: random.Random) -> None:
        pass

    def fault(self, fault: Fault) -> None:
        fields = ("route", "kind", "times", "status", "retry_after", "delay_s")
        _send({"fault": {name: getattr(fault, name) for name in fields}})

    def relabel(self, metric_id: int) -> None:
        _send({"relabel": metric_id})


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _tally_message(tally: Tally, process: int) -> dict[str, Any]:
    fields = ("cycles", "cancelled", "statuses", "refusals", "cycle_s", "unhandled")
    body = {name: getattr(tally, name) for name in fields}
    body["disclosed"] = {str(m): sorted(s) for m, s in tally.disclosed.items()}
    body["process"] = process
    return {"tally": body}


def main(argv: list[str] | None = None) -> int:
    """A worker process: run the given workers until `--seconds` pass, then send the tally."""
    parser = argparse.ArgumentParser(description="one process of a spread soak (internal)")
    parser.add_argument("--process", type=int, required=True)
    parser.add_argument("--workers", required=True, help="worker numbers, e.g. 0,2")
    parser.add_argument("--sandbox-url", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--cycles", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args(argv)
    quiet()
    setup = WorkerSetup(os.environ[LEDGER_ENV], PipeChaos, url=args.sandbox_url)
    indices = [int(part) for part in args.workers.split(",")]
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    prefix = f"p{args.process}-"
    anyio.run(run_workers, setup, indices, deadline, args.cycles, args.seed, tally, prefix)
    _send(_tally_message(tally, args.process))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
