"""ASGI middleware that logs every request the sandbox receives and injects the planned HTTP faults.

A dropped connection is real on loopback: the response starts with a Content-Length and the
connection closes before the body. In-process, `ConnectionDropped` reaches the transport, which
turns it into an httpx transport error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.contract import METRIC_PATH_ROUTES
from sandbox.faults import Fault
from sandbox.state import RequestRecord, SandboxState
from sandbox.web import SERVER_ERROR_PAGE

log = logging.getLogger("sandbox.requests")

Resolver = Callable[[Scope], tuple[str | None, dict[str, Any]]]

_MAINTENANCE_PAGE = (
    "<!doctype html>\n<html><head><title>Scheduled maintenance</title></head>\n"
    "<body><h1>We'll be right back</h1><p>The service is undergoing scheduled maintenance."
    "</p></body></html>\n"
)


class ConnectionDropped(Exception):
    """Raised after a response has started, so the server closes the connection mid-response."""


class SandboxMiddleware:
    """Outermost layer: read the body, log the request, apply a fault or pass it to the routes."""

    def __init__(self, app: ASGIApp, state: SandboxState, resolve: Resolver) -> None:
        self.app = app
        self.state = state
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | str = "dropped"
        try:
            record = await self._handle(scope, receive, send)
            status = record.status if record.status is not None else status
        finally:
            took = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.0fms", scope["method"], scope["path"], status, took)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> RequestRecord:
        """Serve one request (or its planned fault); the record says what it got."""
        body = await _read_body(receive)
        route, params = self.resolve(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        parsed = _json_or_none(body)
        record = RequestRecord(
            method=scope["method"],
            path=scope["path"],
            route=route,
            metric_id=self._metric_id(route, params, parsed, query),
            body=parsed,
            query=query,
        )
        self.state.requests.append(record)
        fault = self.state.faults.take(route, scope["method"], record.metric_id)
        record.fault = fault.kind if fault else None
        if fault and fault.kind == "latency":
            await anyio.sleep(fault.delay_s)
            fault = None
        if fault and fault.kind in ("429", "5xx", "html", "drop"):
            record.status = await _send_fault(fault, send)
            return record
        captured: list[Message] = []

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                record.effective = route is not None and message["status"] < 400
            if fault is None:
                await send(message)
            else:
                captured.append(message)

        await self.app(scope, replay, capture)
        if fault is not None:
            await _send_broken(fault, captured, send)
        return record

    def _metric_id(
        self, route: str | None, params: dict[str, Any], body: Any, query: dict[str, str]
    ) -> int | None:
        """The metric a request concerns: from a metric path, a Lab row's path, the body, or
        its progress id's run."""
        if route is None:
            return None
        if "id" in params and route in METRIC_PATH_ROUTES:
            metric = self.state.find_metric(str(params["id"]))
            return metric["id"] if metric else None
        if route == "review_patch" and str(params.get("id", "")).isdigit():
            review = self.state.lab.review(int(params["id"]))
            return review["metric"] if review else None
        if isinstance(body, dict) and isinstance(body.get("metric_id"), int):
            return body["metric_id"]
        named = _named_metrics(body)
        if len(named) == 1:
            return named[0]
        progress_id = query.get("progress_id") or (
            body.get("progress_id") if isinstance(body, dict) else None
        )
        job = self.state.optimiser_jobs.get(str(progress_id)) or self.state.run_jobs.get(
            str(progress_id)
        )
        return job.metric_id if job else None


def _named_metrics(body: Any) -> list[int]:
    """The metric ids a create_from_call_log body names (`metrics: [{metric}]`)."""
    items = body.get("metrics") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [i["metric"] for i in items if isinstance(i, dict) and isinstance(i.get("metric"), int)]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


async def _send_fault(fault: Fault, send: Send) -> int | None:
    """Answer in place of the routes; returns the status sent (None for a dropped connection)."""
    if fault.kind == "drop":
        await _start(send, 200, "application/json", 512)
        raise ConnectionDropped("connection dropped before the request was processed")
    status = fault.status or 503
    if fault.kind == "429":
        wait = f"{fault.retry_after:g}"
        body = json.dumps(
            {"detail": f"Request was throttled. Expected available in {wait} seconds."}
        ).encode()
        await _start(send, 429, "application/json", len(body), [(b"retry-after", wait.encode())])
    else:
        page = SERVER_ERROR_PAGE.format(status=status) if fault.kind == "5xx" else _MAINTENANCE_PAGE
        body = page.encode()
        await _start(send, status, "text/html; charset=utf-8", len(body))
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return status


async def _send_broken(fault: Fault, captured: list[Message], send: Send) -> None:
    """Deliver a processed response broken: dropped after its headers, or its JSON cut short."""
    start = next(m for m in captured if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    if fault.kind == "drop_after":
        await send(
            {
                "type": "http.response.start",
                "status": start["status"],
                "headers": [*headers, (b"content-length", str(max(len(body), 1)).encode())],
            }
        )
        raise ConnectionDropped("connection dropped after the request was processed")
    cut = body[: len(body) // 2]
    await send(
        {
            "type": "http.response.start",
            "status": start["status"],
            "headers": [*headers, (b"content-length", str(len(cut)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": cut, "more_body": False})


async def _start(
    send: Send,
    status: int,
    content_type: str,
    length: int,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(length).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
