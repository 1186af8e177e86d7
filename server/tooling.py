"""What every MCP tool shares: registering it with its docstring as description, truthful
annotations, and running one workflow for the caller with progress forwarded and failures turned
into ToolError text the model can act on."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from server.report import as_tool_result
from server.runtime import Runtime
from tools.inputs import MetricId

MetricIdArg = MetricId
"""A tool's `metric_id`: its name says all, so no description spends the model's context."""
T = TypeVar("T")


def hints(
    *, read_only: bool = False, destructive: bool = False, idempotent: bool = False
) -> ToolAnnotations:
    """A tool's hints for clients; every tool talks to Cekura, so all are open-world."""
    return ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


def writes(read_only: bool) -> ToolAnnotations:
    """A tool that changes Cekura: destructive, unless read-only mode makes it refuse."""
    return hints(read_only=read_only, destructive=not read_only, idempotent=True)


def tool(
    mcp: MCPServer, title: str, annotations: ToolAnnotations
) -> Callable[[Callable[..., Any]], Any]:
    """Register a tool whose description is its docstring, dedented."""

    def register(fn: Callable[..., Any]) -> Any:
        description = inspect.cleandoc(fn.__doc__ or "")
        registered = mcp.tool(title=title, description=description, annotations=annotations)(fn)
        listed = mcp._tool_manager.get_tool(fn.__name__)  # the SDK has no public handle on it
        assert listed is not None
        listed.parameters = compact_schema(listed.parameters)
        return registered

    return register


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema as the model reads it, smaller: without the titles pydantic
    generates from parameter names, and an optional `X | None = None` as plain X (leaving it out
    means null). Validation is unchanged: arguments are still checked by the tool's own model."""
    properties = {name: _compact(prop) for name, prop in schema.get("properties", {}).items()}
    return {k: v for k, v in schema.items() if k != "title"} | {"properties": properties}


def _compact(prop: dict[str, Any]) -> dict[str, Any]:
    """One property without its generated title, its `anyOf [X, null]` read as X."""
    kept = {k: v for k, v in prop.items() if k != "title"}
    options = kept.get("anyOf", [])
    if kept.get("default", 0) is not None or {"type": "null"} not in options:
        return kept
    values = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in kept.items() if k not in ("anyOf", "default")}
    return (values[0] if len(values) == 1 else {"anyOf": values}) | rest


async def call(ctx: Context, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run one workflow with the caller's Workflow (the shared one, or in OAuth mode the one
    of the person the access token belongs to), forwarding progress and mapping errors."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    from tools.cekura.errors import CekuraError
    from tools.errors import WorkflowError, ledger_failure_text
    from tools.ledger import LedgerUnavailable

    live: Runtime = ctx.request_context.lifespan_context

    async def progress(value: float, total: float | None, message: str | None) -> None:
        await ctx.report_progress(value, total, message)

    try:
        async with live.using(get_access_token()) as workflow:
            result = await work(workflow, progress)
    except (WorkflowError, CekuraError) as exc:
        raise ToolError(error_text(exc, own_key=live.multi_tenant)) from None
    except LedgerUnavailable as exc:
        raise ToolError(ledger_failure_text(exc)) from None
    return as_tool_result(result)  # type: ignore[return-value]


def error_text(exc: Exception, *, own_key: bool) -> str:
    """What the model reads for a failure. In OAuth mode (`own_key`) a refused key is the
    caller's own, so the advice is to reconnect rather than to set CEKURA_API_KEY."""
    from tools.cekura.errors import CekuraAuthError, CekuraError
    from tools.explain import explain

    refused = exc if isinstance(exc, CekuraAuthError) else exc.__cause__
    if own_key and isinstance(refused, CekuraAuthError):
        return (
            f"Cekura refused the API key you connected with ({refused.status}). Disconnect and "
            "reconnect the connector to enter a project key with write access."
        )
    if isinstance(exc, CekuraError):
        return explain(exc, "talking to Cekura")
    return str(exc)
