"""One table of bad inputs, fed to the MCP tool, the CLI and the workflow: all three refuse it in
the same plain words, and nothing reaches Cekura."""

from dataclasses import dataclass

import anyio
import pytest
from e2e import API_KEY
from mcp import Client

from server.app import build_server
from server.cli import main
from server.runtime import Runtime
from server.settings import Settings
from tools.errors import WorkflowError
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.cancel import cancel_optimisation
from tools.workflows.check_calls import check_on_calls
from tools.workflows.diff import diff_proposal
from tools.workflows.lab_status import lab_status
from tools.workflows.label import label_call
from tools.workflows.optimise import optimise_metric
from tools.workflows.questions import answer_optimiser_questions
from tools.workflows.revert import revert_metric
from tools.workflows.review import review_results
from tools.workflows.routine import optimise_metrics
from tools.workflows.schedules import (
    delete_optimiser_schedule,
    list_optimiser_schedules,
    schedule_optimiser,
    update_optimiser_schedule,
)
from tools.workflows.validate import validate_on_calls

pytestmark = pytest.mark.anyio

WORKFLOWS = {
    f.__name__: f
    for f in (
        optimise_metric,
        optimise_metrics,
        diff_proposal,
        apply_if_not_regressed,
        revert_metric,
        answer_optimiser_questions,
        cancel_optimisation,
        review_results,
        label_call,
        lab_status,
        check_on_calls,
        validate_on_calls,
        list_optimiser_schedules,
        schedule_optimiser,
        update_optimiser_schedule,
        delete_optimiser_schedule,
    )
}
WHOLE_ID = "must be a whole number from 1 to 2147483647"
IDS = "must be a list of 1 to 100 metric ids"
WAIT = "must be a number of seconds above 0 and at most 21600"
TEST_SETS = "must be a list of 1 to 1000 test set ids"
BROKEN = "must be a whole number from 0 to 10000"
PROPOSAL = "must be a proposal id of 1 to 64 characters"
CALL_IDS = "must be a list of 1 to 100 call log ids"
LABEL = {"metric_id": 109, "call_id": 3360015, "expected_value": 5, "feedback": "At 00:07 'code'."}
CRON = "must be a 5-field cron expression: "
SCHEDULE = {"metric_ids": [101], "cron": "0 9 * * 1"}
SCHEDULE_ID = "must be a schedule's whole-number id from 1 to 2147483647"
ANSWERS = "must be a mapping of 1 to 100 question ids (each 1 to 200 characters) to answer text"


@dataclass(frozen=True)
class Bad:
    """One bad input: the tool and its arguments, the CLI flags (when the CLI has that input), the
    argument refused and the words every surface must use."""

    tool: str
    args: dict
    name: str
    says: str
    cli: tuple[str, ...] = ()


TABLE = {
    "metric id zero": Bad("optimise_metric", {"metric_id": 0}, "metric_id", WHOLE_ID),
    "metric id past int32": Bad("cancel_optimisation", {"metric_id": 2**31}, "metric_id", WHOLE_ID),
    "metric id true": Bad("revert_metric", {"metric_id": True}, "metric_id", WHOLE_ID),
    "metric id as text": Bad("diff_proposal", {"metric_id": "101"}, "metric_id", WHOLE_ID),
    "no metric ids": Bad(
        "optimise_metrics", {"metric_ids": []}, "metric_ids", IDS, ("--metrics", "")
    ),
    "101 metric ids": Bad(
        "optimise_metrics",
        {"metric_ids": list(range(1, 102))},
        "metric_ids",
        IDS,
        ("--metrics", ",".join(map(str, range(1, 102)))),
    ),
    "a metric id of zero in the list": Bad(
        "optimise_metrics", {"metric_ids": [101, 0]}, "metric_ids", IDS, ("--metrics", "101,0")
    ),
    "wait of zero": Bad(
        "optimise_metric",
        {"metric_id": 101, "max_wait_s": 0},
        "max_wait_s",
        WAIT,
        ("--max-wait", "0"),
    ),
    "wait over 6 hours": Bad(
        "optimise_metric",
        {"metric_id": 101, "max_wait_s": 21601},
        "max_wait_s",
        WAIT,
        ("--max-wait", "21601"),
    ),
    "unknown on_questions": Bad(
        "optimise_metrics",
        {"metric_ids": [101], "on_questions": "ask"},
        "on_questions",
        "must be 'stop' or 'skip'",
        ("--on-questions", "ask"),
    ),
    "no test sets": Bad(
        "optimise_metric", {"metric_id": 101, "test_set_ids": []}, "test_set_ids", TEST_SETS
    ),
    "test set id zero": Bad(
        "optimise_metric", {"metric_id": 101, "test_set_ids": [9101, 0]}, "test_set_ids", TEST_SETS
    ),
    "max_broken below 0": Bad(
        "apply_if_not_regressed", {"metric_id": 101, "max_broken": -1}, "max_broken", BROKEN
    ),
    "max_broken over 10000": Bad(
        "apply_if_not_regressed", {"metric_id": 101, "max_broken": 10_001}, "max_broken", BROKEN
    ),
    "empty proposal_id to apply": Bad(
        "apply_if_not_regressed", {"metric_id": 101, "proposal_id": ""}, "proposal_id", PROPOSAL
    ),
    "empty proposal_id to diff": Bad(
        "diff_proposal", {"metric_id": 101, "proposal_id": ""}, "proposal_id", PROPOSAL
    ),
    "proposal_id of 65 characters": Bad(
        "apply_if_not_regressed",
        {"metric_id": 101, "proposal_id": "p" * 65},
        "proposal_id",
        PROPOSAL,
    ),
    "empty progress_id": Bad(
        "diff_proposal",
        {"metric_id": 101, "progress_id": ""},
        "progress_id",
        "must be a Cekura run id of 1 to 64 characters",
    ),
    "history id zero": Bad(
        "revert_metric",
        {"metric_id": 101, "history_id": 0},
        "history_id",
        "must be a whole number from 1 to 9223372036854775807",
    ),
    "no answers": Bad(
        "answer_optimiser_questions", {"metric_id": 103, "answers": {}}, "answers", ANSWERS
    ),
    "101 answers": Bad(
        "answer_optimiser_questions",
        {"metric_id": 103, "answers": {f"q_{i}": None for i in range(101)}},
        "answers",
        ANSWERS,
    ),
    "an answer of 2001 characters": Bad(
        "answer_optimiser_questions",
        {"metric_id": 103, "answers": {"q_1": "x" * 2001}},
        "answers",
        ANSWERS,
    ),
    "a question id of 201 characters": Bad(
        "answer_optimiser_questions",
        {"metric_id": 103, "answers": {"q" * 201: "yes"}},
        "answers",
        ANSWERS,
    ),
    "an empty question id": Bad(
        "answer_optimiser_questions", {"metric_id": 103, "answers": {"": "yes"}}, "answers", ANSWERS
    ),
    "max_holdout_calls over 100": Bad(
        "apply_if_not_regressed",
        {"metric_id": 101, "max_holdout_calls": 101},
        "max_holdout_calls",
        "must be a whole number from 0 (skip the held-out check) to 100",
    ),
    "review limit of zero": Bad(
        "review_results", {"metric_id": 109, "limit": 0}, "limit", "must be from 1 to 50"
    ),
    "review since that is no date": Bad(
        "review_results",
        {"metric_id": 109, "since": "last week"},
        "since",
        "must be an ISO 8601 date",
    ),
    "lab status of metric zero": Bad("lab_status", {"metric_id": 0}, "metric_id", WHOLE_ID),
    "blank feedback": Bad(
        "label_call", {**LABEL, "feedback": "   "}, "feedback", "must be the person's reasons"
    ),
    "call id zero": Bad(
        "label_call", {**LABEL, "call_id": 0}, "call_id", "must be a call log's whole-number id"
    ),
    "a label of true": Bad(
        "label_call", {**LABEL, "expected_value": True}, "expected_value", "must be a verdict"
    ),
    "no call ids to check on": Bad(
        "check_on_calls", {"metric_id": 107, "call_ids": []}, "call_ids", CALL_IDS
    ),
    "101 call ids to validate": Bad(
        "validate_on_calls",
        {"metric_id": 107, "call_ids": list(range(1, 102))},
        "call_ids",
        CALL_IDS,
    ),
    "a cron expression of three fields": Bad(
        "schedule_optimiser", {**SCHEDULE, "cron": "* * *"}, "cron", CRON + "it has 3 field(s)"
    ),
    "a cron minute of 61": Bad(
        "schedule_optimiser",
        {**SCHEDULE, "cron": "61 * * * *"},
        "cron",
        CRON + "minute 61 is out of range 0–59",
    ),
    "a cron of @reboot": Bad(
        "schedule_optimiser", {**SCHEDULE, "cron": "@reboot"}, "cron", CRON + "@reboot is not"
    ),
    "an unknown time zone": Bad(
        "schedule_optimiser",
        {**SCHEDULE, "timezone": "Mars/Olympus_Mons"},
        "timezone",
        "must be an IANA time zone name",
    ),
    "notify_on of always": Bad(
        "schedule_optimiser",
        {**SCHEDULE, "notify_on": "always"},
        "notify_on",
        "must be 'never', 'success', 'failure' or 'both'",
    ),
    "a schedule name of 256 characters": Bad(
        "schedule_optimiser",
        {**SCHEDULE, "name": "n" * 256},
        "name",
        "must be a name of 1 to 255 characters",
    ),
    "metric ids of a schedule empty": Bad(
        "schedule_optimiser", {**SCHEDULE, "metric_ids": []}, "metric_ids", IDS
    ),
    "schedule id zero to update": Bad(
        "update_optimiser_schedule", {"schedule_id": 0, "name": "x"}, "schedule_id", SCHEDULE_ID
    ),
    "a cron minute of 61 in an update": Bad(
        "update_optimiser_schedule",
        {"schedule_id": 1, "cron": "61 * * * *"},
        "cron",
        CRON + "minute 61 is out of range 0–59",
    ),
    "schedule id as text to delete": Bad(
        "delete_optimiser_schedule", {"schedule_id": "5"}, "schedule_id", SCHEDULE_ID
    ),
    "project id zero to list": Bad(
        "list_optimiser_schedules",
        {"project_id": 0},
        "project_id",
        "must be a project's whole-number id",
    ),
}


@dataclass
class Surfaces:
    """The MCP server, the CLI's environment and a Workflow, all on one loopback sandbox."""

    client: Client
    runtime: Runtime
    state: object

    def sent(self) -> int:
        return len(self.state.requests)


@pytest.fixture
async def surfaces(loopback, tmp_path, monkeypatch):
    monkeypatch.setenv("CEKURA_API_KEY", API_KEY)
    monkeypatch.setenv("CEKURA_BASE_URL", loopback.url)
    monkeypatch.setenv("CEKURA_OPTIMISE_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CEKURA_OPTIMISE_READ_ONLY", raising=False)
    runtime = Runtime(Settings.from_env())
    async with Client(build_server(runtime=runtime)) as client:
        yield Surfaces(client=client, runtime=runtime, state=loopback.state)
    await runtime.aclose()


async def _cli(*flags: str) -> int:
    """`cekura-optimise run` with these flags (and --metrics 101 unless given), on a thread."""
    argv = ["run", *flags] if "--metrics" in flags else ["run", "--metrics", "101", *flags]
    return await anyio.to_thread.run_sync(main, argv)


@pytest.mark.parametrize("bad", TABLE.values(), ids=TABLE.keys())
async def test_a_bad_input_is_refused_alike_by_tool_cli_and_workflow(surfaces, capsys, bad):
    before = surfaces.sent()

    result = await surfaces.client.call_tool(bad.tool, bad.args)
    assert result.is_error
    text = result.content[0].text
    assert bad.name in text and bad.says in text

    with pytest.raises(WorkflowError) as refused:
        await WORKFLOWS[bad.tool](await surfaces.runtime.workflow(), **bad.args)
    assert f"{bad.name} {bad.says}" in str(refused.value)

    if bad.cli:
        capsys.readouterr()
        assert await _cli(*bad.cli) == 2
        assert f"{bad.cli[0]} {bad.says}" in capsys.readouterr().err

    assert surfaces.sent() == before


async def test_the_request_log_sees_a_good_call_from_each_surface(surfaces, capsys):
    """The control for the table: a valid call on each surface does reach the sandbox."""
    before = surfaces.sent()
    assert not (await surfaces.client.call_tool("optimise_metric", {"metric_id": 105})).is_error
    after_tool = surfaces.sent()
    await optimise_metric(await surfaces.runtime.workflow(), 105)
    after_workflow = surfaces.sent()
    assert await _cli("--metrics", "105") == 0
    assert before < after_tool < after_workflow < surfaces.sent()
