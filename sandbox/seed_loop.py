"""Metrics 107–110 and their Lab texts: the cases of the Labs loop (labels in, held-out check out).

107 its proposal is better on the Lab and on held-out voted calls · 108 the overfit case: the cue
it learns ('that's fine') is better on the Lab and worse on held-out calls, where callers say it
when nothing was cancelled · 109 only 4 labelled rows, with unlabelled production calls to label
(`sandbox.seed_calls`) · 110 a feedback note quotes the caller's whole sentence, so the proposal
copies 14 consecutive words of a Lab transcript. Every Lab row comes from a recent production call
(`age:`); `voted: yes` puts the row's label on that call as a human vote too.
"""

from __future__ import annotations

from sandbox.seed_labs import MetricSpec

LAB_107 = """\
expected: pass
age: 18d
voted: yes
feedback: At 00:07 the agent said she would 'ring you back' this afternoon once she had checked
  with the lab; a callback was arranged, so this should pass.
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Can you tell me if my crown has come back from the lab?
[00:07] Main Agent: I can't see it on the system yet. I'll check with the lab and ring you back this afternoon.
[00:13] Testing Agent: Thanks, my number is on the file.

expected: pass
age: 17d
voted: yes
feedback: At 00:08 the agent promised to 'get back to you' by tomorrow lunchtime after asking the
  warranty team; that is a callback, so this should pass.
[00:01] Main Agent: Northside Heating, how can I help?
[00:04] Testing Agent: I want to know whether my warranty covers the new pump.
[00:08] Main Agent: I need to ask the warranty team. We'll get back to you by tomorrow lunchtime.
[00:14] Testing Agent: Okay, speak then.

expected: fail
age: 16d
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Is Dr Patel working on Saturday?
[00:06] Main Agent: I'm not sure, the rota isn't out. Please call again on Friday.
[00:10] Testing Agent: Oh. Okay.

expected: pass
age: 15d
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Has my replacement part been ordered?
[00:07] Main Agent: Let me find out from the stores team. We will call you back within the hour.
[00:12] Testing Agent: Great, thanks.

expected: fail
age: 14d
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: Do you do teeth whitening for under-18s?
[00:06] Main Agent: I don't know. You could look on our website.
[00:09] Testing Agent: Right, bye.

expected: pass
age: 13d
[00:01] Main Agent: Northside Heating, how can I help?
[00:04] Testing Agent: Can an engineer tell me why my boiler keeps losing pressure?
[00:08] Main Agent: The engineers are all out, but someone will call you before five today.
[00:13] Testing Agent: Perfect.
"""

LAB_108 = """\
expected: pass
age: 20d
feedback: At 00:10 the caller said 'that's fine' once the agent had taken her off Thursday's list;
  the cancellation went through, so this should pass.
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I need to cancel my Thursday check-up, I'm away that week.
[00:07] Main Agent: No problem, I've taken you off Thursday's list.
[00:10] Testing Agent: That's fine, thanks.

expected: pass
age: 19d
feedback: At 00:08 the agent said she had 'removed the booking' from Monday's schedule; the visit
  was cancelled as asked, so this should pass.
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Please cancel the engineer visit on Monday, the boiler is working now.
[00:08] Main Agent: Okay, I've removed the booking from Monday's schedule.
[00:12] Testing Agent: Great, thank you.

expected: fail
age: 18d
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I'd like to cancel tomorrow's appointment.
[00:06] Main Agent: I'm sorry, I'm unable to cancel within 24 hours of the appointment.
[00:11] Testing Agent: That's ridiculous.

expected: pass
age: 17d
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: Can you cancel my annual service? I've sold the house.
[00:07] Main Agent: Of course. Your annual service has been cancelled.
[00:10] Testing Agent: Thanks.

expected: fail
age: 16d
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I want to cancel my membership plan.
[00:06] Main Agent: Before you go, can I offer you three months at half price?
[00:10] Testing Agent: Okay, leave it for now then.

expected: pass
age: 15d
[00:01] Main Agent: Northside Heating, how can I help?
[00:04] Testing Agent: Cancel the gas check on the 14th, please.
[00:07] Main Agent: Done. Your cancellation is confirmed and you'll get an email.
[00:11] Testing Agent: Cheers.
"""

LAB_109 = """\
expected: pass
age: 22d
feedback: At 00:07 the agent said 'your booking number is' and read out RC-5521; the caller was
  given a reference, so this should pass.
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:03] Testing Agent: I'd like a booking with the physio next week.
[00:07] Main Agent: Tuesday at 4 PM is booked. Your booking number is RC-5521.
[00:12] Testing Agent: Got it, thanks.

expected: fail
age: 21d
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:03] Testing Agent: Can I make an appointment for a blood test?
[00:06] Main Agent: Yes, Friday at 9 AM. There's no reference yet, we'll text one later.
[00:11] Testing Agent: Okay.

expected: pass
age: 20d
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:03] Testing Agent: I need an appointment with Dr Shah.
[00:06] Main Agent: Monday at 11 AM. Your reference is RC-7730.
[00:10] Testing Agent: Thank you.

expected: fail
age: 19d
[00:01] Main Agent: Riverside Clinic, how can I help?
[00:03] Testing Agent: Can I get a booking for a flu jab?
[00:06] Main Agent: You're down for Wednesday morning. See you then.
[00:09] Testing Agent: Bye.
"""

LAB_110 = """\
expected: pass
age: 25d
feedback: At 00:04 the caller said 'I want to make a formal complaint about the engineer who came
  on Monday' and the agent passed it to the quality team with a reference; the complaint was
  recorded, so this should pass.
[00:01] Main Agent: Northside Heating, how can I help?
[00:04] Testing Agent: I want to make a formal complaint about the engineer who came on Monday.
[00:10] Main Agent: I'm sorry to hear that. I've passed it to our quality team with reference Q-2231.
[00:16] Testing Agent: Thank you.

expected: pass
age: 24d
feedback: At 00:08 the agent said she had 'made a note of your complaint' for the practice lead;
  the complaint was logged, so this should pass.
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I'm unhappy with how the receptionist spoke to me yesterday.
[00:08] Main Agent: I'm sorry. I've made a note of your complaint for the practice lead.
[00:13] Testing Agent: Okay.

expected: fail
age: 23d
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: I have a complaint about my last invoice.
[00:06] Main Agent: Sorry, I cannot take complaints on this line.
[00:09] Testing Agent: Unbelievable.

expected: pass
age: 22d
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I'd like to make a complaint about the waiting time.
[00:07] Main Agent: I've logged your complaint and the practice lead will reply within a week.
[00:12] Testing Agent: Thank you.

expected: fail
age: 21d
[00:01] Main Agent: Northside Heating, how can I help?
[00:03] Testing Agent: I'm unhappy that nobody turned up yesterday.
[00:06] Main Agent: That's a shame. Is there anything else?
[00:09] Testing Agent: No.

expected: pass
age: 20d
[00:01] Main Agent: Lakeside Dental, how can I help?
[00:03] Testing Agent: I'd like to make a complaint about a billing mistake.
[00:06] Main Agent: Of course, I've logged your complaint under reference L-4410.
[00:10] Testing Agent: Thanks.
"""

LOOP_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        id=107,
        name="Callback Arranged",
        description=(
            "Check that the main agent arranged a callback when the caller's question could not "
            "be settled on the call.\n"
            "PASS when the agent says 'we will call you back' or 'someone will call you'.\n"
            "FAIL if the agent says 'please call again'."
        ),
        lab=LAB_107,
    ),
    MetricSpec(
        id=108,
        name="Cancellation Confirmed",
        description=(
            "Check that the main agent confirmed the cancellation the caller asked for.\n"
            "PASS when the agent says 'has been cancelled' or 'cancellation is confirmed'.\n"
            "FAIL if the agent says 'unable to cancel'."
        ),
        lab=LAB_108,
        trigger="custom",
        trigger_prompt="Evaluate only if the caller asks to 'cancel' something.",
    ),
    MetricSpec(
        id=109,
        name="Booking Reference Given",
        description=(
            "Check that the main agent gave the caller a reference for the booking they made.\n"
            "PASS when the agent says 'your reference is'.\n"
            "FAIL if the agent says 'no reference'."
        ),
        lab=LAB_109,
        trigger="custom",
        trigger_prompt="Evaluate only if a 'booking' or an 'appointment' is made.",
    ),
    MetricSpec(
        id=110,
        name="Complaint Logged",
        description=(
            "Check that the main agent logged the caller's complaint.\n"
            "PASS when the agent says 'logged your complaint'.\n"
            "FAIL if the agent says 'cannot take complaints'."
        ),
        lab=LAB_110,
        trigger="custom",
        trigger_prompt="Evaluate only if the caller makes a 'complaint' or is 'unhappy'.",
    ),
)
