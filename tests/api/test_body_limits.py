"""L9: an oversize body is a 413 even when sent chunked (no Content-Length), and anonymous boundary uploads
are refused before their bytes are read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi.testclient import TestClient

from api.app import BodyLimit


def _chunks(total: int, size: int = 16_384) -> Iterator[bytes]:
    sent = 0
    yield b'{"items": ["'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"]}'


def test_chunked_oversize_json_is_413(client: TestClient) -> None:
    r = client.post("/v1/tickets/batch", content=_chunks(400_000), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


def test_chunked_small_body_still_reaches_the_route(client: TestClient) -> None:
    r = client.post(
        "/v1/auth/login",
        content=iter([b'{"username": "nobody-', b'here", "password": "wrong-password"}']),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 401


async def _never_called(scope: object, receive: object, send: object) -> None:
    raise AssertionError("the app must not run")


def test_anonymous_upload_is_refused_before_reading() -> None:
    asyncio.run(_anonymous_upload())


async def _anonymous_upload() -> None:
    read = 0

    async def receive() -> dict[str, object]:
        nonlocal read
        read += 65_536
        return {"type": "http.request", "body": b"x" * 65_536, "more_body": read < 10_000_000}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "path": "/v1/plans/1/import",
        "method": "POST",
        "headers": [(b"content-type", b"multipart/form-data; boundary=x")],
    }
    limit = BodyLimit(_never_called, max_bytes=200_000, upload_bytes=50_000_000)  # type: ignore[arg-type]
    await limit(scope, receive, send)  # type: ignore[arg-type]
    assert read == 0
    assert sent[0]["status"] == 401
