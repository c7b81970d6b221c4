"""Engine and session factories (created on demand, never at import)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gis.settings import get_settings


@lru_cache
def engine_for(url: str) -> Engine:
    # hide_parameters: database errors (logged, or raised into a traceback) must not carry residents' names,
    # phones or password hashes from the bound parameters
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


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
