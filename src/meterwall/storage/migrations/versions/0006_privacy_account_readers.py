"""Privacy: the reader ids each account signed in from, for export and deletion.

Revision ID: 0004_privacy
Revises: 0004_limits
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_privacy"
down_revision = "0004_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_readers",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("reader_id", sa.String(64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_readers_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "reader_id", name="pk_account_readers"),
    )


def downgrade() -> None:
    op.drop_table("account_readers")
