"""The pipelined Redis connection: every caller gets its own reply, and failures heal."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest
import uvloop
from redis.exceptions import ConnectionError, ResponseError
from sqlalchemy.engine import make_url

from meterwall.storage.pipelined_redis import PipelinedRedis
from tests.tcpfault import FaultProxy


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[PipelinedRedis]:
    client = PipelinedRedis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def proxy(redis_url: str) -> AsyncIterator[FaultProxy]:
    url = make_url(redis_url)
    fault = FaultProxy(url.host or "127.0.0.1", url.port or 6379).start()
    yield fault
    fault.stop()


@pytest.fixture
async def via_proxy(proxy: FaultProxy, redis_url: str) -> AsyncIterator[PipelinedRedis]:
    """A client whose connections go through the fault proxy."""
    client = PipelinedRedis(str(make_url(redis_url).set(host="127.0.0.1", port=proxy.port)))
    yield client
    await client.aclose()


async def test_a_thousand_concurrent_calls_each_get_their_own_reply_over_one_connection(
    redis: PipelinedRedis,
) -> None:
    values = [uuid.uuid4().hex for _ in range(1_000)]
    replies = await asyncio.gather(*(redis.execute("ECHO", v) for v in values))
    assert replies == [v.encode() for v in values]
    ids = await asyncio.gather(*(redis.execute("CLIENT", "ID") for _ in range(50)))
    assert len(set(ids)) == 1


async def test_a_script_redis_has_not_seen_is_loaded_and_run(redis: PipelinedRedis) -> None:
    source = f"return {{ARGV[1], '{uuid.uuid4().hex}'}}"
    sha = hashlib.sha1(source.encode()).hexdigest()
    reply = await redis.evalsha(sha, source, ["k"], ["first"])
    assert reply[0] == b"first"
    assert await redis.evalsha(sha, source, ["k"], ["second"]) == [b"second", reply[1]]


async def test_an_error_reply_raises_for_that_call_only(redis: PipelinedRedis) -> None:
    ok, bad = await asyncio.gather(
        redis.execute("ECHO", "fine"), redis.execute("NOSUCHCOMMAND"), return_exceptions=True
    )
    assert ok == b"fine"
    assert isinstance(bad, ResponseError)
    assert "unknown command" in str(bad).lower()
    assert await redis.execute("ECHO", "after") == b"after"


async def test_a_command_that_cannot_be_sent_fails_alone(redis: PipelinedRedis) -> None:
    with pytest.raises(TypeError):
        await redis.execute("ECHO", None)
    async with asyncio.timeout(5):
        assert await redis.execute("ECHO", "next") == b"next"


async def test_the_database_in_the_url_is_selected(redis_url: str) -> None:
    client = PipelinedRedis(str(make_url(redis_url).set(database="3")))
    try:
        key = f"mwtest:{uuid.uuid4().hex}"
        await client.execute("SET", key, "in-three", "EX", 60)
        info = await client.execute("CLIENT", "INFO")
        assert b" db=3 " in info
    finally:
        await client.aclose()


async def test_a_refused_connection_raises_and_a_later_call_connects(
    proxy: FaultProxy, via_proxy: PipelinedRedis
) -> None:
    proxy.set_mode("down")
    with pytest.raises(OSError):
        await via_proxy.execute("PING")
    proxy.set_mode("forward")
    assert await via_proxy.execute("PING") == b"PONG"


async def test_a_cut_connection_fails_its_waiting_calls_and_the_next_call_reconnects(
    proxy: FaultProxy, via_proxy: PipelinedRedis
) -> None:
    assert await via_proxy.execute("PING") == b"PONG"
    proxy.set_mode("down")
    with pytest.raises((ConnectionError, OSError)):
        await asyncio.wait_for(via_proxy.execute("PING"), 2)
    proxy.set_mode("forward")
    assert await via_proxy.execute("ECHO", "back") == b"back"


async def test_after_a_stall_no_caller_ever_receives_another_callers_reply(
    proxy: FaultProxy, via_proxy: PipelinedRedis
) -> None:
    """The proxy swallows commands while it hangs; a connection that stalled is not reused."""
    assert await via_proxy.execute("PING") == b"PONG"
    proxy.set_mode("hang")
    stalled = [asyncio.create_task(via_proxy.execute("ECHO", f"lost-{n}")) for n in range(5)]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(via_proxy.execute("ECHO", "given-up"), 0.2)
    proxy.set_mode("forward")
    values = [uuid.uuid4().hex for _ in range(20)]
    replies = await asyncio.wait_for(
        asyncio.gather(*(via_proxy.execute("ECHO", v) for v in values)), 5
    )
    assert replies == [v.encode() for v in values]
    for task in stalled:
        with pytest.raises(ConnectionError):
            await task


def test_it_runs_on_uvloop_the_event_loop_the_server_uses(redis_url: str) -> None:
    async def main() -> list[bytes]:
        client = PipelinedRedis(redis_url)
        try:
            async with asyncio.timeout(10):
                calls = (client.execute("ECHO", str(n)) for n in range(20))
                return list(await asyncio.gather(*calls))
        finally:
            await client.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(main()) == [str(n).encode() for n in range(20)]


def test_a_client_used_in_one_event_loop_works_and_closes_in_the_next(redis_url: str) -> None:
    """As the CLI uses it: several asyncio.run() calls, one client."""
    client = PipelinedRedis(redis_url)
    assert asyncio.run(client.execute("ECHO", "first")) == b"first"
    assert asyncio.run(client.execute("ECHO", "second")) == b"second"
    asyncio.run(client.execute("PING"))
    asyncio.run(client.aclose())
