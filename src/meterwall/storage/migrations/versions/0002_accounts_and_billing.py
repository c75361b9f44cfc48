"""Accounts, sessions, login links, subscriptions, webhook events, gifts, licences, grants.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.id"],
        name=f"fk_{table}_account_id_accounts",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        _when("created_at"),
        sa.Column("stripe_customer_id", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.UniqueConstraint("stripe_customer_id", name="uq_accounts_stripe_customer_id"),
    )
    op.create_table(
        "login_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("next_path", sa.Text(), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_login_tokens"),
    )
    op.create_index("ix_login_tokens_email_created", "login_tokens", ["email", "created_at"])
    op.create_index("ix_login_tokens_ip_created", "login_tokens", ["ip", "created_at"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("key_hash", name="uq_sessions_key_hash"),
        _account_fk("sessions"),
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("offer_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        _when("current_period_end", nullable=True),
        _when("trial_end", nullable=True),
        _when("past_due_since", nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        _account_fk("subscriptions"),
    )
    op.create_index("ix_subscriptions_account_id", "subscriptions", ["account_id"])
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _when("received_at"),
        _when("processed_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_events"),
    )
    op.create_table(
        "gift_links",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_gift_links"),
        _account_fk("gift_links"),
    )
    op.create_index("ix_gift_links_account_created", "gift_links", ["account_id", "created_at"])
    op.create_table(
        "group_licences",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_group_licences"),
        sa.UniqueConstraint("kind", "value", name="uq_group_licences_kind_value"),
    )
    op.create_table(
        "complimentary_grants",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        _when("granted_at"),
        _when("expires_at", nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complimentary_grants"),
        _account_fk("complimentary_grants"),
    )
    op.create_index("ix_complimentary_grants_account_id", "complimentary_grants", ["account_id"])


def downgrade() -> None:
    op.drop_table("complimentary_grants")
    op.drop_table("group_licences")
    op.drop_table("gift_links")
    op.drop_table("webhook_events")
    op.drop_table("subscriptions")
    op.drop_table("sessions")
    op.drop_table("login_tokens")
    op.drop_table("accounts")
