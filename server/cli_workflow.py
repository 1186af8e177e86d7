"""Running one workflow from a CLI command: a Runtime for the call, closed afterwards, and a
refusal or a failing ledger printed to stderr as one line under the command's name, in CLI words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from server.cli_words import say_error

if TYPE_CHECKING:
    from server.settings import Settings
    from tools.context import Workflow

FAILED = 1
T = TypeVar("T")


async def with_workflow(
    settings: Settings, command: str, work: Callable[[Workflow], Awaitable[T]]
) -> T | None:
    """`work`'s result, or None once its failure was printed (exit code FAILED)."""
    from server.runtime import Runtime
    from tools.errors import WorkflowError, ledger_failure_text
    from tools.ledger import LedgerUnavailable

    runtime = Runtime(settings)
    try:
        return await work(await runtime.workflow())
    except WorkflowError as exc:
        say_error(command, exc)
    except LedgerUnavailable as exc:
        say_error(command, ledger_failure_text(exc))
    finally:
        await runtime.aclose()
    return None
