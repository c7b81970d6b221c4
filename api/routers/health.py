from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SessionDep
from gis.meta import database_versions

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    postgresql: str
    postgis: str
    schema_revision: str | None


@router.get("/health", response_model=HealthPublic)
def health(session: SessionDep) -> dict[str, Any]:
    """Liveness and versions of PostgreSQL and PostGIS."""
    return {"status": "ok", **database_versions(session)}
