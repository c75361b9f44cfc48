"""The MeterStore contract: every adapter (SQLite, PostgreSQL, Redis, Redis Cluster) passes it.

Times are whole seconds because Redis keeps read times to the second.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterwall.access.model import MeterState, MeterWindow, Policy, RollingDays
from meterwall.access.policy import meter_window
from meterwall.metering.ports import CountedRead, MeterStore, kept_at
from tests.backends import delete_redis_prefix

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
MONTH = Policy()
ROLLING = Policy(period=RollingDays(30))


def reader() -> str:
    """A reader id no other test uses (stores are shared within a session)."""
    return uuid.uuid4().hex[:22]


def month(now: datetime = NOW) -> MeterWindow:
    return meter_window(MONTH, now)


def rolling(now: datetime) -> MeterWindow:
    return meter_window(ROLLING, now)


async def read(
    store: MeterStore, who: str, article: str, limit: int = 5, now: datetime = NOW
) -> MeterState:
    return await store.check_and_record(who, month(now), article, limit, now)


async def test_counts_distinct_articles_until_the_limit(store: MeterStore) -> None:
    who = reader()
    states = [await read(store, who, f"a{i}") for i in range(7)]
    assert (
        states
        == [MeterState(used=n, counted=True) for n in range(1, 6)]
        + [MeterState(used=5, counted=False)] * 2
    )


async def test_rereads_are_free_also_at_the_limit(store: MeterStore) -> None:
    who = reader()
    await read(store, who, "a", limit=2)
    assert await read(store, who, "a", limit=2) == MeterState(used=1, counted=True)
    await read(store, who, "b", limit=2)
    assert await read(store, who, "c", limit=2) == MeterState(used=2, counted=False)
    for article in ("a", "b", "a"):
        assert await read(store, who, article, limit=2) == MeterState(used=2, counted=True)
    assert [r.article_id for r in await store.counted(who, month())] == ["a", "b"]


async def test_limit_zero_counts_nothing(store: MeterStore) -> None:
    who = reader()
    assert await read(store, who, "a", limit=0) == MeterState(used=0, counted=False)
    assert await store.counted(who, month()) == []


async def test_a_lower_limit_applies_to_reads_already_counted(store: MeterStore) -> None:
    who = reader()
    for article in ("a", "b", "c"):
        await read(store, who, article, limit=5)
    assert await read(store, who, "d", limit=2) == MeterState(used=3, counted=False)
    assert await read(store, who, "a", limit=2) == MeterState(used=3, counted=True)


async def test_a_new_calendar_month_starts_a_fresh_meter(store: MeterStore) -> None:
    who = reader()
    november = NOW
    december = datetime(2026, 12, 1, 0, 0, 5, tzinfo=UTC)
    for i in range(5):
        await read(store, who, f"a{i}", now=november)
    assert (await read(store, who, "late", now=november)).counted is False
    assert await read(store, who, "a0", now=december) == MeterState(used=1, counted=True)
    assert await read(store, who, "late", now=december) == MeterState(used=2, counted=True)
    assert [r.article_id for r in await store.counted(who, month(december))] == ["a0", "late"]


async def test_rolling_window_forgets_reads_older_than_its_span(store: MeterStore) -> None:
    who = reader()
    start = NOW
    for i in range(3):
        t = start + timedelta(days=i)
        await store.check_and_record(who, rolling(t), f"a{i}", 3, t)
    day29 = start + timedelta(days=29, hours=23)
    assert (await store.check_and_record(who, rolling(day29), "x", 3, day29)).counted is False
    day30 = start + timedelta(days=30, seconds=1)
    assert await store.check_and_record(who, rolling(day30), "x", 3, day30) == MeterState(
        used=3, counted=True
    )
    assert [r.article_id for r in await store.counted(who, rolling(day30))] == ["a1", "a2", "x"]


async def test_a_reread_after_leaving_the_rolling_window_counts_again(store: MeterStore) -> None:
    who = reader()
    await store.check_and_record(who, rolling(NOW), "a", 5, NOW)
    later = NOW + timedelta(days=31)
    assert await store.check_and_record(who, rolling(later), "a", 5, later) == MeterState(
        used=1, counted=True
    )
    assert await store.counted(who, rolling(later)) == [CountedRead("a", later)]
    assert await store.check_and_record(who, rolling(later), "a", 5, later) == MeterState(
        used=1, counted=True
    )


async def test_counted_lists_reads_oldest_first_with_their_times(store: MeterStore) -> None:
    who = reader()
    times = [NOW + timedelta(minutes=m) for m in (0, 7, 7, 30)]
    for article, t in zip(["zeta", "beta", "alpha", "mid"], times, strict=True):
        await read(store, who, article, now=t)
    await read(store, who, "zeta", now=NOW + timedelta(hours=2))
    assert await store.counted(who, month()) == [
        CountedRead("zeta", times[0]),
        CountedRead("alpha", times[1]),
        CountedRead("beta", times[2]),
        CountedRead("mid", times[3]),
    ]


async def test_article_ids_come_back_exactly(store: MeterStore) -> None:
    who = reader()
    ids = ["2026/11/harbor-gates", "Ünïcode-story", "x" * 200]
    for article in ids:
        await read(store, who, article)
    assert sorted(r.article_id for r in await store.counted(who, month())) == sorted(ids)


async def test_forget_deletes_only_that_readers_meter(store: MeterStore) -> None:
    who, other = reader(), reader()
    await read(store, who, "a")
    await read(store, other, "a")
    await store.forget(who)
    assert await store.counted(who, month()) == []
    assert await read(store, who, "b") == MeterState(used=1, counted=True)
    assert [r.article_id for r in await store.counted(other, month())] == ["a"]
    await store.forget(reader())


async def test_forget_keeping_the_count_does_not_restart_the_meter(store: MeterStore) -> None:
    """ATTACKS.md row 34: deleting one's reading data keeps the period's count as a bare number."""
    who, other = reader(), reader()
    for i in range(3):
        await read(store, who, f"a{i}", limit=3, now=NOW + timedelta(minutes=i))
    await read(store, other, "a0")
    await store.forget(who, month())
    kept = await store.counted(who, month())
    assert kept == [CountedRead("", month().since)] * 3
    assert await read(store, who, "new", limit=3) == MeterState(used=3, counted=False)
    assert await read(store, who, "a0", limit=3) == MeterState(used=3, counted=False)
    assert await read(store, who, "new", limit=4) == MeterState(used=4, counted=True)
    assert [r.article_id for r in await store.counted(other, month())] == ["a0"]
    await store.forget(who, month())
    await store.forget(who, month())
    assert len(await store.counted(who, month())) == 4
    await store.forget(who)
    assert await store.counted(who, month()) == []


async def test_forget_keeps_rolling_reads_until_each_leaves_the_window(store: MeterStore) -> None:
    who = reader()
    for i in range(3):
        t = NOW + timedelta(days=i)
        await store.check_and_record(who, rolling(t), f"a{i}", 3, t)
    later = NOW + timedelta(days=5)
    await store.check_and_record(who, rolling(later - timedelta(days=40)), "old", 3, later)
    await store.forget(who, rolling(later))
    assert await store.counted(who, rolling(later)) == [
        CountedRead("", NOW + timedelta(days=i)) for i in range(3)
    ]
    day30 = NOW + timedelta(days=30, seconds=1)
    assert await store.counted(who, rolling(day30)) == [
        CountedRead("", NOW + timedelta(days=i)) for i in (1, 2)
    ]


async def test_kept_counts_merge_without_collapsing(store: MeterStore) -> None:
    anonymous, account = reader(), reader()
    for who in (anonymous, account):
        await read(store, who, "same")
        await store.forget(who, month())
    assert await store.merge(anonymous, account, month(), NOW) == 2
    assert await store.counted(account, month()) == [CountedRead("", month().since)] * 2


async def test_readers_are_independent(store: MeterStore) -> None:
    readers = [reader() for _ in range(20)]
    for who in readers:
        for i in range(3):
            await read(store, who, f"a{i}", limit=3)
    for who in readers:
        assert await read(store, who, "more", limit=3) == MeterState(used=3, counted=False)
        assert len(await store.counted(who, month())) == 3


async def test_merge_folds_the_anonymous_meter_into_the_accounts(store: MeterStore) -> None:
    anonymous, account = reader(), reader()
    await read(store, account, "shared", now=NOW + timedelta(hours=1))
    await read(store, account, "mine", now=NOW + timedelta(hours=2))
    await read(store, anonymous, "shared", now=NOW)
    await read(store, anonymous, "theirs", now=NOW + timedelta(hours=3))
    window = month(NOW + timedelta(hours=4))
    assert await store.merge(anonymous, account, window, NOW + timedelta(hours=4)) == 3
    assert await store.counted(account, window) == [
        CountedRead("shared", NOW),
        CountedRead("mine", NOW + timedelta(hours=2)),
        CountedRead("theirs", NOW + timedelta(hours=3)),
    ]
    assert await store.counted(anonymous, window) == []
    assert await store.merge(anonymous, account, window, NOW) == 3
    assert await store.merge(account, account, window, NOW) == 3
    assert len(await store.counted(account, window)) == 3


async def test_merge_may_exceed_the_limit_but_never_grants(store: MeterStore) -> None:
    anonymous, account = reader(), reader()
    for i in range(2):
        await read(store, anonymous, f"anon{i}", limit=2)
        await read(store, account, f"acct{i}", limit=2)
    assert await store.merge(anonymous, account, month(), NOW) == 4
    assert await read(store, account, "new", limit=2) == MeterState(used=4, counted=False)
    assert await read(store, account, "anon1", limit=2) == MeterState(used=4, counted=True)


async def test_merge_leaves_reads_outside_the_window(store: MeterStore) -> None:
    anonymous, account = reader(), reader()
    await store.check_and_record(anonymous, rolling(NOW), "old", 5, NOW)
    later = NOW + timedelta(days=40)
    await store.check_and_record(anonymous, rolling(later), "new", 5, later)
    assert await store.merge(anonymous, account, rolling(later), later) == 1
    assert await store.counted(account, rolling(later)) == [CountedRead("new", later)]


async def test_ping_answers(store: MeterStore) -> None:
    await store.ping()


@pytest.mark.parametrize("limit", [1, 3, 5])
async def test_race_at_the_last_free_article_grants_exactly_one(
    store: MeterStore, limit: int
) -> None:
    """ATTACKS.md row 19: 200 parallel requests for different articles at used = limit - 1."""
    who = reader()
    for i in range(limit - 1):
        await read(store, who, f"before{i}", limit=limit)
    results = await asyncio.gather(*(read(store, who, f"race{i}", limit=limit) for i in range(200)))
    granted = [r for r in results if r.counted]
    assert len(granted) == 1
    assert granted[0].used == limit
    assert all(r == MeterState(used=limit, counted=False) for r in results if not r.counted)
    assert len(await store.counted(who, month())) == limit


async def test_parallel_rereads_of_one_article_count_it_once(store: MeterStore) -> None:
    who = reader()
    results = await asyncio.gather(*(read(store, who, "same") for _ in range(100)))
    assert set(results) == {MeterState(used=1, counted=True)}


def network() -> str:
    """A client network no other test uses."""
    return f"203.0.113.{uuid.uuid4().int % 250}/{uuid.uuid4().hex[:8]}"


async def test_admit_lets_in_distinct_readers_up_to_the_budget(store: MeterStore) -> None:
    """ATTACKS.md row 31: new anonymous readers per client network per hour."""
    net = network()
    first, second, third = reader(), reader(), reader()
    assert await store.admit(net, first, 2, NOW)
    assert await store.admit(net, second, 2, NOW)
    assert not await store.admit(net, third, 2, NOW)
    assert await store.admit(net, first, 2, NOW + timedelta(minutes=5)), "admitted readers stay"
    assert await store.admit(network(), third, 2, NOW), "networks are independent"
    assert await store.admit(net, third, 2, NOW + timedelta(hours=1)), "a new hour, a new budget"


async def test_admit_with_a_zero_budget_admits_nobody(store: MeterStore) -> None:
    assert not await store.admit(network(), reader(), 0, NOW)


async def test_admit_never_touches_a_readers_meter(store: MeterStore) -> None:
    who = reader()
    assert await store.admit(network(), who, 5, NOW)
    assert await store.counted(who, month()) == []


async def test_parallel_new_readers_get_exactly_the_budget(store: MeterStore) -> None:
    net = network()
    results = await asyncio.gather(*(store.admit(net, reader(), 7, NOW) for _ in range(100)))
    assert sum(results) == 7


class Model:
    """The meter as the port describes it: per reader, article -> second it counted."""

    def __init__(self) -> None:
        self.reads: dict[str, dict[str, datetime]] = {}

    def live(self, who: str, window: MeterWindow) -> dict[str, datetime]:
        return {a: t for a, t in self.reads.get(who, {}).items() if t >= window.since}

    def check_and_record(
        self, who: str, window: MeterWindow, article: str, limit: int, now: datetime
    ) -> MeterState:
        live = self.live(who, window)
        if article in live:
            return MeterState(used=len(live), counted=True)
        if len(live) >= limit:
            return MeterState(used=len(live), counted=False)
        live[article] = now
        self.reads[who] = live
        return MeterState(used=len(live), counted=True)

    def merge(self, source: str, target: str, window: MeterWindow) -> int:
        union = self.live(target, window)
        if source != target:
            for article, t in self.live(source, window).items():
                union[article] = min(t, union.get(article, t))
            self.reads[source] = {
                a: t for a, t in self.reads.get(source, {}).items() if t < window.since
            }
        self.reads[target] = union
        return len(union)

    def forget(self, who: str, keep: MeterWindow | None = None) -> None:
        live = self.live(who, keep) if keep is not None else {}
        self.reads[who] = {f"~{uuid.uuid4().hex}": kept_at(keep, t) for t in live.values()}
        if keep is None:
            self.reads.pop(who, None)

    def counted(self, who: str, window: MeterWindow) -> list[CountedRead]:
        reads = [
            CountedRead("" if a.startswith("~") else a, t)
            for a, t in self.live(who, window).items()
        ]
        return sorted(reads, key=lambda r: (r.counted_at, r.article_id))


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("read"),
            st.integers(0, 2),
            st.sampled_from([f"a{i}" for i in range(6)]),
            st.integers(0, 4),
        ),
        st.tuples(st.just("merge"), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("forget"), st.integers(0, 2)),
        st.tuples(st.just("forget_keeping_count"), st.integers(0, 2)),
        st.tuples(st.just("wait"), st.integers(1, 20 * 86_400)),
    ),
    max_size=25,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
async def test_behaves_like_the_reference_model_in_a_rolling_window(
    store: MeterStore, ops: list[tuple[object, ...]]
) -> None:
    readers = [reader() for _ in range(3)]
    model = Model()
    now = NOW
    for op in ops:
        window = rolling(now)
        match op:
            case ("read", int(who), str(article), int(limit)):
                got = await store.check_and_record(readers[who], window, article, limit, now)
                assert got == model.check_and_record(readers[who], window, article, limit, now)
            case ("merge", int(source), int(target)):
                got_count = await store.merge(readers[source], readers[target], window, now)
                assert got_count == model.merge(readers[source], readers[target], window)
            case ("forget", int(who)):
                await store.forget(readers[who])
                model.forget(readers[who])
            case ("forget_keeping_count", int(who)):
                await store.forget(readers[who], window)
                model.forget(readers[who], window)
            case ("wait", int(seconds)):
                now += timedelta(seconds=seconds)
        for who in readers:
            assert _in_time_order(await store.counted(who, rolling(now))) == _in_time_order(
                model.counted(who, rolling(now))
            )


def _in_time_order(reads: list[CountedRead]) -> list[CountedRead]:
    """Reads by time; reads made at the same moment in a fixed order (a store may list
    a kept count and an article read in the same second either way round)."""
    return sorted(reads, key=lambda r: (r.counted_at, r.article_id))


KEY_OVERHEAD = 48
"""Bytes per key that MEMORY USAGE leaves out: the expiry entry and hash-table slots."""


@pytest.mark.parametrize("backend", ["redis-cluster"], indirect=True)
async def test_redis_keeps_a_period_of_meters_compact(
    store_factory: Callable[..., MeterStore], redis_cluster_url: str
) -> None:
    """At a limit of 5, a reader's month costs well under 128 bytes of Redis memory.

    Counted key by key (MEMORY USAGE), so other data on the server does not blur it.
    """
    readers = 1_000
    prefix = "mwcompact:" + uuid.uuid4().hex[:8] + ":"
    store = store_factory(redis_meter_buckets=readers // 100, redis_key_prefix=prefix)
    articles = [f"2026/11/story-number-{i}" for i in range(40)]
    try:
        for n in range(readers):
            who = f"reader-{n:016d}-x"
            await asyncio.gather(*(read(store, who, articles[(n + i) % 40]) for i in range(5)))
        assert 0 < key_memory(redis_cluster_url, prefix) / readers < 128
    finally:
        delete_redis_prefix(redis_cluster_url, prefix, cluster=True)


def key_memory(url: str, prefix: str) -> int:
    """Bytes the keys under ``prefix`` take on the cluster, overheads included."""
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(url)
    try:
        total = 0
        for node in client.get_primaries():
            for key in client.scan_iter(match=f"{prefix}*", target_nodes=node):
                total += int(client.memory_usage(key, samples=0) or 0) + KEY_OVERHEAD
        return total
    finally:
        client.close()
