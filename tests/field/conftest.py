"""The field app's browser test runs a real uvicorn whose requests share the test's connection (one transaction,
rolled back at the end: nothing the browser writes stays in the test database). A lock lets one request at a
time use that connection, and the test takes the same lock to read what the browser wrote."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gis.settings import Settings
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", lock)
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture()
def live_server(sessions: sessionmaker[Session], tmp_path: Any) -> Iterator[LiveServer]:
    with serve(sessions, tmp_path) as server:
        yield server
