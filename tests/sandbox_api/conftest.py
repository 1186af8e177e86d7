"""The sandbox's own tests: a fresh seeded world whose runs finish at the first poll, and an HTTP
client that reaches it in process."""

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox import SandboxState, sandbox_client


@pytest.fixture
def state() -> SandboxState:
    return SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0)


@pytest.fixture
async def client(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client(state) as c:
        yield c
