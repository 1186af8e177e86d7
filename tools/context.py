"""What every workflow runs on: the Cekura client, the ledger, a clock and the operating policy."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from tools.cekura.client import CekuraClient
from tools.cekura.tally import tally_retries
from tools.clock import Clock, SystemClock
from tools.ledger.interface import Ledger
from tools.polling.schedule import PollPolicy


@dataclass(frozen=True)
class Policy:
    """Operating rules: read-only mode, evaluation budget, the feedback an optimiser run needs
    (`min_feedback` labelled Lab rows), polling, concurrency and windows.

    `concurrency` bounds the metrics a batch follows at once; most of a metric's time is waiting
    on Cekura, so the bound that matters is the client's requests in flight. An apply whose
    holder has not renewed it for `write_lease_s` (or whose process is gone) may be taken over."""

    read_only: bool = False
    eval_budget: int = 100
    min_feedback: int = 6
    poll: PollPolicy = field(default_factory=PollPolicy)
    run_reviews_poll: PollPolicy = field(
        default_factory=lambda: PollPolicy(initial_s=3.0, factor=1.5, max_s=15.0)
    )
    verify_timeout_s: float = 900.0
    concurrency: int = 100
    unknown_start_window_s: float = 1800.0
    starting_grace_s: float = 120.0
    write_lease_s: float = 600.0


def default_owner() -> str:
    """Who holds a ledger slot: host and process id, for people reading the ledger."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Workflow:
    """The dependencies a workflow function takes, bundled so MCP, the CLI and tests share them."""

    client: CekuraClient
    ledger: Ledger
    clock: Clock = field(default_factory=SystemClock)
    policy: Policy = field(default_factory=Policy)
    owner: str = field(default_factory=default_owner)


R = TypeVar("R", bound=BaseModel)


def reports_retries(fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Make a workflow's result say how many requests to Cekura it had to retry."""

    @functools.wraps(fn)
    async def wrapper(*args: object, **kwargs: object) -> R:
        with tally_retries() as tally:
            result = await fn(*args, **kwargs)
        if tally.count and hasattr(result, "retries"):
            result.retries = tally.count
        return result

    return wrapper
