"""Fault injection: HTTP faults consumed in order by matching requests, and per-metric run outcomes.

A spec string (for `python -m sandbox --faults`) is a comma-separated list of items:

    KIND[=VALUE][xCOUNT]@ROUTE[:METHOD][#METRIC_ID]

KIND is `429` (VALUE = Retry-After seconds), `5xx` or a status `500`–`599`, `latency` (VALUE = delay
seconds), `drop` (request read, not processed, connection broken), `drop_after` (processed, then the
connection breaks), `html` (VALUE = status, default 200: an HTML page instead of JSON) or
`truncated` (processed; a 200 whose JSON body is cut short). COUNT is a number or `*` (every
matching request); it defaults to 1, except for latency (`*`). ROUTE is a route name or `*`. Run
outcomes use the same shape with the job as ROUTE and a required metric:
`stuck@process_feedbacks#101` (never finishes), `fail@run_reviews#104` (ends in error),
`slow=2.5@process_feedbacks#101` (takes VALUE seconds). Optimiser output laid over with other
fields (`FaultPlan.tampered_run`) is set from code only.
Example: `429x2@process_feedbacks_progress,503@metric_get,latency=0.2@*,drop_after@run_reviews`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sandbox.contract import ROUTE_NAMES

FaultKind = Literal["429", "5xx", "latency", "drop", "drop_after", "html", "truncated"]
RunJob = Literal["process_feedbacks", "run_reviews"]
RunKind = Literal["stuck", "fail", "slow", "tamper"]

FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
RUN_JOBS: tuple[str, ...] = get_args(RunJob)
DEFAULT_RUN_ERROR = "The optimisation worker crashed (injected fault)."


class FaultSpecError(ValueError):
    """A fault spec or Fault that cannot be understood; the message says which part and why."""


@dataclass
class Fault:
    """One HTTP fault; it fires on the next `times` requests that match (None: every one)."""

    route: str = "*"
    kind: FaultKind = "5xx"
    times: int | None = 1
    status: int | None = None
    retry_after: float = 1.0
    delay_s: float = 0.05
    method: str | None = None
    metric_id: int | None = None
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.route != "*" and self.route not in ROUTE_NAMES:
            raise FaultSpecError(
                f"unknown route {self.route!r}; expected '*' or one of {ROUTE_NAMES}"
            )
        if self.times is not None and self.times < 1:
            raise FaultSpecError("times must be at least 1 (or None for every request)")
        if self.status is None:
            self.status = {"5xx": 503, "html": 200, "429": 429}.get(self.kind)
        if self.kind == "5xx" and not 500 <= (self.status or 0) <= 599:
            raise FaultSpecError(f"a 5xx fault needs a status from 500 to 599, not {self.status}")
        self.method = self.method.upper() if self.method else None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, route: str | None, method: str, metric_id: int | None) -> bool:
        return (
            not self.exhausted
            and (self.route == "*" or self.route == route)
            and (self.method is None or self.method == method.upper())
            and (self.metric_id is None or self.metric_id == metric_id)
        )


@dataclass
class RunFault:
    """How the next `times` runs of one job kind on one metric behave (None: every run)."""

    metric_id: int
    job: RunJob = "process_feedbacks"
    kind: RunKind = "stuck"
    error: str = DEFAULT_RUN_ERROR
    polls: int | None = None
    seconds: float | None = None
    times: int | None = None
    output: dict[str, Any] = field(default_factory=dict)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.job not in RUN_JOBS:
            raise FaultSpecError(f"unknown job {self.job!r}; expected one of {RUN_JOBS}")


@dataclass
class FaultPlan:
    """The faults a state injects; tests add to it, the CLI fills it from a spec string."""

    faults: list[Fault] = field(default_factory=list)
    runs: list[RunFault] = field(default_factory=list)

    def add(self, fault: Fault | RunFault) -> Fault | RunFault:
        if isinstance(fault, Fault):
            self.faults.append(fault)
        else:
            self.runs.append(fault)
        return fault

    def add_spec(self, spec: str) -> None:
        for item in parse_fault_spec(spec):
            self.add(item)

    def take(self, route: str | None, method: str, metric_id: int | None) -> Fault | None:
        """The first fault matching this request, counted as fired; None when none applies."""
        for fault in self.faults:
            if fault.matches(route, method, metric_id):
                fault.fired += 1
                return fault
        return None

    def stuck_run(
        self, metric_id: int, *, job: RunJob = "process_feedbacks", times: int | None = None
    ) -> RunFault:
        """Runs of `job` on this metric stay in progress for ever."""
        return self._run(RunFault(metric_id, job, "stuck", times=times))

    def failing_run(
        self,
        metric_id: int,
        error: str = DEFAULT_RUN_ERROR,
        *,
        job: RunJob = "process_feedbacks",
        times: int | None = None,
    ) -> RunFault:
        """Runs of `job` on this metric end in error with this message when they would finish."""
        return self._run(RunFault(metric_id, job, "fail", error=error, times=times))

    def slow_run(
        self,
        metric_id: int,
        *,
        polls: int | None = None,
        seconds: float | None = None,
        job: RunJob = "process_feedbacks",
        times: int | None = None,
    ) -> RunFault:
        """Runs of `job` on this metric take this many progress reads, or seconds of the clock."""
        if polls is None and seconds is None:
            raise FaultSpecError("slow_run needs polls or seconds")
        return self._run(
            RunFault(metric_id, job, "slow", polls=polls, seconds=seconds, times=times)
        )

    def tampered_run(
        self, metric_id: int, output: dict[str, Any], *, times: int | None = None
    ) -> RunFault:
        """Optimiser runs on this metric succeed with these fields laid over their output (a
        label changed without approval, code that does not parse, scores on other samples)."""
        return self._run(
            RunFault(metric_id, "process_feedbacks", "tamper", output=output, times=times)
        )

    def run_fault(self, metric_id: int, job: RunJob) -> RunFault | None:
        """The run fault that applies to a run starting now, counted as fired."""
        for rule in self.runs:
            if rule.metric_id == metric_id and rule.job == job:
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                rule.fired += 1
                return rule
        return None

    def clear(self) -> None:
        self.faults.clear()
        self.runs.clear()

    def _run(self, rule: RunFault) -> RunFault:
        self.runs.append(rule)
        return rule


_ITEM = re.compile(
    r"(?P<kind>[a-z_0-9]+?)(?:=(?P<value>[^x@]+))?(?:x(?P<count>\d+|\*))?"
    r"@(?P<route>[a-z_]+|\*)(?::(?P<method>[A-Za-z]+))?(?:#(?P<metric>\d+))?"
)


def parse_fault_spec(spec: str) -> list[Fault | RunFault]:
    """Parse a spec (grammar in the module docstring); FaultSpecError names the bad item."""
    items: list[Fault | RunFault] = []
    for position, raw in enumerate((part.strip() for part in spec.split(",")), start=1):
        if not raw:
            continue
        try:
            items.append(_parse_item(raw))
        except FaultSpecError as exc:
            raise FaultSpecError(f"fault {position} ({raw!r}): {exc}") from None
    return items


def _parse_item(raw: str) -> Fault | RunFault:
    match = _ITEM.fullmatch(raw)
    if match is None:
        raise FaultSpecError("expected KIND[=VALUE][xCOUNT]@ROUTE[:METHOD][#METRIC_ID]")
    kind, value, count = match["kind"], match["value"], match["count"]
    metric_id = int(match["metric"]) if match["metric"] else None
    times = None if count == "*" else int(count) if count else None
    if kind in ("stuck", "fail", "slow"):
        return _run_item(kind, value, times, match["route"], metric_id)
    status: int | None = None
    if re.fullmatch(r"5\d\d", kind):
        kind, status = "5xx", int(kind)
    if kind not in FAULT_KINDS:
        raise FaultSpecError(
            f"unknown kind {kind!r}; expected 429, 5xx, 500-599, {FAULT_KINDS[2:]}"
        )
    number = _number(value, kind) if value is not None else None
    if value is not None and kind not in ("429", "latency", "html"):
        raise FaultSpecError(f"{kind} takes no =VALUE")
    if kind == "html" and number is not None:
        status = int(number)
    fault = Fault(
        route=match["route"],
        kind=kind,  # type: ignore[arg-type]
        times=times if count else (None if kind == "latency" else 1),
        status=status,
        method=match["method"],
        metric_id=metric_id,
    )
    if kind == "429" and number is not None:
        fault.retry_after = number
    if kind == "latency" and number is not None:
        fault.delay_s = number
    return fault


def _run_item(
    kind: str, value: str | None, times: int | None, job: str, metric_id: int | None
) -> RunFault:
    if metric_id is None:
        raise FaultSpecError(f"{kind} needs a metric: {kind}@{job}#METRIC_ID")
    if job not in RUN_JOBS:
        raise FaultSpecError(f"{kind} applies to a job: one of {RUN_JOBS}, not {job!r}")
    if kind == "slow":
        if value is None:
            raise FaultSpecError("slow needs =SECONDS")
        return RunFault(metric_id, job, "slow", seconds=_number(value, kind), times=times)  # type: ignore[arg-type]
    if value is not None:
        raise FaultSpecError(f"{kind} takes no =VALUE")
    return RunFault(metric_id, job, kind, times=times)  # type: ignore[arg-type]


def _number(value: str, kind: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FaultSpecError(f"{kind}={value!r}: the value must be a number") from None
    if number < 0:
        raise FaultSpecError(f"{kind}={value!r}: the value must not be negative")
    return number
