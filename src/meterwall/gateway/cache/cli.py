"""``meterwall cache purge URL... | --all``: drop cached upstream copies from the shared store.

The command talks to the store the settings name: Redis directly, or, for
the in-memory cache, the purge journal every meterwall process on this
machine reads (so it needs the same ``data_dir`` as the server).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from meterwall.gateway.cache.factory import build_cache_store
from meterwall.gateway.cache.keys import purge_paths
from meterwall.gateway.cache.ports import CacheUnavailable
from meterwall.settings import Settings, load_settings


async def _purge(settings: Settings, urls: list[str], everything: bool) -> int:
    store = build_cache_store(settings)
    try:
        if everything:
            return await store.purge_all()
        origins = (settings.public_url, settings.proxy.upstream)
        groups = [group for url in urls for group in purge_paths(url, origins)]
        return await store.purge(groups)
    finally:
        await store.close()


def cmd_purge(args: argparse.Namespace) -> int:
    """Drop the cached copies of URLs, or of everything."""
    if bool(args.urls) == bool(args.all):
        print("meterwall cache purge: give URLs or --all (not both)", file=sys.stderr)
        return 2
    settings = load_settings(getattr(args, "config", None))
    try:
        purged = asyncio.run(_purge(settings, list(args.urls), args.all))
    except ValueError as exc:
        print(f"meterwall cache purge: {exc}", file=sys.stderr)
        return 2
    except CacheUnavailable as exc:
        print(f"meterwall cache purge: the cache store cannot be reached: {exc}", file=sys.stderr)
        return 1
    where = "Redis" if settings.cache.backend == "redis" else "every process using this data_dir"
    if args.all:
        print(f"purged the whole upstream cache ({where})")
    elif settings.cache.backend == "redis":
        print(f"purged {len(args.urls)} URL(s); {purged} held cached copies")
    else:
        print(f"purged {len(args.urls)} URL(s) from {where}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``meterwall cache ...`` to the command line."""
    cache = sub.add_parser("cache", help="the upstream cache of proxy mode")
    actions = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    purge = actions.add_parser("purge", help="drop cached copies of URLs (or --all)")
    purge.add_argument("urls", nargs="*", metavar="URL", help="paths or URLs of this site")
    purge.add_argument("--all", action="store_true", help="drop every cached response")
    purge.set_defaults(func=cmd_purge)
