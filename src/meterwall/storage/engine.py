"""Creating the async database engine: SQLite tuned for concurrent use, PostgreSQL via asyncpg."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

IMMEDIATE = "meterwall_immediate"
"""Execution option: on SQLite, begin the transaction with the write lock held."""

LOCK_WAIT_MS = "meterwall_lock_wait_ms"
"""Execution option with :data:`IMMEDIATE`: on SQLite, how long to wait for the write lock
(instead of the connection's 30 s) before the begin fails with "database is locked"."""

_BUSY_TIMEOUT_MS = 30_000

DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
"""The async driver meterwall uses for each supported database."""

_ALIASES = {"postgres": "postgresql", "pgsql": "postgresql"}

_LIBPQ_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


class UnsupportedDatabase(ValueError):
    """A database URL meterwall cannot use, with a message saying what it can."""


def normalise_database_url(url: str) -> str:
    """``url`` with meterwall's async driver filled in.

    Operators paste URLs from hosting dashboards: ``postgres://`` and
    ``postgresql://`` become ``postgresql+asyncpg://``, a libpq ``sslmode``
    becomes asyncpg's ``ssl``, and ``sqlite://`` becomes
    ``sqlite+aiosqlite://``.  Anything else raises
    :class:`UnsupportedDatabase`.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabase(
            f"not a database URL: {url!r} (expected e.g. "
            "postgresql://user@host/dbname or sqlite:///path/to/meterwall.db)"
        ) from exc
    backend = _ALIASES.get(parsed.get_backend_name(), parsed.get_backend_name())
    driver = parsed.get_driver_name() if "+" in parsed.drivername else ""
    wanted = DRIVERS.get(backend)
    if wanted is None:
        raise UnsupportedDatabase(
            f"unsupported database {parsed.drivername!r}: meterwall runs on PostgreSQL "
            "(postgresql://...) or SQLite (sqlite:///...)"
        )
    if driver and driver != wanted:
        raise UnsupportedDatabase(
            f"unsupported driver {parsed.drivername!r}: meterwall uses {backend}+{wanted} "
            f"(write {backend}://... and it is chosen for you)"
        )
    parsed = parsed.set(drivername=f"{backend}+{wanted}")
    if backend == "postgresql":
        parsed = _asyncpg_query(parsed)
    return parsed.render_as_string(hide_password=False)


def _asyncpg_query(url: URL) -> URL:
    """Translate libpq's ``sslmode`` to asyncpg's ``ssl`` (same values)."""
    sslmode = url.query.get("sslmode")
    if sslmode is None:
        return url
    if sslmode not in _LIBPQ_SSLMODES:
        raise UnsupportedDatabase(
            f"unknown sslmode {sslmode!r}: use one of {', '.join(sorted(_LIBPQ_SSLMODES))}"
        )
    return url.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names an SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, timeout: float | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (normalised by :func:`normalise_database_url`).

    ``timeout`` (seconds) bounds connecting, each statement and the wait for a
    pooled connection on PostgreSQL, so a database that accepts connections
    but never answers gives an error instead of a hung request; the server
    also ends sessions left idle inside a transaction for four times as long.

    On SQLite the driver's own transaction handling is switched off so that a
    transaction can start with ``BEGIN IMMEDIATE`` (see :data:`IMMEDIATE`):
    that takes the write lock before the meter is read, which is what makes
    check-and-record atomic across connections and processes.
    """
    url = normalise_database_url(url)
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        if timeout is not None:
            connect_args = kwargs.setdefault("connect_args", {})
            connect_args.setdefault("timeout", timeout)
            connect_args.setdefault("command_timeout", timeout)
            # A client that vanishes mid-transaction (a network partition) must not
            # hold a reader's meter lock until TCP notices: the server ends the session.
            connect_args.setdefault("server_settings", {}).setdefault(
                "idle_in_transaction_session_timeout", str(max(1_000, round(timeout * 4_000)))
            )
            kwargs.setdefault("pool_timeout", timeout)
        return create_async_engine(url, **kwargs)

    kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if not options.get(IMMEDIATE, False):
            connection.exec_driver_sql("BEGIN")
            return
        wait = options.get(LOCK_WAIT_MS)
        if wait is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # A caller with a deadline (a reader's meter check) must not sit out another
        # writer's whole transaction in SQLite's busy wait, past its own time bound.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={max(1, int(wait))}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")

    return engine
