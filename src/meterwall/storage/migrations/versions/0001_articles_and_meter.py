"""Articles and the SQL meter.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("dek", sa.Text(), nullable=False),
        sa.Column("byline", sa.Text(), nullable=False),
        sa.Column("section", sa.String(100), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("image", sa.JSON(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("access", sa.String(20), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("slug", name="uq_articles_slug"),
    )
    op.create_table(
        "meter_reads",
        sa.Column("reader_id", sa.String(64), nullable=False),
        sa.Column("window_key", sa.String(32), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reader_id", "window_key", "article_id", name="pk_meter_reads"),
    )
    op.create_index("ix_meter_reads_expires_at", "meter_reads", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_meter_reads_expires_at", table_name="meter_reads")
    op.drop_table("meter_reads")
    op.drop_table("articles")
