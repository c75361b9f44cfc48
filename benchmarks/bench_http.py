"""Article pages over HTTP with wrk: the paywall's overhead, and scaling with workers.

``page``: one uvicorn worker serves both the real article page and the same
page without the access check (see ``pageapp.py``); wrk alternates between
them, several rounds each, so both sides see the same machine at the same
time.  Two readers are measured: one re-reading a metered article (full
text, meter consulted) and one at the limit (teaser and paywall).

``workers``: ``meterwall serve --workers N`` (the product itself) for N = 1,
2 and 4, wrk on the metered page.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from common import (
    BENCHMARKS,
    cpu_seconds,
    free_port,
    median,
    redis_pid,
    redis_server,
    run_wrk,
    say,
    stop,
    wait_for_port,
    wrk_command,
)

from meterwall.content.demo import demo_articles, seed_demo
from meterwall.identity.cookies import ReaderCookie, new_reader_id
from meterwall.settings import Settings

SECRET = "benchmark-secret-key"
RATIO_TARGET = 0.8


def environment(folder: Path, redis_port: int | None) -> dict[str, str]:
    """Settings for the benchmark servers, as environment variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METERWALL_", "PROMETHEUS"))}
    env.update(
        METERWALL_DATA_DIR=str(folder),
        METERWALL_SECRET_KEY=SECRET,
        METERWALL_PUBLIC_URL="http://127.0.0.1:8000",
        METERWALL_AUTO_MIGRATE="false",
    )
    if redis_port is not None:
        env.update(
            METERWALL_METER_STORE="redis",
            METERWALL_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        )
    return env


def prepare_data(folder: Path) -> list[tuple[str, str]]:
    """Migrate and seed the demo articles; each metered article's slug and a gated phrase.

    The phrase is a run of plain words from the article's last paragraph,
    which only a reader given the full text receives.
    """
    settings = Settings(data_dir=folder, secret_key=SECRET)
    asyncio.run(seed_demo(settings))
    found = []
    for article in demo_articles():
        if article.access.value != "metered":
            continue
        last = [b.text for b in article.body if b.kind == "paragraph"][-1]
        phrase = max(re.findall(r"[A-Za-z ]+", last), key=len).strip()
        found.append((article.slug, phrase))
    return found


def cookie() -> str:
    """The Cookie header of a new reader."""
    return f"Cookie: mw_reader={ReaderCookie([SECRET]).sign(new_reader_id())}"


@contextmanager
def server(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[tuple[str, int]]:
    """A server process on ``port`` for the duration of the block: its URL and process id."""
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=env, cwd=BENCHMARKS, stdout=subprocess.DEVNULL, stderr=sink
        )
        try:
            wait_for_port(port, 60)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            stop(process)


def _get(url: str, header: str) -> httpx.Response:
    name, _, value = header.partition(": ")
    return httpx.get(url, headers={name: value}, timeout=10)


def _check_pair(
    real: str, baseline: str, header: str, phrase: str, expect_full: bool
) -> dict[str, int]:
    """Both sides answer 200 with the same kind of page: full text, or the teaser."""
    for url in (real, baseline):
        page = _get(url, header)
        if page.status_code != 200 or (phrase in page.text) != expect_full:
            kind = "full text" if expect_full else "the teaser"
            raise RuntimeError(f"{url} answered {page.status_code}, not {kind}")
    sizes = len(_get(real, header).content), len(_get(baseline, header).content)
    return {"real_bytes": sizes[0], "baseline_bytes": sizes[1]}


def _measured(command: list[str], pids: dict[str, int | None]) -> dict[str, Any]:
    """One wrk run, with the CPU each named process spent per request meanwhile."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}
    result = run_wrk(command)
    if result.non_2xx or result.errors:
        raise RuntimeError(f"{command[-1]}: {result.non_2xx} non-2xx, {result.errors} errors")
    spent = {name: cpu_seconds(pids[name] or 0) - start for name, start in before.items()}
    return {
        "rps": result.requests_per_second,
        "p99_ms": result.p99_ms,
        "requests": result.requests,
        **{f"{name}_cpu_ms": 1000 * used / result.requests for name, used in spent.items()},
    }


def compare(
    real: str,
    baseline: str,
    header: str,
    seconds: float,
    rounds: int,
    connections: int,
    pids: dict[str, int | None],
) -> dict[str, Any]:
    """wrk on both URLs, alternating, ``rounds`` times each; medians and their ratios.

    ``ratio`` compares requests per second (what the machine gave the run);
    ``cpu_ratio`` compares the app server's CPU time per request, which the
    other work on a shared machine disturbs much less.  Both are the median
    of the rounds' own ratios.
    """
    sides: dict[str, list[dict[str, Any]]] = {"real": [], "baseline": []}
    commands = {}
    run_wrk(wrk_command(real, 1, connections, headers=[header]))  # warm up
    run_wrk(wrk_command(baseline, 1, connections, headers=[header]))
    for n in range(rounds):
        for side, url in (("real", real), ("baseline", baseline)):
            command = wrk_command(url, seconds, connections, headers=[header])
            commands[side] = shlex.join(command)
            measured = _measured(command, pids)
            sides[side].append(measured)
            say(
                f"  round {n + 1} {side:<8} {measured['rps']:>8,.0f} req/s, "
                f"app {measured['app_cpu_ms']:.3f} ms CPU per request"
            )

    def mid(side: str, key: str) -> float:
        return median([m[key] for m in sides[side] if key in m])

    def paired(key: str, invert: bool = False) -> float:
        # Each round's two runs saw nearly the same machine: compare within rounds.
        ratios = [
            (b[key] / r[key]) if invert else (r[key] / b[key])
            for r, b in zip(sides["real"], sides["baseline"], strict=True)
        ]
        return round(median(ratios), 3)

    found: dict[str, Any] = {
        "real_rps": round(mid("real", "rps")),
        "baseline_rps": round(mid("baseline", "rps")),
        "ratio": paired("rps"),
        "real_app_cpu_ms": round(mid("real", "app_cpu_ms"), 3),
        "baseline_app_cpu_ms": round(mid("baseline", "app_cpu_ms"), 3),
        "cpu_ratio": paired("app_cpu_ms", invert=True),
        "real_p99_ms": mid("real", "p99_ms"),
        "baseline_p99_ms": mid("baseline", "p99_ms"),
        "commands": commands,
    }
    if pids.get("redis"):
        found["real_redis_cpu_ms"] = round(mid("real", "redis_cpu_ms"), 3)
    return found


def run_page(
    seconds: float = 5, rounds: int = 3, connections: int = 16, meter: str = "redis"
) -> dict[str, Any]:
    """The article page against the same page without the access check, per meter store."""
    stores = ["sql", "redis"] if meter == "both" else [meter]
    results: dict[str, Any] = {"connections": connections, "seconds": seconds, "rounds": rounds}
    for store in stores:
        folder = Path(tempfile.mkdtemp(prefix="mw-bench-page-"))
        try:
            articles = prepare_data(folder)
            with _maybe_redis(store) as redis_port:
                port = free_port()
                command = [sys.executable, "pageapp.py", str(port), "1"]
                env = environment(folder, redis_port)
                with server(command, env, port, folder / "server.log") as (url, pid):
                    pids = {"app": pid, "redis": redis_pid(redis_port) if redis_port else None}
                    results[store] = _page_scenarios(
                        url, articles, seconds, rounds, connections, pids
                    )
                    results[store]["server"] = "cd benchmarks && " + shlex.join(
                        ["python3", *command[1:]]
                    )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


@contextmanager
def _maybe_redis(store: str) -> Iterator[int | None]:
    if store == "redis":
        with redis_server() as port:
            yield port
    else:
        yield None


def _page_scenarios(
    url: str,
    articles: list[tuple[str, str]],
    seconds: float,
    rounds: int,
    connections: int,
    pids: dict[str, int | None],
) -> dict[str, Any]:
    rereader, limited = cookie(), cookie()
    _get(f"{url}/articles/{articles[0][0]}", rereader)
    gated = None
    for slug, phrase in articles:  # read until the paywall shows
        if phrase not in _get(f"{url}/articles/{slug}", limited).text:
            gated = (slug, phrase)
            break
    if gated is None:
        raise RuntimeError("the reader never reached the paywall")
    found: dict[str, Any] = {}
    for name, header, (slug, phrase), prefix, full in (
        ("metered", rereader, articles[0], "/nocheck-metered", True),
        ("gated", limited, gated, "/nocheck-gated", False),
    ):
        real = f"{url}/articles/{slug}"
        baseline = f"{url}{prefix}/articles/{slug}"
        sizes = _check_pair(real, baseline, header, phrase, full)
        say(f"page, {name}: {real} against {baseline}")
        measured = compare(real, baseline, header, seconds, rounds, connections, pids)
        found[name] = {**measured, **sizes}
        say(
            f"page, {name}: throughput ratio {measured['ratio']:.3f}, CPU ratio "
            f"{measured['cpu_ratio']:.3f} (target >= {RATIO_TARGET})"
        )
    found["meter_fallbacks"] = fallbacks(url)
    if found["meter_fallbacks"]:
        say(f"warning: {found['meter_fallbacks']:g} requests fell back: the meter store was slow")
    return found


def fallbacks(url: str) -> float:
    """How many requests the meter_failure policy answered (0 in a valid run)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("meterwall_meter_fallbacks_total{")
    )


def run_workers(
    seconds: float = 5, counts: tuple[int, ...] = (1, 2, 4), connections: int = 64
) -> dict[str, Any]:
    """``meterwall serve --workers N`` on the metered page, with the Redis meter."""
    results: dict[str, Any] = {"connections": connections, "seconds": seconds, "runs": {}}
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-workers-"))
    try:
        articles = prepare_data(folder)
        with redis_server() as redis_port:
            env = environment(folder, redis_port)
            for workers in counts:
                port = free_port()
                command = [sys.executable, "-m", "meterwall", "serve", "--port", str(port)]
                command += ["--workers", str(workers)]
                log = folder / f"serve-{workers}.log"
                with server(command, env, port, log) as (url, pid):
                    header = cookie()
                    page = f"{url}/articles/{articles[0][0]}"
                    _wait_ready(url)
                    _get(page, header)
                    run_wrk(wrk_command(page, 2, connections, threads=2, headers=[header]))
                    wrk = wrk_command(page, seconds, connections, threads=2, headers=[header])
                    measured = _measured(wrk, {"app": pid})
                    say(
                        f"workers={workers}: {measured['rps']:,.0f} req/s, "
                        f"{measured['app_cpu_ms']:.3f} ms CPU per request"
                    )
                    results["runs"][str(workers)] = {
                        "meter_fallbacks": fallbacks(url),
                        "rps": round(measured["rps"]),
                        "p99_ms": measured["p99_ms"],
                        "app_cpu_ms": round(measured["app_cpu_ms"], 3),
                        "server": "meterwall serve --workers " + str(workers),
                        "wrk": shlex.join(wrk),
                    }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    first = results["runs"].get("1", {}).get("rps")
    if first:
        for run in results["runs"].values():
            run["speedup"] = round(run["rps"] / first, 2)
    return results


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")
