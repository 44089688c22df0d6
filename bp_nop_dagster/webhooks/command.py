"""`bp-nop webhooks serve|status|sync|remove`.

- `serve`: the receiver (`receiver.py`) on `--host`/`--port`, writing to the ledger
  (`BP_NOP_LEDGER_URL`, else the SQLite file next to the Dagster instance);
- `status`: the account's subscriptions, ours marked, secrets masked; exit 1 when ours are not
  exactly the needed ones (missing or stale);
- `sync`: creates the missing subscriptions and deletes our stale ones (other integrations' are
  left alone);
- `remove`: deletes ours (all of them).

Configuration: BRIGHTPEARL_BASE_URL / _APP_REF / _ACCOUNT_TOKEN, BP_NOP_WEBHOOK_SECRET and
BP_NOP_WEBHOOK_PUBLIC_URL (the receiver's base URL as Brightpearl reaches it). Brightpearl cost:
1 request for status, 1 + one per change for sync and remove.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from bp_nop_dagster import settings
from bp_nop_dagster.transport.errors import ApiError, ConfigurationError, NotFoundError
from bp_nop_dagster.webhooks import subscriptions as subs


def add_webhooks_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="receive Brightpearl webhooks into the ledger (Starlette + uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8610, help="port (default 8610)")
    actions.add_parser("status", help="show the account's webhook subscriptions (exit 1 if ours need a sync)")
    actions.add_parser("sync", help="create the missing subscriptions, delete our stale ones")
    actions.add_parser("remove", help="delete every subscription of ours")


def run_webhooks_command(args: argparse.Namespace, out: TextIO = sys.stdout, environ: Mapping[str, str] = os.environ) -> int:
    try:
        secret = subs.check_secret(environ.get(settings.BP_NOP_WEBHOOK_SECRET))
    except ValueError as error:
        print(f"bp-nop webhooks: {settings.BP_NOP_WEBHOOK_SECRET}: {error}", file=sys.stderr)
        return 2
    if args.action == "serve":
        return _serve(args, secret, environ)
    public_url = (environ.get(settings.BP_NOP_WEBHOOK_PUBLIC_URL) or "").rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        print(f"bp-nop webhooks: set {settings.BP_NOP_WEBHOOK_PUBLIC_URL} to the receiver's URL as Brightpearl reaches it", file=sys.stderr)
        return 2
    try:
        bp = _brightpearl(environ)
        return {"status": _status, "sync": _sync, "remove": _remove}[args.action](bp, public_url, secret, out)
    except (ApiError, ConfigurationError) as error:
        print(f"bp-nop webhooks {args.action}: {error}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace, secret: str, environ: Mapping[str, str]) -> int:
    import uvicorn

    from bp_nop_dagster.ledger import Ledger
    from bp_nop_dagster.ledger.resource import default_ledger_url
    from bp_nop_dagster.webhooks.receiver import build_receiver_app, uvicorn_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ledger = Ledger(environ.get(settings.BP_NOP_LEDGER_URL) or default_ledger_url())
    uvicorn.Server(uvicorn_config(build_receiver_app(ledger, secret), host=args.host, port=args.port)).run()
    return 0


def _brightpearl(environ: Mapping[str, str]):
    from bp_nop_dagster.brightpearl.client import BrightpearlClient

    missing = [name for name in (settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN)
               if not environ.get(name)]
    if missing:
        raise ConfigurationError(f"not configured: set {', '.join(missing)}")
    return BrightpearlClient(environ[settings.BRIGHTPEARL_BASE_URL], app_ref=environ[settings.BRIGHTPEARL_APP_REF],
                             account_token=environ[settings.BRIGHTPEARL_ACCOUNT_TOKEN])


def _status(bp, public_url: str, secret: str, out: TextIO) -> int:
    existing = bp.webhooks()
    result = subs.plan(existing, public_url, secret)
    print(f"{len(existing)} subscriptions on the account; ours: {len(result.kept)} as needed, "
          f"{len(result.stale)} stale, {len(result.missing)} missing", file=out)
    for label, items in (("ok", result.kept), ("stale", result.stale)):
        for webhook in items:
            print(f"  {label:<7}{subs.describe(webhook)}", file=out)
    for body in result.missing:
        print(f"  missing {body['subscribeTo']}", file=out)
    for webhook in existing:
        if not subs.is_ours(webhook, public_url):
            print(f"  other  {subs.describe_other(webhook)}", file=out)
    return 0 if not result.stale and not result.missing else 1


def _sync(bp, public_url: str, secret: str, out: TextIO) -> int:
    result = subs.plan(bp.webhooks(), public_url, secret)
    for webhook in result.stale:
        _delete(bp, webhook, out)
    for body in result.missing:
        new_id = bp.create_webhook(body)
        print(f"created {new_id} {body['subscribeTo']} -> {subs.masked(body['uriTemplate'])}", file=out)
    print(f"in step: {len(result.kept) + len(result.missing)} subscriptions", file=out)
    return 0


def _remove(bp, public_url: str, secret: str, out: TextIO) -> int:
    ours = [w for w in bp.webhooks() if subs.is_ours(w, public_url)]
    for webhook in ours:
        _delete(bp, webhook, out)
    print(f"removed {len(ours)} subscriptions", file=out)
    return 0


def _delete(bp, webhook: Mapping, out: TextIO) -> None:
    try:
        bp.delete_webhook(int(webhook["id"]))
    except NotFoundError:
        pass  # already gone (a retried DELETE, or someone else removed it)
    print(f"deleted {webhook['id']} {webhook.get('subscribeTo')}", file=out)
