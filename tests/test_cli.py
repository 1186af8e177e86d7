"""The command line: `run` reports and exit codes, `demo`, and `sandbox` serving on loopback."""

import json
import subprocess
import sys
import time

import httpx
import pytest
from e2e import API_KEY, ROOT, free_port, loopback_sandbox, wait_for_port

from server.cli import main


def test_run_json_reports_each_metric_and_exits_0(env, capsys):
    code = main(["run", "--metrics", "101,104", "--sandbox", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [m["status"] for m in out["metrics"]] == ["proposed", "proposed"]


def test_run_plain_lines_and_guarded_apply(env, capsys):
    code = main(["run", "--metrics", "101 104 106", "--sandbox", "--apply"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].startswith("101\tapplied\t")
    assert any(line.startswith("104\tnot_applied_regressed\t") for line in lines)
    assert any(line.startswith("106\treverted\t") for line in lines)
    assert "3 metric(s), optimise and apply" in lines[-1]


def test_run_exits_1_when_a_metric_fails(env, capsys):
    with loopback_sandbox() as sandbox:
        sandbox.state.faults.failing_run(101, error="optimiser crashed")
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        code = main(["run", "--metrics", "101,105"])
    out = capsys.readouterr().out
    assert code == 1
    assert "101\tfailed" in out and "105\tnot_ready" in out


@pytest.mark.parametrize(
    "metrics", ["abc", "0", "", "1.5", "-3", ",".join(map(str, range(1, 102)))]
)
def test_bad_metric_ids_exit_2_and_touch_nothing(env, capsys, metrics):
    assert main(["run", "--metrics", metrics, "--sandbox"]) == 2
    assert "--metrics" in capsys.readouterr().err


def test_missing_key_exits_2_with_what_to_do(env, capsys):
    assert main(["run", "--metrics", "101"]) == 2
    assert "CEKURA_API_KEY is not set" in capsys.readouterr().err


def test_an_unusable_ledger_exits_1_with_what_to_do(env, tmp_path, capsys):
    (tmp_path / "ledger.sqlite3").mkdir()
    assert main(["run", "--metrics", "101", "--sandbox"]) == 1
    assert "local ledger failed" in capsys.readouterr().err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2


def test_demo_runs_to_completion_quickly(tmp_path):
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main(['demo']))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 60
    for expected in (
        "101\tapplied",
        "104\tnot_applied_regressed",
        "106\treverted",
        "103\tneeds_answers",
        "111\tnot_applied_regressed",
        "Cekura's own guard (score 0.8333 ≥ baseline 0.6667, nothing more) would have applied it",
    ):
        assert expected in proc.stdout
    assert "<<<untrusted" not in proc.stdout and "--- a/description" in proc.stdout


def test_sandbox_command_serves_the_api_on_loopback(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from server.cli import main; sys.exit(main(sys.argv[1:]))",
            "sandbox",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc, lambda: proc.stderr.read().decode())
        url = f"http://127.0.0.1:{port}/test_framework/v2/metrics/101/"
        ok = httpx.get(url, headers={"X-CEKURA-API-KEY": "any-key"})
        denied = httpx.get(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert ok.status_code == 200 and ok.json()["id"] == 101
    assert denied.status_code == 401
