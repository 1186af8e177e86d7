"""The one version number: the installed package's metadata (pyproject.toml). The MCP server's
serverInfo reports it, and server.json and .claude-plugin/plugin.json carry it (a test checks)."""

from __future__ import annotations

from importlib.metadata import version

DISTRIBUTION = "cekura-optimise-mcp"


def package_version() -> str:
    """The installed distribution's version, e.g. '0.1.0'."""
    return version(DISTRIBUTION)
