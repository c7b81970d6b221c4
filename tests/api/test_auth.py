"""Login, tokens, health, body limits, error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Maker = Callable[..., tuple[Any, dict[str, str]]]


def test_login_me_logout(client: TestClient, make_user: Maker) -> None:
    user, _ = make_user("manager", jurisdiction=["370102010001"])
    r = client.post("/v1/auth/login", json={"username": user.username, "password": "test-password"})
    assert r.status_code == 200
    token = r.json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    me = client.get("/v1/auth/me", headers=h).json()
    assert me["role"] == "manager" and me["jurisdiction"] == ["370102010001"]
    assert client.post("/v1/auth/logout", headers=h).status_code == 204
    assert client.get("/v1/auth/me", headers=h).status_code == 401


def test_wrong_password_is_401_without_telling_which(client: TestClient, make_user: Maker) -> None:
    user, _ = make_user("resident")
    a = client.post("/v1/auth/login", json={"username": user.username, "password": "wrong-password"})
    b = client.post("/v1/auth/login", json={"username": "nobody-here", "password": "wrong-password"})
    assert a.status_code == b.status_code == 401
    assert a.json()["message"] == b.json()["message"]


def test_demo_user_can_log_in(client: TestClient) -> None:
    from data.demo import DEMO_PASSWORD

    r = client.post("/v1/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
    assert r.status_code == 200 and r.json()["user"]["role"] == "admin"


def test_malformed_login_body_is_422(client: TestClient) -> None:
    r = client.post("/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"


def test_oversize_body_is_413(client: TestClient) -> None:
    r = client.post("/v1/auth/login", content=b"x" * 300_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


def test_health_reports_versions_to_admins_only(client: TestClient, make_user: Maker) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    _, manager = make_user("manager", jurisdiction=["370102010001"])
    assert client.get("/health", headers=manager).json() == {"status": "ok"}
    _, admin = make_user("admin")
    body = client.get("/health", headers=admin).json()
    assert body["status"] == "ok"
    assert body["postgresql"].startswith("15") or body["postgresql"][:2].isdigit()
    assert body["postgis"].startswith("3.")


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "swagger" in html.lower()
    for host in ("cdn.jsdelivr", "unpkg.com", "cdnjs."):
        assert host not in html


def test_cached_tokens_stop_at_once_on_logout_disable_and_password_reset(client: TestClient, make_user: Maker) -> None:
    """Tokens are cached for a few seconds per process; logging out, disabling the account or resetting its
    password still ends them on the very next request."""
    admin, admin_h = make_user("admin")

    def login(username: str) -> dict[str, str]:
        r = client.post("/v1/auth/login", json={"username": username, "password": "test-password"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    user, _ = make_user("manager", jurisdiction=["370102010001"])
    h = login(user.username)
    for _ in range(2):  # the second answer comes from the cache
        assert client.get("/v1/auth/me", headers=h).status_code == 200
    assert client.post("/v1/auth/logout", headers=h).status_code == 204
    assert client.get("/v1/auth/me", headers=h).status_code == 401

    h = login(user.username)
    assert client.get("/ogc/collections/cells/items?limit=1", headers=h).status_code == 200
    assert client.post(f"/v1/users/{user.username}/disable", headers=admin_h).status_code == 200
    assert client.get("/v1/auth/me", headers=h).status_code == 401
    assert client.get("/ogc/collections/cells/items?limit=1", headers=h).status_code == 401
    assert client.post(f"/v1/users/{user.username}/enable", headers=admin_h).status_code == 200

    h = login(user.username)
    assert client.get("/v1/auth/me", headers=h).status_code == 200
    r = client.post(f"/v1/users/{user.username}/password", json={"new_password": "another-password"}, headers=admin_h)
    assert r.status_code == 200, r.text
    assert client.get("/v1/auth/me", headers=h).status_code == 401
