"""The publisher's dashboard: events, staff accounts, policy versions, experiments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _serial() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "events",
        _serial(),
        _when("at"),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reader", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(32), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("section", sa.String(100), nullable=False),
        sa.Column("referrer", sa.String(16), nullable=False),
        sa.Column("experiment", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_day_kind", "events", ["day", "kind"])
    op.create_index("ix_events_reader", "events", ["reader"])
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_experiment", "events", ["experiment", "variant"])
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        _when("created_at"),
        _when("last_login_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("email", name="uq_staff_users_email"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_staff_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name="fk_staff_sessions_user_id_staff_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "staff_login_failures",
        _serial(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_login_failures"),
    )
    op.create_index("ix_staff_login_failures_at", "staff_login_failures", ["at"])
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True),
        _when("created_at"),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parameter", sa.String(32), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("variants", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        _when("started_at"),
        _when("stopped_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
    )


def downgrade() -> None:
    op.drop_table("experiments")
    op.drop_table("policy_versions")
    op.drop_index("ix_staff_login_failures_at", table_name="staff_login_failures")
    op.drop_table("staff_login_failures")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
    op.drop_index("ix_events_experiment", table_name="events")
    op.drop_index("ix_events_at", table_name="events")
    op.drop_index("ix_events_reader", table_name="events")
    op.drop_index("ix_events_day_kind", table_name="events")
    op.drop_table("events")
