"""The seeded production call logs: the calls behind every Lab row, plus calls in no Lab.

Calls in no Lab are the held-out evidence of the Labs loop: voted calls for 107 (its proposal's
cues decide them the way people did) and 108 (callers say 'that's fine' when nothing was
cancelled, so the cue 108 learns from its Lab gets them wrong), and the newest calls, on which
109's live result is wrong and nobody has voted yet. No call carries a vote for 101–106 or 110.
Each block: `age:` (before the sandbox's now), any `vote: METRIC pass|fail | feedback` lines,
then the transcript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.call_logs import new_call_log
from sandbox.contract import FAIL_VALUE, PASS_VALUE
from sandbox.seed import PROJECT_ID, SeedCall, lab_calls, parse_age

FIRST_PRODUCTION_ID = 3_360_001
_VERDICTS = {"pass": PASS_VALUE, "fail": FAIL_VALUE}

PRODUCTION = """\
age: 9d
vote: 107 pass | The agent promised at 00:07 to ring back tomorrow morning; callback arranged.
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Can you find out if my insurance covers the root canal?
[00:07] Main Agent: I'll ask the insurer and ring you back tomorrow morning.
[00:12] Testing Agent: Lovely, thank you.

age: 8d
vote: 107 pass | At 00:08 the agent said she would get back to the caller today with a price.
[00:01] Main Agent: Northside Heating, how can I help?
[00:04] Testing Agent: How much would a smart thermostat cost to fit?
[00:08] Main Agent: I'll get a price from the installer and get back to you today.
[00:13] Testing Agent: Thanks.

age: 7d
vote: 107 fail
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Do you service oil boilers?
[00:06] Main Agent: I'm not sure. Please call again after nine tomorrow.
[00:10] Testing Agent: Right.

age: 6d
vote: 107 pass
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Can the dentist tell me if I still need antibiotics?
[00:07] Main Agent: She's with a patient, but someone will call you at lunchtime.
[00:11] Testing Agent: Okay, thanks.

age: 5d
vote: 107 fail | Nobody offered to call back.
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Can you tell me what my last bill was for?
[00:06] Main Agent: I can't help with bills, sorry.
[00:09] Testing Agent: Oh. Bye then.

age: 4d
vote: 107 pass
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Has the hygienist had any free slots come up this week?
[00:07] Main Agent: Not yet. If one comes up I'll ring you back straight away.
[00:11] Testing Agent: Thank you.

age: 8d12h
vote: 108 fail | The filling was moved at 00:06, not cancelled.
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I need to cancel my filling on Wednesday.
[00:06] Main Agent: I can move it to next Wednesday instead, same time.
[00:10] Testing Agent: That's fine.

age: 7d12h
vote: 108 fail | The agent sent the caller to the portal; nothing was cancelled on the call.
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Can I cancel my boiler cover?
[00:06] Main Agent: You'll need to cancel online through the customer portal.
[00:10] Testing Agent: That's fine, I'll do it later.

age: 6d12h
vote: 108 fail
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I want to cancel my son's orthodontist referral.
[00:07] Main Agent: I've put a note on the file; the practice lead will decide on Monday.
[00:12] Testing Agent: That's fine.

age: 5d12h
vote: 108 fail
[00:01] Main Agent: Northside Heating, how can I help?
[00:04] Testing Agent: I'd like to cancel the power flush you quoted for.
[00:08] Main Agent: The quote stays open for thirty days, so there is nothing to stop yet.
[00:12] Testing Agent: That's fine, I'll leave it.

age: 4d12h
vote: 108 pass | At 00:07 the agent removed Friday's booking, which is the cancellation asked for.
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Please cancel Friday's engineer visit, I've fixed the leak myself.
[00:07] Main Agent: Okay, I've removed the booking for Friday.
[00:10] Testing Agent: Thank you.

age: 3d12h
vote: 108 pass
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Cancel my hygiene appointment on the 3rd, please.
[00:06] Main Agent: That appointment has been cancelled. Anything else?
[00:09] Testing Agent: No, that's all.

age: 6h
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:04] Testing Agent: I need a booking for a smear test.
[00:07] Main Agent: Monday at 8:30 AM. Your booking number is RC-9120.
[00:11] Testing Agent: Lovely.

age: 4h
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:03] Testing Agent: Can I make a booking for an eye test?
[00:06] Main Agent: Yes, Saturday at 10 AM. Your confirmation code is RC-9034.
[00:10] Testing Agent: Perfect.

age: 2h
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:03] Testing Agent: I'd like an appointment for my knee.
[00:07] Main Agent: Thursday at 2 PM with the physio. Your confirmation code is RC-8812.
[00:12] Testing Agent: Thanks.
"""


def production_calls(now: datetime) -> list[SeedCall]:
    """The seeded calls that are in no Lab, in the order of `PRODUCTION`."""
    calls = []
    for index, block in enumerate(PRODUCTION.strip().split("\n\n")):
        age = None
        votes: list[tuple[int, Any, str | None]] = []
        lines: list[str] = []
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            if key == "age":
                age = parse_age(value)
            elif key == "vote":
                head, _, note = value.partition(" | ")
                metric, verdict = head.split()
                votes.append((int(metric), _VERDICTS[verdict], note.strip() or None))
            else:
                lines.append(line)
        if age is None:
            raise ValueError(f"production call {index + 1} has no age")
        calls.append(SeedCall(FIRST_PRODUCTION_ID + index, tuple(lines), now - age, tuple(votes)))
    return calls


def seed_call_logs(metrics: dict[int, dict[str, Any]], now: datetime) -> dict[int, dict[str, Any]]:
    """Every seeded call log, judged by the seeded metrics, with its votes on the items."""
    logs: dict[int, dict[str, Any]] = {}
    for call in [*lab_calls(now), *production_calls(now)]:
        log = new_call_log(
            call.id, call.lines, call.at, metrics, agent_id=call.agent, project_id=PROJECT_ID
        )
        for metric_id, expected, feedback in call.votes:
            item = next(m for m in log["evaluation"]["metrics"] if m["id"] == metric_id)
            item.update(
                thumbs_up=item["score"] == expected, expected_value=expected, feedback=feedback
            )
            log["is_reviewed"] = True
        logs[call.id] = log
    return logs
