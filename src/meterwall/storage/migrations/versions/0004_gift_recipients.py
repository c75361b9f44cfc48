"""Gift links: revocation, and the recipients who opened each link (for its cap).

Revision ID: 0004_gifts
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_gifts"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gift_links") as batch:
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "gift_redemptions",
        sa.Column(
            "gift_id",
            sa.String(32),
            sa.ForeignKey("gift_links.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("reader_hash", sa.String(64), primary_key=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gift_redemptions")
    with op.batch_alter_table("gift_links") as batch:
        batch.drop_column("revoked_at")
