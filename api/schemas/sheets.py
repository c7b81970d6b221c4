"""Reference sheets (templates, imports, exports): the sheet catalogue and the import report."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class SheetColumnPublic(BaseModel):
    key: str
    header: str
    required: bool
    note: str
    allowed: str
    info: bool


class SheetPublic(BaseModel):
    name: str
    title: str
    roles: list[str]
    key: list[str]
    columns: list[SheetColumnPublic]


class SheetErrorPublic(BaseModel):
    """One error: the row and column as the spreadsheet shows them, the cell's value, what to do."""

    row: int
    column: str
    value: Any = None
    message: str


class SheetChangePublic(BaseModel):
    row: int
    key: str
    changes: dict[str, list[Any]]  # column header -> [before, after]


class SheetUnplacedPublic(BaseModel):
    row: int
    name: str | None
    address: str | None
    message: str


class SheetPlacedPublic(BaseModel):
    """A row without coordinates placed at the centre of the compound or building it names."""

    row: int
    name: str | None
    placed_on: str
    lon: float
    lat: float


class SheetReportPublic(BaseModel):
    """What an import would do (preview) or did (commit): nothing is written while `errors` is not empty."""

    sheet: str
    title: str
    rows: int
    created: list[str]
    updated: list[SheetChangePublic]
    unchanged: int
    errors: list[SheetErrorPublic]
    unplaced: list[SheetUnplacedPublic]
    placed: list[SheetPlacedPublic]
    ignored_columns: list[str]
    ok: bool
    committed: bool
