"""The first six metrics and their Lab texts: one scenario each for the optimise-guard-apply loop.

101 clean improvement · 102 conversion to custom_code · 103 pauses with a question · 104 a fix that
breaks a labelled row in the sample · 105 no feedback, no changes · 106 better on the sample, worse
on the whole Lab. A Lab text is parsed by `sandbox.seed.parse_lab` (its docstring has the format).
Rows without `age:` come from calls made before the Labs were seeded; 103's last row is recent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    """A seeded metric: its judge configuration and its Lab text."""

    id: int
    name: str
    description: str
    lab: str
    trigger: str = "always"
    trigger_type: str = "llm_judge"
    trigger_prompt: str = ""
    trigger_code: str = ""
    agent: int | None = None  # None: the seed's agent (sandbox.seed.AGENT_ID)


TRIGGER_104 = """\
TRIGGER_CUES = ["account", "details"]

transcript = str(data.get("transcript", "")).lower()
_result = any(cue in transcript for cue in TRIGGER_CUES)
_explanation = "Account details discussed" if _result else "No account details discussed"
"""

LAB_101 = """\
expected: pass
feedback: At 00:09 the caller said 'Sounds good' to the Tuesday 2 PM slot and the agent went ahead
  with it; that is agreement to a booked slot, so this should pass.
[00:01] Main Agent: Thanks for calling Northside Heating, how can I help?
[00:04] Testing Agent: Hi, I'd like to book a boiler service.
[00:07] Main Agent: I have Tuesday at 2 PM. Shall I put you down for that?
[00:09] Testing Agent: Sounds good.
[00:11] Main Agent: Great, I've pencilled you in for Tuesday at 2 PM. You'll get a text reminder.

expected: pass
feedback: At 00:12 the caller replied 'that works for me' and the agent reserved Thursday 10 AM
  for her. The booking was made and agreed, so this should pass.
[00:01] Main Agent: Good morning, Lakeside Dental.
[00:03] Testing Agent: Hello, I need to book a check-up for my daughter.
[00:08] Main Agent: The first opening is Thursday at 10 AM with Dr Patel.
[00:12] Testing Agent: That works for me.
[00:14] Main Agent: Lovely, I've reserved Thursday at 10 AM under Mia Jones.

expected: fail
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Can I book an engineer for Friday morning?
[00:06] Main Agent: Let me check the diary for Friday.
[00:21] Main Agent: Friday is looking very full, I'm still checking.
[00:25] Testing Agent: Don't worry, I'll call back later.

expected: pass
[00:01] Main Agent: Lakeside Dental, Sam speaking.
[00:03] Testing Agent: Hi, I'd like to book a cleaning, any time Monday.
[00:07] Main Agent: Monday at 9 AM is free. Would you like it?
[00:09] Testing Agent: Yes please.
[00:11] Main Agent: Done, your appointment is confirmed for Monday at 9 AM.

expected: fail
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: I need to book a gas safety check this week.
[00:07] Main Agent: I'm sorry, there is no availability this week. The next slot is in three weeks.
[00:12] Testing Agent: That's too late, I'll try someone else.

expected: pass
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Hi, can I reschedule my filling to next week?
[00:08] Main Agent: I can move you to Wednesday at 3 PM.
[00:10] Testing Agent: Sounds good, thank you.
[00:12] Main Agent: All done, see you on Wednesday at 3 PM.

expected: none
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: What time do you close on Saturdays?
[00:05] Main Agent: We close at 1 PM on Saturdays.
[00:07] Testing Agent: Great, thanks.
"""

LAB_102 = """\
expected: pass
feedback: At 00:02 the agent said 'this call is recorded for quality and training' before asking
  for the account number. That is the disclosure in different words. This check should be
  deterministic: an exact match on the standard disclosure wordings, no judgement needed.
[00:02] Main Agent: Welcome to Harbour Bank. This call is recorded for quality and training.
[00:06] Testing Agent: Hi, I want to check a payment.
[00:08] Main Agent: Of course. Can I take your account number, please?
[00:12] Testing Agent: It's 4471 2290.

expected: pass
feedback: At 00:03 the agent said 'calls are recorded' before taking the caller's date of birth,
  so the disclosure was made in time. This should pass.
[00:01] Main Agent: Harbour Bank, you're speaking with Leo.
[00:03] Main Agent: Just so you know, calls are recorded to help us improve our service.
[00:07] Testing Agent: Fine. I need to update my address.
[00:10] Main Agent: No problem. Can I have your date of birth first?

expected: fail
[00:01] Main Agent: Harbour Bank, how can I help?
[00:04] Testing Agent: I want to dispute a card payment.
[00:06] Main Agent: Sure, what's your full name and postcode?
[00:09] Testing Agent: Hang on, am I being recorded?
[00:11] Main Agent: Yes, calls are recorded.

expected: pass
[00:01] Main Agent: Good afternoon, Harbour Bank. This call may be recorded for training purposes.
[00:06] Testing Agent: Hi, I'd like to order a new card.
[00:08] Main Agent: Certainly. Can you confirm your date of birth?

expected: fail
[00:01] Main Agent: Harbour Bank.
[00:02] Testing Agent: Hi, I've been locked out of the app.
[00:04] Main Agent: Okay, what's your date of birth and the first line of your address?

expected: pass
[00:01] Main Agent: Thanks for calling Harbour Bank. This call is recorded for quality and training.
[00:05] Testing Agent: I need to increase my overdraft.
[00:07] Main Agent: I can help with that. What's your account number?
"""

LAB_103 = """\
expected: pass
feedback: At 00:09 the agent said 'transfer you to my supervisor' and the supervisor picked up at
  00:15. The caller was handed over, so this escalation was handled and should pass.
[00:01] Main Agent: Brightline Energy, how can I help?
[00:03] Testing Agent: My bill doubled and I want to speak to a manager.
[00:06] Main Agent: I understand. Let me see who is free.
[00:09] Main Agent: I'm going to transfer you to my supervisor now, please hold.
[00:15] Main Agent: You're through to Priya, the team supervisor.

expected: fail
feedback: At 00:11 the agent said 'the team has gone home' and the call ended without any
  handover. Offering a transfer that never happens is not an escalation; this should fail.
[00:01] Main Agent: Brightline Energy, how can I help?
[00:03] Testing Agent: I've been cut off twice, I want a real person.
[00:06] Main Agent: I can connect you to a specialist or transfer you to my supervisor.
[00:11] Main Agent: Sorry, the team has gone home for the day. Please ring again tomorrow.
[00:16] Testing Agent: Unbelievable.

expected: pass
[00:01] Main Agent: Brightline Energy, how can I help?
[00:03] Testing Agent: Can I talk to a supervisor about my refund?
[00:06] Main Agent: Of course, I'll connect you to a specialist in our refunds team right away.

expected: fail
[00:01] Main Agent: Brightline Energy, how can I help?
[00:03] Testing Agent: Put me through to a manager, please.
[00:06] Main Agent: I'm afraid I'm unable to transfer calls at the moment.

expected: fail
[00:01] Main Agent: Brightline Energy, how can I help?
[00:03] Testing Agent: I'd like to speak to a real person, not a bot.
[00:06] Main Agent: I can help with most things. What is your account number?
[00:10] Testing Agent: Fine, it's 55021.

expected: fail
age: 20d
[00:01] Main Agent: Brightline Energy, how can I help?
[00:03] Testing Agent: I want to speak to a supervisor about a missed meter reading.
[00:07] Main Agent: I'm unable to transfer you right now, but I can log the reading for you.
[00:12] Testing Agent: Fine, go ahead.
"""

LAB_104 = """\
expected: pass
feedback: At 00:10 the caller answered 'okay' when asked whether the agent could update the
  address on the account. In context that is consent, so this should pass.
[00:01] Main Agent: Clearwater Broadband, this is Tom.
[00:03] Testing Agent: I've moved house and need my account details updated.
[00:07] Main Agent: I can change the address on your account now. Is that alright?
[00:10] Testing Agent: Okay.
[00:12] Main Agent: Done, your new address is saved.

expected: fail
feedback: Correctly failed: at 00:09 the caller said 'I do not agree to that' when the agent
  offered to move the plan, and nothing was changed.
[00:01] Main Agent: Clearwater Broadband, how can I help?
[00:03] Testing Agent: I'm calling about the details of my contract.
[00:06] Main Agent: I can move your account to the new 24-month plan today.
[00:09] Testing Agent: No, I do not agree to that.
[00:11] Main Agent: Understood, nothing has been changed.

expected: fail
[00:01] Main Agent: Clearwater Broadband, how can I help?
[00:03] Testing Agent: I want to add my partner to the account.
[00:06] Main Agent: I can add her now if you agree.
[00:08] Testing Agent: Okay, hold on. Let me check with her first before you change anything.
[00:14] Main Agent: No problem, call us back when you're ready.

expected: pass
[00:01] Main Agent: Clearwater Broadband, how can I help?
[00:03] Testing Agent: Please change the email on my account.
[00:06] Main Agent: May I update your details now?
[00:08] Testing Agent: Yes, I consent.

expected: pass
[00:01] Main Agent: Clearwater Broadband, how can I help?
[00:03] Testing Agent: I'd like to change the payment details on my account.
[00:06] Main Agent: Do I have your permission to update the direct debit?
[00:09] Testing Agent: Yes, you have my permission.

expected: fail
[00:01] Main Agent: Clearwater Broadband, how can I help?
[00:03] Testing Agent: Someone changed my account password without asking me.
[00:07] Main Agent: I can reset it and update your security details now.
[00:10] Testing Agent: I do not agree to any more changes until I speak to your fraud team.
"""

LAB_105 = """\
expected: pass
[00:01] Main Agent: Thank you for calling Brightside Dental, this is Amy.
[00:04] Testing Agent: Hi, I have a question about my bill.

expected: pass
[00:01] Main Agent: Good morning, Riverside Clinic, how can I help?
[00:03] Testing Agent: Hello, I need a repeat prescription.

expected: fail
[00:01] Main Agent: Yeah, what do you want?
[00:03] Testing Agent: Er, I was calling about my order.

expected: pass
[00:01] Main Agent: Good afternoon, Parkway Motors service desk.
[00:04] Testing Agent: Hi, my car is due its MOT.
"""

LAB_106 = """\
expected: pass
feedback: At 00:24 the caller said 'thanks for your help' once the router came back online after
  the reset; the problem was fixed on the call, so this should pass.
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:04] Testing Agent: There's a problem with my internet, it keeps dropping.
[00:08] Main Agent: Let's reset the router. Hold the button on the back for ten seconds.
[00:19] Main Agent: I can see the line is back up on my side.
[00:24] Testing Agent: Yes, the lights are green again. Thanks for your help.

expected: pass
feedback: At 00:18 the caller said 'that sorted it' after the agent cleared the error on the
  account; the problem was solved, so this should pass.
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:03] Testing Agent: My TV box shows error 43 every evening.
[00:07] Main Agent: I've cleared a stuck entitlement on your account. Please restart the box.
[00:18] Testing Agent: Right, it's restarted and the channels are back. That sorted it.

expected: pass
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:03] Testing Agent: I have a fault on my phone line, there's no dial tone.
[00:09] Main Agent: I've re-provisioned the line. The issue is resolved on our side, try now?
[00:15] Testing Agent: Yes, I've got a dial tone.

expected: fail
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:03] Testing Agent: The Wi-Fi has a problem again, it's so slow.
[00:08] Main Agent: I've changed your channel. How is it now?
[00:20] Testing Agent: It's still not working properly.

expected: fail
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:04] Testing Agent: I'm getting an error when I log in to my email.
[00:09] Main Agent: I've raised a ticket with the email team; they will look at it within 48 hours.
[00:15] Testing Agent: Alright, thanks for your help.

expected: fail
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:03] Testing Agent: There's a fault with my landline, it crackles.
[00:08] Main Agent: An engineer needs to visit. The earliest is next Thursday.
[00:13] Testing Agent: That's a long wait, but thanks for your help.

expected: fail
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:04] Testing Agent: My router has a problem, the power light keeps flashing red.
[00:09] Main Agent: The router has failed. I'll post a replacement; it arrives in three days.
[00:16] Testing Agent: Okay. Thanks for your help anyway.

expected: pass
[00:01] Main Agent: Clearwater Broadband support, how can I help?
[00:03] Testing Agent: There's a problem with my bill, I was charged twice.
[00:08] Main Agent: I've refunded the duplicate charge, so the issue is resolved.
[00:11] Main Agent: You'll see the money back in three to five days.
[00:14] Testing Agent: Great.
"""


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        id=101,
        name="Appointment Booked",
        description=(
            "Assess whether the main agent booked an appointment that the caller agreed to.\n"
            "PASS when the agent confirms the slot, for example 'is booked for' or 'your "
            "appointment is confirmed'.\n"
            "FAIL if the caller says 'call back later' or the agent says 'no availability'."
        ),
        lab=LAB_101,
        trigger="custom",
        trigger_prompt=(
            "Evaluate only if the caller wants to 'book', 'reschedule' or 'cancel' an appointment."
        ),
    ),
    MetricSpec(
        id=102,
        name="Recording Disclosure",
        description=(
            "Check that the main agent tells the caller the call is recorded before asking "
            "for personal details.\n"
            "PASS when the agent says 'this call may be recorded'.\n"
            "FAIL if the caller has to ask 'am I being recorded'."
        ),
        lab=LAB_102,
    ),
    MetricSpec(
        id=103,
        name="Escalation Handled",
        description=(
            "Judge whether the main agent handled the caller's request to speak to a person.\n"
            "PASS when the agent says 'connect you to a specialist'.\n"
            "FAIL if the agent says 'unable to transfer'."
        ),
        lab=LAB_103,
        trigger="custom",
        trigger_prompt=(
            "Evaluate only when the caller asks for a 'manager', a 'supervisor' or a 'real person'."
        ),
    ),
    MetricSpec(
        id=104,
        name="Caller Consent",
        description=(
            "Check that the caller gave clear consent before the agent changed their account "
            "details.\n"
            "PASS when the caller says 'yes, I consent' or 'you have my permission'.\n"
            "FAIL if the caller says 'do not agree'."
        ),
        lab=LAB_104,
        trigger="custom",
        trigger_type="custom_code",
        trigger_code=TRIGGER_104,
    ),
    MetricSpec(
        id=105,
        name="Polite Greeting",
        description=(
            "Check that the main agent opens the call with a polite greeting.\n"
            "PASS when the agent says 'thank you for calling', 'good morning' or 'good "
            "afternoon'.\n"
            "FAIL if the agent opens with 'what do you want'."
        ),
        lab=LAB_105,
    ),
    MetricSpec(
        id=106,
        name="Issue Resolved",
        description=(
            "Decide whether the caller's problem was resolved by the end of the call.\n"
            "PASS when the agent confirms 'the issue is resolved' or the caller says 'is "
            "working again'.\n"
            "FAIL if the caller says 'still not working'."
        ),
        lab=LAB_106,
        trigger="custom",
        trigger_prompt="Evaluate only if the caller reports a 'problem', a 'fault' or an 'error'.",
    ),
)
