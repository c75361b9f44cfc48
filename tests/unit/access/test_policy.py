"""The pure access rules, with plain objects and Hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from meterwall.access.model import (
    AccessLevel,
    ArticleAccess,
    CalendarMonth,
    Crawler,
    Entitlement,
    Granted,
    Metered,
    MeterState,
    Paywall,
    Policy,
    ReaderState,
    Regwall,
    RollingDays,
    shows_full_text,
)
from meterwall.access.policy import (
    decide,
    limit_for,
    meter_applies,
    meter_window,
    referral_applies,
)

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
METERED = ArticleAccess("a1", AccessLevel.METERED, "nation", frozenset({"harbor"}))
ANON = ReaderState("r" * 22)


def test_free_article_is_granted_without_the_meter() -> None:
    article = ArticleAccess("f", AccessLevel.FREE)
    assert decide(article, ANON, Policy(), NOW) == Granted("free")
    assert not meter_applies(article, ANON, Policy())


def test_counted_metered_article_shows_used_of_limit() -> None:
    reader = ReaderState("r", meter=MeterState(used=3, counted=True))
    assert decide(METERED, reader, Policy(anonymous_limit=5), NOW) == Metered(3, 5)


def test_uncounted_article_at_the_limit_is_paywalled() -> None:
    reader = ReaderState("r", meter=MeterState(used=5, counted=False))
    assert decide(METERED, reader, Policy(), NOW) == Paywall(5, 5)


def test_regwall_replaces_paywall_for_anonymous_readers_only() -> None:
    policy = Policy(anonymous_limit=3, registered_limit=10, regwall=True)
    anon = ReaderState("r", meter=MeterState(used=3, counted=False))
    registered = ReaderState("r", registered=True, meter=MeterState(used=10, counted=False))
    assert decide(METERED, anon, policy, NOW) == Regwall(3, 3)
    assert decide(METERED, registered, policy, NOW) == Paywall(10, 10)
    assert limit_for(registered, policy) == 10


def test_premium_is_gated_from_the_first_read_and_skips_the_meter() -> None:
    premium = ArticleAccess("p", AccessLevel.PREMIUM)
    assert not meter_applies(premium, ANON, Policy())
    decision = decide(premium, ANON, Policy(), NOW)
    assert isinstance(decision, Paywall) and decision.premium


def test_subscriber_reads_premium_and_metered() -> None:
    subscriber = ReaderState("r", entitlements=frozenset({Entitlement.SUBSCRIPTION}))
    for level in AccessLevel:
        decision = decide(ArticleAccess("x", level), subscriber, Policy(), NOW)
        assert shows_full_text(decision)
        assert not isinstance(decision, Metered)


def test_gift_grants_only_its_own_article() -> None:
    gifted = ReaderState("r", gift_article_id="a1")
    assert decide(METERED, gifted, Policy(), NOW) == Granted("gift")
    other = ArticleAccess("a2", AccessLevel.METERED)
    assert meter_applies(other, gifted, Policy())


def test_exempt_section_and_tag_never_count() -> None:
    policy = Policy(exempt_sections=frozenset({"nation"}))
    assert decide(METERED, ANON, policy, NOW) == Granted("exempt")
    policy = Policy(exempt_tags=frozenset({"harbor"}))
    assert not meter_applies(METERED, ANON, policy)


def test_verified_crawler_gets_full_text_only_when_policy_allows() -> None:
    crawler = ReaderState("r", verified_crawler=True)
    assert decide(METERED, crawler, Policy(), NOW) == Crawler()
    closed = Policy(verified_crawlers_full_text=False)
    assert meter_applies(METERED, crawler, closed)


def test_hard_paywall_with_limit_zero() -> None:
    reader = ReaderState("r", meter=MeterState(used=0, counted=False))
    assert decide(METERED, reader, Policy(anonymous_limit=0), NOW) == Paywall(0, 0)


def test_missing_meter_answer_is_gated_not_granted() -> None:
    assert not shows_full_text(decide(METERED, ANON, Policy(), NOW))


def test_negative_limits_are_rejected() -> None:
    try:
        Policy(anonymous_limit=-1)
    except ValueError as exc:
        assert "limit" in str(exc)
    else:
        raise AssertionError("a negative limit was accepted")


articles = st.builds(
    ArticleAccess,
    id=st.text(min_size=1, max_size=8),
    access=st.sampled_from(AccessLevel),
    section=st.sampled_from(["", "nation", "obituaries"]),
    tags=st.frozensets(st.sampled_from(["harbor", "weather", "sports"]), max_size=2),
)
readers = st.builds(
    ReaderState,
    reader_id=st.just("reader"),
    registered=st.booleans(),
    entitlements=st.frozensets(st.sampled_from(Entitlement), max_size=2),
    gift_article_id=st.none() | st.text(min_size=1, max_size=8),
    verified_crawler=st.booleans(),
    meter=st.none() | st.builds(MeterState, used=st.integers(0, 20), counted=st.booleans()),
)
policies = st.builds(
    Policy,
    anonymous_limit=st.integers(0, 10),
    registered_limit=st.integers(0, 10),
    exempt_sections=st.frozensets(st.sampled_from(["nation", "obituaries"]), max_size=1),
    exempt_tags=st.frozensets(st.sampled_from(["weather"]), max_size=1),
    regwall=st.booleans(),
    verified_crawlers_full_text=st.booleans(),
)


@given(articles, readers, policies)
def test_premium_never_uses_the_meter(
    article: ArticleAccess, reader: ReaderState, policy: Policy
) -> None:
    if article.access is AccessLevel.PREMIUM:
        assert not meter_applies(article, reader, policy)
        assert not isinstance(decide(article, reader, policy, NOW), Metered)


@given(articles, readers, policies)
def test_exempt_and_free_never_count(
    article: ArticleAccess, reader: ReaderState, policy: Policy
) -> None:
    exempt = article.section in policy.exempt_sections or bool(article.tags & policy.exempt_tags)
    if article.access is AccessLevel.FREE or (exempt and article.access is AccessLevel.METERED):
        assert not meter_applies(article, reader, policy)
        assert shows_full_text(decide(article, reader, policy, NOW))


@given(articles, readers, policies)
def test_metered_full_text_only_when_the_meter_counted_it(
    article: ArticleAccess, reader: ReaderState, policy: Policy
) -> None:
    decision = decide(article, reader, policy, NOW)
    if meter_applies(article, reader, policy):
        counted = reader.meter is not None and reader.meter.counted
        assert shows_full_text(decision) == counted
        if isinstance(decision, Metered):
            assert decision.limit == limit_for(reader, policy)


@given(articles, readers, policies)
def test_decide_is_deterministic(
    article: ArticleAccess, reader: ReaderState, policy: Policy
) -> None:
    assert decide(article, reader, policy, NOW) == decide(article, reader, policy, NOW)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["UTC", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"]),
)
def test_calendar_window_contains_now_and_is_one_month(moment: datetime, zone: str) -> None:
    now = moment.replace(tzinfo=UTC)
    window = meter_window(Policy(period=CalendarMonth(), timezone=zone), now)
    assert window.since <= now < window.expires
    local = window.since
    assert (local.day, local.hour, local.minute) == (1, 0, 0)
    assert window.key == f"{local.year:04d}-{local.month:02d}"
    assert window.resets_at == window.expires


def test_calendar_month_follows_the_publishers_time_zone() -> None:
    # 03:00 UTC on 1 November is still October in New York.
    now = datetime(2026, 11, 1, 3, tzinfo=UTC)
    assert meter_window(Policy(timezone="America/New_York"), now).key == "2026-10"
    assert meter_window(Policy(timezone="UTC"), now).key == "2026-11"


def test_december_rolls_into_january() -> None:
    window = meter_window(Policy(), datetime(2026, 12, 31, 23, tzinfo=UTC))
    assert window.key == "2026-12"
    assert window.expires == datetime(2027, 1, 1, tzinfo=UTC)


def test_rolling_window_spans_n_days_back() -> None:
    window = meter_window(Policy(period=RollingDays(30)), NOW)
    assert window.since == NOW - timedelta(days=30)
    assert window.key == "r30"
    assert window.resets_at is None


def test_search_referral_draws_on_its_own_allowance_only_when_the_meter_is_spent() -> None:
    policy = Policy(anonymous_limit=1, search_referral_allowance=2)
    spent = MeterState(used=1, counted=False)
    referred = ReaderState("r", search_referral=True, meter=spent)
    assert referral_applies(referred, policy)
    allowed = ReaderState(
        "r", search_referral=True, meter=spent, referral_meter=MeterState(1, counted=True)
    )
    assert decide(METERED, allowed, policy, NOW) == Granted("search_referral")
    exhausted = ReaderState(
        "r", search_referral=True, meter=spent, referral_meter=MeterState(2, counted=False)
    )
    assert decide(METERED, exhausted, policy, NOW) == Paywall(1, 1)
    assert not referral_applies(ReaderState("r", meter=spent), policy)
    assert not referral_applies(referred, Policy(anonymous_limit=1))
