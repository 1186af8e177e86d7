"""`cekura-optimise schedules list|add|update|rm` on one loopback sandbox: the same checks and
statuses as the tools, errors that name flags, and exit codes (0 ok, 1 refused, 2 bad usage)."""

import json

import pytest
from e2e import API_KEY

from server.cli import main

WRITES = ("cron_create", "cron_update", "cron_delete")


@pytest.fixture
def sandbox(loopback, monkeypatch, tmp_path):
    monkeypatch.setenv("CEKURA_API_KEY", API_KEY)
    monkeypatch.setenv("CEKURA_BASE_URL", loopback.url)
    monkeypatch.setenv("CEKURA_OPTIMISE_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CEKURA_OPTIMISE_READ_ONLY", raising=False)
    return loopback.state


def _writes(state) -> int:
    return sum(state.count(route) for route in WRITES)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_add_list_update_and_rm_a_schedule(sandbox, capsys):
    add = ["schedules", "add", "--metrics", "101,102", "--cron", "0 9 * * 1"]
    assert main([*add, "--timezone", "America/Los_Angeles", "--json"]) == 0
    made = _json(capsys)
    assert made["status"] == "created" and made["schedule"]["timezone"] == "America/Los_Angeles"
    schedule_id = str(made["schedule_id"])
    assert main([*add, "--timezone", "America/Los_Angeles"]) == 0
    assert capsys.readouterr().out.startswith("already_exists\t")

    assert main(["schedules", "list", "--project", "1"]) == 0
    out = capsys.readouterr().out
    assert f"\t{schedule_id}\t0 9 * * 1 America/Los_Angeles\tmetrics 101,102\tnext " in out

    assert main(["schedules", "update", schedule_id, "--no-active", "--json"]) == 0
    assert _json(capsys)["schedule"]["is_active"] is False
    assert main(["schedules", "update", schedule_id, "--no-active"]) == 0
    assert capsys.readouterr().out.startswith("unchanged\t")
    assert main(["schedules", "update", schedule_id, "--auto-apply"]) == 0
    assert "\twarning: auto_apply=True lets Cekura overwrite" in capsys.readouterr().out

    assert main(["schedules", "rm", schedule_id]) == 0
    assert capsys.readouterr().out.startswith("deleted\t")
    assert main(["schedules", "rm", schedule_id]) == 0
    assert capsys.readouterr().out.startswith("not_found\t")
    assert sandbox.count("cron_create") == 1 and sandbox.count("cron_delete") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["add", "--metrics", "101", "--cron", "* * *"], "--cron must be a 5-field cron"),
        (
            ["add", "--metrics", "101", "--cron", "61 * * * *"],
            "--cron must be a 5-field cron expression: minute 61 is out of range 0–59",
        ),
        (["add", "--metrics", "101", "--cron", "@reboot"], "@reboot is not allowed"),
        (
            ["add", "--metrics", "101", "--cron", "0 9 * * 1", "--timezone", "Mars/X"],
            "--timezone must be an IANA time zone name",
        ),
        (["add", "--metrics", "101", "--cron", "*/10 * * * *"], "pass --allow-frequent"),
        (["add", "--metrics", "0", "--cron", "0 9 * * 1"], "--metrics must be a list of 1 to 100"),
        (
            ["add", "--metrics", "101", "--cron", "0 9 * * 1", "--notify-on", "always"],
            "--notify-on must be 'never', 'success', 'failure' or 'both'",
        ),
        (["update", "abc", "--name", "x"], "schedule id must be a schedule's whole-number id"),
        (["rm", "0"], "schedule id must be a schedule's whole-number id"),
        (["list", "--project", "x"], "--project must be a project's whole-number id"),
    ],
)
def test_bad_flags_are_named_and_nothing_is_sent(sandbox, capsys, argv, words):
    before = len(sandbox.requests)
    assert main(["schedules", *argv]) == 2
    captured = capsys.readouterr()
    assert words in captured.err and captured.out == ""
    assert len(sandbox.requests) == before


def test_metrics_of_two_projects_fail_with_exit_1_and_write_nothing(sandbox, capsys):
    before = _writes(sandbox)
    sandbox.metrics[903] = {**sandbox.metrics[102], "id": 903, "project": 2}
    try:
        argv = ["schedules", "add", "--metrics", "101,903", "--cron", "0 9 * * 1"]
        assert main(argv) == 1
    finally:
        del sandbox.metrics[903]
    assert "metric 903 in project 2" in capsys.readouterr().err
    assert _writes(sandbox) == before


def test_read_only_mode_refuses_an_add_with_exit_1(sandbox, capsys):
    before = _writes(sandbox)
    assert main(["schedules", "add", "--metrics", "101", "--cron", "0 8 * * 2", "--read-only"]) == 1
    assert "read-only mode" in capsys.readouterr().err and _writes(sandbox) == before
