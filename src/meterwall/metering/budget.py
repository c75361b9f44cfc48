"""The new-reader budget of a client network: which hour it counts in, and under what key.

Dropping cookies makes every request a new anonymous reader with a fresh
meter.  The optional budget (``policy``-independent, set by
``new_readers_per_network_per_hour``) admits at most so many distinct
anonymous readers per client network (IPv4 address, IPv6 /64) per clock hour
to metered reads; a reader once admitted reads on for the rest of the hour.
Stores keep the network only as a keyed digest, for the hour and a little
longer.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from meterwall.access.model import MeterWindow

HOUR = timedelta(hours=1)


def hour_window(now: datetime) -> MeterWindow:
    """The clock hour (UTC) that ``now`` falls in, as a meter window."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return MeterWindow(
        key=start.strftime("h%Y%m%d%H"), since=start, expires=start + HOUR, resets_at=start + HOUR
    )


def network_key(network: str) -> str:
    """The budget's key for a client network (a digest: stores never hold the address)."""
    digest = hashlib.blake2b(network.encode(), digest_size=16, person=b"mw-network").hexdigest()
    return f"net:{digest}"
