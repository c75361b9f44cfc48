"""Limits that hold under parallel requests, and staff second factors.

``rate_counters`` holds every counted limit (staff sign-in attempts, login
e-mails, coupon tries), reserved atomically before the work; see
``meterwall.storage.counters``.  ``staff_users.totp_secret`` is a staff
member's TOTP secret once they have enrolled a second factor.  The old
``staff_login_failures`` table, which counted after the fact, goes.

Revision ID: 0004_limits
Revises: 0004_gifts
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_limits"
down_revision = "0004_gifts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_counters"),
    )
    op.create_index("ix_rate_counters_expires_at", "rate_counters", ["expires_at"])
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
    op.drop_index("ix_staff_login_failures_at", table_name="staff_login_failures")
    op.drop_table("staff_login_failures")


def downgrade() -> None:
    op.create_table(
        "staff_login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_login_failures"),
    )
    op.create_index("ix_staff_login_failures_at", "staff_login_failures", ["at"])
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("totp_secret")
    op.drop_index("ix_rate_counters_expires_at", table_name="rate_counters")
    op.drop_table("rate_counters")
