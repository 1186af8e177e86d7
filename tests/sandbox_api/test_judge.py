"""The judge decides with cue phrases, reads custom code without running it, honours triggers."""

from __future__ import annotations

import re

import pytest

from sandbox import SandboxState
from sandbox.judge import description_cues, evaluate, quoted_phrases

BOOKING = {
    "type": "llm_judge",
    "description": (
        "Pass when the caller agrees, e.g. 'sounds good' or 'that works'.\n"
        "FAIL if the caller says 'call back later'."
    ),
    "evaluation_trigger": "always",
}


def test_quoted_phrases_keep_apostrophes_inside_words() -> None:
    text = "The caller's reply 'I don't mind' and then 'sounds good'; the agents' diary was full."
    assert quoted_phrases(text) == ["I don't mind", "sounds good"]


def test_fail_lines_carry_fail_cues_and_every_other_phrase_is_a_pass_cue() -> None:
    cues = description_cues(BOOKING["description"])
    assert cues.passes == ("sounds good", "that works")
    assert cues.fails == ("call back later",)


@pytest.mark.parametrize(
    ("transcript", "value", "decider"),
    [
        ("[00:03] Testing Agent: Sounds GOOD, thanks.", 5, "Pass cue 'sounds good'"),
        (
            "[00:03] Testing Agent: That works, but I'll call back later.",
            0,
            "Fail cue 'call back later'",
        ),
        ("[00:03] Testing Agent: Hmm, not sure.", 0, "No pass cue"),
    ],
)
def test_a_fail_cue_wins_then_a_pass_cue_passes_else_the_call_fails(
    transcript: str, value: int, decider: str
) -> None:
    verdict = evaluate(BOOKING, transcript)
    assert verdict.actual_value == value
    assert verdict.explanation is not None and verdict.explanation[0].startswith(decider)
    assert verdict.error is None


def test_custom_code_cue_lists_are_read_without_running_the_code(tmp_path) -> None:
    marker = tmp_path / "ran"
    code = (
        f"open({str(marker)!r}, 'w').write('executed')\n"
        "PASS_CUES = ['recorded']\n"
        "FAIL_CUES = ['am I being recorded']\n"
    )
    config = {
        "type": "custom_code",
        "custom_code": code,
        "description": "",
        "evaluation_trigger": "always",
    }
    assert evaluate(config, "This call is recorded.").actual_value == 5
    assert evaluate(config, "Wait, am I being recorded?").actual_value == 0
    assert not marker.exists()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("PASS_CUES = ['a'\n", "code does not parse"),
        ("PASS_CUES = load_cues()\n", "PASS_CUES is not a literal list of strings"),
        ("_result = True\n", "custom_code defines no PASS_CUES or FAIL_CUES list"),
    ],
)
def test_unreadable_custom_code_is_an_evaluation_error(code: str, message: str) -> None:
    config = {"type": "custom_code", "custom_code": code, "evaluation_trigger": "always"}
    verdict = evaluate(config, "anything")
    assert verdict.actual_value is None
    assert verdict.error is not None and verdict.error.startswith(message)


def test_code_that_wraps_the_prompt_is_judged_by_the_description() -> None:
    wrapper = "result = evaluate_basic_metric(data, api_key, prompt, eval_type='binary')\n"
    config = {**BOOKING, "type": "custom_code", "custom_code": wrapper}
    assert evaluate(config, "Sounds good.").actual_value == 5


def test_a_custom_llm_trigger_whose_phrases_are_absent_does_not_fire() -> None:
    config = {
        **BOOKING,
        "evaluation_trigger": "custom",
        "trigger_type": "llm_judge",
        "evaluation_trigger_prompt": "Only when the caller wants to 'book' something.",
    }
    skipped = evaluate(config, "Sounds good, what time do you close?")
    assert (skipped.actual_value, skipped.triggered) == (None, False)
    assert skipped.explanation is not None and skipped.explanation[0].startswith(
        "trigger did not fire"
    )
    assert evaluate(config, "I'd like to book. Sounds good.").actual_value == 5
    no_phrases = {**config, "evaluation_trigger_prompt": "Evaluate every call."}
    assert evaluate(no_phrases, "Sounds good.").actual_value == 5


def test_a_custom_code_trigger_reads_trigger_cues() -> None:
    config = {
        **BOOKING,
        "evaluation_trigger": "custom",
        "trigger_type": "custom_code",
        "evaluation_trigger_custom_code": "TRIGGER_CUES = ['account']\n_result = True\n",
        "evaluation_trigger_prompt": "Only when the caller mentions a 'refund'.",
    }
    assert evaluate(config, "Sounds good.").triggered is False
    assert evaluate(config, "My account: sounds good.").actual_value == 5
    broken = {**config, "evaluation_trigger_custom_code": "TRIGGER_CUES = ["}
    assert evaluate(broken, "account").error is not None


def test_an_always_trigger_ignores_the_trigger_prompt() -> None:
    config = {**BOOKING, "evaluation_trigger_prompt": "Only when the caller wants to 'book'."}
    assert evaluate(config, "Sounds good.").actual_value == 5


def test_seeded_lab_rows_hold_the_judges_output_and_overall_score_counts_them() -> None:
    state = SandboxState.seeded()
    for metric in state.metrics.values():
        for review in metric["reviews"]:
            verdict = evaluate(metric, review["test_set"]["transcript"])
            assert (review["actual_value"], review["explanation"]) == (
                verdict.actual_value,
                verdict.explanation,
            )
        correct, labelled = state.lab_score(metric["id"])
        assert metric["overall_score"] == f"{correct}/{labelled}"


def test_seeded_world_looks_like_a_real_lab() -> None:
    state = SandboxState.seeded()
    reviews = [r for m in state.metrics.values() for r in m["reviews"]]
    assert len({r["id"] for r in reviews}) == len(reviews)
    assert len({r["test_set"]["id"] for r in reviews}) == len(reviews)
    line = re.compile(r"\[\d\d:\d\d\] (Main Agent|Testing Agent): \S")
    for review in reviews:
        assert all(line.match(x) for x in review["test_set"]["transcript"].splitlines())
        if review["feedback"]:
            assert re.search(r"\b\d\d:\d\d\b", review["feedback"]), review["id"]
            assert quoted_phrases(review["feedback"]), review["id"]
    assert {m["id"]: m["overall_score"] for m in state.metrics.values()} == {
        101: "3/6",
        102: "3/6",
        103: "4/6",
        104: "5/6",
        105: "4/4",
        106: "6/8",
        107: "4/6",
        108: "4/6",
        109: "3/4",
        110: "4/6",
        111: "4/6",
    }
