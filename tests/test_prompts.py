"""The packaged routine texts: id parsing, and claude_routine.md carrying the same texts."""

from pathlib import Path

import pytest
from mcp import Client, MCPError

from prompts import label_session_text, parse_metric_ids, routine_text, template
from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings

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


def _words(*words: str) -> dict[str, str]:
    """Prompt arguments as Claude Code fills them: the typed text split at spaces, in order."""
    names = ["metric_ids", *(f"ids_{n}" for n in range(2, 11))]
    return dict(zip(names, words, strict=False))


@pytest.mark.anyio
@pytest.mark.parametrize("prompt", ["optimise_routine", "optimise_routine_apply"])
@pytest.mark.parametrize("words", [("7001,", "7003"), ("7001", "7003"), ("7001,7003",)])
async def test_routine_prompts_cover_every_id_however_claude_code_splits_them(
    prompt, words, tmp_path
):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        declared = next(p for p in (await client.list_prompts()).prompts if p.name == prompt)
        result = await client.get_prompt(prompt, _words(*words))
    await live.aclose()
    assert [a.name for a in declared.arguments] == list(_words(*["x"] * 10))
    assert "metric_ids=[7001, 7003]" in result.messages[0].content.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("words", "shown"),
    [
        (("7001,",), "7001,<more ids>"),
        (("7001,", "7002,"), "7001,7002,<more ids>"),
        (tuple(str(7000 + n) for n in range(1, 11)), "7001,7002,7003,7004,7005,7006"),
    ],
)
async def test_a_cut_off_id_list_is_refused_with_the_form_to_type(words, shown, tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("optimise_routine", _words(*words))
    await live.aclose()
    assert "look cut off" in str(refused.value)
    assert f"/mcp__cekura-optimise__optimise_routine {shown}" in str(refused.value)


@pytest.mark.anyio
async def test_a_bad_label_session_id_is_refused_in_words_not_an_internal_error(tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        with pytest.raises(MCPError, match="metric_id"):
            await client.get_prompt("label_session", {"metric_id": "abc"})
    await live.aclose()
