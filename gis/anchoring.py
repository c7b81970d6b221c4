"""Tables anchored to grid cells by a cell-code column, re-anchored when boundaries are committed.

Each entry names a table, its geometry column (points are used as they are, polygons through
ST_PointOnSurface), the cell-code column, and optionally a version-id column and a state filter
(e.g. only open tickets move; closed ones keep the cell they were handled in). Identifiers come from
this registry only (checked and quoted), never from user input; values are bound parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class AnchoredTable:
    """A table whose rows carry the code of the cell their geometry lies in."""

    table: str
    geom_column: str = "geom"
    cell_column: str = "cell_code"
    key_column: str = "id"
    # polygons are anchored by ST_PointOnSurface (a point inside, unlike the centroid)
    polygonal: bool = False
    # optional column with the id of the grid_cells version the row was anchored to
    version_column: str | None = None
    # rows whose `skip_column` value is in `skip_values` keep their anchor (e.g. closed tickets)
    skip_column: str | None = None
    skip_values: tuple[str, ...] = field(default_factory=tuple)
    # optional column with the community code (the cell code's 12-digit prefix), kept in step with the cell
    community_column: str | None = None

    def __post_init__(self) -> None:
        for name in (self.table, self.geom_column, self.cell_column, self.key_column):
            _check_identifier(name)
        for optional in (self.version_column, self.skip_column, self.community_column):
            if optional is not None:
                _check_identifier(optional)


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")


_REGISTRY: dict[str, AnchoredTable] = {}


def register(entry: AnchoredTable) -> AnchoredTable:
    """Add (or replace) a table in the registry; returns the entry."""
    _REGISTRY[entry.table] = entry
    return entry


def unregister(table: str) -> None:
    _REGISTRY.pop(table, None)


def anchored_tables() -> list[AnchoredTable]:
    """The registered tables, in registration order."""
    return list(_REGISTRY.values())


register(AnchoredTable("compounds", polygonal=True))
register(AnchoredTable("buildings", polygonal=True))
register(AnchoredTable("service_resources"))
# open tickets follow their new cell; closed and merged ones keep the cell they were handled in
register(
    AnchoredTable(
        "tickets",
        version_column="cell_version_id",
        skip_column="state",
        skip_values=("closed", "merged"),
        community_column="community_code",
    )
)
