"""At start: will the meters survive a restart of the store that keeps them?

A Redis without persistence forgets every meter when it restarts, so every
reader gets a new month of free articles.  meterwall says so at start, in
the log, and refuses to start when the publisher asked it to
(``redis_require_persistence``).  A store that cannot be reached or asked
is not a reason to refuse: the meter's own failure rule covers that.
"""

from __future__ import annotations

import logging

from meterwall.metering.ports import MeterStore, MeterUnavailable

log = logging.getLogger(__name__)


class MetersNotDurable(RuntimeError):
    """The meter store would forget meters on restart, and the settings forbid that."""


async def check_durability(meter: MeterStore, *, required: bool) -> None:
    """Warn (or raise :class:`MetersNotDurable` when ``required``) about a forgetful store."""
    ask = getattr(meter, "persistence_problem", None)
    if ask is None:
        return  # the SQL meter lives in the database, which keeps it
    try:
        problem = await ask()
    except (MeterUnavailable, OSError, TimeoutError) as exc:
        log.warning("could not check the meter store's persistence: %s", exc)
        return
    if problem is None:
        log.info("the meter store does not say whether it persists (CONFIG is not available)")
    elif problem:
        if required:
            raise MetersNotDurable(problem)
        log.warning("%s", problem)
