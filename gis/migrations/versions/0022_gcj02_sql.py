"""GCJ-02 in SQL: gridgov_gcj02_lon / gridgov_gcj02_lat (a WGS84 lon/lat shifted, the published formula
gis/crs.py runs through prcoords: unshifted outside China's box) and gridgov_wgs84_to_gcj02(geometry), the same
per vertex, so the operations map's data for a GCJ-02 basemap is made in one statement (gis/mapdata/layers.py).

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# prcoords.wgs_gcj: x = lon - 105, y = lat - 35; offsets in metres on Krasovsky's ellipsoid (a = 6378245)
_IN_CHINA = "lat BETWEEN 0.8293 AND 55.8271 AND lon BETWEEN 72.004 AND 137.8347"
_X = "(lon - 105.0)"
_Y = "(lat - 35.0)"
_MAGIC = "(1.0 - 0.006693421622965943 * sin(radians(lat)) ^ 2)"
_DLAT_M = (
    f"(-100.0 + 2.0 * {_X} + 3.0 * {_Y} + 0.2 * {_Y} * {_Y} + 0.1 * {_X} * {_Y} + 0.2 * sqrt(abs({_X})) + ("
    f"2.0 * sin({_X} * 6.0 * pi()) + 2.0 * sin({_X} * 2.0 * pi()) + 2.0 * sin({_Y} * pi()) "
    f"+ 4.0 * sin({_Y} / 3.0 * pi()) + 16.0 * sin({_Y} / 12.0 * pi()) + 32.0 * sin({_Y} / 30.0 * pi())"
    ") * 20.0 / 3.0)"
)
_DLON_M = (
    f"(300.0 + {_X} + 2.0 * {_Y} + 0.1 * {_X} * {_X} + 0.1 * {_X} * {_Y} + 0.1 * sqrt(abs({_X})) + ("
    f"2.0 * sin({_X} * 6.0 * pi()) + 2.0 * sin({_X} * 2.0 * pi()) + 2.0 * sin({_X} * pi()) "
    f"+ 4.0 * sin({_X} / 3.0 * pi()) + 15.0 * sin({_X} / 12.0 * pi()) + 30.0 * sin({_X} / 30.0 * pi())"
    ") * 20.0 / 3.0)"
)
_LAT_DEG_M = f"radians((6378245.0 * (1.0 - 0.006693421622965943)) / ({_MAGIC} ^ 1.5))"
_LON_DEG_M = f"radians(6378245.0 * cos(radians(lat)) / sqrt({_MAGIC}))"

# plain SQL functions of two numbers: PostgreSQL inlines them into the statement that calls them
LON = f"""
CREATE OR REPLACE FUNCTION gridgov_gcj02_lon(lon float8, lat float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN {_IN_CHINA} THEN lon + {_DLON_M} / {_LON_DEG_M} ELSE lon END
"""
LAT = f"""
CREATE OR REPLACE FUNCTION gridgov_gcj02_lat(lon float8, lat float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN {_IN_CHINA} THEN lat + {_DLAT_M} / {_LAT_DEG_M} ELSE lat END
"""
# every vertex shifted, the geometry's type, rings and parts kept: the vertices of ST_DumpPoints shifted and put
# together again by their paths ({part, ring, vertex}); a collection part by part
_SHIFTED = "FROM ST_DumpPoints(g) d CROSS JOIN LATERAL (SELECT ST_X(d.geom) AS x, ST_Y(d.geom) AS y) v"
_POINT = "ST_MakePoint(gridgov_gcj02_lon(v.x, v.y), gridgov_gcj02_lat(v.x, v.y))"
GEOMETRY = f"""
CREATE OR REPLACE FUNCTION gridgov_wgs84_to_gcj02(g geometry) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    kind text := GeometryType(g);
BEGIN
    IF ST_IsEmpty(g) THEN
        RETURN g;
    ELSIF kind = 'POINT' THEN
        RETURN ST_SetSRID(ST_MakePoint(gridgov_gcj02_lon(ST_X(g), ST_Y(g)), gridgov_gcj02_lat(ST_X(g), ST_Y(g))),
                          ST_SRID(g));
    ELSIF kind = 'MULTIPOINT' THEN
        RETURN (SELECT ST_SetSRID(ST_Multi(ST_Collect({_POINT} ORDER BY d.path)), ST_SRID(g)) {_SHIFTED});
    ELSIF kind = 'LINESTRING' THEN
        RETURN (SELECT ST_SetSRID(ST_MakeLine({_POINT} ORDER BY d.path), ST_SRID(g)) {_SHIFTED});
    ELSIF kind = 'MULTILINESTRING' THEN
        RETURN (SELECT ST_SetSRID(ST_Multi(ST_Collect(line ORDER BY part)), ST_SRID(g))
                FROM (SELECT d.path[1] AS part, ST_MakeLine({_POINT} ORDER BY d.path[2]) AS line {_SHIFTED}
                      GROUP BY 1) l);
    ELSIF kind = 'POLYGON' THEN
        RETURN (SELECT ST_SetSRID(ST_MakePolygon(rings[1], rings[2:]), ST_SRID(g))
                FROM (SELECT array_agg(ring ORDER BY n) AS rings
                      FROM (SELECT d.path[1] AS n, ST_MakeLine({_POINT} ORDER BY d.path[2]) AS ring {_SHIFTED}
                            GROUP BY 1) r) x);
    ELSIF kind = 'MULTIPOLYGON' THEN
        RETURN (SELECT ST_SetSRID(ST_Multi(ST_Collect(polygon ORDER BY part)), ST_SRID(g))
                FROM (SELECT part, ST_MakePolygon(rings[1], rings[2:]) AS polygon
                      FROM (SELECT part, array_agg(ring ORDER BY n) AS rings
                            FROM (SELECT d.path[1] AS part, d.path[2] AS n,
                                         ST_MakeLine({_POINT} ORDER BY d.path[3]) AS ring {_SHIFTED}
                                  GROUP BY 1, 2) r
                            GROUP BY part) x) p);
    ELSE
        RETURN (SELECT ST_SetSRID(ST_ForceCollection(ST_Collect(gridgov_wgs84_to_gcj02(ST_GeometryN(g, n)) ORDER BY n)),
                                  ST_SRID(g))
                FROM generate_series(1, ST_NumGeometries(g)) AS n);
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(LON)
    op.execute(LAT)
    op.execute(GEOMETRY)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gridgov_wgs84_to_gcj02(geometry)")
    op.execute("DROP FUNCTION IF EXISTS gridgov_gcj02_lat(float8, float8)")
    op.execute("DROP FUNCTION IF EXISTS gridgov_gcj02_lon(float8, float8)")
