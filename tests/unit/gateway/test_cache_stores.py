"""The in-memory cache store, its purge journal, and the stored form of an entry."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meterwall.gateway.cache.entry import CacheKey, Entry
from meterwall.gateway.cache.freshness import Freshness
from meterwall.gateway.cache.journal import ALL, PurgeJournal
from meterwall.gateway.cache.memory import MemoryCacheStore

NOW = 1_800_000_000.0


def entry(body: bytes = b"x", keep: float = 600, version: str = "v1") -> Entry:
    return Entry(
        status=200,
        headers=(("content-type", "text/html"),),
        body=body,
        freshness=Freshness(NOW, 0, keep, 0, 0, False),
        version=version,
    )


def key(path: str, variant: str = "") -> CacheKey:
    return CacheKey(group=path, variant=variant, target=path)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


async def test_least_recently_used_entries_go_first_once_the_bytes_bound_is_reached() -> None:
    store = MemoryCacheStore(10_000, clock=Clock())
    for name in "abcd":
        await store.put(key(f"/{name}"), entry(b"x" * 2_000))
    assert await store.get(key("/a")) is not None  # /a is now the most recently used
    await store.put(key("/e"), entry(b"x" * 2_000))
    assert await store.get(key("/b")) is None
    assert await store.get(key("/a")) is not None
    assert store.size <= 10_000


async def test_a_response_larger_than_a_quarter_of_the_cache_is_not_kept() -> None:
    store = MemoryCacheStore(10_000, clock=Clock())
    await store.put(key("/small"), entry(b"x" * 100))
    await store.put(key("/huge"), entry(b"x" * 3_000))
    assert await store.get(key("/huge")) is None
    assert await store.get(key("/small")) is not None


async def test_entries_past_their_keep_time_are_gone() -> None:
    clock = Clock()
    store = MemoryCacheStore(1_000_000, clock=clock)
    await store.put(key("/a"), entry(keep=60))
    clock.now += 61
    assert await store.get(key("/a")) is None
    assert store.size == 0


async def test_a_purge_drops_every_variant_of_a_path() -> None:
    store = MemoryCacheStore(1_000_000, clock=Clock())
    await store.put(key("/a", "gzip"), entry())
    await store.put(key("/a", "identity"), entry())
    await store.put(key("/b", "gzip"), entry())
    assert await store.purge(["/a", "/nothing"]) == 1
    assert await store.get(key("/a", "gzip")) is None
    assert await store.get(key("/a", "identity")) is None
    assert await store.get(key("/b", "gzip")) is not None
    assert await store.purge_all() == 1
    assert len(store) == 0 and store.size == 0


async def test_purges_reach_every_process_sharing_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "purges.log"
    worker_a = MemoryCacheStore(1_000_000, PurgeJournal(path, interval=0), clock=Clock())
    worker_b = MemoryCacheStore(1_000_000, PurgeJournal(path, interval=0), clock=Clock())
    for worker in (worker_a, worker_b):
        await worker.put(key("/a"), entry())
        await worker.put(key("/b"), entry())
    await worker_a.purge(["/a"])
    assert await worker_b.get(key("/a")) is None
    assert await worker_b.get(key("/b")) is not None
    PurgeJournal(path).record(None)  # ``meterwall cache purge --all`` in another process
    assert await worker_b.get(key("/b")) is None
    assert await worker_a.get(key("/b")) is None


def test_a_replaced_journal_means_everything_is_purged(tmp_path: Path) -> None:
    path = tmp_path / "purges.log"
    PurgeJournal(path).record(["/first"])
    journal = PurgeJournal(path, interval=0)
    path.unlink()
    PurgeJournal(path).record(["/x"])  # a new file: the purges in between are unknown
    assert journal.poll() == [ALL]
    PurgeJournal(path).record(["/y"])
    assert journal.poll() == [("/y",)]


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "purges.log"
    journal = PurgeJournal(path, interval=0)
    PurgeJournal(path).record(["/a"])
    with path.open("a") as sink:
        sink.write('{"groups": ')
    assert journal.poll() == [("/a",)]
    with path.open("a") as sink:
        sink.write('["/b"]}\n')
    assert journal.poll() == [("/b",)]


def test_an_unreadable_line_purges_everything(tmp_path: Path) -> None:
    path = tmp_path / "purges.log"
    PurgeJournal(path).record(["/a"])
    journal = PurgeJournal(path, interval=0)
    with path.open("a") as sink:
        sink.write("garbage\n")
    assert journal.poll() == [ALL]


def test_the_journal_is_read_at_most_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "purges.log"
    clock = Clock()
    journal = PurgeJournal(path, interval=0.1, clock=clock)
    PurgeJournal(path).record(["/a"])
    assert journal.poll() == [("/a",)]
    PurgeJournal(path).record(["/b"])
    assert journal.poll() == []
    clock.now += 0.2
    assert journal.poll() == [("/b",)]


headers = st.lists(
    st.tuples(st.sampled_from(["etag", "x-a", "content-type"]), st.text(max_size=20)), max_size=4
)


@given(
    status=st.integers(100, 599),
    pairs=headers,
    body=st.binary(max_size=200),
    times=st.tuples(*(st.floats(0, 1e10, allow_nan=False) for _ in range(5))),
    validatable=st.booleans(),
    vary=headers,
)
def test_entries_survive_the_trip_through_bytes(
    status: int,
    pairs: list[tuple[str, str]],
    body: bytes,
    times: tuple[float, float, float, float, float],
    validatable: bool,
    vary: list[tuple[str, str]],
) -> None:
    original = Entry(
        status=status,
        headers=tuple(pairs),
        body=body,
        freshness=Freshness(*times, validatable),
        version="abc",
        vary=tuple(vary),
    )
    assert Entry.from_bytes(original.to_bytes()) == original


@given(st.binary(max_size=64))
def test_bytes_that_are_no_entry_read_as_none(data: bytes) -> None:
    assert Entry.from_bytes(data) is None or data.startswith(b"MWC1")
    assert Entry.from_bytes(b"MWC1\x00\x00\x00\x05{bad}") is None
