"""Reading Cekura's answers: JSON bodies and typed models (`Reply`), typed errors, and short safe
excerpts of anything else.

Every text that ends up in an exception passes through a `redact` function supplied by the client,
so the API key never appears even if Cekura (or a proxy) echoes it back.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .errors import (
    CekuraAuthError,
    CekuraBadRequest,
    CekuraHTTPError,
    CekuraMalformedResponse,
    CekuraNotFound,
    CekuraRateLimited,
    CekuraServerError,
)
from .retry import parse_retry_after

log = logging.getLogger("cekura_optimise.client")

Redact = Callable[[str], str]
M = TypeVar("M", bound=BaseModel)

EXCERPT_CHARS = 200
DETAIL_CHARS = 1000
MESSAGE_DETAIL_CHARS = 400

_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def excerpt(raw: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A one-line, tag-free, bounded excerpt of a body we could not read as JSON."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text[:20_000]  # never scan a whole huge page
    text = _COMMENT.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text))
    text = html.unescape(_TAG.sub(" ", text))
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    return _shorten(text, limit)


def _html_title(raw: bytes) -> str | None:
    match = _TITLE.search(raw[:20_000].decode("utf-8", errors="replace"))
    if not match:
        return None
    return excerpt(match.group(1), 120) or None


class NotJSON(ValueError):
    """The body is empty or not valid JSON."""


def decode_json(content: bytes) -> Any:
    """The JSON value of a body; `NotJSON` when it is empty, truncated or not JSON at all."""
    if not content.strip():
        raise NotJSON("empty body")
    try:
        return json.loads(content)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise NotJSON(str(exc)) from None


def _plain(value: Any, limit: int = DETAIL_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return _shorten(_SPACE.sub(" ", _CONTROL.sub(" ", text)).strip(), limit)


def _flatten_field_errors(value: Any, prefix: str, out: dict[str, list[str]]) -> None:
    """DRF validation errors, nested serializers included, as `{"a.0.b": [msg, ...]}`."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten_field_errors(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for index, inner in enumerate(value):
            if inner:  # DRF list errors put {} at positions that were fine
                _flatten_field_errors(inner, f"{prefix}.{index}" if prefix else str(index), out)
    elif isinstance(value, list):
        out.setdefault(prefix, []).extend(_plain(v) for v in value)
    elif value is not None:
        out.setdefault(prefix, []).append(_plain(value))


def _read_error_body(status: int, content: bytes) -> tuple[str | None, dict[str, list[str]], str]:
    """(detail, field_errors, excerpt) from an error body of any shape."""
    try:
        body = decode_json(content)
    except NotJSON:
        title = _html_title(content) if b"<" in content[:2000] else None
        text = excerpt(content)
        if title and not text.startswith(title):
            text = _shorten(f"{title}: {text}", EXCERPT_CHARS)
        return None, {}, text
    if not isinstance(body, dict):
        return (_plain(body) if body not in (None, "", []) else None), {}, ""
    detail: str | None = None
    for key in ("detail", "error", "message"):
        if isinstance(body.get(key), str) and body[key].strip():
            detail = _plain(body[key])
            break
    non_field = body.get("non_field_errors")
    if detail is None and isinstance(non_field, list) and non_field:
        detail = _plain("; ".join(_plain(m) for m in non_field))
    field_errors: dict[str, list[str]] = {}
    if status == 400:
        rest = {
            k: v
            for k, v in body.items()
            if k not in ("detail", "non_field_errors") and not str(k).startswith("_")
        }
        if detail is not None and set(rest) <= {"error", "message"}:
            rest = {}
        _flatten_field_errors(rest, "", field_errors)
    return detail, field_errors, ""


def _describe(detail: str | None, field_errors: dict[str, list[str]], body_excerpt: str) -> str:
    parts = [f"{field}: {' '.join(msgs)}" for field, msgs in field_errors.items()]
    if detail:
        parts.insert(0, detail)
    if not parts and body_excerpt:
        parts.append(f"non-JSON answer: {body_excerpt}")
    return _shorten("; ".join(parts), MESSAGE_DETAIL_CHARS)


def error_for_response(
    method: str,
    path: str,
    response: httpx.Response,
    *,
    attempts: int,
    redact: Redact,
    note: str = "",
) -> CekuraHTTPError:
    """The typed error for a non-2xx answer. Its message is plain words, bounded, key-free."""
    status = response.status_code
    detail, field_errors, body_excerpt = _read_error_body(status, response.content)
    detail = redact(detail) if detail is not None else None
    field_errors = {redact(k): [redact(m) for m in v] for k, v in field_errors.items()}
    body_excerpt = redact(body_excerpt)
    said = _describe(detail, field_errors, body_excerpt)
    where = f"{method} {path}"
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    retry_after: float | None = None
    cls: type[CekuraHTTPError]
    if status == 400:
        cls, text = CekuraBadRequest, f"Cekura rejected the request to {where} (400)"
    elif status == 401:
        cls = CekuraAuthError
        text = (
            f"Cekura did not accept the API key for {where} (401): "
            "the key is missing, wrong or revoked"
        )
    elif status == 403:
        cls = CekuraAuthError
        text = (
            f"Cekura refused {where} (403): the API key lacks permission "
            "(for example a read-only or project-scoped key)"
        )
    elif status == 404:
        cls, text = CekuraNotFound, f"Cekura found nothing at {where} (404)"
    elif status == 429:
        cls = CekuraRateLimited
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = f"; it asked to wait {retry_after:g} s" if retry_after is not None else ""
        text = f"Cekura rate-limited {where} (429){tries}{wait}"
    elif status >= 500:
        cls = CekuraServerError
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        text = f"Cekura failed with a server error on {where} ({status}){tries}"
    elif 300 <= status < 400:
        cls = CekuraHTTPError
        location = excerpt(response.headers.get("Location", ""), 120)
        text = (
            f"Cekura redirected {where} ({status}) to {location or 'another address'}; "
            "redirects are not followed (they drop request bodies), check the base URL"
        )
    else:
        cls, text = CekuraHTTPError, f"Cekura refused {where} ({status})"
    if said:
        text = f"{text}: {said}"
    if note:
        text = f"{text}. {note}"
    return cls(
        status,
        redact(text),
        detail=detail,
        field_errors=field_errors,
        retry_after=retry_after,
        method=method,
        path=path,
    )


def malformed(
    method: str, path: str, problem: str, *, content: bytes | str = b"", redact: Redact
) -> CekuraMalformedResponse:
    """The error for a 2xx answer we cannot use."""
    body_excerpt = redact(excerpt(content)) if content else ""
    text = f"Cekura's answer to {method} {path} could not be read: {problem}"
    if body_excerpt:
        text = f"{text} (body starts: {body_excerpt})"
    return CekuraMalformedResponse(
        redact(text), body_excerpt=body_excerpt, method=method, path=path
    )


def validation_problem(exc: ValidationError, limit: int = 5) -> str:
    """Which fields were missing or wrong, without echoing the (possibly huge) input values."""
    problems = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        problems.append(f"{where} ({err['msg'].lower()})")
    more = len(exc.errors()) - limit
    suffix = f" and {more} more" if more > 0 else ""
    return "missing or wrong fields: " + ", ".join(problems) + suffix


def to_model(cls: type[M], data: Any, *, method: str, path: str, redact: Redact) -> M:
    """`cls.model_validate(data)`, with a readable `CekuraMalformedResponse` on failure."""
    if not isinstance(data, dict):
        raise malformed(
            method, path, f"expected a JSON object, got {type(data).__name__}", redact=redact
        )
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise malformed(method, path, validation_problem(exc), redact=redact) from None


@dataclass(frozen=True)
class Reply:
    """A 2xx answer to one call, with the readers that turn its body into typed values."""

    method: str
    path: str
    response: httpx.Response
    redact: Redact

    def json(self) -> Any:
        """The JSON body; `CekuraMalformedResponse` when it is empty or not JSON."""
        try:
            return decode_json(self.response.content)
        except NotJSON as exc:
            problem = "empty body" if str(exc) == "empty body" else "not valid JSON"
            raise malformed(
                self.method, self.path, problem, content=self.response.content, redact=self.redact
            ) from None

    def optional_json(self) -> Any:
        """For answers whose body is undocumented: empty (None) or any JSON is fine, HTML is not."""
        if not self.response.content.strip():
            return None
        return self.json()

    def parse(self, cls: type[M], data: Any) -> M:
        """`data` (part of this answer) as a `cls`, or a readable malformed-response error."""
        return to_model(cls, data, method=self.method, path=self.path, redact=self.redact)

    def model(self, cls: type[M]) -> M:
        """The body as one `cls`."""
        return self.parse(cls, self.json())

    def models(self, cls: type[M]) -> list[M]:
        """The body as a bare array of `cls`; a paginated `{results: [...]}` is tolerated."""
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            data = data["results"]
        if not isinstance(data, list):
            problem = f"expected a JSON array, got {type(data).__name__}"
            raise malformed(self.method, self.path, problem, redact=self.redact)
        return [self.parse(cls, item) for item in data]

    def progress_id(self) -> str:
        """`{"progress_id": ...}` of a job start, with `job_id` accepted as a fallback (§3.1)."""
        data = self.json()
        if isinstance(data, dict):
            for key in ("progress_id", "job_id"):
                value = data.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                if isinstance(value, str) and value.strip():
                    log.debug("%s %s: progress_id %s", self.method, self.path, value.strip())
                    return value.strip()
        raise malformed(self.method, self.path, "no progress_id in the answer", redact=self.redact)

    def progress(self, parse: Callable[[Any], M]) -> M:
        """The body read by a progress parser, its failure reported against this call."""
        try:
            return parse(self.json())
        except CekuraMalformedResponse as exc:
            raise malformed(
                self.method,
                self.path,
                exc.message.removeprefix("progress body could not be read: "),
                content=exc.body_excerpt,
                redact=self.redact,
            ) from None
