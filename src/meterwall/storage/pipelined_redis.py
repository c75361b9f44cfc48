"""One Redis connection that many concurrent calls share, pipelined.

The meter asks Redis one question per article page.  Through redis-py each
command costs the client about 100 us of CPU (connection pool, retry
wrapper, packing and stream reads), four times what Redis spends running the
meter's script, and that bounded how many pages one process could serve
(BENCHMARKS.md).  Here the commands issued in one turn of the event loop
leave in one write, hiredis (the C parser redis-py also uses) parses the
replies, and each reply goes to its caller in order.

Single-node Redis only: Redis Cluster keeps redis-py's cluster client, which
routes each command to the node that owns its key.

A call given up before its reply came (the caller's time ran out) closes
the connection, as redis-py does: after a stall nothing proves that the
replies still to come pair with the commands waiting for them, so the calls
sharing it fail and the next call opens a new one.  Callers bound each call;
this class never waits on its own.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, cast

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError, NoScriptError, ResponseError

Reply = Any
"""What hiredis parsed: an int, bytes, None, or a list of those."""


class _Link(asyncio.Protocol):
    """One open connection: commands out in order, replies back in the same order."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Reply]] = deque()
        self._outgoing: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports (the server's loop) do not subclass asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        try:
            while (reply := self._parser.gets()) is not False:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(reply)
        except (hiredis.ProtocolError, IndexError) as exc:
            # A reply nobody asked for, or bytes that are not RESP: the stream is broken.
            self.abort(f"Redis sent an unreadable reply: {exc!r}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(f"the connection to Redis was lost: {exc or 'closed'}")

    def send(self, command: tuple[Any, ...]) -> asyncio.Future[Reply]:
        """Queue ``command``; the commands of one loop turn are written together.

        A command that cannot be packed raises ``TypeError`` before anything
        is queued, so it can never take another command's reply.
        """
        packed = hiredis.pack_command(command)
        future: asyncio.Future[Reply] = self.loop.create_future()
        self._waiting.append(future)
        if not self._outgoing:
            self.loop.call_soon(self._flush)
        self._outgoing.append(packed)
        return future

    def _flush(self) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    def abort(self, why: str) -> None:
        """Drop the connection now, failing every call still waiting on it."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()
        self._fail(why)

    def _fail(self, why: str) -> None:
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError(why))


class PipelinedRedis:
    """Calls to one Redis server over a single shared connection, opened on first use.

    ``url`` is a ``redis://``, ``rediss://`` or ``unix://`` URL as redis-py
    reads it (user, password and database included).  Failures raise
    redis-py's exceptions (``ConnectionError``, ``ResponseError``,
    ``NoScriptError``) or ``OSError``, so callers handle both clients alike.
    """

    def __init__(self, url: str) -> None:
        options: dict[str, Any] = dict(parse_url(url))
        self._host: str = options.get("host", "localhost")
        self._port: int = int(options.get("port", 6379))
        self._path: str | None = options.get("path")
        self._ssl = self._ssl_context(options)
        self._hello: list[tuple[Any, ...]] = []
        if options.get("password"):
            user = options.get("username")
            self._hello.append(
                ("AUTH", user, options["password"]) if user else ("AUTH", options["password"])
            )
        if int(options.get("db", 0)):
            self._hello.append(("SELECT", int(options["db"])))
        self._link: _Link | None = None
        self._connecting = asyncio.Lock()

    @staticmethod
    def _ssl_context(options: dict[str, Any]) -> ssl.SSLContext | None:
        if options.get("connection_class") is not SSLConnection:
            return None
        context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
        if options.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _open_link(self) -> _Link:
        loop = asyncio.get_running_loop()
        if self._path:
            _, link = await loop.create_unix_connection(_Link, self._path, ssl=self._ssl)
        else:
            _, link = await loop.create_connection(_Link, self._host, self._port, ssl=self._ssl)
        try:
            for command in self._hello:
                reply = await link.send(command)
                if isinstance(reply, hiredis.ReplyError):
                    raise ConnectionError(f"Redis refused {command[0]}: {reply}")
        except BaseException:
            link.abort("the connection's setup failed")
            raise
        return link

    async def _current(self) -> _Link:
        link = self._link
        if link is not None and not link.closed and link.loop is asyncio.get_running_loop():
            return link
        async with self._connecting:
            if self._link is not None and self._link.loop is not asyncio.get_running_loop():
                # Left over from an event loop that has ended (a CLI run, a test).
                self._link = None
            if self._link is None or self._link.closed:
                self._link = await self._open_link()
            return self._link

    async def execute(self, *command: Any) -> Reply:
        """Send one command and return its reply; an error reply raises ``ResponseError``."""
        link = await self._current()
        try:
            reply = await link.send(command)
        except asyncio.CancelledError:
            link.abort("a call was given up before Redis answered")
            raise
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            if message.startswith("NOSCRIPT"):
                raise NoScriptError(message)
            raise ResponseError(message)
        return reply

    async def evalsha(self, sha: str, source: str, keys: list[Any], args: list[Any]) -> Reply:
        """Run a Lua script by its SHA-1, loading ``source`` first when Redis lacks it."""
        try:
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.execute("SCRIPT", "LOAD", source)
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)

    async def aclose(self) -> None:
        """Close the connection (calls still waiting fail)."""
        link, self._link = self._link, None
        # A link left over from an event loop that has ended went with that loop.
        if link is not None and not link.closed and link.loop is asyncio.get_running_loop():
            link.abort("the client was closed")
