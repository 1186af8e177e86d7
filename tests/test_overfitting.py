"""Overfitting signal: long verbatim passages a proposal copies from Lab transcripts or feedback."""

from tools.cekura.models import Metric, OptimiserOutput
from tools.proposals.overfitting import (
    MAX_SPAN_CHARS,
    MAX_SPANS,
    MIN_COPIED_WORDS,
    Source,
    copies_in_proposal,
    find_copies,
)

TRANSCRIPT = (
    "Agent: Thanks for calling Bright Dental. User: I need a cleaning.\n"
    "Agent: Sure, I can book your appointment for next Tuesday morning. User: Great."
)
SOURCES = [Source(review_id=7, kind="transcript", text=TRANSCRIPT)]


def test_eight_copied_words_are_flagged_with_the_span_and_its_source():
    text = "Pass if the agent says I can book your appointment for next Tuesday, then stops."
    signal = find_copies({"description": text}, SOURCES)
    assert MIN_COPIED_WORDS == 8
    assert signal.copied and signal.spans_found == 1
    (span,) = signal.spans
    assert span.text == "I can book your appointment for next Tuesday"
    assert (span.field, span.words, span.review_id, span.source) == (
        "description",
        8,
        7,
        "transcript",
    )


def test_seven_copied_words_are_not_a_copy():
    text = "Pass if the agent says can book your appointment for next Tuesday, then stops."
    signal = find_copies({"description": text}, SOURCES)
    assert not signal.copied and signal.spans == [] and signal.warning() is None


def test_case_and_punctuation_do_not_hide_a_copy():
    text = "Fail unless: 'I CAN-book your... appointment; FOR next tuesday MORNING!'"
    (span,) = find_copies({"evaluation_trigger_prompt": text}, SOURCES).spans
    assert span.words == 9
    assert span.text == "I CAN-book your... appointment; FOR next tuesday MORNING"


def test_feedback_notes_are_sources_too():
    note = "The caller asked twice whether the clinic takes Delta Dental insurance plans."
    sources = [*SOURCES, Source(review_id=9, kind="feedback", text=note)]
    code = "_result = 'clinic takes delta dental insurance plans' in transcript  # caller asked twice whether the clinic takes Delta Dental"
    signal = find_copies({"custom_code": code}, sources)
    assert [(s.review_id, s.source, s.words) for s in signal.spans] == [(9, "feedback", 9)]


def test_at_most_five_spans_are_kept_longest_first():
    words = [f"w{i}" for i in range(200)]
    source = Source(review_id=1, kind="transcript", text=" ".join(words))
    chunks = [words[i * 20 : i * 20 + 8 + i] for i in range(7)]  # 8..14 words, not adjacent
    long_copy = " ".join(words[150:200])  # 50 words: 50·4 + 49 = 249 characters
    text = " | ".join([" ".join(c) for c in chunks] + [long_copy + " " + long_copy])
    signal = find_copies({"description": text}, [source])
    assert signal.spans_found == 7 + 2
    assert len(signal.spans) == MAX_SPANS
    assert [s.words for s in signal.spans] == [50, 50, 14, 13, 12]
    assert signal.spans[0].text == long_copy[:MAX_SPAN_CHARS] + " …[cut, 49 more characters]"
    assert signal.spans[2].text == " ".join(chunks[6])
    assert signal.warning().endswith("; and 4 more).")


def test_overlong_passage_is_cut_at_the_bound_and_says_so():
    words = [f"word{i:03d}" for i in range(60)]  # 60 words of 7 characters
    source = Source(review_id=3, kind="transcript", text=" ".join(words))
    (span,) = find_copies({"description": " ".join(words)}, [source]).spans
    passage = " ".join(words)
    assert span.words == 60
    assert span.text.startswith(passage[:MAX_SPAN_CHARS])
    assert span.text.endswith(f"[cut, {len(passage) - MAX_SPAN_CHARS} more characters]")


def test_proposal_of_an_optimiser_run_is_checked_against_its_metrics_lab():
    metric = Metric(
        id=110,
        name="Appointment Booked",
        reviews=[
            {"id": 7, "test_set": {"id": 70, "transcript": TRANSCRIPT}, "feedback": ""},
            {"id": 8, "test_set": {"id": 80, "transcript": None}, "feedback": "Booked late."},
        ],
    )
    output = OptimiserOutput(
        improved_metric_description="Pass when the agent confirms a slot.",
        improved_evaluation_trigger="Fire when the agent says I can book your appointment for next Tuesday.",
        improved_trigger_kind="llm_judge",
    )
    signal = copies_in_proposal(metric, output)
    assert [(s.field, s.review_id, s.words) for s in signal.spans] == [
        ("evaluation_trigger_prompt", 7, 8)
    ]
    assert signal.warning() == (
        "Possible overfitting: the proposal copies 1 passage(s) of 8+ words verbatim from the Lab "
        "(evaluation_trigger_prompt: 8 words from review 7's transcript)."
    )
