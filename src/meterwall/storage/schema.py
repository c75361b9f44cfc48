"""The relational schema: every table meterwall stores, for SQLite and PostgreSQL.

Alembic migrations in ``storage/migrations`` create and evolve these tables;
this module is what the code queries against.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

articles = Table(
    "articles",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("headline", Text, nullable=False),
    Column("dek", Text, nullable=False, default=""),
    Column("byline", Text, nullable=False, default=""),
    Column("section", String(100), nullable=False, default=""),
    Column("tags", JSON, nullable=False, default=list),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("image", JSON, nullable=True),
    Column("body", JSON, nullable=False),
    Column("access", String(20), nullable=False, default="metered"),
    Column("canonical_url", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

meter_reads = Table(
    "meter_reads",
    metadata,
    Column("reader_id", String(64), primary_key=True),
    Column("window_key", String(32), primary_key=True),
    Column("article_id", String(200), primary_key=True),
    Column("counted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_meter_reads_expires_at", "expires_at"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("stripe_customer_id", String(100), nullable=True, unique=True),
)

login_tokens = Table(
    "login_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("next_path", Text, nullable=False, default="/account"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_login_tokens_email_created", "email", "created_at"),
    Index("ix_login_tokens_ip_created", "ip", "created_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("device", Text, nullable=False, default=""),
    Column("ip", String(64), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_sessions_account_id", "account_id"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", String(100), nullable=False),
    Column("offer_id", String(100), nullable=False, default=""),
    Column("status", String(30), nullable=False),
    Column("cancel_at_period_end", Boolean, nullable=False, default=False),
    Column("current_period_end", DateTime(timezone=True), nullable=True),
    Column("trial_end", DateTime(timezone=True), nullable=True),
    Column("past_due_since", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_subscriptions_account_id", "account_id"),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
)

gift_links = Table(
    "gift_links",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("article_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_gift_links_account_created", "account_id", "created_at"),
)

gift_redemptions = Table(
    "gift_redemptions",
    metadata,
    Column(
        "gift_id",
        String(32),
        ForeignKey("gift_links.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # A hash of the recipient's reader id (or account meter key): who already opened it.
    Column("reader_hash", String(64), primary_key=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)

group_licences = Table(
    "group_licences",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("value", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "value", name="uq_group_licences_kind_value"),
)

complimentary_grants = Table(
    "complimentary_grants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=False, default=""),
    Index("ix_complimentary_grants_account_id", "account_id"),
)

account_readers = Table(
    "account_readers",
    metadata,
    Column(
        "account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("reader_id", String(64), primary_key=True),
    Column("linked_at", DateTime(timezone=True), nullable=False),
)
"""Every reader id a browser used before signing in to the account, so that deleting the
account's reading data (or the account) reaches what was recorded under those ids too."""


events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("day", String(10), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reader", String(32), nullable=False),
    Column("alias", String(32), nullable=False, default=""),
    Column("article_id", String(200), nullable=False, default=""),
    Column("section", String(100), nullable=False, default=""),
    Column("referrer", String(16), nullable=False, default=""),
    Column("experiment", String(64), nullable=False, default=""),
    Column("variant", String(64), nullable=False, default=""),
    Index("ix_events_day_kind", "day", "kind"),
    Index("ix_events_reader", "reader"),
    Index("ix_events_at", "at"),
    Index("ix_events_experiment", "experiment", "variant"),
)

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    Column("totp_secret", String(64), nullable=True),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_staff_sessions_user_id", "user_id"),
)

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_counters_expires_at", "expires_at"),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("document", Text, nullable=False),
    Column("changes", Text, nullable=False, default=""),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("parameter", String(32), nullable=False),
    Column("target", String(100), nullable=False, default=""),
    Column("variants", Text, nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("stopped_at", DateTime(timezone=True), nullable=True),
)
