"""H6: the demo's accounts (one published password, admins among them) never reach a database holding real
data, and `gridgov serve` only prints the demo logins for the demo database."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from data.demo_load import NotADemoDatabase, load_demo
from data.demo_tickets import _Cast, load_demo_tickets
from gis.auth import create_user
from gis.db import ensure_database
from gis.migrate import upgrade
from gis.models import User
from tests import conftest


@pytest.fixture(scope="module")
def real_db_url() -> str:
    url = make_url(conftest.test_database_url())
    real = url.set(database=f"{url.database}_realsite").render_as_string(hide_password=False)
    ensure_database(real, fresh=True)
    upgrade(real)
    return real


@pytest.fixture()
def real_session(real_db_url: str) -> Iterator[Session]:
    engine = create_engine(real_db_url)
    with engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            create_user(s, username="zhangsan", password="a-real-strong-one", full_name="张三", role="admin")
            yield s
        trans.rollback()
    engine.dispose()


def test_demo_refuses_a_database_with_real_users(real_session: Session) -> None:
    with pytest.raises(NotADemoDatabase, match="not the demo"):
        load_demo(real_session, scale=1)
    assert real_session.scalar(select(func.count()).select_from(User)) == 1


def test_demo_ticket_cast_creates_no_admin_in_a_real_database(real_session: Session) -> None:
    with pytest.raises(NotADemoDatabase):
        _Cast(real_session, random.Random(0))
    assert load_demo_tickets(real_session, count=5) == 0
    users = list(real_session.scalars(select(User)))
    assert [u.username for u in users] == ["zhangsan"]
    for u in users:
        with pytest.raises(VerificationError):
            PasswordHasher().verify(u.password_hash, "gridgov-demo")


def test_cli_demo_load_refuses_an_external_database_without_the_flag(
    real_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import app
    from gis.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", real_db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "load"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "--external-database" in result.output
    engine = create_engine(real_db_url)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0
    engine.dispose()


def test_first_start_without_users_asks_for_an_admin_and_prints_no_demo_logins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import typer

    from api.cli import _first_start
    from gis.auth import login
    from gis.settings import get_settings

    url = make_url(conftest.test_database_url())
    fresh = url.set(database=f"{url.database}_firststart").render_as_string(hide_password=False)
    ensure_database(fresh, fresh=True)
    upgrade(fresh)
    monkeypatch.setenv("DATABASE_URL", fresh)
    monkeypatch.delenv("GRIDGOV_ADMIN_PASSWORD", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(typer.Exit):  # no terminal, no password: refuses instead of serving without users
            _first_start()
        monkeypatch.setenv("GRIDGOV_ADMIN_PASSWORD", "first-admin-pw")
        assert _first_start() is False  # not the demo database: no demo logins printed
        assert _first_start() is False  # the second start finds the admin and asks nothing
    finally:
        get_settings.cache_clear()
    engine = create_engine(fresh)
    with Session(engine) as s:
        assert [u.username for u in s.scalars(select(User))] == ["admin"]
        login(s, username="admin", password="first-admin-pw")
    engine.dispose()
