"""Calls to an outside store that give up in time and fail with the caller's own error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def bounded(
    seconds: float,
    store: str,
    failures: tuple[type[BaseException], ...],
    error: type[Exception],
) -> AsyncIterator[None]:
    """Run the block within ``seconds``; slowness or a ``failures`` error raises ``error``.

    Socket errors (``OSError``) always count as failures: a refused connection
    is the commonest way a store is down.
    """
    caught: tuple[type[BaseException], ...] = (*failures, OSError)
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise error(f"no answer from {store} within {seconds:g}s") from exc
    except caught as exc:
        raise error(f"{store} failed: {exc}") from exc
