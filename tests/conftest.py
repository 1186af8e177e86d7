"""Shared test set-up: async tests run on anyio's asyncio backend; e2e tests share a loopback sandbox."""

import pytest
from e2e import loopback_sandbox
from pg import pg_database, pg_url, report_header  # noqa: F401  (fixtures for every test module)


def pytest_report_header() -> str:
    return report_header()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def loopback():
    """The seeded sandbox served on 127.0.0.1 for the tests of one module."""
    with loopback_sandbox() as server:
        yield server


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A CLI run's environment: no key, base URL, read-only flag or database from the machine's
    own, and a fresh state directory."""
    for name in (
        "CEKURA_API_KEY",
        "CEKURA_BASE_URL",
        "CEKURA_OPTIMISE_READ_ONLY",
        "CEKURA_OPTIMISE_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CEKURA_OPTIMISE_STATE_DIR", str(tmp_path))
    return monkeypatch
