"""The proposal → PATCH mapping as the sandbox sees it: trigger kinds land in the right fields."""

import pytest

from support import sandbox_world
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio


async def test_llm_judge_trigger_keeps_the_prompt_field_and_enum(tmp_path):
    async with sandbox_world(tmp_path) as w:
        before = dict(w.state.metric(101))
        await optimise_metric(w.wf, 101)
        assert (await apply_if_not_regressed(w.wf, 101)).status == "applied"
        after = w.state.metric(101)
        assert after["evaluation_trigger"] == "custom" and after["trigger_type"] == "llm_judge"
        assert after["evaluation_trigger_prompt"] == before["evaluation_trigger_prompt"]
        assert after["description"] != before["description"]


async def test_custom_code_kind_writes_code_fields_and_flips_the_type(tmp_path):
    async with sandbox_world(tmp_path) as w:
        proposal = await optimise_metric(w.wf, 102)
        assert (await apply_if_not_regressed(w.wf, 102)).status == "applied"
        after = w.state.metric(102)
        assert after["type"] == "custom_code" and after["custom_code"].strip()
        assert after["evaluation_trigger"] == "custom"
        assert after["trigger_type"] == "custom_code"
        assert after["evaluation_trigger_custom_code"].strip()
        patch = w.state.requests[[r.route for r in w.state.requests].index("metric_patch")].body
        assert set(patch) == set(proposal.changed_fields)


async def test_always_kind_changes_no_trigger_text(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await w.wf.client.patch_metric(
            101, {"evaluation_trigger": "always", "evaluation_trigger_prompt": ""}
        )
        proposal = await optimise_metric(w.wf, 101)
        assert proposal.status == "proposed"
        assert not {"evaluation_trigger", "trigger_type", "evaluation_trigger_prompt"} & set(
            proposal.changed_fields
        )
        assert (await apply_if_not_regressed(w.wf, 101)).status in ("applied", "reverted")
        assert w.state.metric(101)["evaluation_trigger"] == "always"
