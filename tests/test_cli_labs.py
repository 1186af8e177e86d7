"""`cekura-optimise lab-status` and `cekura-optimise label`: the same results as the tools, errors
that name flags, and exit codes (0 ok, 1 refused, 2 bad usage)."""

import json

import pytest

from server.cli import main

FEEDBACK = "At 00:07 the agent said 'Your confirmation code is' and read it out; that should pass."
LABEL = ["label", "--metric", "109", "--call", "3360015", "--expected", "5"]


def test_lab_status_prints_one_line_per_metric_and_what_to_do_next(env, capsys):
    assert main(["lab-status", "--metrics", "109,107", "--sandbox"]) == 0
    lines = capsys.readouterr().out.splitlines()
    metrics = [line for line in lines if not line.startswith("\t")]
    assert metrics[0].startswith("109\tnot_ready\t") and "label 2 more" in metrics[0]
    assert metrics[1].startswith("107\tready\t")
    assert lines[-1] == "\tnext: cekura-optimise run --metrics 107"


def test_label_adds_the_call_and_says_where_the_lab_stands(env, capsys):
    assert main([*LABEL, "--feedback", FEEDBACK, "--sandbox", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "added" and out["lab"]["needed"] == 1


def test_vague_feedback_is_labelled_with_a_warning(env, capsys):
    assert main([*LABEL, "--feedback", "wrong", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "109\tadded\t" in out and "\twarning: The feedback is short" in out


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--metric", "0"], "--metric must be a whole number"),
        (["--call", "abc"], "--call must be a call log's whole-number id"),
        (["--feedback", "  "], "--feedback must be the person's reasons"),
    ],
)
def test_bad_flags_are_named_and_nothing_runs(env, capsys, flags, words):
    argv = [*LABEL, "--feedback", FEEDBACK, "--sandbox"]
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        argv[argv.index(flag) + 1] = value
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert words in captured.err and captured.out == ""


def test_a_label_that_is_not_a_verdict_of_the_metric_is_refused(env, capsys):
    argv = [*LABEL, "--feedback", FEEDBACK, "--sandbox"]
    argv[argv.index("--expected") + 1] = "7"
    assert main(argv) == 1
    assert "must be one of [5, 0]" in capsys.readouterr().err


def test_labelling_is_refused_in_read_only_mode(env, capsys):
    assert main([*LABEL, "--feedback", FEEDBACK, "--sandbox", "--read-only"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_next_steps_are_commands_not_tool_calls(env, capsys):
    assert main(["lab-status", "--metrics", "105,101", "--sandbox", "--json"]) == 0
    text, results, decoder = capsys.readouterr().out.strip(), [], json.JSONDecoder()
    while text:
        result, end = decoder.raw_decode(text)
        results.append(result)
        text = text[end:].strip()
    steps = [step for result in results for step in result["next_steps"]]
    assert any(s.startswith("find the metric's likely-wrong calls") for s in steps)
    assert "cekura-optimise label --metric 105 --call ID" in steps[0]
    assert steps[1] == "cekura-optimise run --metrics 101"
    assert not any("(metric_id=" in step for step in steps)
    assert main(["lab-status", "--metrics", "101", "--sandbox"]) == 0
    assert "\tnext: cekura-optimise run --metrics 101" in capsys.readouterr().out
