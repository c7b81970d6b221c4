"""Accounts as an administrator sees them, and the password forms."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.auth import UserPublic
from gis.auth import MIN_PASSWORD_LEN


class AccountPublic(UserPublic):
    """A user account in the admin's list (no password hash, no phone)."""

    is_active: bool


class PasswordChange(BaseModel):
    """A user sets a new password for themself: the current one is required."""

    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=MIN_PASSWORD_LEN, max_length=200)


class PasswordReset(BaseModel):
    """An administrator sets a user's password (every session of that user ends)."""

    new_password: str = Field(min_length=MIN_PASSWORD_LEN, max_length=200)
