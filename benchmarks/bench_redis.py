"""The Redis meter: check-and-records per second, latency at half load, and memory per reader.

Everything runs against a dedicated redis-server on a free loopback port,
through the product's own ``RedisMeterStore`` (built by the same factory the
app uses), from one Python process: its connection pool is the one a single
app worker has.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from common import cpu_seconds, redis_pid, redis_server, say

from meterwall.access.model import Policy
from meterwall.access.policy import meter_window
from meterwall.metering.factory import build_meter_store
from meterwall.metering.ports import MeterStore, MeterUnavailable
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine

RATE_TARGET = 20_000
P99_TARGET_MS = 5.0
BYTES_TARGET = 128
LIMIT = 5


def _store(port: int, timeout_ms: int | None = None) -> MeterStore:
    """The app's Redis meter store; the app's default timeout unless one is given."""
    folder = Path(tempfile.mkdtemp(prefix="mw-bench-redis-"))
    extra: dict[str, Any] = {} if timeout_ms is None else {"store_timeout_ms": timeout_ms}
    settings = Settings(
        data_dir=folder,
        secret_key="bench",
        meter_store="redis",
        redis_url=f"redis://127.0.0.1:{port}/0",
        **extra,
    )
    return build_meter_store(settings, create_engine(settings.resolved_database_url))


def _percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _closed_loop(
    store: MeterStore, seconds: float, concurrency: int, readers: list[str], now: datetime
) -> dict[str, Any]:
    """``concurrency`` tasks calling back to back for ``seconds``: the peak rate."""
    window = meter_window(Policy(), now)
    articles = [f"article-{n}" for n in range(20)]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(seed: int) -> None:
        nonlocal errors
        pick = random.Random(seed)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await store.check_and_record(
                    pick.choice(readers), window, pick.choice(articles), LIMIT, now
                )
            except MeterUnavailable:
                errors += 1
            latencies.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies.sort()
    return {
        "calls": len(latencies),
        "per_second": round(len(latencies) / elapsed),
        # Calls per second of this process's CPU time: what one core would do
        # if the machine were not shared (Redis itself runs in its own process).
        "per_cpu_second": round(len(latencies) / cpu),
        "cpu_share": round(cpu / elapsed, 2),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "errors": errors,
    }


async def _open_loop(
    store: MeterStore, seconds: float, rate: float, readers: list[str], now: datetime
) -> dict[str, Any]:
    """Calls started at a fixed ``rate`` (not waiting for each other) for ``seconds``.

    Each latency is measured from when the call was due, so a backlog shows
    up in the figures instead of hiding (no coordinated omission).
    """
    window = meter_window(Policy(), now)
    articles = [f"article-{n}" for n in range(20)]
    pick = random.Random(7)
    latencies: list[float] = []
    errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float, reader: str, article: str) -> None:
        nonlocal errors
        try:
            await store.check_and_record(reader, window, article, LIMIT, now)
        except MeterUnavailable:
            errors += 1
        latencies.append(time.perf_counter() - due)

    started = time.perf_counter()
    issued = 0
    total = int(rate * seconds)
    while issued < total:
        now_s = time.perf_counter()
        due_count = min(total, int((now_s - started) * rate) + 1)
        while issued < due_count:
            due = started + issued / rate
            task = asyncio.create_task(one(due, pick.choice(readers), pick.choice(articles)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            issued += 1
        await asyncio.sleep(0.0005)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": round(rate),
        "calls": len(latencies),
        "achieved_per_second": round(len(latencies) / elapsed),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "p999_ms": round(_percentile(latencies, 0.999) * 1000, 3),
        "errors": errors,
    }


def run_meter(seconds: float = 5, concurrency: int = 64) -> dict[str, Any]:
    """Peak check-and-records per second, then p99 latency at half that rate."""
    with redis_server() as port:
        store = _store(port)
        readers = [f"reader-{n}" for n in range(100_000)]
        now = datetime.now(UTC)

        async def main() -> tuple[dict[str, Any], dict[str, Any]]:
            await _closed_loop(store, 1, concurrency, readers, now)  # warm up
            say(f"meter: peak, {concurrency} concurrent callers for {seconds:g} s")
            server = redis_pid(port) or 0
            redis_cpu = cpu_seconds(server)
            peak = await _closed_loop(store, seconds, concurrency, readers, now)
            redis_cpu = cpu_seconds(server) - redis_cpu
            peak["redis_cpu_us_per_call"] = round(1e6 * redis_cpu / max(peak["calls"], 1), 1)
            say(f"meter: peak {peak['per_second']:,} check-and-records/s")
            say(f"meter: half load, {peak['per_second'] / 2:,.0f}/s for {seconds:g} s")
            half = await _open_loop(store, seconds, peak["per_second"] / 2, readers, now)
            say(f"meter: half load p99 {half['p99_ms']:.2f} ms")
            await store.close()
            return peak, half

        peak, half = asyncio.run(main())
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "peak": peak,
        "half_load": half,
        "rate_target": RATE_TARGET,
        "p99_target_ms": P99_TARGET_MS,
        "met": peak["per_second"] >= RATE_TARGET and half["p99_ms"] < P99_TARGET_MS,
    }


def _fill(port: int, first: int, last: int, articles: int, concurrency: int) -> None:
    """Give readers ``first`` to ``last`` (exclusive) a full meter (one process's share).

    Calls are given a generous timeout: on a busy machine the filling is slow,
    and only what ends up stored matters here.
    """
    store = _store(port, timeout_ms=30_000)
    now = datetime.now(UTC)
    window = meter_window(Policy(), now)
    pool = [f"article-{n}" for n in range(articles)]
    queue = iter(range(first, last))
    pick = random.Random(first)

    async def worker() -> None:
        for n in queue:
            for article in pick.sample(pool, LIMIT):
                await store.check_and_record(f"reader-{n:07d}", window, article, LIMIT, now)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await store.close()

    asyncio.run(main())


def run_memory(
    readers: int = 100_000, articles: int = 500, concurrency: int = 64, processes: int = 2
) -> dict[str, Any]:
    """Redis bytes per reader with a full meter (``LIMIT`` articles) in one period."""
    with redis_server() as port:
        info = redis.Redis(port=port)
        # The article registry is shared by all readers: fill it before measuring
        # "before", so that only per-reader memory is counted.
        store = _store(port, timeout_ms=30_000)

        async def registry() -> None:
            now = datetime.now(UTC)
            window = meter_window(Policy(), now)
            for n in range(articles):
                await store.check_and_record("warm-up", window, f"article-{n}", articles, now)
            await store.forget("warm-up")
            await store.close()

        asyncio.run(registry())
        before = info.info("memory")
        say(f"memory: filling {readers:,} readers' meters from {processes} processes")
        started = time.perf_counter()
        share = -(-readers // processes)
        with ProcessPoolExecutor(processes) as pool:
            jobs = [
                pool.submit(_fill, port, n, min(n + share, readers), articles, concurrency)
                for n in range(0, readers, share)
            ]
            for job in jobs:
                job.result()
        say(f"memory: {readers:,} readers x {LIMIT} reads in {time.perf_counter() - started:.1f} s")
        after = info.info("memory")
        keys = info.dbsize()
        sample = next(iter(info.scan_iter(match="mw:{*", count=100)), None)
        encoding = info.object("encoding", sample) if sample else b""
        info.close()
    used = after["used_memory"] - before["used_memory"]
    per_reader = used / readers
    say(f"memory: {per_reader:.1f} bytes per reader per period")
    return {
        "readers": readers,
        "reads_per_reader": LIMIT,
        "used_memory_before": before["used_memory"],
        "used_memory_after": after["used_memory"],
        "bytes_per_reader": round(per_reader, 1),
        "keys": keys,
        "bucket_encoding": encoding.decode() if isinstance(encoding, bytes) else str(encoding),
        "target": BYTES_TARGET,
        "met": per_reader <= BYTES_TARGET,
    }
