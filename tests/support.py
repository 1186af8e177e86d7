"""Test helpers: a clock that never waits, and a Workflow wired to an in-process sandbox."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from sandbox import SandboxState, sandbox_transport
from tools.cekura.client import CekuraClient
from tools.context import Policy, Workflow
from tools.ledger import open_ledger
from tools.polling.schedule import PollPolicy


class FakeClock:
    """Time moves only when someone sleeps; sleeping returns at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await anyio.sleep(0)


@dataclass
class World:
    """One sandbox, one ledger, and a Workflow over them."""

    state: SandboxState
    wf: Workflow
    clock: FakeClock
    ledger_path: Path

    def workflow(self, **policy) -> Workflow:
        """Another Workflow (as another process would have) on the same sandbox and ledger."""
        return Workflow(
            client=self.wf.client,
            ledger=open_ledger(self.ledger_path),
            clock=self.clock,
            policy=Policy(**{**self.wf.policy.__dict__, **policy}),
            owner="other-process",
        )


@asynccontextmanager
async def sandbox_world(tmp_path: Path, state: SandboxState | None = None, **policy):
    """Yield a World on a fresh seeded sandbox (or `state`), closing the client afterwards."""
    state = state or SandboxState.seeded()
    clock = FakeClock()
    ledger_path = tmp_path / "ledger.sqlite3"
    async with CekuraClient(
        "test-key", "http://sandbox.test", transport=sandbox_transport(state), sleep=clock.sleep
    ) as client:
        wf = Workflow(
            client=client,
            ledger=open_ledger(ledger_path),
            clock=clock,
            policy=Policy(poll=PollPolicy(), **policy),
            owner="test",
        )
        yield World(state=state, wf=wf, clock=clock, ledger_path=ledger_path)
