"""Every error `run`, `label`, `schedules` and `answer` print: one line under the command's name,
naming the flag or environment variable to change, never a tool call or a tool argument."""

from __future__ import annotations

import json
import re

import pytest
from e2e import API_KEY, loopback_sandbox

from server.cli import main

FEEDBACK = "At 00:07 the agent said 'Your confirmation code is' and read it out; that should pass."
LABEL = ["label", "--call", "3360015", "--feedback", FEEDBACK]
ADD = ["schedules", "add", "--metrics", "101", "--cron", "0 9 * * 1"]
TOOL_WORDS = re.compile(
    r"\b(optimise_metrics?|answer_optimiser_questions|label_call|review_results|lab_status|"
    r"apply_if_not_regressed|schedule_optimiser|update_optimiser_schedule|"
    r"delete_optimiser_schedule|list_optimiser_schedules|metric_ids?|on_questions|max_wait_s|"
    r"call_id|expected_value)\b|\b[a-z_]+=(True|False|\d|\[|')|server's environment|Call again|"
    r"needs_answers result|<<<untrusted"
)

# (what goes wrong, argv, environment, exit code, words the message must carry)
CASES = [
    ("bad ids", ["run", "--metrics", "abc", "--sandbox"], {}, 2, "--metrics must be"),
    ("bad --on-questions", ["run", "--metrics", "101", "--on-questions", "ask", "--sandbox"], {}, 2,
     "--on-questions must be 'stop' or 'skip'"),
    ("bad --max-wait", ["run", "--metrics", "101", "--max-wait", "0", "--sandbox"], {}, 2,
     "--max-wait must be"),
    ("apply while read-only", ["run", "--metrics", "101", "--apply", "--read-only", "--sandbox"],
     {}, 2, "--apply is refused in read-only mode (--read-only or CEKURA_OPTIMISE_READ_ONLY)"),
    ("no key", ["run", "--metrics", "101"], {}, 2, "export it as CEKURA_API_KEY, or pass --sandbox"),
    ("ftp base URL", ["run", "--metrics", "101", "--base-url", "ftp://x"], {}, 2,
     "CEKURA_BASE_URL (or --base-url) must start with http:// or https://"),
    ("plain http to a remote host", ["run", "--metrics", "101"],
     {"CEKURA_BASE_URL": "http://api.example.com"}, 2, "CEKURA_OPTIMISE_ALLOW_HTTP=1"),
    ("bad number setting", ["run", "--metrics", "101", "--sandbox"],
     {"CEKURA_OPTIMISE_MIN_FEEDBACK": "six"}, 2, "CEKURA_OPTIMISE_MIN_FEEDBACK must be"),
    ("missing answers file", ["run", "--metrics", "103", "--sandbox", "--answers", "/nonexistent"],
     {}, 2, "--answers: cannot read '/nonexistent'"),
    ("answers file of the wrong shape", ["run", "--metrics", "103", "--sandbox", "--answers", "{}"],
     {}, 2, "--answers"),
    ("label while read-only", [*LABEL, "--metric", "109", "--expected", "5", "--read-only",
     "--sandbox"], {}, 1, "refused in read-only mode (--read-only or CEKURA_OPTIMISE_READ_ONLY)"),
    ("label a bad metric id", [*LABEL, "--metric", "0", "--expected", "5", "--sandbox"], {}, 2,
     "--metric must be"),
    ("label a value the metric lacks", [*LABEL, "--metric", "109", "--expected", "maybe",
     "--sandbox"], {}, 1, "--expected must be one of"),
    ("label an unknown call", ["label", "--call", "999999", "--feedback", FEEDBACK, "--metric",
     "109", "--expected", "5", "--sandbox"], {}, 1, "Use the call log's id (not the provider's"),
    ("schedule while read-only", [*ADD, "--read-only", "--sandbox"], {}, 1,
     "refused in read-only mode (--read-only or CEKURA_OPTIMISE_READ_ONLY)"),
    ("schedule a bad cron", ["schedules", "add", "--metrics", "101", "--cron", "61 * * * *",
     "--sandbox"], {}, 2, "--cron must be"),
    ("schedule too often", ["schedules", "add", "--metrics", "101", "--cron", "*/5 * * * *",
     "--sandbox"], {}, 2, "--allow-frequent"),
    ("remove a bad schedule id", ["schedules", "rm", "x", "--sandbox"], {}, 2, "schedule id must"),
    ("answer a bad metric id", ["answer", "--metric", "x", "--question", "q_1", "--text", "yes",
     "--sandbox"], {}, 2, "--metric must be"),
    ("answer a blank question id", ["answer", "--metric", "103", "--question", "", "--text", "y",
     "--sandbox"], {}, 2, "--question must be a question id"),
    ("answer with nothing paused", ["answer", "--metric", "103", "--question", "q_1", "--text",
     "yes", "--sandbox"], {}, 1, "Run cekura-optimise run --metrics 103 first"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "environ", "code", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_cli_errors_name_flags_and_variables(env, tmp_path, capsys, argv, environ, code, words):
    for name, value in environ.items():
        env.setenv(name, value)
    if "{}" in argv:
        shape = tmp_path / "answers.json"
        shape.write_text(json.dumps({"103": ["yes"]}))
        argv = [str(shape) if a == "{}" else a for a in argv]
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    command = " ".join(a for a in argv[:2] if not a.startswith("-") and a in _COMMANDS)
    assert err.startswith(f"cekura-optimise {command}: "), err
    assert len(err.splitlines()) == 1, err
    assert words in err, err
    assert not TOOL_WORDS.search(err), err


_COMMANDS = {"run", "label", "answer", "schedules", "add", "rm"}


def test_an_answer_cekura_refuses_names_the_flag(env, capsys):
    with loopback_sandbox() as sandbox:
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        assert main(["run", "--metrics", "103"]) == 3
        capsys.readouterr()
        assert main(["answer", "--metric", "103", "--question", "q_9", "--text", "yes"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cekura-optimise answer: ")
    assert "Check --question against the ids `cekura-optimise run` shows" in err
    assert not TOOL_WORDS.search(err), err
