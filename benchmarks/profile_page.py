"""Profile the article page path in-process with pyinstrument (no network, no server).

Requests go straight through the ASGI interface, so the profile shows only
meterwall's own work: middleware, reader, meter, decision, templates.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_http import SECRET, prepare_data
from common import asgi_get, median, say

from meterwall.access.policy import meter_window
from meterwall.app import create_app
from meterwall.content.store import ArticleStore
from meterwall.identity.cookies import ReaderCookie, new_reader_id
from meterwall.identity.readers import RequestFacts
from meterwall.identity.sessions import SessionStore
from meterwall.settings import Settings


def ensure_pyinstrument() -> None:
    """Install pyinstrument from PyPI when it is missing."""
    if importlib.util.find_spec("pyinstrument") is None:
        say("pyinstrument is missing; installing it")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyinstrument"], check=True)


async def _requests(app: Any, path: str, cookie: str, count: int, cpu: bool = False) -> float:
    """Requests per second of wall-clock time (or, with ``cpu``, of this process's CPU time)."""
    clock = time.process_time if cpu else time.perf_counter
    started = clock()
    for _ in range(count):
        status = await asgi_get(app, path, [(b"cookie", f"mw_reader={cookie}".encode())])
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
    return count / (clock() - started)


def _uncached(app: Any) -> None:
    """Undo the two caches added after profiling, to measure what they save."""
    services = app.state.services
    services.members.sessions = SessionStore(services.engine, services.settings.accounts)
    object.__setattr__(services, "articles", ArticleStore(services.engine))


def check_costs(redis_port: int, count: int = 2000) -> dict[str, float]:
    """CPU microseconds of each part of the access check (Redis meter), in-process."""
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-costs-"))
    try:
        articles = prepare_data(folder)
        app = create_app(
            Settings(
                data_dir=folder,
                secret_key=SECRET,
                auto_migrate=False,
                meter_store="redis",
                redis_url=f"redis://127.0.0.1:{redis_port}/0",
            )
        )
        services = app.state.services

        async def main() -> dict[str, float]:
            found = await services.articles.by_slug(articles[0][0])
            facts, reader_id, now = found.access_facts(), new_reader_id(), datetime.now(UTC)
            request = RequestFacts(reader_id, "127.0.0.1", "Mozilla/5.0", found.id, now=now)
            reader = await services.readers.state(request)
            window = meter_window(services.access.policy, now)
            store = services.access.meter.store
            parts: dict[str, Callable[[], Awaitable[object]]] = {
                "resolve the reader": lambda: services.readers.state(request),
                "decide (meter included)": lambda: services.access.decide(facts, reader, now),
                "meter check_and_record": lambda: store.check_and_record(
                    reader_id, window, found.id, 5, now
                ),
                "a bare Redis PING (client overhead)": lambda: store._client.ping(),
            }
            costs = {}
            for name, call in parts.items():
                for _ in range(100):
                    await call()
                started = time.process_time()
                for _ in range(count):
                    await call()
                costs[name] = round(1e6 * (time.process_time() - started) / count, 1)
            await services.access.meter.close()
            await services.engine.dispose()
            return costs

        costs = asyncio.run(main())
        say("access check, CPU us: " + ", ".join(f"{k} {v}" for k, v in costs.items()))
        return costs
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def before_after(
    count: int = 1000, rounds: int = 3, redis_port: int | None = None
) -> dict[str, Any]:
    """Article pages per CPU second without and with the caches, alternating, same data."""
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-caches-"))
    try:
        articles = prepare_data(folder)
        overrides: dict[str, Any] = {}
        if redis_port is not None:
            overrides = {"meter_store": "redis", "redis_url": f"redis://127.0.0.1:{redis_port}/0"}
        settings = Settings(
            data_dir=folder,
            secret_key=SECRET,
            auto_migrate=False,
            ops={"access_log": False},
            **overrides,
        )
        before, after = create_app(settings), create_app(settings)
        _uncached(before)
        cookie = ReaderCookie([SECRET]).sign(new_reader_id())
        path = f"/articles/{articles[0][0]}"

        async def main() -> dict[str, list[float]]:
            found: dict[str, list[float]] = {"before": [], "after": []}
            for app in (before, after):
                await _requests(app, path, cookie, 50)
            for _ in range(rounds):
                for name, app in (("before", before), ("after", after)):
                    found[name].append(await _requests(app, path, cookie, count, cpu=True))
            for app in (before, after):
                await app.state.services.engine.dispose()
            return found

        found = asyncio.run(main())
        result: dict[str, float] = {k: round(median(v)) for k, v in found.items()}
        result["speedup"] = round(result["after"] / result["before"], 2)
        say(
            f"caches: {result['before']:,} -> {result['after']:,} pages per CPU second "
            f"(x{result['speedup']})"
        )
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(
    count: int = 2000, redis_port: int | None = None, html: Path | None = None
) -> dict[str, Any]:
    """Profile ``count`` metered article page requests; requests per second and the top frames."""
    ensure_pyinstrument()
    from pyinstrument import Profiler

    folder = Path(tempfile.mkdtemp(prefix="mw-bench-profile-"))
    try:
        articles = prepare_data(folder)
        overrides: dict[str, Any] = {}
        if redis_port is not None:
            overrides = {"meter_store": "redis", "redis_url": f"redis://127.0.0.1:{redis_port}/0"}
        settings = Settings(
            data_dir=folder,
            secret_key=SECRET,
            auto_migrate=False,
            ops={"access_log": False},
            **overrides,
        )
        app = create_app(settings)
        cookie = ReaderCookie([SECRET]).sign(new_reader_id())
        path = f"/articles/{articles[0][0]}"

        async def main() -> tuple[float, float, Any]:
            await _requests(app, path, cookie, 50)
            plain = await _requests(app, path, cookie, count)
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            profiler.start()
            profiled = await _requests(app, path, cookie, count)
            profiler.stop()
            await app.state.services.engine.dispose()
            return plain, profiled, profiler

        plain, profiled, profiler = asyncio.run(main())
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        if html is not None:
            html.write_text(profiler.output_html())
        say(f"profile: {plain:,.0f} requests/s in-process without the profiler")
        return {"in_process_rps": round(plain), "profiled_rps": round(profiled), "profile": text}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    print(result["profile"])
    print(f"in-process: {result['in_process_rps']} requests/s")
