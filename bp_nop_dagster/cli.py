"""The `bp-nop` command: `bp-nop sandbox` serves both simulators; `bp-nop demo` runs the demo;
`bp-nop doctor` checks a deployment's configuration; `bp-nop init` writes a first mapping
file from both systems; `bp-nop probe` checks the configured real
systems against the contracts (read-only); `bp-nop fidelity` renders the simulators' fidelity table;
`bp-nop webhooks` receives Brightpearl webhooks and repairs their subscriptions."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from bp_nop_dagster.pairs import apply_pair_environment
from bp_nop_dagster.sandbox.world import PROFILES, SCALES, SandboxCredentials
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster.transport.transport import is_loopback_host

DEFAULTS = SandboxCredentials()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {value}")
    return value


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback)")
    parser.add_argument("--brightpearl-port", type=_port, default=8601, help="Brightpearl simulator port (default 8601)")
    parser.add_argument("--nopcommerce-port", type=_port, default=8602, help="nopCommerce simulator port (default 8602)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed: same seed, same shop (default 42)")
    parser.add_argument("--scale", choices=SCALES, default="small", help="shop size (default small)")
    parser.add_argument("--profile", choices=PROFILES, default="faithful",
                        help="faithful (default) or drifted: replies drifted the way old guesses were, to prove `bp-nop probe` sees it")
    creds = parser.add_argument_group("sandbox credentials (documented defaults)")
    creds.add_argument("--brightpearl-account-code", default=DEFAULTS.brightpearl_account_code)
    creds.add_argument("--brightpearl-app-ref", default=DEFAULTS.brightpearl_app_ref)
    creds.add_argument("--brightpearl-account-token", default=DEFAULTS.brightpearl_account_token)
    creds.add_argument("--nopcommerce-email", default=DEFAULTS.nopcommerce_email)
    creds.add_argument("--nopcommerce-password", default=DEFAULTS.nopcommerce_password)


def credentials_from(args: argparse.Namespace) -> SandboxCredentials:
    return SandboxCredentials(
        brightpearl_account_code=args.brightpearl_account_code,
        brightpearl_app_ref=args.brightpearl_app_ref,
        brightpearl_account_token=args.brightpearl_account_token,
        nopcommerce_email=args.nopcommerce_email,
        nopcommerce_password=args.nopcommerce_password,
    )


def start_sandbox(args: argparse.Namespace):
    """Build the seeded world and start both servers in a background thread."""
    from bp_nop_dagster.sandbox.server import RunningSandbox
    from bp_nop_dagster.sandbox.world import SandboxWorld

    if not is_loopback_host(args.host):
        print(f"warning: listening on {args.host}, not loopback: anyone who can reach it can use the sandbox", file=sys.stderr)
    world = SandboxWorld(seed=args.seed, scale=args.scale, credentials=credentials_from(args), profile=args.profile)
    return RunningSandbox(world, host=args.host, brightpearl_port=args.brightpearl_port, nopcommerce_port=args.nopcommerce_port).start()


def describe_sandbox(sandbox) -> str:
    urls, creds = sandbox.urls, sandbox.world.credentials
    return "\n".join(
        [
            f"Brightpearl simulator   {urls.brightpearl_base_url}",
            f"  headers               brightpearl-app-ref: {creds.brightpearl_app_ref}",
            f"                        brightpearl-account-token: {creds.brightpearl_account_token}",
            f"nopCommerce simulator   {urls.nopcommerce_base_url}",
            f"  GetToken              email {creds.nopcommerce_email} / password {creds.nopcommerce_password}",
            f"Control API             {urls.brightpearl_root}/__sandbox__/ and {urls.nopcommerce_root}/__sandbox__/",
            f"Shop                    seed {sandbox.world.seed}, scale {sandbox.world.scale}, profile {sandbox.world.profile}",
        ]
    )


def interrupt_event() -> threading.Event:
    """An event that Ctrl-C or SIGTERM sets, its handlers installed now: before the caller says
    it is ready, so a Ctrl-C right after the banner stops it cleanly, never as a KeyboardInterrupt."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def run_sandbox(args: argparse.Namespace) -> int:
    try:
        sandbox = start_sandbox(args)
    except (OSError, RuntimeError, ValueError) as error:
        print(f"bp-nop sandbox: {error}", file=sys.stderr)
        return 2
    stop = interrupt_event()
    print(describe_sandbox(sandbox), flush=True)
    print("Serving; press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        print("Sandbox stopped.", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bp-nop", description="nopCommerce <-> Brightpearl integration on Dagster")
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="serve both API simulators in the foreground")
    add_sandbox_arguments(sandbox)
    sandbox.set_defaults(handler=run_sandbox)

    from bp_nop_dagster.demo import add_demo_arguments, run_demo

    demo = commands.add_parser("demo", help="start the sandbox and Dagster against a local SQLite instance")
    add_sandbox_arguments(demo)
    add_demo_arguments(demo)
    demo.set_defaults(handler=run_demo)

    doctor = commands.add_parser(
        "doctor",
        help="check the configured endpoints, credentials, ledger, Dagster instance and mapping (exit 1 on any failure)",
    )
    doctor.set_defaults(handler=run_doctor_command)

    from bp_nop_dagster.init_mapping import add_init_arguments

    init = commands.add_parser(
        "init",
        help="read both systems (or --sandbox) and write a commented mapping YAML with suggested values, scores and evidence",
    )
    add_init_arguments(init)
    init.set_defaults(handler=run_init)

    from bp_nop_dagster.probe.command import add_probe_arguments

    probe = commands.add_parser(
        "probe",
        help="read-only: call each endpoint the flows use on the configured systems, gently, and compare the replies with the contracts",
    )
    add_probe_arguments(probe)
    probe.set_defaults(handler=run_probe)

    from bp_nop_dagster.webhooks.command import add_webhooks_arguments

    webhooks = commands.add_parser("webhooks", help="Brightpearl webhooks: serve the receiver; status, sync or remove the subscriptions")
    add_webhooks_arguments(webhooks)
    webhooks.set_defaults(handler=run_webhooks)

    fidelity = commands.add_parser("fidelity", help="print the simulators' fidelity table (docs/fidelity.md with --write)")
    fidelity.add_argument("--write", action="store_true", help="write it to docs/fidelity.md (or --output)")
    fidelity.add_argument("--output", type=Path, help="where --write writes (default: docs/fidelity.md of this checkout)")
    fidelity.set_defaults(handler=run_fidelity)
    return parser


def run_doctor_command(args: argparse.Namespace) -> int:
    from bp_nop_dagster.doctor import run_doctor

    return run_doctor(sys.stdout)


def run_init(args: argparse.Namespace) -> int:
    from bp_nop_dagster.init_mapping import run_init as init

    return init(args, sys.stdout)


def run_probe(args: argparse.Namespace) -> int:
    from bp_nop_dagster.probe.command import run_probe_command

    return run_probe_command(args, sys.stdout)


def run_webhooks(args: argparse.Namespace) -> int:
    from bp_nop_dagster.webhooks.command import run_webhooks_command

    return run_webhooks_command(args)


def run_fidelity(args: argparse.Namespace) -> int:
    from bp_nop_dagster.sandbox.fidelity_doc import DOCUMENT, document

    text = document()
    if not args.write:
        sys.stdout.write(text)
        return 0
    target = args.output or DOCUMENT
    if target is None:
        print("bp-nop fidelity: no docs/ folder beside the package (installed copy): give --output", file=sys.stderr)
        return 2
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:  # with BP_NOP_PAIR, the pair's own BP_NOP_<PAIR>__X values (README, "Many pairs and scale")
        apply_pair_environment()
    except ConfigurationError as error:
        print(f"bp-nop: {error}", file=sys.stderr)
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
