"""What a person sees when Cekura cannot be reached: one WARNING line per retry in words (no
class names), a final error naming the host and port tried, and a base URL check that says
which schemes work."""

from __future__ import annotations

import logging
import re
import socket

import pytest
from client_support import FakeClock

from server.settings import Settings, SettingsError
from tools.cekura import CekuraClient, CekuraTransportError
from tools.explain import explain

KEY = "ck_transport_words_31415"
CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception|Timeout)\b")


def _closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.asyncio
async def test_unreachable_host_is_named_and_retries_log_one_plain_line_each(caplog):
    caplog.set_level(logging.DEBUG, logger="cekura_optimise.client")
    port = _closed_port()
    clock = FakeClock()
    async with CekuraClient(
        KEY,
        f"http://127.0.0.1:{port}",
        sleep=clock.sleep,
        clock=clock.time,
        max_attempts=4,
        backoff_initial_s=0.5,
    ) as client:
        with pytest.raises(CekuraTransportError) as caught:
            await client.get_metric(101)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "cekura_optimise.client" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 3  # one per retry: attempts 2, 3 and 4; giving up is not repeated
    for line in warnings:
        assert f"127.0.0.1:{port}" in line and "connection failed" in line
        assert not CLASS_NAME.search(line), line
    assert f"at 127.0.0.1:{port}" in str(caught.value)
    told = explain(caught.value, "reading metric 101")
    assert told.startswith(f"Could not reach Cekura at 127.0.0.1:{port} while reading metric 101")
    assert not CLASS_NAME.search(told)


@pytest.mark.asyncio
async def test_the_scheme_default_port_is_named_when_the_url_has_none():
    clock = FakeClock()
    async with CekuraClient(
        KEY, "https://cekura.invalid", sleep=clock.sleep, clock=clock.time, max_attempts=1
    ) as client:
        with pytest.raises(CekuraTransportError) as caught:
            await client.get_metric(101)
    assert "at cekura.invalid:443" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "env", "words"),
    [
        ("ftp://files.example.com", {}, "must start with http:// or https://"),
        ("api.cekura.ai", {}, "must start with http:// or https://"),
        ("http://api.example.com", {}, "CEKURA_OPTIMISE_ALLOW_HTTP=1"),
    ],
)
def test_base_url_refusals_name_the_setting_and_the_way_out(url, env, words):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CEKURA_BASE_URL": url, **env})
    assert words in str(caught.value)
    assert "CEKURA_BASE_URL (or --base-url)" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "env"),
    [
        ("https://api.cekura.ai", {}),
        ("http://127.0.0.1:8765", {}),
        ("http://localhost:8765", {}),
        ("http://[::1]:8765", {}),
        ("http://cekura.internal:8080", {"CEKURA_OPTIMISE_ALLOW_HTTP": "1"}),
    ],
)
def test_https_anywhere_and_http_on_loopback_or_when_allowed(url, env):
    assert Settings.from_env({"CEKURA_BASE_URL": url, **env}).base_url == url
