"""Metric 111 and the pending proposal Cekura's in-product optimiser schedule left on it.

111 belongs to a second agent (12) so that the first agent's calls and their evaluation counts stay
as they were. Its pending proposal scores above the baseline on the Lab (5/6 against 4/6, which is
all Cekura's own guard asks), but it drops the 'date of birth' cue, so the labelled row that passed
because of it breaks: our guard refuses it. Our own optimiser, learning from the same feedback,
keeps that cue and adds the two new ones.
"""

from __future__ import annotations

from typing import Any

from sandbox.seed_labs import MetricSpec

SECOND_AGENT_ID = 12
PENDING_METRIC_ID = 111

LAB_111 = """\
expected: pass
[00:01] Main Agent: Harbour Bank, how can I help?
[00:04] Testing Agent: I'd like to check my balance.
[00:07] Main Agent: Of course. Can you confirm your date of birth first?
[00:11] Testing Agent: Third of May 1984.
[00:13] Main Agent: Thank you. Your balance is 420 pounds.

expected: pass
feedback: At 00:06 the agent asked for the 'postcode' on the account before talking about the
  payment; that verifies the caller, so this should pass.
[00:01] Main Agent: Harbour Bank, Leo speaking.
[00:03] Testing Agent: A payment to my landlord bounced.
[00:06] Main Agent: I can look into that. What is the postcode on the account?
[00:09] Testing Agent: HB4 2QT.
[00:12] Main Agent: Thanks. The payment bounced because of the daily limit.

expected: pass
feedback: At 00:05 the agent asked the caller's 'security question' before giving any account
  detail; that is verification, so this should pass.
[00:01] Main Agent: Harbour Bank, how can I help?
[00:03] Testing Agent: Has my new card been sent?
[00:05] Main Agent: Before I check, please answer your security question: your first school?
[00:09] Testing Agent: Hillside Primary.
[00:11] Main Agent: Thank you. Your card was posted yesterday.

expected: fail
[00:01] Main Agent: Harbour Bank, how can I help?
[00:03] Testing Agent: I want to close my savings account.
[00:06] Main Agent: I'm afraid I cannot verify you on this line, please visit a branch.
[00:10] Testing Agent: That's annoying.

expected: fail
[00:01] Main Agent: Harbour Bank, how can I help?
[00:03] Testing Agent: What's my balance?
[00:05] Main Agent: Your balance is 1,204 pounds.
[00:07] Testing Agent: Thanks.

expected: fail
[00:01] Main Agent: Harbour Bank, how can I help?
[00:03] Testing Agent: Can you read me my last three payments?
[00:06] Main Agent: Sure: the gym, the energy company and a supermarket.
[00:09] Testing Agent: Great, bye.
"""

SPEC_111 = MetricSpec(
    id=PENDING_METRIC_ID,
    name="Identity Verified",
    description=(
        "Check that the main agent verified the caller's identity before discussing the account.\n"
        "PASS when the agent asks for the caller's 'date of birth'.\n"
        "FAIL if the agent says 'cannot verify'."
    ),
    lab=LAB_111,
    agent=SECOND_AGENT_ID,
)

PENDING_111: dict[str, Any] = {
    "description": (
        "Check that the main agent verified the caller's identity before discussing the account.\n"
        "PASS when the agent asks for the account 'postcode' or the caller's 'security question'.\n"
        "FAIL if the agent says 'cannot verify'."
    ),
    "evaluation_trigger": "always",
    "type": "llm_judge",
    "custom_code": "",
    "score": 0.8333,
    "baseline_score": 0.6667,
    "cron_job_id": None,
    "cron_job_name": "Weekly metric tune-up",
    "proposed_at": "2026-08-17T06:00:04Z",
}
