"""The batched event writer: handlers hand events over in memory; a background task writes.

Recording an event costs a list append on the request's path.  A task
started in the app's lifespan writes the buffer every ``batch_size`` events
or every ``interval`` seconds, whichever comes first, and writes whatever is
left on shutdown.  A batch that fails to write goes back to the front of the
buffer and is tried again; only past ``max_buffered`` unwritten events (the
database has been down for a while) are the oldest dropped, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from meterwall.analytics.events import Event
from meterwall.analytics.ports import EventSink

log = logging.getLogger(__name__)


class BatchedEventWriter:
    """Buffers events in memory and writes them to a sink in batches."""

    def __init__(
        self,
        sink: EventSink,
        *,
        batch_size: int = 500,
        interval: float = 1.0,
        max_buffered: int = 100_000,
    ) -> None:
        if batch_size < 1 or interval <= 0 or max_buffered < batch_size:
            raise ValueError("need batch_size >= 1, interval > 0 and max_buffered >= batch_size")
        self._sink = sink
        self._batch_size = batch_size
        self._interval = interval
        self._max_buffered = max_buffered
        self._buffer: list[Event] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.dropped = 0
        """Events dropped because the buffer was full."""
        self.written = 0
        """Events written since the writer was made."""

    @property
    def pending(self) -> int:
        """Events recorded but not yet written."""
        return len(self._buffer)

    def record(self, event: Event) -> None:
        """Hand an event over; never blocks and never raises for a storage problem."""
        self._buffer.append(event)
        excess = len(self._buffer) - self._max_buffered
        if excess > 0:
            del self._buffer[:excess]
            if self.dropped == 0:
                log.warning("event buffer full: dropping the oldest unwritten events")
            self.dropped += excess
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        """Start the background task on the running event loop."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-writer")

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write everything buffered now; returns how many were written.

        Stops at the first failing batch, which stays buffered for the next try.
        """
        done = 0
        async with self._lock:
            while self._buffer:
                batch = self._buffer[: self._batch_size]
                del self._buffer[: len(batch)]
                try:
                    await self._sink.write(batch)
                except Exception as exc:
                    # Storage trouble must not reach readers: keep the batch and retry later.
                    log.warning("could not write %d events (will retry): %s", len(batch), exc)
                    self._buffer[:0] = batch
                    break
                done += len(batch)
                self.written += len(batch)
        return done

    async def stop(self) -> None:
        """Stop the background task and write what is left."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
