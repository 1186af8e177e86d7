"""Failures a workflow reports to its caller in plain words: what happened and what to do next."""

from __future__ import annotations


class WorkflowError(Exception):
    """A problem the caller can act on (bad input, unknown proposal, refused key). Nothing was
    changed unless the message says so."""


def check_metric_id(metric_id: object) -> int:
    """A metric id must be a positive integer that fits Cekura's ids."""
    if isinstance(metric_id, bool) or not isinstance(metric_id, int):
        raise WorkflowError(f"metric_id must be a whole number, got {metric_id!r}.")
    if metric_id <= 0 or metric_id > 2**31 - 1:
        raise WorkflowError(f"metric_id must be between 1 and 2147483647, got {metric_id}.")
    return metric_id


def ledger_failure_text(exc: Exception) -> str:
    """What to tell the caller when the local SQLite ledger itself fails (disk, permissions, or
    another process holding it past the busy timeout)."""
    return (
        f"cekura-optimise's local ledger failed ({type(exc).__name__}: {exc}). Another "
        "cekura-optimise process may have held it for over 30 s, or its folder is not writable "
        "(set CEKURA_OPTIMISE_STATE_DIR to move it). Try again; if an apply or revert was under "
        "way, check the metric's history in Cekura first."
    )
