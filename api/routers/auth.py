from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from api.deps import CurrentUser, SessionDep, SettingsDep
from gis import auth

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: dict[str, Any]


def user_public(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "organization_id": user.organization_id,
        "jurisdiction": list(user.jurisdiction or []),
    }


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep) -> TokenOut:
    """Exchange username/password for a bearer token (429 after repeated failures)."""
    token, user = auth.login(
        session,
        username=body.username,
        password=body.password,
        ttl_hours=settings.token_ttl_hours,
        ip=request.client.host if request.client else "unknown",
    )
    return TokenOut(access_token=token, expires_in=settings.token_ttl_hours * 3600, user=user_public(user))


@router.post("/token", response_model=TokenOut, include_in_schema=False)
def oauth_token(
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    """OAuth2 password-flow form variant (for the docs' Authorize button)."""
    return login(LoginIn(username=username, password=password), request, session, settings)


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    return user_public(user)


@router.post("/logout", status_code=204)
def logout(
    user: CurrentUser,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())],
) -> None:
    auth.revoke_token(session, creds.credentials)
