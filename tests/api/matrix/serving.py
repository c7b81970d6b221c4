"""Route × role entries for serving at speed: TileJSON, and the ticket layer of the tile and OGC routes (the
routes themselves are in test_route_matrix.py with their public layers)."""

from __future__ import annotations

from tests.api.matrix import PUBLIC, Entry

ENTRIES: dict[str, Entry] = {
    "GET /tiles/{layer}.json": ("/tiles/cells.json", {}, PUBLIC),
    # the filterable properties of a collection: public (the schema, no data; registers of persons only for
    # the roles that read them)
    "GET /ogc/collections/{collection_id}/queryables": ("/ogc/collections/buildings/queryables", {}, PUBLIC),
}
