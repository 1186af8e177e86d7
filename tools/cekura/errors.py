"""Typed failures of the Cekura API. They carry the status and Cekura's words, never the API key."""

from __future__ import annotations

from typing import Any


class CekuraError(Exception):
    """Base of every failure talking to Cekura."""

    retry_helps: bool = False

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path


class CekuraHTTPError(CekuraError):
    """Cekura answered with an error status. `detail` is its `{detail}` text, `field_errors` its
    `{field: [msg]}` validation dict; both are untrusted text."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        detail: str | None = None,
        field_errors: dict[str, list[str]] | None = None,
        retry_after: float | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status = status
        self.detail = detail
        self.field_errors = field_errors or {}
        self.retry_after = retry_after


class CekuraBadRequest(CekuraHTTPError):
    """400: the request was wrong; `field_errors` says which field."""


class CekuraAuthError(CekuraHTTPError):
    """401 or 403: the key is missing, wrong, or lacks permission."""


class CekuraNotFound(CekuraHTTPError):
    """404: no such metric, progress id or history row."""


class CekuraRateLimited(CekuraHTTPError):
    """429 after retries ran out; `retry_after` is Cekura's wait in seconds, if it gave one."""

    retry_helps = True


class CekuraServerError(CekuraHTTPError):
    """5xx after retries ran out: Cekura's fault; trying later may help."""

    retry_helps = True


class CekuraTransportError(CekuraError):
    """The request never got an answer (connection refused, reset, timeout) and was not retried
    further, either because retries ran out or because repeating it would not be safe. `host` is
    the `host:port` it tried."""

    retry_helps = True

    def __init__(self, message: str, *, method: str = "", path: str = "", host: str = "") -> None:
        super().__init__(message, method=method, path=path)
        self.host = host


class CekuraOutcomeUnknown(CekuraTransportError):
    """A non-idempotent POST (process_feedbacks, run_reviews, a preview, a re-evaluation, a vote)
    was sent but no answer came back: Cekura may or may not have acted on it. It must not be
    retried blindly."""


class CekuraMalformedResponse(CekuraError):
    """Cekura answered 2xx with a body we cannot read (HTML, truncated JSON, missing fields)."""

    def __init__(self, message: str, *, body_excerpt: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.body_excerpt = body_excerpt
