"""Every table meterwall stores, what it holds about readers, and what each deletion does.

``docs/privacy.md`` ("What we store and for how long") is this register in
prose; a test checks that every table of the schema is in both, so a table
added later must say here how long it keeps what, and how it is erased.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableUse:
    """One table: what it keeps about a reader, for how long, and what deletion does."""

    about_readers: str
    kept: str
    reading_data: str
    """What "delete my reading data" does to the table."""
    account: str
    """What "delete my account" does to the table."""


UNTOUCHED = "nothing (holds nothing about readers)"

REGISTER: dict[str, TableUse] = {
    "articles": TableUse("nothing", "while published", UNTOUCHED, UNTOUCHED),
    "meter_reads": TableUse(
        "which articles counted for a reader id or account, and when",
        "until the meter period ends",
        "rows replaced by the period's count, without article ids",
        "deleted",
    ),
    "accounts": TableUse(
        "email address, when the account was made, Stripe customer id",
        "while the account exists",
        "kept",
        "deleted",
    ),
    "account_readers": TableUse(
        "the anonymous reader ids a browser used before signing in",
        "while the account exists",
        "deleted (their data is gone)",
        "deleted",
    ),
    "login_tokens": TableUse(
        "email address and IP address of each sign-in link (a hash of the link)",
        "a day after the link was made (deleted by the housekeeping round)",
        "kept",
        "deleted",
    ),
    "sessions": TableUse(
        "device name, IP address, times of each signed-in browser",
        "until the session ends or is ended",
        "kept (the reader stays signed in)",
        "deleted",
    ),
    "subscriptions": TableUse(
        "plan, status and dates of the account's Stripe subscriptions",
        "while the account exists",
        "kept",
        "cancelled at Stripe, then deleted",
    ),
    "webhook_events": TableUse(
        "Stripe's notifications, which name the Stripe customer",
        "until the webhook retention purge",
        "kept",
        "those naming the customer or its subscriptions are emptied",
    ),
    "gift_links": TableUse(
        "which article a subscriber shared, and when",
        "while the account exists",
        "kept",
        "deleted",
    ),
    "gift_redemptions": TableUse(
        "that a reader (a hash of their reader id) opened a gift link, and when",
        "while the gift link exists",
        "deleted",
        "deleted, for the links the account opened and the links it gave",
    ),
    "group_licences": TableUse(
        "networks and email domains the publisher licenses (not people)",
        "until the publisher removes them",
        UNTOUCHED,
        UNTOUCHED,
    ),
    "complimentary_grants": TableUse(
        "free access the publisher gave the account, with its note",
        "while the account exists",
        "kept",
        "deleted",
    ),
    "events": TableUse(
        "page views, meter notices, walls, sign-up, checkout under a pseudonym",
        "the event retention period (default 395 days)",
        "anonymised: a random pseudonym, the day and the kind only",
        "anonymised the same way",
    ),
    "staff_users": TableUse(
        "nothing (the publisher's staff)", "until removed", UNTOUCHED, UNTOUCHED
    ),
    "staff_sessions": TableUse("nothing (staff)", "until they end", UNTOUCHED, UNTOUCHED),
    "rate_counters": TableUse(
        "counts of sign-in e-mails, sign-in attempts and coupon tries per hashed address or "
        "network",
        "until the counter's window ends (at most a day)",
        "kept (a count under a hash, no way back to the person)",
        "kept (a count under a hash, no way back to the person)",
    ),
    "policy_versions": TableUse("nothing", "for ever (the policy's history)", UNTOUCHED, UNTOUCHED),
    "experiments": TableUse("nothing", "for ever", UNTOUCHED, UNTOUCHED),
}
"""Table name -> its use; a test checks this covers ``storage.schema.metadata``."""
