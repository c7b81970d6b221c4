"""Login and user shapes (TokenCreate / TokenPublic / UserPublic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class TokenCreate(BaseModel):
    """POST /v1/auth/login: username and password for a bearer token."""

    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class UserPublic(BaseModel):
    """A user as the API shows it (read from the ORM row)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: str
    organization_id: int | None
    jurisdiction: Annotated[list[str], BeforeValidator(lambda codes: list(codes or []))] = Field(
        description="community, cell or compound codes the user may read (empty: by role)"
    )


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")
    user: UserPublic
