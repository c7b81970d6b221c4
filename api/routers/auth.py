from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import CurrentUser, SessionDep, SettingsDep, current_user
from api.schemas.auth import TokenCreate, TokenPublic, UserPublic
from api.schemas.common import error_responses
from gis import auth
from gis.models import User

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=error_responses(401, 422))


@router.post("/login", response_model=TokenPublic, responses=error_responses(429))
def login(body: TokenCreate, request: Request, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    """Exchange username/password for a bearer token (429 after repeated failures)."""
    token, user = auth.login(
        session,
        username=body.username,
        password=body.password,
        ttl_hours=settings.auth.token_ttl_hours,
        ip=request.client.host if request.client else "unknown",
    )
    return TokenPublic(
        access_token=token, expires_in=settings.auth.token_ttl_hours * 3600, user=UserPublic.model_validate(user)
    )


@router.post("/token", response_model=TokenPublic, include_in_schema=False)
def oauth_token(
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenPublic:
    """OAuth2 password-flow form variant (for the docs' Authorize button)."""
    return login(TokenCreate(username=username, password=password), request, session, settings)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> User:
    """The user of the bearer token."""
    return user


@router.post("/logout", status_code=204, dependencies=[Depends(current_user)])
def logout(session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]) -> None:
    """Revoke the bearer token."""
    auth.revoke_token(session, creds.credentials)
