"""Crashes and races between real processes sharing one ledger, against the sandbox on loopback."""

import json
import os
import signal
import subprocess
import sys
import time

from e2e import API_KEY, ROOT, server_env

from sandbox import SandboxState, start_background

RUN = "import sys; from server.cli import main; sys.exit(main(sys.argv[1:]))"


def _run_cli(env, *args):
    return subprocess.Popen(
        [sys.executable, "-c", RUN, "run", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_killed_while_polling_a_new_process_resumes_the_same_run(tmp_path):
    state = SandboxState.seeded(optimiser_seconds=3.0, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as sandbox:
        env = server_env(sandbox.url, tmp_path)
        first = _run_cli(env, "--metrics", "101", "--json")
        _wait_for(lambda: state.count("process_feedbacks_progress") >= 1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        second = _run_cli(env, "--metrics", "101", "--json")
        out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    result = json.loads(out)["metrics"][0]
    assert result["status"] == "proposed"
    started = [r for r in state.requests if r.route == "process_feedbacks"]
    assert len(started) == 1
    polled = {
        r.query.get("progress_id")
        for r in state.requests
        if r.route == "process_feedbacks_progress"
    }
    assert polled == {result["optimise"]["progress_id"]}


def test_two_processes_racing_start_one_run_and_write_once(tmp_path):
    state = SandboxState.seeded(optimiser_seconds=2.0, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as sandbox:
        env = server_env(sandbox.url, tmp_path)
        procs = [_run_cli(env, "--metrics", "101", "--apply", "--json") for _ in range(2)]
        outputs = [p.communicate(timeout=90) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out)["metrics"][0] for out, _ in outputs]
    assert sorted(r["status"] for r in results) == ["already_applied", "applied"]
    assert len({r["optimise"]["proposal_id"] for r in results}) == 1
    assert state.count("process_feedbacks") == 1
    assert state.count("metric_patch", effective=True) == 1


def test_killed_after_its_write_the_next_process_settles_the_apply(tmp_path):
    state = SandboxState.seeded(optimiser_seconds=0.2, run_reviews_polls=0, api_keys=[API_KEY])
    state.faults.stuck_run(101, job="run_reviews")
    with start_background(state) as sandbox:
        env = server_env(sandbox.url, tmp_path)
        first = _run_cli(env, "--metrics", "101", "--apply", "--json")
        _wait_for(lambda: state.count("run_reviews_progress") >= 1, timeout=60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        second = _run_cli(env, "--metrics", "101", "--apply", "--json")
        out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    result = json.loads(out)["metrics"][0]
    assert result["status"] == "applied_unverified"
    assert "stopped after writing" in result["summary"]
    assert state.count("metric_patch", metric_id=101) == 1
