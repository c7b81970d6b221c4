"""Test fixtures: a real PostGIS test database, migrated from empty once per run and loaded with the demo
街道; every test runs inside a transaction that is rolled back, so tests never see each other's writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely import to_wkt
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gis.auth import create_user, login
from gis.db import ensure_database, sibling_database_url
from gis.models import AdminArea, Compound, GridCell, ServiceResource, User
from gis.settings import Settings


def test_database_url() -> str:
    return sibling_database_url("test", "GRIDGOV_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    from data.demo_load import load_demo
    from gis.migrate import upgrade

    url = test_database_url()
    ensure_database(url)
    eng = create_engine(url)
    with eng.begin() as conn:  # migrations must work from an empty database
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(url)
    with Session(eng) as session:
        load_demo(session, scale=1, seed=42)
        session.commit()
    yield eng
    eng.dispose()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture()
def sessions(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture()
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    s = sessions()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture()
def settings() -> Settings:
    return Settings.for_tests(test_database_url(), max_body_bytes=200_000)


@pytest.fixture()
def client(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings)
    app.state.sessions = sessions
    with TestClient(app) as c:
        yield c


_seq = count(1)


@pytest.fixture()
def make_user(session: Session) -> Callable[..., tuple[User, dict[str, str]]]:
    """Create a user and return it with ready-made auth headers."""

    def make(role: str = "admin", jurisdiction: list[str] | None = None, **kw: Any) -> tuple[User, dict[str, str]]:
        n = next(_seq)
        user = create_user(
            session,
            username=f"t-{role}-{n}",
            password="test-password",
            full_name=f"测试{n}",
            role=role,
            jurisdiction=jurisdiction,
            **kw,
        )
        token, _ = login(session, username=user.username, password="test-password")
        session.commit()
        return user, {"Authorization": f"Bearer {token}"}

    return make


def ewkt(geom: Any) -> str:
    if isinstance(geom, Polygon) and not isinstance(geom, MultiPolygon):
        geom = MultiPolygon([geom])
    return "SRID=4326;" + to_wkt(geom, rounding_precision=-1)


@pytest.fixture()
def tiny_area(session: Session) -> dict[str, Any]:
    """A tiny synthetic community far from the demo: two square cells sharing an edge, one compound, one
    resource — for exact edge/vertex cases."""
    ox, oy = 100.0, 30.0
    left, right = box(ox, oy, ox + 0.01, oy + 0.01), box(ox + 0.01, oy, ox + 0.02, oy + 0.01)
    community = AdminArea(code="990000000001", name="测试社区", level="community", geom=ewkt(left.union(right)))
    session.add(community)
    session.flush()
    cells = [
        GridCell(code="990000000001001", name="测试第1网格", community_id=community.id, geom=ewkt(left)),
        GridCell(code="990000000001002", name="测试第2网格", community_id=community.id, geom=ewkt(right)),
    ]
    session.add_all(cells)
    compound = Compound(
        code="990000000001X001",
        name="测试花园",
        kind="closed",
        community_id=community.id,
        cell_code="990000000001001",
        geom=ewkt(box(ox + 0.002, oy + 0.002, ox + 0.006, oy + 0.006)),
    )
    session.add(compound)
    res = ServiceResource(
        code="R99001",
        type="repair",
        name="测试维修点",
        geom="SRID=4326;" + Point(ox + 0.0015, oy + 0.0015).wkt,
    )
    session.add(res)
    session.commit()
    return {"origin": (ox, oy), "community": community, "cells": cells, "compound": compound}
