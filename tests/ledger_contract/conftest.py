"""Fixtures of the ledger contract suite: every test runs against every backend."""

import pytest

from .backends import BACKENDS, location, open_backend


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def where(backend, tmp_path) -> str:
    return location(backend, tmp_path)


@pytest.fixture
def ledger(backend, where):
    return open_backend(backend, where)
