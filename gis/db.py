"""Engine and session factories (created on demand, never at import)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, create_engine, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gis.settings import get_settings


@lru_cache
def engine_for(url: str) -> Engine:
    # hide_parameters: database errors (logged, or raised into a traceback) must not carry residents' names,
    # phones or password hashes from the bound parameters
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


# Reads on the hot paths (locate, feature pages, tiles, map data) may not run longer than this: a request that
# would (a whole-world bbox on a large table, a deep page) is cancelled by PostgreSQL and answered 503.
READ_STATEMENT_TIMEOUT_MS = 5000


@lru_cache
def read_engine_for(url: str) -> Engine:
    """The engine of read-only hot paths: autocommit (no BEGIN/COMMIT round trips), no ping before each
    checkout (a connection broken by a server restart fails one request and the pool is refreshed), a
    statement timeout that bounds the work of one read, and generic plans for the prepared statements."""
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=False,
        hide_parameters=True,
        isolation_level="AUTOCOMMIT",
        # generic plans for the prepared hot statements: psycopg prepares a statement on its 5th run, and the
        # custom plan PostgreSQL would otherwise make per run costs more than the run (locate: 0.7 ms planning
        # for 0.9 ms execution; measured 2.3 → 1.3 ms a call); no JIT, which a generic plan's estimate for a
        # large table can trigger and which costs more than these short statements
        connect_args={
            "options": f"-c statement_timeout={READ_STATEMENT_TIMEOUT_MS} -c plan_cache_mode=force_generic_plan "
            "-c jit=off"
        },
    )


ReadBind = Engine | Connection


def read_bind(sessions: sessionmaker[Session]) -> ReadBind:
    """Where the read-only hot paths of an app read: the read engine beside the sessions' engine, or, when the
    sessions are bound to one connection (tests: a transaction rolled back after each test), that connection."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, Connection):
        return bind
    return _read_engine_beside(bind if isinstance(bind, Engine) else get_engine())


@lru_cache
def _read_engine_beside(engine: Engine) -> Engine:
    return read_engine_for(engine.url.render_as_string(hide_password=False))


@contextmanager
def read_connection(bind: ReadBind) -> Iterator[Connection]:
    """A connection for one read-only statement: from the read engine's pool, or the given connection."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


def driver_sql(stmt: TextClause) -> str:
    """A `text()` statement as psycopg's own SQL (%(name)s placeholders), compiled once at import by the hot
    paths that run it with `read_value`."""
    return str(stmt.compile(dialect=psycopg_dialect()))  # type: ignore[no-untyped-call]


def read_value(bind: ReadBind, sql: str, params: dict[str, Any]) -> Any:
    """The first column of the first row (None without one) of one read statement in `driver_sql` form, run
    on the psycopg connection itself: SQLAlchemy's per-execution work is a third of a hot read's Python time."""
    with read_connection(bind) as conn:
        row = conn.connection.driver_connection.execute(sql, params).fetchone()  # type: ignore[union-attr]
    return None if row is None else row[0]


def read_row(bind: ReadBind, sql: str, params: dict[str, Any]) -> Any:
    """The first row (None without one) of one read statement in `driver_sql` form (see `read_value`)."""
    with read_connection(bind) as conn:
        return conn.connection.driver_connection.execute(sql, params).fetchone()  # type: ignore[union-attr]


@contextmanager
def read_session(bind: ReadBind) -> Iterator[Session]:
    """An ORM session over `read_connection` for reads that need the ORM (jurisdiction rules): nothing is
    committed and, on the read engine, nothing is sent but the queries."""
    with read_connection(bind) as conn, Session(bind=conn, expire_on_commit=False) as session:
        yield session


def get_engine() -> Engine:
    return engine_for(get_settings().sqlalchemy_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(bind: Engine | sessionmaker[Session] | None = None) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on any error.

    `bind` is an engine or a ready sessionmaker (the API passes its own); default: the settings' engine.
    """
    factory = bind if isinstance(bind, sessionmaker) else session_factory(bind)
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def sibling_database_url(suffix: str, env_var: str) -> str:
    """URL of a database beside the configured one (`<name>_<suffix>`), unless `env_var` names one."""
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit
    url = make_url(get_settings().sqlalchemy_url)
    return url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create a database (with PostGIS) if missing, e.g. for tests or benches; `fresh` drops it first."""
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = conn.dialect.identifier_preparer.quote(u.database or "")  # DDL takes no bound identifiers
        exists = conn.scalar(text("select 1 from pg_database where datname = :d"), {"d": u.database})
        if exists and fresh:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
            exists = None
        if not exists:
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    eng.dispose()
