"""Checking a Cekura API key at consent: one cheap authenticated GET (the project's metric list).

The verdict says whose move it is: the key is malformed or refused (the person fixes it), or
Cekura could not be asked (try again later). Messages never contain the key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import httpx

MAX_KEY_CHARS = 512


@dataclass(frozen=True)
class KeyVerdict:
    outcome: Literal["ok", "invalid", "rejected", "unavailable"]
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


KeyChecker = Callable[[str], Awaitable[KeyVerdict]]


def normalise_key(text: str) -> tuple[str, KeyVerdict | None]:
    """The pasted key without surrounding blanks, or a verdict on why it cannot be a key."""
    key = text.strip()
    if not key:
        return key, KeyVerdict("invalid", "Paste your Cekura API key.")
    if len(key) > MAX_KEY_CHARS or not key.isprintable() or any(c.isspace() for c in key):
        return key, KeyVerdict(
            "invalid",
            "That does not look like a Cekura API key: a key is one word with no spaces. "
            "Copy it again from Cekura (Settings → API Keys).",
        )
    return key, None


def cekura_key_checker(
    base_url: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> KeyChecker:
    """A checker that asks Cekura at `base_url` whether a key is accepted."""

    async def check(key: str) -> KeyVerdict:
        from tools.cekura.client import CekuraClient
        from tools.cekura.errors import CekuraAuthError, CekuraError

        try:
            client = CekuraClient(
                key, base_url, transport=transport, timeout_s=10, deadline_s=20, max_attempts=2
            )
        except ValueError:
            return KeyVerdict("invalid", "That does not look like a Cekura API key.")
        try:
            async with client:
                await client.list_metrics()
        except CekuraAuthError as exc:
            return KeyVerdict(
                "rejected",
                f"Cekura rejected this API key ({exc.status}). Check that you copied a project "
                "API key from Cekura (Settings → API Keys) and that it has not been revoked.",
            )
        except CekuraError:
            return KeyVerdict(
                "unavailable",
                "Could not check the key with Cekura just now (Cekura did not answer or failed). "
                "Nothing was saved; try again in a minute.",
            )
        return KeyVerdict("ok")

    return check
