"""Where W9's batch statement runs: an async psycopg pool in autocommit beside the app's engine (one round
trip, no worker-thread hop, no pre-ping, no BEGIN/COMMIT), or — when the app's sessions are bound to one
connection (tests: a transaction rolled back after each test) — that connection, inside a session."""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, Engine
from starlette.requests import Request

from gis.auth import token_digest
from gis.db import session_scope
from gis.patrol import ingest

_lock = asyncio.Lock()
POOL_SIZE = 10


async def ingest_store(request: Request, prep: ingest.Prepared, token: str) -> dict[str, int]:
    state = request.app.state
    bind = state.sessions.kw.get("bind")
    if isinstance(bind, Connection) or not isinstance(bind, Engine):
        with session_scope(state.sessions) as session:
            raw = session.connection().connection.driver_connection
            return ingest.store_sync(raw, prep, digest=token_digest(token))
    pool = getattr(state, "ingest_pool", None) or await _open_pool(state, bind)
    async with pool.connection() as conn:
        return await ingest.store_async(conn, prep, digest=token_digest(token))


async def _open_pool(state: Any, engine: Engine) -> AsyncConnectionPool:
    async with _lock:
        pool: AsyncConnectionPool | None = getattr(state, "ingest_pool", None)
        if pool is None:
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            pool = AsyncConnectionPool(
                url, min_size=2, max_size=POOL_SIZE, open=False,
                # prepared at once with a generic plan (planning the statement cost about as much as running it)
                kwargs={"autocommit": True, "prepare_threshold": 0,
                        "options": "-c plan_cache_mode=force_generic_plan -c jit=off"},
            )  # fmt: skip
            await pool.open()
            state.ingest_pool = pool
        return pool


async def close_pool(state: Any) -> None:
    pool: AsyncConnectionPool | None = getattr(state, "ingest_pool", None)
    if pool is not None:
        state.ingest_pool = None
        await pool.close()
