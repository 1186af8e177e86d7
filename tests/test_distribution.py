"""What ships beside the server: the MCP Registry's server.json, the Claude Code plugin and its
marketplace, and one version number across all of them."""

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
from mcp import Client

from prompts import COMMANDS, plugin_command
from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings
from server.version import package_version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
CLAUDE = ROOT / "tests" / "inspector" / "node_modules" / ".bin" / "claude"


def load(path: str) -> dict:
    return json.loads((ROOT / path).read_text())


def test_server_json_validates_against_the_registrys_published_schema():
    schema = json.loads((ROOT / "tests" / "reference" / "server.schema.json").read_text())
    server = load("server.json")
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(server)
    assert server["$schema"] == schema["$id"]


def test_server_json_names_the_pypi_package_with_a_console_script_of_that_name():
    server = load("server.json")
    (package,) = server["packages"]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == PYPROJECT["project"]["name"]
    assert package["identifier"] in PYPROJECT["project"]["scripts"]  # `uvx <identifier> serve`
    assert package["transport"] == {"type": "stdio"}
    assert [a["value"] for a in package["packageArguments"]] == ["serve"]
    assert {"streamable-http"} == {r["type"] for r in server["remotes"]}


def test_the_readme_carries_the_mcp_name_the_registry_looks_for():
    name = load("server.json")["name"]
    assert f"mcp-name: {name}" in (ROOT / "README.md").read_text()


def test_a_server_json_breaking_the_registry_rules_is_refused():
    schema = json.loads((ROOT / "tests" / "reference" / "server.schema.json").read_text())
    server = load("server.json") | {"description": "x" * 101, "name": "no-slash"}
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(server))
    assert len(errors) == 2


def test_plugin_manifest_has_the_documented_required_fields():
    plugin = load(".claude-plugin/plugin.json")
    assert KEBAB.match(plugin["name"])
    assert re.match(r"^\d+\.\d+\.\d+", plugin["version"])
    assert plugin["description"] and plugin["author"]["name"]


def test_marketplace_lists_the_plugin_from_this_repository():
    market = load(".claude-plugin/marketplace.json")
    assert KEBAB.match(market["name"]) and market["owner"]["name"]
    (entry,) = market["plugins"]
    assert entry["name"] == load(".claude-plugin/plugin.json")["name"]
    assert entry["source"] == "./"


def test_plugin_mcp_json_starts_the_console_script_with_the_key_from_the_environment():
    (server,) = load(".mcp.json")["mcpServers"].values()
    assert server["command"] == "uvx"
    frm, root, script, *rest = server["args"]
    assert (frm, root, rest) == ("--from", "${CLAUDE_PLUGIN_ROOT:-.}", ["serve"])
    assert script in PYPROJECT["project"]["scripts"]
    assert server["env"] == {"CEKURA_API_KEY": "${CEKURA_API_KEY:-}"}


@pytest.mark.parametrize("target", [".", ".claude-plugin/marketplace.json"])
def test_claude_code_validates_the_plugin_and_its_marketplace(target, tmp_path):
    if not CLAUDE.exists():
        pytest.fail("Claude Code missing: run `npm ci --prefix tests/inspector` (see README).")
    proc = subprocess.run(
        [str(CLAUDE), "plugin", "validate", str(ROOT / target)],
        env={"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation passed" in proc.stdout
    if target == ".":
        assert "commands: cekura-optimise:optimise-routine-apply" in proc.stdout
        assert "mcpServers: cekura-optimise stdio uvx" in proc.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_plugin_commands_are_the_packaged_prompts(name):
    path = ROOT / "commands" / f"{name}.md"
    assert path.read_text() == plugin_command(name), "regenerate with: python -m prompts"
    front = path.read_text().split("---")[1]
    assert "description:" in front and "argument-hint:" in front
    assert "$ARGUMENTS" in path.read_text() and "{metric_id" not in path.read_text()


@pytest.mark.anyio
async def test_one_version_everywhere(tmp_path):
    version = package_version()
    assert version == PYPROJECT["project"]["version"]
    server = load("server.json")
    assert server["version"] == version
    assert [p["version"] for p in server["packages"]] == [version]
    assert load(".claude-plugin/plugin.json")["version"] == version
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        assert client.server_info.version == version
    await live.aclose()
