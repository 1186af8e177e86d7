"""Overfitting signal: passages a proposal copies verbatim from the Lab's transcripts or feedback.

A prompt or code that repeats long stretches of the calls it learned from has memorised those
calls rather than learned a rule. Words are runs of letters and digits compared case-insensitively,
so punctuation, case and spacing do not hide a copy. Lookups go through a set of n-grams of the
sources, so the check is linear in the length of the texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

from tools.cekura.models import Metric, OptimiserOutput
from tools.proposals.mapping import desired_fields
from tools.untrusted import bound

MIN_COPIED_WORDS = 8
MAX_SPAN_CHARS = 200
MAX_SPANS = 5
PROPOSAL_TEXT_FIELDS: tuple[str, ...] = (
    "description",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
    "custom_code",
)
SourceKind = Literal["transcript", "feedback"]
_WORD = re.compile(r"[^\W_]+")


class Source(BaseModel):
    """A text the optimiser learned from: a Lab row's transcript or its feedback note."""

    review_id: int | None = None
    kind: SourceKind
    text: str


class CopiedSpan(BaseModel):
    """One passage of a proposal text that also appears, word for word, in a source."""

    field: str = Field(description="the proposal text it is in, e.g. description or custom_code")
    text: str = Field(description=f"the passage as the proposal has it, cut at {MAX_SPAN_CHARS}")
    words: int
    review_id: int | None = None
    source: SourceKind


class CopySignal(BaseModel):
    """Whether a proposal copies passages of MIN_COPIED_WORDS or more words from its sources."""

    copied: bool = False
    min_words: int = MIN_COPIED_WORDS
    spans: list[CopiedSpan] = Field(
        default_factory=list, description=f"longest first, at most {MAX_SPANS}"
    )
    spans_found: int = Field(default=0, description="spans found before the cap")

    def warning(self) -> str | None:
        """A one-line warning naming where the copies come from (no copied text), or None."""
        if not self.copied:
            return None
        origins = "; ".join(
            f"{s.field}: {s.words} words from "
            + (f"review {s.review_id}'s {s.source}" if s.review_id is not None else s.source)
            for s in self.spans
        )
        hidden = self.spans_found - len(self.spans)
        more = f"; and {hidden} more" if hidden else ""
        return (
            f"Possible overfitting: the proposal copies {self.spans_found} passage(s) of "
            f"{self.min_words}+ words verbatim from the Lab ({origins}{more})."
        )


def lab_sources(metric: Metric) -> list[Source]:
    """The metric's Lab transcripts and feedback notes, each tagged with its review id."""
    sources = []
    for review in metric.reviews:
        transcript = review.test_set.transcript if review.test_set else None
        if transcript:
            sources.append(Source(review_id=review.id, kind="transcript", text=transcript))
        if review.feedback:
            sources.append(Source(review_id=review.id, kind="feedback", text=review.feedback))
    return sources


def proposal_texts(output: OptimiserOutput) -> dict[str, str]:
    """The free text an optimiser output would write, by metric field (prompts and code)."""
    fields, _ = desired_fields(output)
    return {
        name: fields[name]
        for name in PROPOSAL_TEXT_FIELDS
        if isinstance(fields.get(name), str) and fields[name].strip()
    }


def copies_in_proposal(metric: Metric, output: OptimiserOutput) -> CopySignal:
    """The copy signal of an optimiser output against the Lab of the metric it was run on."""
    return find_copies(proposal_texts(output), lab_sources(metric))


def find_copies(
    texts: Mapping[str, str], sources: Iterable[Source], min_words: int = MIN_COPIED_WORDS
) -> CopySignal:
    """Passages of `min_words`+ consecutive words in `texts` (field → text) found in `sources`."""
    index: dict[tuple[str, ...], Source] = {}
    for source in sources:
        words = [m.group().casefold() for m in _WORD.finditer(source.text)]
        for i in range(len(words) - min_words + 1):
            index.setdefault(tuple(words[i : i + min_words]), source)
    spans = [
        span
        for field, text in texts.items()
        for span in _spans_in(field, text or "", index, min_words)
    ]
    spans.sort(key=lambda s: -s.words)
    return CopySignal(
        copied=bool(spans), min_words=min_words, spans=spans[:MAX_SPANS], spans_found=len(spans)
    )


def _spans_in(
    field: str, text: str, index: dict[tuple[str, ...], Source], n: int
) -> list[CopiedSpan]:
    """Maximal runs of words covered by indexed n-grams, each credited to its first n-gram's source."""
    matches = list(_WORD.finditer(text))
    words = [m.group().casefold() for m in matches]
    spans: list[CopiedSpan] = []
    start = end = -1
    origin: Source | None = None
    for i in range(len(words) - n + 1):
        hit = index.get(tuple(words[i : i + n]))
        if hit is None:
            continue
        if i > end:
            if origin is not None:
                spans.append(_span(field, text, matches[start : end + 1], origin))
            start, origin = i, hit
        end = i + n - 1
    if origin is not None:
        spans.append(_span(field, text, matches[start : end + 1], origin))
    return spans


def _span(field: str, text: str, words: list[re.Match[str]], origin: Source) -> CopiedSpan:
    passage = text[words[0].start() : words[-1].end()]
    return CopiedSpan(
        field=field,
        text=bound(passage, MAX_SPAN_CHARS),
        words=len(words),
        review_id=origin.review_id,
        source=origin.kind,
    )
