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
    return f"<<<untrusted data: {_defuse(bound(text, limit))}>>>"


BLOCK_OPEN = "<<<untrusted data:"
BLOCK_CLOSE = ">>>"


def _defuse(text: str) -> str:
    return text.replace("<<<", "< < <").replace(">>>", "> > >")


def quote_untrusted_block(text: str) -> str:
    """Multi-line `text` (already bounded) between delimiter lines, for diffs of optimiser output."""
    return f"{BLOCK_OPEN}\n{_defuse(text)}\n{BLOCK_CLOSE}"


def unquote_block(text: str) -> str:
    """The text inside `quote_untrusted_block`'s delimiter lines, for showing it to a person."""
    lines = text.splitlines()
    if len(lines) >= 2 and lines[0] == BLOCK_OPEN and lines[-1] == BLOCK_CLOSE:
        return "\n".join(lines[1:-1])
    return text
