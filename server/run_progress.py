"""`run`'s progress on a terminal: a line per metric with its latest state and how long it has
been going, redrawn a few times a second even when Cekura is slow to answer, so a long wait never
looks hung. Nothing of it is printed off a terminal or with --json."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from server.report import STYLE

_ABOUT_METRIC = re.compile(r"metric (\d+): (.+)$")


@dataclass
class _Row:
    state: str = "waiting"
    ended: float | None = None


class RunProgress:
    """A rich Live display fed by the workflow's progress messages (`metric 101: optimiser
    in_progress`); any other message (a batch summary) is shown above the metrics."""

    def __init__(self, console, ids: list[int], clock: Callable[[], float] = time.monotonic):
        from rich.live import Live

        self._clock = clock
        self._started = clock()
        self._rows = {metric_id: _Row() for metric_id in ids}
        self._batch = f"0/{len(ids)} metrics done"
        self._live = Live(self, console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> RunProgress:
        self._started = self._clock()
        for row in self._rows.values():
            row.ended = None
        self._live.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._live.stop()

    async def __call__(self, _value: float, _total: float | None, message: str | None) -> None:
        """The workflow's progress callback."""
        if message:
            self.update(message)

    def update(self, message: str) -> None:
        """Note one progress message: a metric's new state, or the batch's line."""
        about = _ABOUT_METRIC.search(message)
        row = self._rows.get(int(about[1])) if about else None
        if row is not None and about is not None:
            row.state = about[2]
            if about[2] in STYLE:
                row.ended = self._clock()
        if row is None or not message.startswith("metric "):
            self._batch = message

    def __rich__(self):
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        now = self._clock()
        elapsed = now - self._started
        grid.add_row("", Text(f"{self._batch} ({elapsed:.0f}s)", style="dim"), "")
        for metric_id, row in self._rows.items():
            took = (row.ended or now) - self._started
            mark = Text("✓", style="green") if row.ended else Spinner("dots")
            state = Text(f"metric {metric_id}: {row.state}", style=STYLE.get(row.state, ""))
            grid.add_row(mark, state, Text(f"{took:.0f}s", style="dim"))
        return grid
