"""The pure ``decide()``: decisions per second on one core.

The mix is what a metered news site sees: most requests are metered reads
(counted or re-read), then readers at the limit, free articles, subscribers,
premium articles and exempt sections.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from common import say

from meterwall.access.model import (
    AccessLevel,
    ArticleAccess,
    Entitlement,
    MeterState,
    Policy,
    ReaderState,
)
from meterwall.access.policy import decide

TARGET = 300_000


def mix() -> list[tuple[ArticleAccess, ReaderState]]:
    """Twenty requests in the proportions of a metered site's traffic."""
    metered = ArticleAccess("story-1", AccessLevel.METERED, "Nation", frozenset({"harbor"}))
    free = ArticleAccess("story-9", AccessLevel.FREE, "Nation")
    premium = ArticleAccess("story-10", AccessLevel.PREMIUM, "Nation")
    exempt = ArticleAccess("story-11", AccessLevel.METERED, "obituaries")
    anonymous = ReaderState("r1", meter=MeterState(2, True))
    at_limit = ReaderState("r2", meter=MeterState(5, False))
    subscriber = ReaderState("r3", True, frozenset({Entitlement.SUBSCRIPTION}))
    cases = [(metered, anonymous)] * 10
    cases += [(metered, at_limit)] * 3
    cases += [(free, anonymous)] * 2
    cases += [(metered, subscriber)] * 2
    cases += [(premium, anonymous), (exempt, anonymous), (premium, subscriber)]
    return cases


def run(seconds: float = 3.0) -> dict[str, Any]:
    """Call ``decide()`` over the mix for about ``seconds`` on one core; decisions per second."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    policy = Policy(exempt_sections=frozenset({"obituaries"}))
    now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    cases = mix() * 50
    say(f"decide(): {len(cases)} calls per round, for {seconds:g} s on one core")
    for article, reader in cases:  # warm up
        decide(article, reader, policy, now)
    calls = 0
    rounds: list[float] = []
    cpu_started, wall_started = time.thread_time(), time.perf_counter()
    deadline = wall_started + seconds
    while time.perf_counter() < deadline:
        # CPU time of this thread: what one core does, whatever else the machine runs.
        started = time.thread_time()
        for article, reader in cases:
            decide(article, reader, policy, now)
        rounds.append(len(cases) / (time.thread_time() - started))
        calls += len(cases)
    overall = calls / (time.thread_time() - cpu_started)
    wall = calls / (time.perf_counter() - wall_started)
    rounds.sort()
    typical = rounds[len(rounds) // 2]
    say(f"decide(): {overall:,.0f}/s of CPU time ({wall:,.0f}/s of wall-clock time)")
    return {
        "decisions_per_second": round(overall),
        "median_round_per_second": round(typical),
        "wall_clock_per_second": round(wall),
        "calls": calls,
        "target": TARGET,
        "met": overall >= TARGET,
    }
