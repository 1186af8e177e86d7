"""Finishing a paused run from a shell: `run` asks the optimiser's question on a terminal (driven
through a pseudo-terminal), takes answers from `--answers`, or reports `needs_answers` with the
commands that answer it and exit code 3; `cekura-optimise answer` answers one question later."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time

import pytest
from e2e import API_KEY, ROOT, loopback_sandbox

from server.cli import main

WAITING = 3
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The CLI in a subprocess whose stdin, stdout and stderr are a pseudo-terminal."""

    def __init__(self, *args: str, home: str) -> None:
        self._master, slave = os.openpty()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "COLUMNS": "120"}
        env["CEKURA_OPTIMISE_STATE_DIR"] = home
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from server.cli import main; sys.exit(main())",
                *args,
            ],
            cwd=ROOT,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.seen = ""

    def _read(self, deadline: float) -> bool:
        """Read what is there within the deadline; False once the terminal is closed."""
        ready, _, _ = select.select([self._master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: the child closed its end
            return False
        self.seen += ANSI.sub("", chunk.decode("utf-8", "replace"))
        return bool(chunk)

    def expect(self, text: str, timeout: float = 60) -> None:
        """Wait until `text` has been printed (or fail with everything printed so far)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"never printed {text!r}; got:\n{self.seen}")

    def type(self, line: str) -> None:
        os.write(self._master, line.encode() + b"\n")

    def finish(self, timeout: float = 60) -> int:
        """Read to the end and return the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline) and time.monotonic() < deadline:
            pass
        code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self._master)
        return code


def test_on_a_terminal_run_asks_the_question_and_finishes_proposed(tmp_path):
    term = Terminal("run", "--metrics", "103", "--sandbox", home=str(tmp_path))
    term.expect("the optimiser asks (q_1)")
    term.expect("1) Yes, 'transfer you to my supervisor' counts as a pass")
    term.expect("answer> ")
    term.type("1")
    code = term.finish()
    assert code == 0, term.seen
    assert "→ \"Yes, 'transfer you to my supervisor' counts as a pass\"" in term.seen
    assert "metric 103: " in term.seen  # the progress display, before the table
    table = term.seen.rpartition("answer> ")[2]
    assert "proposed" in table and "needs_answers" not in table
    assert "<<<untrusted" not in term.seen
    assert "next: cekura-optimise run --metrics 103 --apply" in term.seen


def test_end_of_input_leaves_the_question_open_and_exits_3(tmp_path):
    term = Terminal("run", "--metrics", "103", "--sandbox", home=str(tmp_path))
    term.expect("answer> ")
    os.write(term._master, b"\x04")  # Ctrl-D
    code = term.finish()
    assert code == WAITING, term.seen
    assert "needs_answers" in term.seen
    assert 'cekura-optimise answer --metric 103 --question q_1 --text "…"' in term.seen


def test_answers_from_a_file_finish_the_run(env, tmp_path, capsys):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"103": {"q_1": "yes"}}))
    code = main(["run", "--metrics", "103,104", "--sandbox", "--answers", str(answers), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [m["status"] for m in out["metrics"]] == ["proposed", "proposed"]
    assert out["counts"] == {"proposed": 2}
    assert out["summary"] == "2 metric(s), optimise (read-only): 2 proposed."
    assert out["next_steps"] == ["cekura-optimise run --metrics 103,104 --apply"]


def test_answers_from_stdin_with_apply(env, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"103": {"q_1": "yes"}}'))
    code = main(["run", "--metrics", "103", "--sandbox", "--answers", "-", "--apply"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("103\tapplied\t")


def test_answers_for_other_questions_leave_the_run_waiting(env, tmp_path, capsys):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"103": {"q_9": "yes"}, "104": {"q_1": None}}))
    code = main(["run", "--metrics", "103", "--sandbox", "--answers", str(answers)])
    assert code == WAITING
    assert capsys.readouterr().out.startswith("103\tneeds_answers\t")


@pytest.mark.parametrize("apply", [[], ["--apply"]])
@pytest.mark.parametrize("form", [[], ["--json"]])
def test_without_a_terminal_or_answers_the_run_waits_with_exit_3(env, capsys, apply, form):
    code = main(["run", "--metrics", "103,101", "--sandbox", *apply, *form])
    out = capsys.readouterr().out
    if form:
        out = "\n".join(json.loads(out)["next_steps"])
    assert code == WAITING
    assert 'cekura-optimise answer --metric 103 --question q_1 --text "…"' in out
    assert "answer_optimiser_questions" not in out and "optimise_metrics(" not in out


def test_a_failure_outranks_waiting(env, capsys):
    with loopback_sandbox() as sandbox:
        sandbox.state.faults.failing_run(101, error="optimiser crashed")
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        assert main(["run", "--metrics", "101,103"]) == 1
    out = capsys.readouterr().out
    assert "101\tfailed" in out and "103\tneeds_answers" in out


def test_answer_command_answers_later_and_the_next_run_finishes(env, capsys):
    with loopback_sandbox() as sandbox:
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        assert main(["run", "--metrics", "103", "--json"]) == WAITING
        steps = json.loads(capsys.readouterr().out)["next_steps"]
        assert (
            steps[0] == 'cekura-optimise answer --metric 103 --question q_1 --text "…" (or --skip)'
        )

        assert main(["answer", "--metric", "103", "--question", "q_1", "--text", "yes"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("103\tresumed\tMetric 103: 1 answered, 0 skipped")
        assert "next: cekura-optimise run --metrics 103" in out

        assert main(["run", "--metrics", "103"]) == 0
        assert capsys.readouterr().out.startswith("103\tproposed\t")
        answered = [r for r in sandbox.state.requests if r.route and "answer" in r.route]
        assert len(answered) == 1


def test_answer_skip_is_recorded_as_skipped(env, capsys):
    with loopback_sandbox() as sandbox:
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        assert main(["run", "--metrics", "103"]) == WAITING
        capsys.readouterr()
        args = ["answer", "--metric", "103", "--question", "q_1", "--skip", "--json"]
        assert main(args) == 0
        out = json.loads(capsys.readouterr().out)
    assert out["status"] == "resumed" and out["skipped"] == ["q_1"] and out["answered"] == []
    assert out["next_steps"] == [
        "cekura-optimise run --metrics 103 follows the run to its proposal"
    ]


def test_an_answer_cekura_refuses_is_reported_and_the_run_still_waits(env, tmp_path, capsys):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"103": {"q_1": "yes"}}))
    with loopback_sandbox() as sandbox:
        sandbox.state.faults.add_spec("503x5@process_feedbacks_answer")
        env.setenv("CEKURA_API_KEY", API_KEY)
        env.setenv("CEKURA_BASE_URL", sandbox.url)
        assert main(["run", "--metrics", "103", "--answers", str(answers)]) == WAITING
    captured = capsys.readouterr()
    assert captured.out.startswith("103\tneeds_answers\t")
    err = captured.err.strip().splitlines()[-1]
    assert err.startswith("cekura-optimise run: Metric 103: the answers may or may not have been")
    assert "Cekura failed on its side while sending the answers (503)" in err
