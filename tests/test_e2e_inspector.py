"""The stdio server driven by a third-party client: the MCP Inspector CLI."""

import json
import subprocess
import sys

import pytest
from e2e import ROOT, loopback_sandbox, server_env

INSPECTOR = ROOT / "tests" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"


def _inspect(sandbox, tmp_path, *args):
    if not INSPECTOR.exists():
        pytest.fail("MCP Inspector missing: run `npm ci --prefix tests/inspector` (see README).")
    env = server_env(sandbox.url, tmp_path)
    cmd = [str(INSPECTOR), "--cli"]
    for key in ("CEKURA_API_KEY", "CEKURA_BASE_URL", "CEKURA_OPTIMISE_STATE_DIR"):
        cmd += ["-e", f"{key}={env[key]}"]
    cmd += [sys.executable, "-m", "server", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_inspector_lists_tools_and_calls_one(tmp_path):
    with loopback_sandbox() as sandbox:
        listed = _inspect(sandbox, tmp_path, "--method", "tools/list")
        called = _inspect(
            sandbox,
            tmp_path,
            "--method",
            "tools/call",
            "--tool-name",
            "optimise_metric",
            "--tool-arg",
            "metric_id=104",
        )
    assert {t["name"] for t in listed["tools"]} >= {"optimise_metric", "apply_if_not_regressed"}
    assert called["structuredContent"]["status"] == "proposed"
    assert called["structuredContent"]["flips"]["broken"]
