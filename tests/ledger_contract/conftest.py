"""Fixtures of the ledger contract suite: every test runs against every backend (PostgreSQL on a
fresh database of the throwaway server, or skipped when there is none)."""

import pytest
import pytest_asyncio

from .backends import BACKENDS, location, open_backend


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def where(backend, tmp_path, request) -> str:
    url = request.getfixturevalue("pg_database") if backend == "postgres" else None
    return location(backend, tmp_path, url)


@pytest_asyncio.fixture
async def ledger(backend, where):
    store = open_backend(backend, where)
    yield store
    await store.aclose()
