"""The three layers a plan redraws — cells (网格), compounds (小区), communities (社区) — keyed by one name.

A `LayerSpec` holds what differs between them as data: how a code looks, which plain attributes a feature
carries, and the SQL that reads the live rows. Every draft function takes a `Layer` and looks its spec up
here, so a new attribute or rule is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gis.errors import InvalidInput

Layer = Literal["cell", "compound", "community"]
LAYERS: tuple[Layer, ...] = ("cell", "compound", "community")
AREA_LAYERS: tuple[Layer, ...] = ("compound", "community")  # the layers drafted in plan_areas


@dataclass(frozen=True)
class LayerSpec:
    layer: Layer
    label: str  # bilingual, for messages
    code: re.Pattern[str]
    code_error: str  # format string with {what} and {code}
    attributes: tuple[str, ...]  # plain attributes besides code, name and community (file columns, export columns)
    map_attributes: tuple[str, ...]  # those the editor map shows
    # live rows: id, code, name, community_code, wkb, hash (md5 of geometry and name, areas only), attributes
    live_sql: str  # with {where}
    by_code: str
    by_community: str
    not_found: str  # removing a code that is neither live nor drafted; format string with {code}
    removal_refused: str | None = None  # why this layer's features are never removed (format string with {code})


SPECS: dict[Layer, LayerSpec] = {
    "cell": LayerSpec(
        layer="cell",
        label="网格 / cell",
        code=re.compile(r"^[0-9]{15}$"),
        code_error="{what}: 网格编码 {code!r} 不是15位数字 / cell code {code!r} must be 15 digits "
        "(12-digit community code + 3-digit sequence)",
        attributes=("cell_type", "households", "population"),
        map_attributes=("cell_type", "households"),
        live_sql="""
            SELECT c.id, c.code, c.name, a.code AS community_code, ST_AsBinary(c.geom) AS wkb, NULL AS hash,
                   jsonb_build_object('cell_type', c.cell_type, 'households', c.households,
                                      'population', c.population) AS attributes
            FROM grid_cells c JOIN admin_areas a ON a.id = c.community_id
            WHERE c.valid_to IS NULL AND {where} ORDER BY c.code
        """,
        by_code="c.code = ANY(:codes)",
        by_community="a.code = ANY(:codes)",
        not_found="网格 {code} 不在方案或现行网格中 / cell {code} is neither live nor in the plan",
    ),
    "compound": LayerSpec(
        layer="compound",
        label="小区 / compound",
        code=re.compile(r"^[0-9A-Za-z_-]{1,20}$"),
        code_error="{what}: 小区编码 {code!r} 无效 / a compound code has 1–20 letters, digits, '-' or '_'",
        attributes=("kind", "households", "address"),
        map_attributes=("kind", "households", "address"),
        live_sql="""
            SELECT x.id, x.code, x.name, a.code AS community_code, ST_AsBinary(x.geom) AS wkb,
                   md5(ST_AsBinary(x.geom) || convert_to(x.name, 'UTF8')) AS hash,
                   jsonb_build_object('kind', x.kind, 'households', x.households, 'address', x.address) AS attributes
            FROM compounds x JOIN admin_areas a ON a.id = x.community_id
            WHERE {where} ORDER BY x.code
        """,
        by_code="x.code = ANY(:codes)",
        by_community="a.code = ANY(:codes)",
        not_found="小区 {code} 不在方案或现有小区中 / compound {code} is neither live nor in the plan",
    ),
    "community": LayerSpec(
        layer="community",
        label="社区 / community",
        code=re.compile(r"^[0-9]{12}$"),
        code_error="{what}: 社区编码 {code!r} 应为12位数字 / a community code has 12 digits",
        attributes=("party_org", "secretary", "phone"),
        map_attributes=("party_org", "secretary", "phone"),
        live_sql="""
            SELECT a.id, a.code, a.name, a.code AS community_code, ST_AsBinary(a.geom) AS wkb,
                   md5(ST_AsBinary(a.geom) || convert_to(a.name, 'UTF8')) AS hash,
                   jsonb_build_object('party_org', a.party_org, 'secretary', a.secretary, 'phone', a.phone)
                       AS attributes
            FROM admin_areas a
            WHERE a.level = 'community' AND {where} ORDER BY a.code
        """,
        by_code="a.code = ANY(:codes)",
        by_community="a.code = ANY(:codes)",
        not_found="社区 {code} 不在方案或现有社区中 / community {code} is neither live nor in the plan",
        removal_refused="社区 {code} 不能撤销，请调整边界或并入相邻社区的网格 / a community cannot be removed (past "
        "cells and tickets refer to it); redraw its boundary and move its cells instead",
    ),
}
CELL_CODE = SPECS["cell"].code
COMMUNITY_CODE = SPECS["community"].code


def check_layer(layer: str, allowed: tuple[Layer, ...] = LAYERS) -> Layer:
    """`layer` as a Layer, or a clear error naming the allowed ones."""
    if layer not in allowed:
        raise InvalidInput(f"layer 必须是 {', '.join(allowed)} / layer must be one of {', '.join(allowed)}")
    return layer


def check_code(layer: Layer, code: str, *, what: str) -> str:
    """The code, stripped, if it is well formed for the layer; else an error naming `what`."""
    code = str(code).strip()
    if not SPECS[layer].code.match(code):
        raise InvalidInput(SPECS[layer].code_error.format(what=what, code=code))
    return code
