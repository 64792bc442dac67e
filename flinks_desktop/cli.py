"""`flinks-desktop`: the app's command line.

    flinks-desktop                                            the desktop app (offline sandbox)
    flinks-desktop sandbox [--host 127.0.0.1] [--port 8765]   the offline Flinks Capital sandbox

Exit status: 0 on success, 1 with one plain sentence on stderr for a failure, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

SANDBOX_SECRET_VARIABLES = ("FLINKS_SANDBOX_AUTH_KEY", "FLINKS_SANDBOX_API_KEY")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flinks-desktop",
        description="Manage Flinks bank connections; run an offline Flinks Capital sandbox.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the offline Flinks Capital sandbox (API and Connect page) on loopback",
        description=(
            "Serve the offline Flinks Capital sandbox: the Flinks API at "
            "/v3/{customerId}/BankingServices/ and the Connect widget at /v2/. "
            f"Secrets are read from the environment ({', '.join(SANDBOX_SECRET_VARIABLES)}), "
            "never from the command line; without them the sandbox checks no header."
        ),
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    sandbox.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                         help="the last day of the dataset (default: today)")
    sandbox.add_argument("--state-file", metavar="FILE",
                         help="keep logins and deleted cards in this JSON file across restarts")
    sandbox.add_argument("--pending-polls", type=int, default=1, metavar="N",
                         help="202 answers of the Async endpoint before detail data is ready (default: 1)")
    sandbox.add_argument("--mfa-rounds", type=int, default=1, choices=(1, 2, 3),
                         help="security questions asked one after the other (default: 1)")
    sandbox.add_argument("--bank-delay", type=float, default=0.8, metavar="SECONDS",
                         help="how long the fake bank takes to check an answer (default: 0.8)")
    return parser


def run_sandbox(args: argparse.Namespace) -> int:
    from flinks_desktop.sandbox import SandboxConfig, serve_forever

    config = SandboxConfig(
        auth_key=os.environ.get("FLINKS_SANDBOX_AUTH_KEY") or None,
        api_key=os.environ.get("FLINKS_SANDBOX_API_KEY") or None,
        as_of=args.as_of,
        state_file=args.state_file,
        pending_polls=args.pending_polls,
        mfa_rounds=args.mfa_rounds,
        bank_delay=args.bank_delay,
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Flinks Capital offline sandbox on http://{host}:{args.port}/", flush=True)
    print(f"  API:     http://{host}:{args.port}/v3/{config.customer_id}/BankingServices/", flush=True)
    print(f"  Connect: http://{host}:{args.port}/v2/?demo=true", flush=True)
    try:
        serve_forever(config, host=args.host, port=args.port)
    except OSError as exc:
        print(f"flinks-desktop: the sandbox cannot listen on {host}:{args.port}: {exc.strerror or exc}.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return run_sandbox(args)
    from flinks_desktop.ui.app import run

    return run()
