"""Plain-words explanations of Cekura failures that say whose move it is."""

from __future__ import annotations

from tools.cekura.errors import (
    CekuraAuthError,
    CekuraBadRequest,
    CekuraError,
    CekuraMalformedResponse,
    CekuraNotFound,
    CekuraOutcomeUnknown,
    CekuraRateLimited,
    CekuraServerError,
    CekuraTransportError,
)
from tools.untrusted import quote_untrusted


def explain(exc: CekuraError, doing: str) -> str:
    """One message: what failed while `doing`, Cekura's words (quoted as data), and the next step."""
    if isinstance(exc, CekuraAuthError):
        return (
            f"Cekura refused the API key while {doing} ({exc.status}). Check the key "
            "(CEKURA_API_KEY, or reconnect the connector): it must be a project key with write "
            "access for this metric's project."
        )
    if isinstance(exc, CekuraNotFound):
        return f"Cekura has no such resource while {doing} (404). Check the id and try again."
    if isinstance(exc, CekuraBadRequest):
        words = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.field_errors.items())
        words = words or exc.detail or "no detail given"
        return (
            f"Cekura rejected the request while {doing} (400): {quote_untrusted(words, 300)}. "
            "Fix the input it names and try again."
        )
    if isinstance(exc, CekuraRateLimited):
        wait = f" for {exc.retry_after:.0f}s" if exc.retry_after else ""
        return f"Cekura is rate limiting us while {doing}. Wait{wait} and call again."
    if isinstance(exc, CekuraServerError):
        return (
            f"Cekura failed on its side while {doing} ({exc.status}). Nothing to fix here; "
            "retrying later usually helps."
        )
    if isinstance(exc, CekuraOutcomeUnknown):
        return (
            f"No answer came back from Cekura while {doing}: the request may or may not have taken "
            "effect, so it was not repeated."
        )
    if isinstance(exc, CekuraTransportError):
        at = f" at {exc.host}" if exc.host else ""
        return (
            f"Could not reach Cekura{at} while {doing}. Check the network or CEKURA_BASE_URL and "
            "retry."
        )
    if isinstance(exc, CekuraMalformedResponse):
        if exc.method in ("GET", "HEAD", ""):
            outcome = "Nothing was changed"
        else:
            outcome = (
                "The request may have taken effect, so it was not repeated; check before retrying"
            )
        return (
            f"Cekura sent a response we cannot read while {doing}. {outcome}; try again later, "
            "and report it if it persists."
        )
    return f"Talking to Cekura failed while {doing}: {exc.message}"
