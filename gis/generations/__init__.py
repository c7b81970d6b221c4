"""Generations (MapIt) of compounds (小区) and communities (社区): every version of their boundary and of the
attributes an answer depends on, so "which compound / community was this point in on date D" is answerable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

# The versions in force at the bound :at (a NULL valid_from: since records began), on alias `cov`.
IN_FORCE_SQL = "(cov.valid_from IS NULL OR cov.valid_from <= :at) AND (cov.valid_to IS NULL OR cov.valid_to > :at)"


@contextmanager
def versions_at(session: Session, at: datetime) -> Iterator[None]:
    """Compound and area versions written inside the block open and close at `at` (the version triggers read
    the transaction setting `gridgov.valid_at`), so they switch at the same instant as the cells."""
    session.execute(text("SELECT set_config('gridgov.valid_at', :at, true)"), {"at": at.isoformat()})
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('gridgov.valid_at', '', true)"))
