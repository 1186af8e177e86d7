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
