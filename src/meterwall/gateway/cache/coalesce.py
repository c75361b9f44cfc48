"""Request coalescing: one upstream fetch per key at a time, shared by every waiting request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Flights(Generic[T]):
    """Runs at most one task per key; later callers share the running task's result.

    The task runs on its own, so a caller that goes away (a reader closing
    the connection) cancels neither the fetch nor the other callers' wait.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        return len(self._running)

    def join(
        self, key: Hashable, start: Callable[[], Awaitable[T]]
    ) -> tuple[asyncio.Task[T], bool]:
        """The task for ``key``, started with ``start`` if none runs; and whether it was started
        by this call (the caller is the leader)."""
        task = self._running.get(key)
        if task is not None:
            return task, False

        async def run() -> T:
            return await start()

        task = asyncio.create_task(run())
        self._running[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task, True

    def _finished(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and task.exception() is not None:
            # Marks the exception as retrieved when no caller was left to see it.
            log.debug("fill of %r failed: %s", key, task.exception())

    async def wait(self, task: asyncio.Task[T]) -> T:
        """The task's result, without cancelling it if the caller is cancelled."""
        return await asyncio.shield(task)

    async def aclose(self) -> None:
        """Cancel every running task (at shutdown)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
