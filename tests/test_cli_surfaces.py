"""Each surface shows untrusted text its own way: MCP results (what a model reads) keep the
untrusted-data markers; the CLI's plain lines, rich table and --json show it plain, and a JSON
diff is a unified diff that `patch` and `git apply` turn the old text into the new with. Also the
standalone sandbox's start-up words and request log, and `run`'s progress lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from e2e import API_KEY, ROOT, free_port, loopback_sandbox, wait_for_port
from mcp import Client

from server.app import build_server
from server.cli import main
from server.report import render_plain, render_rich, text_view
from server.run_progress import RunProgress
from server.runtime import Runtime
from server.settings import Settings
from tools.results import BatchResult

MARK = "<<<untrusted data:"


@pytest.fixture
async def mcp_batch(tmp_path):
    """optimise_metrics(103, 104) as an MCP client gets it: (structured content, text)."""
    runtime = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    try:
        async with Client(build_server(runtime=runtime)) as client:
            result = await client.call_tool("optimise_metrics", {"metric_ids": [103, 104]})
    finally:
        await runtime.aclose()
    return result.structured_content, result.content[0].text


@pytest.mark.anyio
async def test_mcp_results_carry_the_markers(mcp_batch):
    structured, text = mcp_batch
    paused, proposed = structured["metrics"]
    assert paused["optimise"]["questions"][0]["question"].startswith(MARK)
    assert proposed["optimise"]["diffs"][0]["diff"].startswith(MARK + "\n@@ ")
    assert f"question q_1: {MARK}" in text


@pytest.mark.anyio
async def test_the_same_result_for_people_is_plain(mcp_batch):
    structured, _ = mcp_batch
    result = BatchResult.model_validate(structured)
    assert MARK in text_view(result)  # the model's text view, unchanged
    plain = io.StringIO()
    render_plain(result, plain, diffs=True)
    from rich.console import Console

    table = Console(file=io.StringIO(), width=160, force_terminal=True)
    render_rich(result, table, diffs=True)
    for shown in (plain.getvalue(), table.file.getvalue()):
        assert MARK not in shown and ">>>" not in shown
        assert "Should 'transfer you to my supervisor' count as a pass?" in shown
        assert "+Count 'okay' as a sign that the call should PASS." in shown


def test_run_json_is_plain_and_its_diff_patches_the_old_text_into_the_new(env, tmp_path, capsys):
    with loopback_sandbox() as sandbox:
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        old = sandbox.state.metrics[101]["description"]
        assert main(["run", "--metrics", "101,103", "--json"]) == 3
        report = json.loads(capsys.readouterr().out)
        assert main(["run", "--metrics", "101", "--apply"]) == 0
        new = sandbox.state.metrics[101]["description"]
    assert MARK not in json.dumps(report)
    optimised = report["metrics"][0]["optimise"]
    assert optimised["changed_fields"] == ["description"] and old != new
    diff = optimised["diffs"][0]["diff"]
    assert diff.startswith("--- a/description\n+++ b/description\n@@ ")
    question = report["metrics"][1]["optimise"]["questions"][0]["question"]
    assert question.startswith("Review 10301 treats")

    for tool in (["patch", "-s", "description"], ["git", "apply", "-"]):
        work = tmp_path / tool[0]
        work.mkdir()
        (work / "description").write_text(old + "\n")
        done = subprocess.run(tool, input=diff + "\n", cwd=work, text=True, capture_output=True)
        assert done.returncode == 0, done.stderr
        assert (work / "description").read_text() == new + "\n"


def test_the_sandbox_says_where_it_listens_and_logs_each_request(tmp_path):
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())",
         "sandbox", "--port", str(port), "-v"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for_port(port, proc, lambda: proc.stderr.read())
        url = f"http://127.0.0.1:{port}/test_framework/v2/metrics/101/"
        assert httpx.get(url, headers={"X-CEKURA-API-KEY": "any"}).status_code == 200
        assert httpx.get(url).status_code == 401
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert f"Cekura sandbox listening on http://127.0.0.1:{port}" in out
    assert "Any non-empty API key works" in out
    assert "Seeded metrics: 101 Appointment Booked, 102 Recording Disclosure" in out
    assert f"--base-url http://127.0.0.1:{port}" in out
    logged = [line for line in err.splitlines() if "/test_framework/v2/metrics/101/" in line]
    assert len(logged) == 2
    assert " GET /test_framework/v2/metrics/101/ 200 " in logged[0] and logged[0].endswith("ms")
    assert " 401 " in logged[1] and "any" not in logged[1]


def test_progress_shows_each_metric_state_and_elapsed_time():
    from rich.console import Console

    now = [100.0]
    console = Console(file=io.StringIO(), width=100, record=True)
    progress = RunProgress(console, [101, 102, 103], clock=lambda: now[0])
    progress.update("metric 101: optimisation started (run-1)")
    now[0] += 5
    progress.update("metric 102: optimiser in_progress")
    progress.update("1/3 metrics done; metric 102: proposed")
    now[0] += 9
    progress.update("metric 101: optimiser in_progress (step 2 of 3)")
    console.print(progress)
    lines = [" ".join(line.split()) for line in console.export_text().splitlines()]
    assert lines[0] == "1/3 metrics done; metric 102: proposed (14s)"
    assert lines[1].endswith("metric 101: optimiser in_progress (step 2 of 3) 14s")
    assert lines[2] == "✓ metric 102: proposed 5s"  # finished: its time stops
    assert lines[3].endswith("metric 103: waiting 14s")
