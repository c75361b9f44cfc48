"""Per-reader rendering of a prepared page: the banner and gate spliced into precompressed parts."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwall.gateway.cache.coalesce import Flights
from meterwall.gateway.cache.memo import Memo
from meterwall.gateway.cache.template import Template
from meterwall.gateway.cut import Prepared

TOKEN = "0123456789abcdef"
SLOT = Prepared(html="", token=TOKEN, full_text=False)


def prepared(parts: list[str], order: tuple[str, ...]) -> Prepared:
    document = parts[0]
    for name, part in zip(order, parts[1:], strict=False):
        document += SLOT.slot(name) + part
    return Prepared(html=document, token=TOKEN, full_text=False)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.text(max_size=3_000), min_size=3, max_size=3),
    order=st.sampled_from([("banner", "gate"), ("gate", "banner"), ("banner",), ("gate",), ()]),
    banner=st.text(max_size=300),
    gate=st.text(max_size=300),
)
def test_rendering_equals_the_personalised_page_gzipped_or_not(
    parts: list[str], order: tuple[str, ...], banner: str, gate: str
) -> None:
    page = prepared(parts, order)
    expected = page.personalise(banner, gate).encode("utf-8")
    template = Template(page)
    assert template.render(banner, gate) == expected
    compressed = template.render_gzip(banner, gate)
    assert gzip.decompress(compressed) == expected
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(compressed) == expected
    assert decoder.eof and not decoder.unused_data, "one complete gzip member, CRC checked"


def test_one_template_serves_many_readers_with_different_banners() -> None:
    page = prepared(["<main>", "<p>body</p>", "</main>"], ("banner", "gate"))
    template = Template(page)
    for used in range(1, 6):
        banner = f"<div>{used} of 5 stories this month</div>"
        assert gzip.decompress(template.render_gzip(banner)) == page.personalise(banner).encode()


def test_the_memo_builds_once_and_forgets_the_least_recently_used() -> None:
    memo = Memo(max_bytes=400)
    builds: list[str] = []

    def build(name: str) -> str:
        builds.append(name)
        return name * 50

    for name in ("a", "b", "a"):
        memo.get(("v", name), lambda n=name: build(n), len)
    assert builds == ["a", "b"]
    for name in "cdefghij":
        memo.get(("v", name), lambda n=name: build(n), len)
    assert memo.size <= 400
    memo.get(("v", "a"), lambda: build("a"), len)
    assert builds.count("a") == 2


def test_a_failed_build_is_not_remembered() -> None:
    memo = Memo(max_bytes=1_000)
    calls = []

    def failing() -> str:
        calls.append(1)
        raise ValueError("broken page")

    for _ in range(2):
        with pytest.raises(ValueError):
            memo.get(("k",), failing, len)
    assert len(calls) == 2 and len(memo) == 0


async def test_flights_share_one_task_and_survive_a_caller_going_away() -> None:
    import asyncio

    flights: Flights[int] = Flights()
    started = []
    release = asyncio.Event()

    async def fetch() -> int:
        started.append(1)
        await release.wait()
        return 42

    first, leader = flights.join("k", fetch)
    second, follower_led = flights.join("k", fetch)
    assert first is second and leader and not follower_led
    waiter = asyncio.create_task(flights.wait(first))
    await asyncio.sleep(0)
    waiter.cancel()
    release.set()
    assert await flights.wait(second) == 42
    assert started == [1]
    assert len(flights) == 0
