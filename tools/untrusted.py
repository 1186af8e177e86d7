"""Text from outside (transcripts, feedback, optimiser output, Cekura's errors) reaches the model
bounded in size and inside clear delimiters, as data rather than instructions."""

from __future__ import annotations

import re


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


_MARKED = re.compile(
    re.escape(BLOCK_OPEN)
    + r"(?:\n(?P<block>.*?)\n"
    + re.escape(BLOCK_CLOSE)
    + r"| (?P<inline>.*?)"
    + re.escape(BLOCK_CLOSE)
    + ")",
    re.DOTALL,
)


def unmark(text: str) -> str:
    """`text` with every marker `quote_untrusted` and `quote_untrusted_block` put in removed and
    the words inside restored as they came: what people and programs read (the bound stays)."""

    def plain(match: re.Match[str]) -> str:
        inner = match.group("block") if match.group("block") is not None else match["inline"]
        return inner.replace("< < <", "<<<").replace("> > >", ">>>")

    return _MARKED.sub(plain, text)
