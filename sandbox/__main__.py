"""`python -m sandbox`: serve the seeded sandbox on loopback, optionally with injected faults."""

from __future__ import annotations

import argparse
import sys

from sandbox.faults import FaultSpecError
from sandbox.serve import serve
from sandbox.state import SandboxState


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Serve a local stand-in for the Cekura API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="e.g. '429x2@process_feedbacks_progress,503@metric_get,latency=0.2@*' "
        "(grammar: see sandbox/faults.py)",
    )
    parser.add_argument("--progress-shape", choices=("envelope", "flat"), default="envelope")
    parser.add_argument("--optimiser-polls", type=int, default=2, metavar="N")
    parser.add_argument("--run-reviews-polls", type=int, default=1, metavar="N")
    parser.add_argument("--preview-polls", type=int, default=1, metavar="N")
    parser.add_argument(
        "--optimiser-seconds", type=float, default=None, metavar="S", help="overrides the polls"
    )
    parser.add_argument(
        "--run-reviews-seconds", type=float, default=None, metavar="S", help="overrides the polls"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=None,
        metavar="KEY",
        help="accept only these keys (repeatable); default: any non-empty key",
    )
    parser.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state = SandboxState.seeded(
        progress_shape=args.progress_shape,
        optimiser_polls=args.optimiser_polls,
        run_reviews_polls=args.run_reviews_polls,
        optimiser_seconds=args.optimiser_seconds,
        run_reviews_seconds=args.run_reviews_seconds,
        api_keys=args.api_key,
        preview_polls=args.preview_polls,
    )

    def ready(url: str) -> None:
        keys = "the given keys" if args.api_key else "any non-empty key"
        print(
            f"Cekura sandbox serving on {url} (X-CEKURA-API-KEY: {keys})",
            file=sys.stderr,
            flush=True,
        )

    try:
        serve(
            args.host,
            args.port,
            state,
            faults=args.faults,
            log_level=args.log_level,
            on_ready=ready,
        )
    except FaultSpecError as exc:
        print(f"error: --faults: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
