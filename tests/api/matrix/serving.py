"""Route × role entries for serving at speed: TileJSON, and the ticket layer of the tile and OGC routes (the
routes themselves are in test_route_matrix.py with their public layers)."""

from __future__ import annotations

from tests.api.matrix import COMMUNITY, OK, PUBLIC, Entry, Expect

# a day's patrol fixes: admins, the community's manager, a grid worker (their own fixes); never public
PATROL_FIXES: Expect = (OK, 403, OK, OK, 403, 403, 403, 401)
FIX_DAY = {"params": {"date": "2026-11-30", "community": COMMUNITY}}

ENTRIES: dict[str, Entry] = {
    "GET /tiles/{layer}.json": ("/tiles/cells.json", {}, PUBLIC),
    # the filterable properties of a collection: public (the schema, no data; registers of persons only for
    # the roles that read them)
    "GET /ogc/collections/{collection_id}/queryables": ("/ogc/collections/buildings/queryables", {}, PUBLIC),
    "GET /tiles/patrol_fixes.json": ("/tiles/patrol_fixes.json", FIX_DAY, PATROL_FIXES),
    "GET /tiles/patrol_fixes/{z}/{x}/{y}.pbf": ("/tiles/patrol_fixes/14/13517/6330.pbf", FIX_DAY, PATROL_FIXES),
}
