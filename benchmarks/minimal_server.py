"""The start-up baseline: an MCPServer with one tool and nothing else.

python -m benchmarks.minimal_server
"""

from __future__ import annotations

from mcp.server import MCPServer

mcp = MCPServer("minimal", version="0.0.1", log_level="WARNING")


@mcp.tool()
def echo(text: str) -> str:
    """Return `text` unchanged."""
    return text


if __name__ == "__main__":
    mcp.run("stdio")
