"""The policy provider: caches the newest version for a short time, survives a dead database."""

from __future__ import annotations

from datetime import UTC, datetime

from meterwall.access.live import PolicyDocument
from meterwall.admin.policies import PolicyVersion
from meterwall.admin.provider import PolicyProvider
from meterwall.analytics.experiments import CONTROL, Experiment, Parameter, Variant, assign
from meterwall.settings import Settings

NOW = datetime(2026, 11, 15, tzinfo=UTC)
FALLBACK = PolicyDocument.from_settings(Settings(secret_key="k"))


class Versions:
    def __init__(self) -> None:
        self.saved: dict[int, PolicyDocument] = {}
        self.reads = 0
        self.down = False

    async def newest_id(self) -> int:
        self.reads += 1
        if self.down:
            raise OSError("database is down")
        return max(self.saved, default=0)

    async def get(self, version_id: int) -> PolicyVersion | None:
        document = self.saved.get(version_id)
        if document is None:
            return None
        return PolicyVersion(version_id, NOW, "ed", "", document, ())


class Experiments:
    def __init__(self) -> None:
        self.current: Experiment | None = None

    async def running(self) -> Experiment | None:
        return self.current


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def provider() -> tuple[PolicyProvider, Versions, Experiments, Clock]:
    versions, experiments, clock = Versions(), Experiments(), Clock()
    live = PolicyProvider(FALLBACK, versions, experiments, 5, clock)  # type: ignore[arg-type]
    return live, versions, experiments, clock


def with_limit(limit: int) -> PolicyDocument:
    return FALLBACK.model_copy(
        update={"policy": FALLBACK.policy.model_copy(update={"anonymous_limit": limit})}
    )


async def test_the_settings_are_in_force_until_a_version_is_saved() -> None:
    live, versions, _experiments, clock = provider()
    assert (await live.base()).policy.anonymous_limit == 5
    versions.saved[1] = with_limit(2)
    assert (await live.base()).policy.anonymous_limit == 5  # still cached
    clock.now += 5.1
    base = await live.base()
    assert (base.policy.anonymous_limit, base.version) == (2, 1)


async def test_one_query_per_refresh_period() -> None:
    live, versions, _experiments, clock = provider()
    for _ in range(50):
        await live.for_reader("reader")
    assert versions.reads == 1
    clock.now += 6
    await live.for_reader("reader")
    assert versions.reads == 2


async def test_invalidate_reads_again_at_once() -> None:
    live, versions, _experiments, _clock = provider()
    await live.base()
    versions.saved[1] = with_limit(1)
    live.invalidate()
    assert (await live.base()).policy.anonymous_limit == 1


async def test_a_dead_database_keeps_the_last_policy() -> None:
    live, versions, _experiments, clock = provider()
    versions.saved[1] = with_limit(3)
    assert (await live.base()).policy.anonymous_limit == 3
    versions.down = True
    clock.now += 10
    assert (await live.base()).policy.anonymous_limit == 3


async def test_readers_get_their_variant() -> None:
    live, _versions, experiments, _clock = provider()
    experiments.current = Experiment(
        "exp",
        "Limit",
        Parameter.METER_LIMIT,
        "",
        (Variant(CONTROL, ""), Variant("b", "1")),
        NOW,
    )
    for n in range(40):
        reader = f"reader-{n}"
        expected = assign("exp", reader, [CONTROL, "b"])
        got = await live.for_reader(reader)
        assert got.variant == expected
        assert got.policy.anonymous_limit == (1 if expected == "b" else 5)
        assert await live.policy_for(reader) == got.policy
        assignment = live.assignment(reader)
        assert assignment is not None and assignment.variant == expected
    assert (await live.base()).variant == ""
