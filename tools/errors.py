"""Failures a workflow reports to its caller in plain words: what happened and what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.ledger import LedgerUnavailable


class WorkflowError(Exception):
    """A problem the caller can act on (bad input, unknown proposal, refused key). Nothing was
    changed unless the message says so."""


def read_only_refusal(tool: str) -> WorkflowError:
    """The refusal a tool that changes Cekura gives in read-only mode, before sending anything."""
    return WorkflowError(
        f"The server is in read-only mode (CEKURA_OPTIMISE_READ_ONLY); {tool} refused and "
        "nothing was sent."
    )


def ledger_failure_text(exc: LedgerUnavailable) -> str:
    """What to tell the caller when the local ledger itself fails (disk, permissions, or another
    process holding it past the busy timeout)."""
    return (
        f"cekura-optimise's local ledger failed ({exc}). Another "
        "cekura-optimise process may have held it for over 30 s, or its folder is not writable "
        "(set CEKURA_OPTIMISE_STATE_DIR to move it). Try again; if an apply or revert was under "
        "way, check the metric's history in Cekura first."
    )
