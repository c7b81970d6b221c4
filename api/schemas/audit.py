"""The audit of personal-data reads (admin only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class PersonalDataReadPublic(BaseModel):
    """Who read which personal data (fields of a ticket, a register …), when."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int | None
    username: str | None
    subject: str
    ref: str
    fields: list[str]
    at: datetime


class PersonalDataReadPagePublic(BaseModel):
    items: list[PersonalDataReadPublic]
    numberMatched: int  # noqa: N815 - same paging names as the other lists
    numberReturned: int  # noqa: N815
