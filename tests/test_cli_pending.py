"""`cekura-optimise run --apply` covers pending proposals from Cekura's schedules; `--no-pending`
turns that off (mirroring include_pending)."""

import json

from server.cli import main


def test_run_apply_puts_the_pending_proposal_through_the_guard(env, capsys):
    code = main(["run", "--metrics", "101,111", "--sandbox", "--apply", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    applied, pending = out["metrics"]
    assert applied["status"] == "applied"
    assert pending["status"] == "not_applied_regressed"
    assert pending["apply"]["proposal_id"].startswith("pending_")
    assert pending["apply"]["evidence"]["flips"] == {"fixed": [11102, 11103], "broken": [11101]}
    assert "left a pending proposal" in pending["optimise"]["summary"]


def test_run_apply_no_pending_optimises_instead(env, capsys):
    code = main(["run", "--metrics", "111", "--sandbox", "--apply", "--no-pending", "--json"])
    (outcome,) = json.loads(capsys.readouterr().out)["metrics"]
    assert code == 0
    assert outcome["status"] == "applied"
    assert outcome["apply"]["proposal_id"].startswith("prop_")
    assert outcome["apply"]["verified"]["correct"] == 6


def test_the_lines_say_which_rows_each_score_is_on(env, capsys):
    assert main(["run", "--metrics", "101,111", "--sandbox", "--apply"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ours = lines[lines.index(next(line for line in lines if line.startswith("101\t"))) + 1]
    pending = lines[lines.index(next(line for line in lines if line.startswith("111\t"))) + 1]
    assert ours.startswith("\toptimiser's sample 2/4 → 4/4")
    assert pending.startswith("\twhole Lab, scored without saving, 4/6 → 5/6; 2 fixed, 1 broken")
