"""A loopback TCP proxy that can make a real server look down or hung, and bring it back.

It runs its own event loop in a thread, so it keeps relaying while the test's
loop is blocked (for instance by a migration waiting on a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, Literal

Mode = Literal["forward", "hang", "down"]


class FaultProxy:
    """Relays 127.0.0.1:<port> to a real server, until told to fail.

    * ``forward``: a transparent relay.
    * ``hang``: connections (new and open) are accepted and read, but nothing
      reaches the server and nothing comes back: a server that never answers.
    * ``down``: the port is closed and open connections are cut: connection refused.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode: Mode = "forward"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> FaultProxy:
        """Listen on a free loopback port (kept across restarts)."""
        self._thread.start()
        self._run(self._listen())
        return self

    def set_mode(self, mode: Mode) -> None:
        """Switch behaviour; ``down`` closes the port, anything else reopens it."""
        self._run(self._set_mode(mode))

    def stop(self) -> None:
        """Close everything and end the proxy's thread."""
        self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "down":
            await self._close()
        elif self._server is None:
            await self._listen()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _shutdown(self) -> None:
        await self._close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            while self.mode == "hang":
                if not await reader.read(65_536):
                    return
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.add(upstream)
            await asyncio.gather(self._pipe(reader, upstream), self._pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65_536):
                if self.mode == "forward":
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()
