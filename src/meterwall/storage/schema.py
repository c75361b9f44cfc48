"""The relational schema: every table meterwall stores, for SQLite and PostgreSQL.

Alembic migrations in ``storage/migrations`` create and evolve these tables;
this module is what the code queries against.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
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
