"""The ledger: what makes single flight, `no_new_feedback`, idempotent applies and reverts work
across calls, processes and restarts. Workflows see only the `Ledger` interface and its row
models; a backend (SQLite, embedded) implements it."""

from __future__ import annotations


class LedgerUnavailable(Exception):
    """The ledger's storage failed (disk, permissions, a lock held past its timeout, a database
    that cannot be reached). Backend-neutral: callers never see a driver's own exception."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")


__all__ = ["LedgerUnavailable"]
