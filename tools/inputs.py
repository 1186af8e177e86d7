"""What the tools accept, defined once: the MCP schema, the CLI and the workflows share these types.

Each type carries its bounds (so the JSON schema shows them) and one plain sentence saying what
it must be, which every surface reports when a value is refused. A limit changes here only.
Numbers are strict (`true` is not 1, `"101"` is not 101) except when read from command-line text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from tools.errors import WorkflowError

METRIC_ID_MAX = 2**31 - 1
METRIC_IDS_MAX = 100
TEST_SET_IDS_MAX = 1000
MAX_WAIT_S_MAX = 6 * 3600
MAX_BROKEN_MAX = 10_000
ANSWERS_MAX = 100
QUESTION_ID_MAX_CHARS = 200
ANSWER_MAX_CHARS = 2000
ID_MAX_CHARS = 64
HISTORY_ID_MAX = 2**63 - 1
CALL_ID_MAX = 2**63 - 1
HOLDOUT_CALLS_MAX = 100
CALL_IDS_MAX = 100
REVIEW_LIMIT_MAX = 50
FEEDBACK_MAX_CHARS = 2000
LABEL_MAX_CHARS = 200
SCHEDULE_TEXT_MAX_CHARS = 255
SCHEDULE_ID_MAX = 2**31 - 1


def _at_most(limit: int) -> Callable[[int], int]:
    """A bound checked but kept out of the JSON schema: 2⁶³−1 would reach a JavaScript client
    rounded to 9223372036854776000, a number the model would read as a limit."""

    def within(value: int) -> int:
        if value > limit:
            raise ValueError(f"more than {limit}")
        return value

    return within


def _must_be(what: str) -> WrapValidator:
    """Replace pydantic's wording with `must be <what>`, so every surface says the same thing."""

    def plain(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            where = _where(exc.errors()[0]["loc"])
            raise PydanticCustomError(
                "invalid_input", "must be {what}{where}", {"what": what, "where": where}
            ) from None

    return WrapValidator(plain)


def _where(loc: tuple[int | str, ...]) -> str:
    """Which part of a list or mapping was refused, e.g. ` (item 3 is not)`."""
    if not loc:
        return ""
    if loc[-1] == "[key]":
        return f" (the key {str(loc[0])[:40]!r} is not)"
    if isinstance(loc[0], int):
        return f" (item {loc[0] + 1} is not)"
    return f" (the value for {str(loc[0])[:40]!r} is not)"


def _distinct(ids: list[int]) -> list[int]:
    """The ids without repeats, in the caller's order."""
    return list(dict.fromkeys(ids))


def _ascending(ids: list[int]) -> list[int]:
    """The ids without repeats, smallest first (the order does not change a run's labels)."""
    return sorted(set(ids))


def _blank_skips(answers: dict[str, str | None]) -> dict[str, str | None]:
    """Empty or blank answer text means skip, like null."""
    return {k: (v if v is None or v.strip() else None) for k, v in answers.items()}


_WHOLE_METRIC_ID = f"a whole number from 1 to {METRIC_ID_MAX}"

_METRIC_ID = Annotated[int, Strict(), Field(gt=0, le=METRIC_ID_MAX)]

MetricId = Annotated[_METRIC_ID, _must_be(_WHOLE_METRIC_ID)]
MetricIds = Annotated[
    list[_METRIC_ID],
    Field(min_length=1, max_length=METRIC_IDS_MAX),
    _must_be(f"a list of 1 to {METRIC_IDS_MAX} metric ids, each {_WHOLE_METRIC_ID}"),
    AfterValidator(_distinct),
]
TestSetIds = Annotated[
    list[Annotated[int, Strict(), Field(gt=0)]],
    Field(min_length=1, max_length=TEST_SET_IDS_MAX),
    _must_be(
        f"a list of 1 to {TEST_SET_IDS_MAX} test set ids, each a whole number above 0 "
        "(leave it out to use every test set in the Lab)"
    ),
    AfterValidator(_ascending),
]
MaxWaitS = Annotated[
    float,
    Strict(),
    Field(gt=0, le=MAX_WAIT_S_MAX),
    _must_be(
        f"a number of seconds above 0 and at most {MAX_WAIT_S_MAX} ({MAX_WAIT_S_MAX // 3600} hours)"
    ),
]
OnQuestions = Annotated[Literal["stop", "skip"], _must_be("'stop' or 'skip'")]
MaxBroken = Annotated[
    int,
    Strict(),
    Field(ge=0, le=MAX_BROKEN_MAX),
    _must_be(f"a whole number from 0 to {MAX_BROKEN_MAX}"),
]
Answers = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=QUESTION_ID_MAX_CHARS)],
        Annotated[str, Field(max_length=ANSWER_MAX_CHARS)] | None,
    ],
    Field(min_length=1, max_length=ANSWERS_MAX),
    _must_be(
        f"a mapping of 1 to {ANSWERS_MAX} question ids (each 1 to {QUESTION_ID_MAX_CHARS} "
        f"characters) to answer text of at most {ANSWER_MAX_CHARS} characters, or null to skip"
    ),
    AfterValidator(_blank_skips),
]
QuestionId = Annotated[
    str,
    Field(min_length=1, max_length=QUESTION_ID_MAX_CHARS),
    _must_be(f"a question id of 1 to {QUESTION_ID_MAX_CHARS} characters, such as 'q_1'"),
]
AnswerText = Annotated[
    str,
    Field(max_length=ANSWER_MAX_CHARS),
    _must_be(f"answer text of at most {ANSWER_MAX_CHARS} characters"),
]
ProposalId = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX_CHARS),
    _must_be(f"a proposal id of 1 to {ID_MAX_CHARS} characters, such as 'prop_1a2b3c4d5e6f'"),
]
ProgressId = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX_CHARS),
    _must_be(f"a Cekura run id of 1 to {ID_MAX_CHARS} characters"),
]
HistoryId = Annotated[
    int,
    Strict(),
    Field(gt=0),
    AfterValidator(_at_most(HISTORY_ID_MAX)),
    _must_be(f"a whole number from 1 to {HISTORY_ID_MAX}"),
]
ProposalSource = Annotated[
    Literal["ours", "pending"],
    _must_be(
        "'ours' (a proposal from our optimiser runs) or 'pending' (the proposal Cekura's "
        "optimiser schedule left on the metric)"
    ),
]

MaxHoldoutCalls = Annotated[
    int,
    Strict(),
    Field(ge=0, le=HOLDOUT_CALLS_MAX),
    _must_be(f"a whole number from 0 (skip the held-out check) to {HOLDOUT_CALLS_MAX}"),
]
CallId = Annotated[
    int,
    Strict(),
    Field(gt=0),
    AfterValidator(_at_most(CALL_ID_MAX)),
    _must_be("a call log's whole-number id (the `id` of a call log, not the provider's call id)"),
]
CallIds = Annotated[
    list[Annotated[int, Strict(), Field(gt=0), AfterValidator(_at_most(CALL_ID_MAX))]],
    Field(min_length=1, max_length=CALL_IDS_MAX),
    _must_be(f"a list of 1 to {CALL_IDS_MAX} call log ids"),
    AfterValidator(_distinct),
]
ReviewLimit = Annotated[
    int, Strict(), Field(ge=1, le=REVIEW_LIMIT_MAX), _must_be(f"from 1 to {REVIEW_LIMIT_MAX}")
]
Since = Annotated[
    datetime,
    AfterValidator(lambda when: when if when.tzinfo else when.replace(tzinfo=UTC)),
    _must_be("an ISO 8601 date or date-time such as '2026-11-20' or '2026-11-20T09:00:00Z'"),
]
Label = Annotated[
    Annotated[int, Strict()] | Annotated[str, Field(min_length=1, max_length=LABEL_MAX_CHARS)],
    _must_be("a verdict: 5 (pass) or 0 (fail) for a binary metric, or one of its enum values"),
]
Feedback = Annotated[
    str,
    Field(max_length=FEEDBACK_MAX_CHARS),
    AfterValidator(lambda text: _not_blank(text)),
    _must_be(
        f"the person's reasons in 1 to {FEEDBACK_MAX_CHARS} characters, citing the moment in the "
        "call (a timestamp or the exact words)"
    ),
]

ScheduleId = Annotated[
    int,
    Strict(),
    Field(gt=0, le=SCHEDULE_ID_MAX),
    _must_be(f"a schedule's whole-number id from 1 to {SCHEDULE_ID_MAX}"),
]
ProjectId = Annotated[
    int, Strict(), Field(gt=0, le=METRIC_ID_MAX), _must_be("a project's whole-number id")
]
CronExpression = Annotated[
    str,
    Field(min_length=1, max_length=SCHEDULE_TEXT_MAX_CHARS),
    _must_be("a 5-field cron expression (minute hour day-of-month month day-of-week)"),
    AfterValidator(lambda text: _cron(text)),
]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64),
    _must_be("an IANA time zone name such as 'UTC' or 'America/Los_Angeles'"),
    AfterValidator(lambda name: _time_zone(name)),
]
NotifyOn = Annotated[
    Literal["never", "success", "failure", "both"],
    _must_be("'never', 'success', 'failure' or 'both'"),
]
ScheduleName = Annotated[
    str,
    Field(min_length=1, max_length=SCHEDULE_TEXT_MAX_CHARS),
    _must_be(f"a name of 1 to {SCHEDULE_TEXT_MAX_CHARS} characters"),
]
Flag = Annotated[bool, Strict(), _must_be("true or false")]


def _cron(text: str) -> str:
    """The expression with single spaces, or a refusal naming the bad field."""
    from tools.schedules.cron import cron_problem

    problem = cron_problem(text)
    if problem:
        raise PydanticCustomError(
            "invalid_cron", "must be a 5-field cron expression: {why}", {"why": problem}
        )
    return " ".join(text.split())


def _time_zone(name: str) -> str:
    from tools.schedules.cron import timezone_problem

    problem = timezone_problem(name)
    if problem:
        raise PydanticCustomError(
            "invalid_time_zone", "must be an IANA time zone name: {why}", {"why": problem}
        )
    return name


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("blank")
    return text.strip()


@lru_cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    """One validator per type, built once (building one takes longer than validating)."""
    return TypeAdapter(kind)


def check(kind: Any, value: object, name: str, *, from_text: bool = False) -> Any:
    """`value` as `kind` accepts it, or a WorkflowError naming `name` in plain words.

    `from_text` reads numbers from command-line text ("101" is 101); otherwise they are strict."""
    try:
        return _adapter(kind).validate_python(value, strict=False if from_text else None)
    except ValidationError as exc:
        raise WorkflowError(f"{name} {exc.errors()[0]['msg']}; got {_shown(value)}.") from None


def _shown(value: object) -> str:
    """The refused value, cut short: a long list or mapping is named by its size."""
    if isinstance(value, list | dict) and len(value) > 5:
        return f"{len(value)} {'entries' if isinstance(value, dict) else 'items'}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
