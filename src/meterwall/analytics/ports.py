"""The event sink port: where batches of events are written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from meterwall.analytics.events import Event


class EventSink(Protocol):
    """Stores events, a batch at a time.

    ``write`` stores the whole batch or raises (nothing of a failed batch is
    kept), so the writer can try the same batch again without duplicates.
    """

    async def write(self, events: Sequence[Event]) -> None:
        """Store ``events`` in one transaction."""
        ...
