"""The packaged routine texts: id parsing, and claude_routine.md carrying the same texts."""

from pathlib import Path

import pytest

from prompts import label_session_text, parse_metric_ids, routine_text, template

ROOT = Path(__file__).resolve().parents[1]


def test_ids_are_parsed_from_commas_or_spaces_without_duplicates():
    assert parse_metric_ids("101, 102 103,101") == [101, 102, 103]


@pytest.mark.parametrize("bad", ["", "abc", "0", "-4", "1.5", ",".join(["1"] * 101)])
def test_bad_ids_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        parse_metric_ids(bad)


@pytest.mark.parametrize("apply", [False, True])
def test_claude_routine_md_holds_both_prompt_texts_verbatim(apply):
    assert template(apply).strip() in (ROOT / "claude_routine.md").read_text()


def test_read_only_routine_never_asks_for_writes():
    text = routine_text("7", apply=False)
    assert "apply=false" in text and "apply=true" not in text
    assert "metric_ids=[7]" in text


def test_the_labelling_session_names_its_metric_and_is_in_claude_routine_md():
    text = label_session_text("109")
    assert "metric_id=109" in text and "{metric_id}" not in text
    assert "label_call" in text and "review_results" in text
    template_text = (ROOT / "prompts" / "label_session.md").read_text().strip()
    assert template_text in (ROOT / "claude_routine.md").read_text()


@pytest.mark.parametrize("bad", ["", "abc", "0", "101,102"])
def test_the_labelling_session_refuses_a_bad_metric_id(bad):
    with pytest.raises(ValueError, match="metric_id"):
        label_session_text(bad)
