"""Liveness for load balancers and monitors; the software versions only for administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import BearerCredentials, SessionDep
from gis import auth
from gis.errors import Unauthorized
from gis.meta import database_versions

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    postgresql: str | None = None
    postgis: str | None = None
    schema_revision: str | None = None


@router.get("/health", response_model=HealthPublic, response_model_exclude_none=True)
def health(session: SessionDep, creds: BearerCredentials) -> dict[str, Any]:
    """`{"status": "ok"}` once the database answers; an admin's token adds the PostgreSQL, PostGIS and schema
    versions (anyone else learns nothing an attacker could match against known vulnerabilities). A stale or
    wrong token is ignored: monitors must get their answer."""
    versions = database_versions(session)  # also proves the database answers
    try:
        user = auth.user_for_token(session, creds.credentials) if creds is not None else None
    except Unauthorized:
        user = None
    if user is not None and user.role == "admin":
        return {"status": "ok", **versions}
    return {"status": "ok"}
