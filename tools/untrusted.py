"""Text from outside (transcripts, feedback, optimiser output, Cekura's errors) reaches the model
bounded in size and inside clear delimiters, as data rather than instructions."""

from __future__ import annotations


def bound(text: str | None, limit: int) -> str:
    """`text` cut to `limit` characters, saying so when it was cut."""
    text = text or ""
    if len(text) <= limit:
        return text
    return text[:limit] + f" …[cut, {len(text) - limit} more characters]"


def quote_untrusted(text: str | None, limit: int = 1000) -> str:
    """Bounded `text` wrapped in delimiters that mark it as data from outside, not instructions."""
    inner = bound(text, limit).replace("<<<", "< < <").replace(">>>", "> > >")
    return f"<<<untrusted data: {inner}>>>"
