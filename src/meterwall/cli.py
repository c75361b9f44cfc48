"""The ``meterwall`` command: demo, serve, proxy, audit, import, migrate."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from meterwall import __version__
from meterwall.admin.cli import add_commands as admin_commands
from meterwall.analytics.cli import add_commands as analytics_commands
from meterwall.gateway.cache.cli import add_commands as cache_commands
from meterwall.metering.cli import add_commands as meter_commands
from meterwall.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from meterwall.billing.emulator import LocalStripe
    from meterwall.gateway.audit import Report

DEMO_DIR = Path("meterwall-demo")


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    config = getattr(args, "config", None)
    return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})


def _serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int = 1,
    overrides: dict[str, object] | None = None,
) -> None:
    from meterwall.ops.server import serve

    serve(settings, overrides or {}, host=host, port=port, workers=workers)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the demo news site on embedded SQLite, seeding it on first run."""
    from meterwall.admin.demo import prepare_dashboard
    from meterwall.content.demo import seed_demo

    data_dir: Path = args.data_dir
    os.environ.setdefault("METERWALL_OPS__LOG_FORMAT", "text")
    overrides: dict[str, object] = {
        "data_dir": data_dir,
        "public_url": f"http://{_url_host(args.host)}:{args.port}",
        "demo": True,
        "mail": {"backend": "dev"},
    }
    settings = _settings(args, **overrides)
    added = asyncio.run(seed_demo(settings))
    if added:
        print(f"Seeded {added} demo articles into {data_dir.resolve()}")
    print("\n".join(asyncio.run(prepare_dashboard(settings))))
    emulator = _demo_payments(settings, overrides)
    try:
        _serve(_settings(args, **overrides), args.host, args.port, overrides=overrides)
    finally:
        if emulator is not None:
            emulator.stop()
    return 0


def _demo_payments(settings: Settings, overrides: dict[str, object]) -> LocalStripe | None:
    """Start localstripe for the demo (unless real Stripe keys are configured)."""
    from meterwall.billing.emulator import LocalStripe, available, demo_webhook_secret

    if settings.stripe.enabled:
        return None
    if not available():
        print("Payments are off: install meterwall[demo] to subscribe with a test card.")
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    emulator = LocalStripe(state=settings.data_dir / "localstripe.pickle").start()
    secret = demo_webhook_secret(settings.data_dir)
    emulator.configure_webhook(f"{settings.public_url}/webhooks/stripe", secret)
    overrides["stripe"] = {
        "secret_key": "sk_test_meterwall_demo",
        "publishable_key": "pk_test_meterwall_demo",
        "webhook_secret": secret,
        "api_base": emulator.api_base,
        "js_url": emulator.js_url,
    }
    print(f"Payments: localstripe at {emulator.api_base} (test card 4242 4242 4242 4242)")
    print(f"Mail: sign-in links appear at {settings.public_url}/dev/mailbox")
    return emulator


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the configured site.

    Without a configured ``public_url``, links (sign-in and gift links,
    canonical URLs, JSON-LD, feeds) follow ``--host`` and ``--port``.
    """
    base = _settings(args)
    overrides: dict[str, object] = {}
    if "public_url" not in base.model_fields_set:
        overrides["public_url"] = f"http://{_url_host(args.host)}:{args.port}"
    settings = _settings(args, **overrides) if overrides else base
    _serve(settings, args.host, args.port, args.workers, overrides=overrides)
    return 0


def cmd_proxy(args: argparse.Namespace) -> int:
    """Serve an existing site through meterwall, gating its articles."""
    base = _settings(args)
    proxy = base.proxy.model_dump(mode="json")
    if args.upstream:
        proxy["upstream"] = args.upstream
    if not proxy["upstream"]:
        print("meterwall: give --upstream URL (or set proxy.upstream)", file=sys.stderr)
        return 2
    overrides: dict[str, object] = {"proxy": proxy}
    if args.public_url:
        overrides["public_url"] = args.public_url
    elif "public_url" not in base.model_fields_set:
        overrides["public_url"] = f"http://{_url_host(args.host)}:{args.port}"
    settings = _settings(args, **overrides)
    print(f"Gating {settings.proxy.upstream} as {settings.public_url}", flush=True)
    _serve(settings, args.host, args.port, args.workers, overrides=overrides)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Check an article page (a URL or a saved file) for paywall leaks."""
    import httpx

    from meterwall.gateway.audit import AuditError, audit_client, audit_file, audit_url

    target: str = args.target
    try:
        if target.startswith(("http://", "https://")):

            async def run() -> Report:
                async with audit_client(args.timeout) as client:
                    return await audit_url(target, client, args.teaser_words, not args.no_follow)

            report = asyncio.run(run())
        else:
            report = audit_file(Path(target), args.teaser_words)
    except OSError as exc:
        print(f"meterwall audit: cannot read {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"meterwall audit: cannot fetch {target}: {exc}", file=sys.stderr)
        return 2
    except AuditError as exc:
        print(f"meterwall audit: nothing to audit: {exc}", file=sys.stderr)
        return 2
    print(report.to_json() if args.json else report.to_text())
    if report.leaks or (args.strict and report.warnings):
        return 1
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from meterwall.storage.migrate import upgrade

    settings = _settings(args)
    url = settings.resolved_database_url
    try:
        upgrade(url)
    except (OSError, SQLAlchemyError) as exc:
        where = make_url(url).render_as_string(hide_password=True)
        print(f"meterwall: could not migrate the database at {where}: {exc}", file=sys.stderr)
        return 1
    print("database is up to date")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import articles from Markdown or seed-style text files."""
    from meterwall.content.importers import import_into

    settings = _settings(args)
    report = asyncio.run(import_into(settings, args.paths, progress=_progress))
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"imported {report.imported} article(s), {len(report.problems)} file(s) with errors")
    return 1 if report.problems else 0


def _progress(done: int, total: int, name: str) -> None:
    if sys.stderr.isatty():
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        print(f"\r[{bar}] {done}/{total} {name[-40:]:<40}", end="", file=sys.stderr, flush=True)
        if done == total:
            print(file=sys.stderr)


def cmd_billing_sync(args: argparse.Namespace) -> int:
    """Re-read every subscription from Stripe and repair local state."""
    from meterwall.accounts_cli import billing_sync

    return billing_sync(_settings(args))


def cmd_grant(args: argparse.Namespace) -> int:
    """Give, revoke or list complimentary access."""
    from meterwall.accounts_cli import grant, list_grants, revoke_grants

    settings = _settings(args)
    if args.list:
        return list_grants(settings)
    if not args.email:
        print("meterwall grant: name the reader's e-mail address (or --list)", file=sys.stderr)
        return 2
    if args.revoke:
        return revoke_grants(settings, args.email)
    return grant(settings, args.email, args.days, args.note)


def cmd_licence(args: argparse.Namespace) -> int:
    """List, add or remove group licences."""
    from meterwall.accounts_cli import licence

    return licence(_settings(args), args.action, args.name, args.cidr, args.domain, args.id)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``meterwall`` command."""
    parser = argparse.ArgumentParser(
        prog="meterwall", description="A self-hosted metered paywall for news publishers."
    )
    parser.add_argument("--version", action="version", version=f"meterwall {__version__}")
    parser.add_argument("--config", type=Path, help="TOML settings file (or METERWALL_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="serve the demo news site on embedded SQLite")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=DEMO_DIR,
        help=f"where the demo keeps its data (default ./{DEMO_DIR})",
    )
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve the configured site")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    proxy = sub.add_parser("proxy", help="gate an existing site: serve it through meterwall")
    proxy.add_argument("--upstream", help="the existing site, e.g. http://127.0.0.1:8080")
    proxy.add_argument("--host", default="127.0.0.1")
    proxy.add_argument("--port", type=int, default=8000)
    proxy.add_argument("--workers", type=int, default=1)
    proxy.add_argument("--public-url", help="the address readers use (default http://HOST:PORT)")
    proxy.set_defaults(func=cmd_proxy)

    audit = sub.add_parser("audit", help="check an article page (URL or file) for paywall leaks")
    audit.add_argument("target", help="a URL or a saved HTML file")
    audit.add_argument(
        "--teaser-words",
        type=int,
        default=120,
        help="body words a gated page may show (default 120)",
    )
    audit.add_argument(
        "--no-follow",
        action="store_true",
        help="skip the other representations (data route, RSC, JSON, AMP, feeds ...)",
    )
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    audit.add_argument("--strict", action="store_true", help="fail on warnings too")
    audit.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
    audit.set_defaults(func=cmd_audit)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    imp = sub.add_parser("import", help="import articles (Markdown with front matter, or text)")
    imp.add_argument("paths", nargs="+", type=Path, help="files or folders")
    imp.set_defaults(func=cmd_import)
    billing = sub.add_parser("billing", help="payments: reconcile with Stripe")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True, metavar="ACTION")
    sync = billing_sub.add_parser("sync", help="re-read subscriptions from Stripe, repair state")
    sync.set_defaults(func=cmd_billing_sync)

    grant = sub.add_parser(
        "grant", help="give, revoke or list complimentary access (also at /admin/grants)"
    )
    grant.add_argument("email", nargs="?", help="the reader's e-mail address")
    grant.add_argument("--days", type=int, default=None, help="length (default: until revoked)")
    grant.add_argument("--note", default="", help="why (shown to staff only)")
    what = grant.add_mutually_exclusive_group()
    what.add_argument("--revoke", action="store_true", help="end this account's grants now")
    what.add_argument("--list", action="store_true", help="list every grant with its note")
    grant.set_defaults(func=cmd_grant)

    lic = sub.add_parser("licence", help="group licences by network or email domain")
    lic.add_argument("action", choices=["list", "add", "remove"])
    lic.add_argument("--name", default="", help="who the licence is for")
    lic.add_argument("--cidr", help="an IP network, e.g. 192.0.2.0/24")
    lic.add_argument("--domain", help="an email domain, e.g. example.edu")
    lic.add_argument("--id", help="the licence to remove")
    lic.set_defaults(func=cmd_licence)
    admin_commands(sub)
    analytics_commands(sub)
    cache_commands(sub)
    meter_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``meterwall`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"meterwall: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
