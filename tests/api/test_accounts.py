"""M4 and L7: login throttling per account and per address, disable/enable, password change and reset, all
ending the user's sessions; the same from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis import auth

Maker = Callable[..., tuple[Any, dict[str, str]]]


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def test_repeated_failures_lock_the_account_with_429_even_for_the_right_password(
    client: TestClient, make_user: Maker
) -> None:
    user, _ = make_user("manager", jurisdiction=["370102010001"])
    codes = [_login(client, user.username, "wrong-password").status_code for _ in range(auth.MAX_FAILURES_PER_ACCOUNT)]
    assert codes == [401] * auth.MAX_FAILURES_PER_ACCOUNT
    r = _login(client, user.username, "test-password")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["error"] == "too_many_attempts" and "try again" in r.json()["message"]
    other, _ = make_user("manager", jurisdiction=["370102010001"])  # other accounts are not affected
    assert _login(client, other.username, "test-password").status_code == 200


def test_guessing_across_accounts_from_one_address_is_throttled(client: TestClient, make_user: Maker) -> None:
    for i in range(auth.MAX_FAILURES_PER_IP):
        assert _login(client, f"guess-{i}", "wrong-password").status_code == 401
    user, _ = make_user("resident")
    assert _login(client, user.username, "test-password").status_code == 429


def test_a_success_clears_the_failure_count(client: TestClient, make_user: Maker) -> None:
    user, _ = make_user("resident")
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT - 1):
        _login(client, user.username, "wrong-password")
    assert _login(client, user.username, "test-password").status_code == 200
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT - 1):
        assert _login(client, user.username, "wrong-password").status_code == 401


def test_admin_disables_an_account_its_tokens_stop_and_it_cannot_log_in(client: TestClient, make_user: Maker) -> None:
    _, admin = make_user("admin")
    user, h = make_user("grid_worker", jurisdiction=["370102010001"])
    assert client.get("/v1/auth/me", headers=h).status_code == 200
    r = client.post(f"/v1/users/{user.username}/disable", headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.get("/v1/auth/me", headers=h).status_code == 401
    assert _login(client, user.username, "test-password").status_code == 401
    assert client.post(f"/v1/users/{user.username}/enable", headers=admin).json()["is_active"] is True
    assert _login(client, user.username, "test-password").status_code == 200


def test_only_admins_manage_accounts(client: TestClient, make_user: Maker) -> None:
    # managers manage the grid workers of their community only (tests/reference/test_api.py)
    user, h = make_user("manager", jurisdiction=["370102010001"])
    assert all(a["role"] == "grid_worker" for a in client.get("/v1/users", headers=h).json())
    assert client.post(f"/v1/users/{user.username}/disable", headers=h).status_code == 404
    _, worker = make_user("grid_worker", jurisdiction=["370102010001"])
    assert client.get("/v1/users", headers=worker).status_code == 403
    assert client.post("/v1/users/admin/password", json={"new_password": "x" * 12}).status_code == 401
    me, admin = make_user("admin")
    assert client.post(f"/v1/users/{me.username}/disable", headers=admin).status_code == 403  # not yourself
    assert client.post("/v1/users/no-such-user/disable", headers=admin).status_code == 404


def test_change_own_password_ends_sessions_and_needs_the_old_one(client: TestClient, make_user: Maker) -> None:
    user, h = make_user("resident")
    bad = client.post("/v1/auth/password", headers=h, json={"old_password": "nope", "new_password": "new-pass-123"})
    assert bad.status_code == 403
    short = client.post("/v1/auth/password", headers=h, json={"old_password": "test-password", "new_password": "x"})
    assert short.status_code == 422
    ok = client.post(
        "/v1/auth/password", headers=h, json={"old_password": "test-password", "new_password": "new-pass-123"}
    )
    assert ok.status_code == 204
    assert client.get("/v1/auth/me", headers=h).status_code == 401
    assert _login(client, user.username, "test-password").status_code == 401
    assert _login(client, user.username, "new-pass-123").status_code == 200


def test_admin_reset_password(client: TestClient, make_user: Maker) -> None:
    _, admin = make_user("admin")
    user, h = make_user("department")
    r = client.post(f"/v1/users/{user.username}/password", headers=admin, json={"new_password": "reset-pass-1"})
    assert r.status_code == 200
    assert client.get("/v1/auth/me", headers=h).status_code == 401
    assert _login(client, user.username, "reset-pass-1").status_code == 200
    listed = client.get("/v1/users", headers=admin).json()
    assert any(a["username"] == user.username for a in listed)
    assert all("password_hash" not in a and "phone" not in a for a in listed)


def test_cli_disable_revokes_tokens(session: Session, make_user: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from api import cli

    user, _ = make_user("grid_worker", jurisdiction=["370102010001"])
    token, _ = auth.login(session, username=user.username, password="test-password")

    class _Scope:
        def __enter__(self) -> Session:
            return session

        def __exit__(self, *exc: object) -> None:
            session.flush()

    monkeypatch.setattr("gis.db.session_scope", lambda *a, **k: _Scope())
    result = CliRunner().invoke(cli.app, ["user", "disable", user.username])
    assert result.exit_code == 0, result.output
    with pytest.raises(auth.Unauthorized):
        auth.user_for_token(session, token)
    missing = CliRunner().invoke(cli.app, ["user", "disable", "no-such-user"])
    assert missing.exit_code == 2 and "no user" in missing.output
