"""The field app's browser test runs a real uvicorn whose requests share the test's connection (one transaction,
rolled back at the end: nothing the browser writes stays in the test database). A lock lets one request at a
time use that connection, and the test takes the same lock to read what the browser wrote."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gis.settings import Settings
from tests.browser import serve as serve_app
from tests.conftest import test_database_url


class OneAtATime:
    """ASGI middleware: requests take turns (they share one database connection)."""

    def __init__(self, app: Any, lock: threading.Lock) -> None:
        self.app = app
        self.lock = lock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await anyio.to_thread.run_sync(self.lock.acquire)
        try:
            await self.app(scope, receive, send)
        finally:
            self.lock.release()


class LiveServer:
    def __init__(self, url: str, lock: threading.Lock) -> None:
        self.url = url
        self.lock = lock


@contextmanager
def serve(sessions: sessionmaker[Session], tmp_path: Any) -> Iterator[LiveServer]:
    """A uvicorn on a free port whose requests use `sessions` (the test's connection), one at a time."""
    lock = threading.Lock()
    settings = Settings.for_tests(test_database_url()).model_copy(update={"media_dir": tmp_path / "media"})
    app = create_app(settings)
    app.state.sessions = sessions
    app.add_middleware(OneAtATime, lock=lock)
    with serve_app(app) as url:
        yield LiveServer(url, lock)


def phone(browser: Any, server: LiveServer, *, lat: float, lon: float, accuracy: float) -> tuple[Any, Any, list[str]]:
    """A 390×844 zh-CN phone standing at (lat, lon): its browser context, a page, and the list in which the page
    records its errors and any request to a host other than `server`."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        geolocation={"latitude": lat, "longitude": lon, "accuracy": accuracy},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.startswith(server.url) else errors.append(f"outside: {r.url}"))
    return context, page, errors


@pytest.fixture()
def live_server(sessions: sessionmaker[Session], tmp_path: Any) -> Iterator[LiveServer]:
    with serve(sessions, tmp_path) as server:
        yield server
