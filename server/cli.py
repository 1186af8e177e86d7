"""`cekura-optimise`: serve the MCP server, run the routine headless, run the demo, or serve the sandbox."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from server.answer_cli import add_answer_command
from server.cli_words import say_error
from server.labs_cli import add_labs_commands
from server.logs import LOG_FORMATS, log_format
from server.logs import configure as configure_logging
from server.schedules_cli import add_schedule_commands
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
        p.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            help="plain (default) or json: one object per line (CEKURA_OPTIMISE_LOG_FORMAT)",
        )

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
    serve.add_argument(
        "--oauth",
        action="store_true",
        help="HTTP only: each person signs in with their own Cekura key (OAuth 2.1); needs "
        "CEKURA_OPTIMISE_SECRET and --public-url",
    )
    _database_url(serve)
    serve.add_argument(
        "--public-url",
        help="with --oauth: the https:// address clients reach this server at "
        "(CEKURA_OPTIMISE_PUBLIC_URL)",
    )
    serve.add_argument(
        "--accept-new-secret",
        action="store_true",
        help="with --oauth: start although CEKURA_OPTIMISE_SECRET changed, deleting every stored "
        "connection (everyone signs in again)",
    )

    run = sub.add_parser("run", help="run the routine once and print a report")
    common(run)
    _run_options(run)
    _database_url(run)
    add_answer_command(sub, common)
    add_labs_commands(sub, common)
    add_schedule_commands(sub, common)

    verbosity(sub.add_parser("demo", help="run the whole workflow on the built-in sandbox"))

    sandbox = sub.add_parser("sandbox", help="serve the sandbox Cekura API on loopback")
    verbosity(sandbox)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--faults", default="", help="fault spec, e.g. '429x2@metric_get'")
    sandbox.add_argument("--progress-shape", choices=["envelope", "flat"], default="envelope")
    return parser


def _run_options(run: argparse.ArgumentParser) -> None:
    """`run`'s own flags (the shared ones come from the CLI's `common`)."""
    run.add_argument("--metrics", required=True, help="comma-separated metric ids, e.g. 101,102")
    run.add_argument("--apply", action="store_true", help="apply proposals through the guard")
    run.add_argument(
        "--no-pending",
        dest="include_pending",
        action="store_false",
        help="ignore pending proposals from Cekura's schedules (default: take one newer than our "
        "last run, through the guard with --apply, instead of starting a run)",
    )
    run.add_argument(
        "--on-questions", default="stop", help="stop or skip: what to do when a run asks questions"
    )
    run.add_argument(
        "--answers",
        metavar="FILE.json",
        help='answers for paused runs, e.g. {"103": {"q_1": "yes"}} (null skips); - reads stdin',
    )
    run.add_argument("--max-wait", default=1500, help="seconds per metric")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--diffs", action="store_true", help="also print the proposed diffs")


def _database_url(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database-url",
        help="PostgreSQL URL shared by replicas (CEKURA_OPTIMISE_DATABASE_URL; prefer the "
        "variable when it holds a password); unset: the SQLite file in the state directory",
    )


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        sandbox=args.sandbox or None,
        read_only=args.read_only,
        state_dir=args.state_dir,
        base_url=args.base_url,
        database_url=getattr(args, "database_url", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 a metric failed, 2 usage, 3 a run
    waits on a person's answer)."""
    args = _parser().parse_args(argv)
    try:
        configure_logging(args.verbose, log_format(args.log_format))
        if args.command == "serve":
            return _serve(args)
        if args.command == "run":
            from server.headless import run_command

            return run_command(_settings(args), args)
        if args.command == "answer":
            from server.answer_cli import answer_command

            return answer_command(_settings(args), args)
        if args.command == "lab-status":
            from server.labs_cli import lab_status_command

            return lab_status_command(_settings(args), args)
        if args.command == "label":
            from server.labs_cli import label_command

            return label_command(_settings(args), args)
        if args.command == "schedules":
            from server.schedules_cli import schedules_command

            return schedules_command(_settings(args), args)
        if args.command == "demo":
            from server.demo import run_demo

            return run_demo()
        return _sandbox(args)
    except SettingsError as exc:
        say_error(" ".join(filter(None, [args.command, getattr(args, "action", None)])), exc)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    oauth = _oauth(args, settings) if args.oauth else None
    if args.public_url and not args.oauth:
        raise SettingsError("--public-url applies only with --oauth.")
    if args.accept_new_secret and not args.oauth:
        raise SettingsError("--accept-new-secret applies only with --oauth.")
    if args.transport == "stdio":
        from server.app import build_server

        build_server(settings).run("stdio")
        return 0
    from server.http import serve_http

    serve_http(
        settings,
        host=args.host,
        port=args.port,
        oauth=oauth,
        accept_new_secret=args.accept_new_secret,
    )
    return 0


def _oauth(args: argparse.Namespace, settings: Settings) -> Any:
    """OAuth mode's parts, or a SettingsError (exit 2) saying what is missing."""
    if args.transport != "http":
        raise SettingsError("--oauth needs --transport http.")
    if settings.sandbox:
        raise SettingsError(
            "--oauth checks each person's key against Cekura, so it does not run on the built-in "
            "sandbox. To try it without an account, serve the sandbox on loopback "
            "(`cekura-optimise sandbox`) and pass --base-url http://127.0.0.1:8765."
        )
    if settings.http_token is not None:
        raise SettingsError(
            "CEKURA_OPTIMISE_HTTP_TOKEN and --oauth do not mix: with --oauth each person signs in "
            "with their own Cekura key. Unset CEKURA_OPTIMISE_HTTP_TOKEN."
        )
    from server.oauth import OAuthConfig, build_oauth

    config = OAuthConfig.from_env(public_url=args.public_url)
    return build_oauth(config, settings.store_location(), settings.base_url)


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox import SandboxState, serve

    state = SandboxState.seeded()

    def ready(url: str) -> None:
        metrics = ", ".join(f"{i} {m['name']}" for i, m in sorted(state.metrics.items()))
        print(
            f"Cekura sandbox listening on {url}\n"
            "Any non-empty API key works (sent as X-CEKURA-API-KEY).\n"
            f"Seeded metrics: {metrics}\n"
            f"Try: CEKURA_API_KEY=any cekura-optimise run --metrics 101,103 --base-url {url}\n"
            + ("Logging each request to stderr." if args.verbose else "-v logs each request.")
            + " Ctrl-C stops it.",
            flush=True,
        )

    try:
        serve(
            host=args.host,
            port=args.port,
            state=state,
            faults=args.faults,
            progress_shape=args.progress_shape,
            on_ready=ready,
        )
    except ValueError as exc:
        raise SettingsError(f"--faults: {exc}") from exc
    return 0
