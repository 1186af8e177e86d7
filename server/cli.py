"""`cekura-optimise`: serve the MCP server, run the routine headless, run the demo, or serve the sandbox."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from server.settings import Settings, SettingsError

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cekura-optimise",
        description="Improve Cekura metrics safely: optimise, diff, guarded apply, revert.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def verbosity(p: argparse.ArgumentParser) -> None:
        p.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr")

    def common(p: argparse.ArgumentParser) -> None:
        verbosity(p)
        p.add_argument("--sandbox", action="store_true", help="use the built-in sandbox, no key")
        p.add_argument("--read-only", action="store_true", default=None, help="never write")
        p.add_argument("--state-dir", help="ledger directory (CEKURA_OPTIMISE_STATE_DIR)")
        p.add_argument("--base-url", help="Cekura API base URL (CEKURA_BASE_URL)")

    serve = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    common(serve)
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    run = sub.add_parser("run", help="run the routine once and print a report")
    common(run)
    run.add_argument("--metrics", required=True, help="comma-separated metric ids, e.g. 101,102")
    run.add_argument("--apply", action="store_true", help="apply proposals through the guard")
    run.add_argument("--on-questions", choices=["stop", "skip"], default="stop")
    run.add_argument("--max-wait", type=float, default=1500, help="seconds per metric")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--diffs", action="store_true", help="also print the proposed diffs")

    verbosity(sub.add_parser("demo", help="run the whole workflow on the built-in sandbox"))

    sandbox = sub.add_parser("sandbox", help="serve the sandbox Cekura API on loopback")
    verbosity(sandbox)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--faults", default="", help="fault spec, e.g. '429x2@metric_get'")
    sandbox.add_argument("--progress-shape", choices=["envelope", "flat"], default="envelope")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        sandbox=args.sandbox or None,
        read_only=args.read_only,
        state_dir=args.state_dir,
        base_url=args.base_url,
    )


def _logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 a metric failed, 2 usage)."""
    args = _parser().parse_args(argv)
    _logging(args.verbose)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "run":
            from server.headless import run_command

            return run_command(_settings(args), args)
        if args.command == "demo":
            from server.demo import run_demo

            return run_demo()
        return _sandbox(args)
    except SettingsError as exc:
        print(f"cekura-optimise: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    from server.app import build_server

    settings = _settings(args)
    mcp = build_server(settings)
    if args.transport == "stdio":
        mcp.run("stdio")
        return 0
    from server.http import serve_http

    token = settings.http_token.get_secret_value() if settings.http_token else None
    serve_http(mcp, host=args.host, port=args.port, token=token)
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox import serve

    try:
        serve(
            host=args.host, port=args.port, faults=args.faults, progress_shape=args.progress_shape
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    return 0
