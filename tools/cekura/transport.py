"""Sending one call to Cekura: attempts, waits, the call's deadline and the typed error at the end.

Whether a failure is worth another attempt is `endpoints.RETRY_TABLE`'s decision, per endpoint.
The API key is sent only in the `X-CEKURA-API-KEY` header. It is never logged, and every error
message is scrubbed of it, even if Cekura echoes it back.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from .endpoints import Retry, retry_rule
from .errors import CekuraHTTPError, CekuraOutcomeUnknown, CekuraTransportError
from .responses import Reply, error_for_response, excerpt
from .retry import RETRYABLE_STATUSES, Deadline, backoff_delay
from .tally import note_retry

log = logging.getLogger("cekura_optimise.client")

_NO_BODY: Any = object()

# Failures where the request certainly never reached Cekura.
_UNSENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
# Failures that another attempt cannot fix (a bad URL or a request httpx refuses to send).
_PERMANENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def _check_settings(
    api_key: str,
    base_url: str,
    *,
    timeout_s: float,
    deadline_s: float,
    max_attempts: int,
    backoff_initial_s: float,
    backoff_max_s: float,
) -> str:
    """The normalised base URL, after refusing unusable settings (without echoing the key)."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise ValueError("api_key must be a non-empty string")
    if not api_key.isprintable() or any(c.isspace() for c in api_key):
        raise ValueError("api_key must not contain spaces or control characters")
    base = str(base_url).strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError("base_url must start with https:// or http://")
    for name, value in (
        ("timeout_s", timeout_s),
        ("deadline_s", deadline_s),
        ("backoff_max_s", backoff_max_s),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds")
    if not (isinstance(backoff_initial_s, int | float) and backoff_initial_s >= 0):
        raise ValueError("backoff_initial_s must be zero or a positive number of seconds")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError("max_attempts must be an integer of at least 1")
    return base


class Redactor:
    """Blanks the API key out of text bound for an error message or a log line."""

    def __init__(self, key: str) -> None:
        self._key = key
        self._alone = re.compile(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])")

    def __call__(self, text: str) -> str:
        """`text` without the key; a short key only where it stands alone, so that a test key
        like "abc" does not mangle ordinary words."""
        if self._key not in text:
            return text
        if len(self._key) >= 8:
            return text.replace(self._key, "[redacted]")
        return self._alone.sub("[redacted]", text)


@dataclass
class _Call:
    """One call in progress: what is sent, its retry rule and deadline, and how it has gone."""

    method: str
    path: str
    params: dict[str, Any] | None
    body: Any
    retry: Retry
    deadline: Deadline
    attempts: int = 0
    maybe_acted: bool = False  # an earlier attempt may have reached Cekura


def _host_port(base_url: str) -> str:
    """'api.cekura.ai:443': where the calls go, for messages (the scheme's port when none given;
    never any user or password the URL carries)."""
    url = httpx.URL(base_url)
    port = url.port or {"https": 443, "http": 80}.get(url.scheme, 0)
    return f"{url.host}:{port}"


def _fill(template: str, path_args: Mapping[str, object] | None) -> str:
    """The concrete path: each `{name}` in the template replaced by its URL-quoted value."""
    return template.format(**{k: quote(str(v), safe="") for k, v in (path_args or {}).items()})


class Transport:
    """One shared HTTP connection pool to Cekura and the rules for sending a call over it.

    At most `max_in_flight` requests are on the wire at once (many workflows share one client).
    `sleep` and `clock` exist so tests can run retries and deadlines without waiting.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None,
        timeout_s: float,
        deadline_s: float,
        max_attempts: int,
        backoff_initial_s: float,
        backoff_max_s: float,
        sleep: Callable[[float], Awaitable[None]],
        user_agent: str,
        clock: Callable[[], float],
        max_in_flight: int,
    ) -> None:
        self.base_url = _check_settings(
            api_key,
            base_url,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            max_attempts=max_attempts,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
        )
        self.redact = Redactor(api_key)
        self.host = _host_port(self.base_url)
        self._timeout_s = float(timeout_s)
        self._deadline_s = float(deadline_s)
        self._max_attempts = max_attempts
        self._backoff_initial_s = float(backoff_initial_s)
        self._backoff_max_s = float(backoff_max_s)
        self._sleep = sleep
        self._clock = clock
        self._in_flight = anyio.CapacityLimiter(max_in_flight)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "X-CEKURA-API-KEY": api_key,
                "Accept": "application/json",
                "X-Client-Source": "mcp",
                "User-Agent": user_agent,
            },
            transport=transport,
            timeout=self._timeout_s,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def send(
        self,
        method: str,
        template: str,
        *,
        path_args: Mapping[str, object] | None = None,
        params: dict[str, Any] | None = None,
        body: Any = _NO_BODY,
    ) -> Reply:
        """One call to an endpoint of the retry table; returns its 2xx answer."""
        retry = retry_rule(method, template)
        deadline = Deadline(self._deadline_s, self._clock)
        call = _Call(method, _fill(template, path_args), params, body, retry, deadline)
        while True:
            call.attempts += 1
            outcome = await self._attempt(call)
            if isinstance(outcome, httpx.Response):
                if self._accepted(call, outcome):
                    return Reply(call.method, call.path, outcome, self.redact)
                failure = self._status_failure(call, outcome)
                delay, reason = failure.retry_after, f"Cekura answered {outcome.status_code}"
            else:
                failure, delay = self._transport_failure(call, outcome), None
                reason = self._describe_transport(outcome)
            await self._pause_before_retry(call, failure, delay, reason)

    async def _attempt(self, call: _Call) -> httpx.Response | httpx.TransportError | TimeoutError:
        """One HTTP exchange, bounded by the per-request timeout and the call's deadline.
        A transport failure is returned, not raised, so that the error raised for it is not
        chained to httpx's (whose text can carry header values)."""
        remaining = call.deadline.remaining()
        started = self._clock()
        try:
            async with self._in_flight:
                with anyio.fail_after(max(remaining, 0.0)):
                    response = await self._http.request(
                        call.method,
                        call.path,
                        params=call.params,
                        json=None if call.body is _NO_BODY else call.body,
                        timeout=min(self._timeout_s, max(remaining, 0.001)),
                    )
        except (httpx.TransportError, TimeoutError) as exc:
            return exc
        elapsed = self._clock() - started
        log.debug(
            "%s %s -> %d in %.2fs (attempt %d)",
            call.method,
            call.path,
            response.status_code,
            elapsed,
            call.attempts,
        )
        return response

    def _accepted(self, call: _Call, response: httpx.Response) -> bool:
        """Whether this answer ends the call successfully."""
        if 200 <= response.status_code < 300:
            return True
        gone = response.status_code == 404 and call.retry is Retry.SAFE_GONE_IS_DONE
        if gone and call.maybe_acted:
            log.warning("%s %s: already gone after an unanswered attempt", call.method, call.path)
            return True
        return False

    def _status_failure(self, call: _Call, response: httpx.Response) -> CekuraHTTPError:
        """The error for an error status; raised at once unless another attempt may help."""
        status = response.status_code
        repeatable = call.retry is not Retry.NEVER
        note = ""
        if status >= 500 and not repeatable:
            note = "Not retried: Cekura may or may not have acted on the request"
        error = error_for_response(
            call.method, call.path, response, attempts=call.attempts, redact=self.redact, note=note
        )
        if not repeatable or status not in RETRYABLE_STATUSES:
            raise error
        call.maybe_acted = call.maybe_acted or status >= 500
        return error

    def _transport_failure(self, call: _Call, exc: BaseException) -> CekuraTransportError:
        """The error for an attempt with no answer; raised at once unless another may help."""
        what = self._describe_transport(exc)
        unsent = isinstance(exc, _UNSENT)
        repeatable = call.retry is not Retry.NEVER
        where = f"{call.method} {call.path}"
        if not repeatable and not unsent:
            log.warning("%s: %s; outcome unknown, not retried", where, what)
            raise CekuraOutcomeUnknown(
                f"Sent {where} to {self.host} but got no answer: {what}. Cekura may or may not "
                "have acted on it; check before trying again (repeating it blindly could start a "
                "second job).",
                method=call.method,
                path=call.path,
                host=self.host,
            )
        tries = f" after {call.attempts} attempts" if call.attempts > 1 else ""
        failure = CekuraTransportError(
            f"Could not reach Cekura at {self.host} for {where}{tries}: {what}",
            method=call.method,
            path=call.path,
            host=self.host,
        )
        if not repeatable or isinstance(exc, _PERMANENT):
            raise failure
        call.maybe_acted = call.maybe_acted or not unsent
        return failure

    def _describe_transport(self, exc: BaseException) -> str:
        """A short, key-free description of a failure to get an answer, in words (no class
        names: a person reads it in a log line or an error)."""
        if isinstance(exc, TimeoutError):
            return "no answer before the call's deadline"
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
        said = self.redact(excerpt(str(exc), 120))
        return f"{kind} ({said})" if said else kind

    async def _pause_before_retry(
        self,
        call: _Call,
        failure: CekuraHTTPError | CekuraTransportError,
        delay: float | None,
        reason: str,
    ) -> None:
        """Wait before the next attempt (one WARNING line saying why), or raise `failure` when
        attempts or time run out (at DEBUG: the caller reports the failure itself)."""
        if call.attempts >= self._max_attempts:
            log.debug("%s %s: giving up after %d attempts", call.method, call.path, call.attempts)
            raise failure
        if delay is None:
            delay = backoff_delay(
                call.attempts, initial_s=self._backoff_initial_s, max_s=self._backoff_max_s
            )
        if delay >= call.deadline.remaining():
            log.debug(
                "%s %s: giving up; waiting %.1fs would pass the %gs deadline",
                call.method,
                call.path,
                delay,
                self._deadline_s,
            )
            raise failure
        log.warning(
            "%s %s at %s: %s; retrying in %.1fs (attempt %d of %d)",
            call.method,
            call.path,
            self.host,
            reason,
            delay,
            call.attempts + 1,
            self._max_attempts,
        )
        note_retry()
        await self._sleep(delay)
