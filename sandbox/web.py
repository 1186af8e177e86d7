"""HTTP helpers for the routes: Cekura's error bodies, JSON bodies, ids from paths and queries."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

if TYPE_CHECKING:
    from sandbox.state import SandboxState

Handler = Callable[[Request, "SandboxState"], Awaitable[Response]]
NOT_FOUND = {"detail": "Not found."}
MAX_PAGE_SIZE = 200
# Django's page for an unhandled exception with DEBUG off (Cekura's 5xx bodies are undefined).
SERVER_ERROR_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head><title>Server Error ({status})</title></head>\n'
    "<body><h1>Server Error ({status})</h1><p></p></body>\n</html>\n"
)


class ApiError(Exception):
    """An error response with Cekura's status and body (`{detail}` or DRF `{field: [msg]}`)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


def field_error(field: str, message: str) -> ApiError:
    return ApiError(400, {field: [message]})


def ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def read_object(request: Request) -> dict[str, Any]:
    """The JSON object body; an empty body counts as `{}` (DRF's empty data)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, {"detail": f"JSON parse error - {exc}"}) from None
    if not isinstance(body, dict):
        kind = "list" if isinstance(body, list) else type(body).__name__
        raise ApiError(
            400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
        )
    return body


def metric_from_path(request: Request, state: SandboxState, *, slug_ok: bool) -> dict[str, Any]:
    """The metric named by `{id}`: integer ids always, slugs only where Cekura accepts them."""
    key = str(request.path_params["id"])
    if not key.isdigit() and not slug_ok:
        raise not_found()
    metric = state.find_metric(key)
    if metric is None:
        raise not_found()
    return metric


def required_query(request: Request, name: str) -> str:
    value = request.query_params.get(name, "")
    if not value:
        raise field_error(name, "This field is required.")
    return value


def optional_int_query(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not value.lstrip("-").isdigit():
        raise field_error(name, "A valid integer is required.")
    return int(value)


def server_error() -> Response:
    """A 500 as Django sends it when a view crashes: an HTML page, not JSON."""
    return HTMLResponse(SERVER_ERROR_PAGE.format(status=500), status_code=500)


def page_of(request: Request, rows: list[Any], default_size: int) -> dict[str, Any]:
    """DRF page-number pagination over `rows`: `{count, next, previous, results}` with absolute
    links; a page past the end (or not a number) is a 404 "Invalid page."."""
    size = default_size
    size_text = request.query_params.get("page_size") or ""
    if size_text.isdigit() and int(size_text) > 0:
        size = min(int(size_text), MAX_PAGE_SIZE)
    page_text = request.query_params.get("page") or "1"
    pages = max(1, -(-len(rows) // size))
    if not page_text.isdigit() or not 1 <= int(page_text) <= pages:
        raise ApiError(404, {"detail": "Invalid page."})
    page = int(page_text)
    url = request.url
    previous = None
    if page == 2:
        previous = str(url.remove_query_params("page"))
    elif page > 2:
        previous = str(url.include_query_params(page=page - 1))
    return {
        "count": len(rows),
        "next": str(url.include_query_params(page=page + 1)) if page < pages else None,
        "previous": previous,
        "results": rows[(page - 1) * size : page * size],
    }
