"""Operator logs: JSON lines with a request id carried into tool-call logs, plain by default, and
never a key or token in either format."""

import json
import logging
import subprocess
import sys

import httpx2
import pytest
from e2e import API_KEY, ROOT, http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.logs import REQUEST_ID, JsonFormatter, PlainFormatter, Scrubber

TOKEN = "e2e-bearer-logs-8d2f41"
DB_PASSWORD = "pg-pass-3b9e"


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord(
        "cekura_optimise.client", logging.WARNING, __file__, 1, message, args, exc_info
    )


def _scrubber() -> Scrubber:
    env = {
        "CEKURA_API_KEY": API_KEY,
        "CEKURA_OPTIMISE_SECRET": "new-secret-value-1,old-secret-value-0",
        "CEKURA_OPTIMISE_DATABASE_URL": f"postgresql://app:{DB_PASSWORD}@db:5432/optimise",
    }
    return Scrubber.from_env(env)


def test_json_lines_carry_the_request_id_and_mask_secrets():
    try:
        raise RuntimeError(f"refused key {API_KEY}")
    except RuntimeError as exc:
        failure = exc
    token = REQUEST_ID.set("req-42")
    try:
        line = JsonFormatter(_scrubber()).format(
            _record(
                "sent %s with Authorization: Bearer %s; db %s or %s; rotated %s",
                API_KEY,
                "live-access-token-77",
                f"postgresql://app:{DB_PASSWORD}@db:5432/optimise",
                "postgresql://replica:other-pass-1@db2/optimise",
                "old-secret-value-0",
                exc=failure,
            )
        )
    finally:
        REQUEST_ID.reset(token)
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "exception"}
    assert (entry["level"], entry["logger"], entry["request_id"]) == (
        "WARNING",
        "cekura_optimise.client",
        "req-42",
    )
    assert entry["time"].endswith("+00:00")
    for secret in (
        API_KEY,
        "live-access-token-77",
        DB_PASSWORD,
        "other-pass-1",
        "old-secret-value-0",
    ):
        assert secret not in line
    assert "postgresql://replica:[redacted]@db2/optimise" in entry["message"]
    assert "RuntimeError: refused key [redacted]" in entry["exception"]


def test_plain_lines_are_as_before_but_masked():
    line = PlainFormatter(_scrubber()).format(_record("key %s", API_KEY))
    assert line == "WARNING cekura_optimise.client: key [redacted]"


def test_a_password_given_outside_the_environment_is_masked_in_every_url_form():
    scrub = Scrubber.from_env({})
    for url in (
        "postgresql://app:s3cret-pass@db/optimise",
        "postgresql://app@db/optimise?password=s3cret-pass&sslmode=require",
        "host=db user=app password=s3cret-pass dbname=optimise",
    ):
        assert "s3cret-pass" not in scrub(f"cannot reach {url}"), url


def test_an_unknown_log_format_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--sandbox"],
        env={**server_env("http://127.0.0.1:9", tmp_path), "CEKURA_OPTIMISE_LOG_FORMAT": "xml"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "CEKURA_OPTIMISE_LOG_FORMAT must be plain or json" in proc.stderr


@pytest.mark.anyio
async def test_a_served_call_logs_json_with_its_request_id_and_no_secret(loopback, tmp_path):
    log = tmp_path / "stderr.log"
    env = server_env(
        loopback.url,
        tmp_path,
        CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN,
        CEKURA_OPTIMISE_LOG_FORMAT="json",
    )
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "call-7f3a"}
    with http_server(env, "-vv", stderr_path=log) as url:
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("optimise_metric", {"metric_id": 101})
        async with httpx2.AsyncClient() as http:
            probe = await http.get(url.replace("/mcp", "/healthz"))
    text = log.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert result.structured_content["status"] == "proposed"
    client_lines = [e for e in entries if e["logger"] == "cekura_optimise.client"]
    assert client_lines and {e["request_id"] for e in client_lines} == {"call-7f3a"}
    requests = [e for e in entries if e["logger"] == "cekura_optimise.http"]
    assert any(e["message"].startswith("POST /mcp -> 200") for e in requests)
    assert probe.headers["x-request-id"] in {e["request_id"] for e in requests}
    assert API_KEY not in text and TOKEN not in text
