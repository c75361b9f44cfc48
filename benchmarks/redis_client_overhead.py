"""How much client CPU one EVALSHA costs: redis-py, its pipelines, meterwall's, a minimal client.

    python3 benchmarks/redis_client_overhead.py

It explains the ``meter`` benchmark, whose one-process rate is bounded by
the client's CPU per call, not by Redis.  The same script (a trivial one,
with the meter's argument count) is called four ways against a dedicated
redis-server, 32 callers at a time; the third is what the meter store uses
on a single Redis.  The figure is calls per second of this process's CPU
time, which the machine's other work disturbs little.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aredis
from common import redis_server

from meterwall.storage.pipelined_redis import PipelinedRedis

CALLS = 20_000
CONCURRENCY = 32
ARGS = ("key", "field", "tag", "article", 1, 2, 3, 5, 60)


def pack(*args: object) -> bytes:
    """A RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class MinimalConnection:
    """One connection, one call at a time, replies of integers (all the script returns)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def call(self, *args: object) -> list[int]:
        self.writer.write(pack(*args))
        head = await self.reader.readline()
        count = int(head[1:-2])
        return [int((await self.reader.readline())[1:-2]) for _ in range(count)]


async def _per_cpu_second(call: Callable[[int], Awaitable[object]], calls: int) -> float:
    todo = iter(range(calls))

    async def worker(slot: int) -> None:
        for _ in todo:
            await call(slot)

    started = time.process_time()
    await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
    return calls / (time.process_time() - started)


async def measure(port: int) -> dict[str, int]:
    """Calls per CPU second, each way."""
    client = aredis.Redis(port=port)
    shared = PipelinedRedis(f"redis://127.0.0.1:{port}/0")
    sha = await client.script_load("return {1, 2}")
    connections = []
    for _ in range(CONCURRENCY):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        connections.append(MinimalConnection(reader, writer))

    async def pipelined(_slot: int) -> None:
        pipe = client.pipeline(transaction=False)
        for _ in range(16):
            pipe.evalsha(sha, 1, *ARGS)
        await pipe.execute()

    ways: dict[str, tuple[Callable[[int], Awaitable[object]], int]] = {
        "redis-py evalsha": (lambda _slot: client.evalsha(sha, 1, *ARGS), CALLS),
        "redis-py pipelines of 16": (pipelined, CALLS // 16),
        "meterwall PipelinedRedis": (
            lambda _slot: shared.evalsha(sha, "return {1, 2}", [ARGS[0]], list(ARGS[1:])),
            CALLS,
        ),
        "minimal RESP client": (
            lambda slot: connections[slot].call(b"EVALSHA", sha, 1, *ARGS),
            CALLS,
        ),
    }
    found = {}
    for name, (call, count) in ways.items():
        await _per_cpu_second(call, count // 10)  # warm up
        rate = await _per_cpu_second(call, count)
        found[name] = round(rate * (16 if "pipelines" in name else 1))
    for connection in connections:
        connection.writer.close()
    await client.aclose()
    await shared.aclose()
    return found


def main() -> None:
    """Print calls per CPU second for each client."""
    with redis_server() as port:
        for name, rate in asyncio.run(measure(port)).items():
            print(f"{name:<28} {rate:>8,} calls per CPU second")


if __name__ == "__main__":
    main()
