"""The ``meterwall`` command: demo, serve, import, migrate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from meterwall import __version__
from meterwall.settings import Settings, SettingsError, load_settings

DEMO_DIR = Path("meterwall-demo")


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    config = getattr(args, "config", None)
    return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from meterwall.app import create_app
    from meterwall.storage.migrate import upgrade

    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)
    app = create_app(settings.model_copy(update={"auto_migrate": False}))
    print(f"meterwall {__version__}: {settings.site_name} at http://{_url_host(host)}:{port}/")
    print("Press Ctrl+C to stop.", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the demo news site on embedded SQLite, seeding it on first run."""
    from meterwall.content.demo import seed_demo

    data_dir: Path = args.data_dir
    public_url = f"http://{_url_host(args.host)}:{args.port}"
    settings = _settings(args, data_dir=data_dir, public_url=public_url, demo=True)
    added = asyncio.run(seed_demo(settings))
    if added:
        print(f"Seeded {added} demo articles into {data_dir.resolve()}")
    _serve(settings, args.host, args.port)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the configured site."""
    settings = _settings(args)
    _serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    from meterwall.storage.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.resolved_database_url)
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

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    imp = sub.add_parser("import", help="import articles (Markdown with front matter, or text)")
    imp.add_argument("paths", nargs="+", type=Path, help="files or folders")
    imp.set_defaults(func=cmd_import)
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
