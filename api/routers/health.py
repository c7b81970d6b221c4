from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import SessionDep
from gis.meta import database_versions

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> dict[str, Any]:
    """Liveness and versions of PostgreSQL and PostGIS."""
    return {"status": "ok", **database_versions(session)}
