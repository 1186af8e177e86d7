"""Benchmark 4: start-up. Process spawn to the answer of the first `tools/list` over stdio, for our
server (`python -m server`) and a one-tool MCPServer, alternating, median of repeated runs; and
`python -X importtime` of what our server imports beyond what the one-tool server does.

The client here is raw JSON-RPC over the pipes (initialize, initialized, tools/list), so only the
server's start-up is timed.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.mcp_session import ROOT, child_env
from benchmarks.procs import cpu_seconds

OURS = "python -m server"
MINIMAL = "python -m benchmarks.minimal_server"
MODULES = {OURS: "server", MINIMAL: "benchmarks.minimal_server"}
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
OUR_PACKAGES = ("server", "tools", "prompts", "sandbox")


@dataclass
class StartupResult:
    """Median spawn → tools/list for both servers, and where our extra import time goes."""

    ours_s: list[float]
    minimal_s: list[float]
    ours_cpu_s: list[float] = field(default_factory=list)
    minimal_cpu_s: list[float] = field(default_factory=list)
    extra_import_ms: float = 0.0
    extra_by_package_ms: dict[str, float] = field(default_factory=dict)
    top_modules_ms: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ours_median_s(self) -> float:
        return statistics.median(self.ours_s)

    @property
    def minimal_median_s(self) -> float:
        return statistics.median(self.minimal_s)

    @property
    def ratio(self) -> float:
        return self.ours_median_s / self.minimal_median_s

    @property
    def paired_ratio(self) -> float:
        """Median over the alternating pairs of ours / one-tool (less sensitive to drifting load)."""
        return statistics.median(o / m for o, m in zip(self.ours_s, self.minimal_s, strict=True))

    @property
    def cpu_ratio(self) -> float | None:
        if not self.ours_cpu_s or not self.minimal_cpu_s:
            return None
        return statistics.median(self.ours_cpu_s) / statistics.median(self.minimal_cpu_s)


def _env(state_dir: str) -> dict[str, str]:
    return child_env(
        {
            "HOME": state_dir,
            "CEKURA_API_KEY": "startup-bench-key",
            "CEKURA_OPTIMISE_STATE_DIR": state_dir,
        }
    )


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def _answer(proc: subprocess.Popen[bytes], request_id: int) -> dict[str, object]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message = json.loads(line)
        if message.get("id") == request_id:
            return message


def spawn_to_tools_list(module: str, env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds from spawning `python -m module` to reading its first tools/list answer, and the
    CPU seconds the server had used by then (10 ms resolution)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    try:
        _send(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "startup-bench", "version": "0"},
                },
            },
        )
        _answer(proc, 1)
        _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        tools = _answer(proc, 2)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        if "result" not in tools:
            raise RuntimeError(f"tools/list failed: {tools}")
        return elapsed, cpu
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def import_times(module: str, env: dict[str, str]) -> dict[str, int]:
    """Self import time (µs) per module of `python -X importtime -m module` (stdin at EOF)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", module],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    times: dict[str, int] = {}
    for line in done.stderr.decode(errors="replace").splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            times[match.group(4)] = int(match.group(1))
    return times


def extra_imports(env: dict[str, str], repeats: int = 3) -> tuple[float, dict[str, float], list]:
    """Import time (ms, median over runs) of modules our server loads and the minimal one does not,
    total and by top-level package, plus the slowest such modules."""
    totals: list[float] = []
    per_module: dict[str, list[int]] = defaultdict(list)
    for _ in range(repeats):
        ours = import_times(MODULES[OURS], env)
        minimal = import_times(MODULES[MINIMAL], env)
        extra = {m: t for m, t in ours.items() if m not in minimal}
        totals.append(sum(extra.values()) / 1000)
        for name, micros in extra.items():
            per_module[name].append(micros)
    medians = {name: statistics.median(v) / 1000 for name, v in per_module.items()}
    by_package: dict[str, float] = defaultdict(float)
    for name, ms in medians.items():
        top = name.split(".")[0]
        kind = "stdlib" if top in sys.stdlib_module_names else "third party"
        by_package[top if top in OUR_PACKAGES else f"{top} ({kind})"] += ms
    top_modules = sorted(medians.items(), key=lambda kv: -kv[1])[:8]
    ordered = dict(sorted(by_package.items(), key=lambda kv: -kv[1]))
    return statistics.median(totals), ordered, top_modules


def run_startup(
    config_repeats: int, report: Callable[[StartupResult], None] | None = None
) -> StartupResult:
    """Alternate the two servers `config_repeats` times each, after one warm-up of each (which
    also fills the bytecode cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(tmp)
        for module in MODULES.values():
            spawn_to_tools_list(module, env)
        result = StartupResult([], [])
        for i in range(config_repeats):
            order = (OURS, MINIMAL) if i % 2 == 0 else (MINIMAL, OURS)
            for name in order:
                wall, cpu = spawn_to_tools_list(MODULES[name], env)
                if name == OURS:
                    result.ours_s.append(wall)
                    result.ours_cpu_s.append(cpu or 0.0)
                else:
                    result.minimal_s.append(wall)
                    result.minimal_cpu_s.append(cpu or 0.0)
        total, by_package, top = extra_imports(env)
        result.extra_import_ms, result.extra_by_package_ms, result.top_modules_ms = (
            total,
            by_package,
            top,
        )
    if report:
        report(result)
    return result
