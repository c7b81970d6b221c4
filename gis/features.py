"""GeoJSON feature pages for the read API, built in SQL (ST_AsGeoJSON, jsonb_build_object).

One layer = a table, the columns published as properties, and the columns that carry its codes for
jurisdiction checks. Filters compose as SQLAlchemy expressions with bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from gis import access
from gis.errors import InvalidInput, NotFound
from gis.generations.models import AdminAreaVersion, CompoundVersion
from gis.models import AdminArea, Building, Compound, GridCell, Organization, ServiceResource, User
from gis.resources import RESOURCE_TYPES, open_now
from gis.spatial import (
    METRES_PER_DEGREE,
    bbox_envelope,
    cell_version_filter,
    feature_collection,
    feature_expr,
    geojson,
    point_sql,
)

Community = aliased(AdminArea, name="community")
PropertyCompany = aliased(Organization, name="property_company")
ParentCompound = aliased(Compound, name="parent_compound")


@dataclass(frozen=True)
class Layer:
    name: str  # plural, as in the URL (/v1/communities)
    model: Any
    properties: dict[str, Any]
    scope_columns: tuple[Any, ...]
    joins: tuple[tuple[Any, Any], ...] = ()
    base_filter: Any = None
    type_column: Any = None
    type_values: tuple[str, ...] = ()
    public: bool = False

    @property
    def singular(self) -> str:
        """For messages: communities → community, cells → cell."""
        return {"communities": "community"}.get(self.name, self.name.removesuffix("s"))

    @property
    def geom(self) -> Any:
        return self.model.geom

    @property
    def code(self) -> Any:
        return self.model.code


def _area_properties(model: Any) -> dict[str, Any]:
    """A community's published properties, from the live table or its versions."""
    return {k: getattr(model, k) for k in ("code", "name", "level", "party_org", "secretary", "phone")}


def _compound_versioned(model: Any) -> dict[str, Any]:
    """A compound's published properties that are versioned, from the live table or its versions."""
    return {k: getattr(model, k) for k in ("code", "name", "kind", "address", "households")}


def _layers() -> dict[str, Layer]:
    return {
        "communities": Layer(
            name="communities",
            model=AdminArea,
            properties=_area_properties(AdminArea),
            scope_columns=(AdminArea.code,),
            base_filter=AdminArea.level == "community",
        ),
        "cells": Layer(
            name="cells",
            model=GridCell,
            properties={
                "code": GridCell.code,
                "name": GridCell.name,
                "cell_type": GridCell.cell_type,
                "households": GridCell.households,
                "population": GridCell.population,
                "community_code": Community.code,
                "community_name": Community.name,
                "valid_from": GridCell.valid_from,
                "valid_to": GridCell.valid_to,
            },
            scope_columns=(GridCell.code,),
            joins=((Community, Community.id == GridCell.community_id),),
            type_column=GridCell.cell_type,
            type_values=("basic", "dedicated"),
        ),
        "compounds": Layer(
            name="compounds",
            model=Compound,
            properties={
                **_compound_versioned(Compound),
                "cell_code": Compound.cell_code,
                "community_code": Community.code,
                "party_branch": Compound.party_branch,
                "property_company": PropertyCompany.name,
                "contacts": Compound.contacts,
            },
            scope_columns=(Compound.code, Compound.cell_code),
            joins=(
                (Community, Community.id == Compound.community_id),
                (PropertyCompany, PropertyCompany.id == Compound.property_company_id),
            ),
            type_column=Compound.kind,
            type_values=("closed", "open"),
        ),
        "buildings": Layer(
            name="buildings",
            model=Building,
            properties={
                "code": Building.code,
                "name": Building.name,
                "compound_code": ParentCompound.code,
                "compound_name": ParentCompound.name,
                "cell_code": Building.cell_code,
                "households": Building.households,
                "floors": Building.floors,
                "party_group_leader": Building.party_group_leader,
                "party_member_households": Building.party_member_households,
            },
            scope_columns=(Building.code, Building.cell_code),
            joins=((ParentCompound, ParentCompound.id == Building.compound_id),),
        ),
        "resources": Layer(
            name="resources",
            model=ServiceResource,
            properties={
                "code": ServiceResource.code,
                "type": ServiceResource.type,
                "name": ServiceResource.name,
                "address": ServiceResource.address,
                "phone": ServiceResource.phone,
                "opening_hours": ServiceResource.opening_hours,
                "hours": ServiceResource.hours,
                "osm_hours": ServiceResource.osm_hours,
                "features": ServiceResource.features,
                "photo_url": ServiceResource.photo_url,
                "cell_code": ServiceResource.cell_code,
                "type_label": case(RESOURCE_TYPES, value=ServiceResource.type),
            },
            scope_columns=(ServiceResource.code,),
            type_column=ServiceResource.type,
            type_values=tuple(RESOURCE_TYPES),
            public=True,
        ),
    }


LAYERS = _layers()


def _dated_layers() -> dict[str, Layer]:
    """Communities and compounds at a past date: their versions (gis.generations), with today's values of
    what is not versioned (a compound's cell, party branch, property company and 责任公示牌)."""
    return {
        "communities": Layer(
            name="communities",
            model=AdminAreaVersion,
            properties=_area_properties(AdminAreaVersion),
            scope_columns=(AdminAreaVersion.code,),
            base_filter=AdminAreaVersion.level == "community",
        ),
        "compounds": Layer(
            name="compounds",
            model=CompoundVersion,
            properties={
                **_compound_versioned(CompoundVersion),
                "cell_code": Compound.cell_code,
                "community_code": Community.code,
                "party_branch": Compound.party_branch,
                "property_company": PropertyCompany.name,
                "contacts": Compound.contacts,
            },
            scope_columns=(CompoundVersion.code, Compound.cell_code),
            joins=(
                (Compound, Compound.id == CompoundVersion.compound_id),
                (Community, Community.id == CompoundVersion.community_id),
                (PropertyCompany, PropertyCompany.id == Compound.property_company_id),
            ),
            type_column=CompoundVersion.kind,
            type_values=("closed", "open"),
        ),
    }


DATED_LAYERS = _dated_layers()


def _layer(layer_name: str, at: datetime | None) -> Layer:
    """The layer to read: with a date, communities and compounds come from their versions in force then."""
    layer = (DATED_LAYERS if at is not None else LAYERS).get(layer_name) or LAYERS.get(layer_name)
    if layer is None:
        raise NotFound(f"unknown layer {layer_name!r}; layers: {', '.join(LAYERS)}")
    return layer


def version_filter(model: Any, at: datetime) -> ColumnElement[bool]:
    """The compound / area versions in force at `at` (a NULL valid_from: since records began)."""
    return and_(
        or_(model.valid_from.is_(None), model.valid_from <= at), or_(model.valid_to.is_(None), model.valid_to > at)
    )


@dataclass
class FeatureQuery:
    """Filters for a feature page; every field optional."""

    codes: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    within: str | None = None
    near: tuple[float, float, float] | None = None  # lon, lat, radius_m
    nearest: tuple[float, float, int] | None = None  # lon, lat, k
    types: list[str] = field(default_factory=list)
    at: datetime | None = None
    simplify_m: float | None = None
    limit: int = 100
    offset: int = 0
    scope: LayerAccess | None = None  # what the user may read; None = unrestricted (internal callers)


@dataclass(frozen=True)
class LayerAccess:
    """What one user reads of one layer: the rows (a WHERE clause) and the properties left out."""

    where: ColumnElement[bool] | None = None  # None: every row
    hidden: frozenset[str] = frozenset()
    reader: User | None = None  # whose reads of registers of persons are recorded (gis.access.record_read)


def layer_access(session: Session, layer_name: str, user: User | None, *, at: datetime | None = None) -> LayerAccess:
    """The jurisdiction rules of `gis.access` for a feature layer: public layers for anyone, the others
    need a user (Unauthorized otherwise) and are limited to what that user may read (on the layer's versions
    at `at` when given: see `feature_page`)."""
    layer = _layer(layer_name, at)
    if layer.public:
        return LayerAccess()
    user = access.require_user(user, layer_name)
    return LayerAccess(
        access.feature_filter(session, user, layer_name, layer.scope_columns),
        access.hidden_fields(user, layer_name),
        user,
    )


def area_geometry(session: Session, code: str) -> Any:
    """Geometry of a community/subdistrict, live cell or compound by its code (for `within`)."""
    for stmt in (
        select(AdminArea.geom).where(AdminArea.code == code),
        select(GridCell.geom).where(GridCell.code == code, GridCell.valid_to.is_(None)),
        select(Compound.geom).where(Compound.code == code),
    ):
        geom = session.scalar(stmt)
        if geom is not None:
            return geom
    raise NotFound(f"no community, cell or compound with code {code!r} (used in 'within')")


def _filtered(session: Session, layer: Layer, q: FeatureQuery) -> Select[Any]:
    stmt: Select[Any] = select(layer.model.id).select_from(layer.model)
    for target, on in layer.joins:
        stmt = stmt.outerjoin(target, on)
    if layer.base_filter is not None:
        stmt = stmt.where(layer.base_filter)
    if layer.model is GridCell:
        stmt = stmt.where(cell_version_filter(q.at))
    if q.at is not None and layer.model in (CompoundVersion, AdminAreaVersion):
        stmt = stmt.where(version_filter(layer.model, q.at))
    if q.codes:
        stmt = stmt.where(layer.code.in_(q.codes))
    if q.types:
        if layer.type_column is None:
            raise InvalidInput(f"layer {layer.name!r} has no type filter")
        unknown = sorted(set(q.types) - set(layer.type_values))
        if unknown:
            raise InvalidInput(
                f"unknown type(s) {', '.join(unknown)} for {layer.name}; use: {', '.join(layer.type_values)}"
            )
        stmt = stmt.where(layer.type_column.in_(q.types))
    if q.bbox is not None:
        stmt = stmt.where(layer.geom.intersects(bbox_envelope(q.bbox)))
    if q.within is not None:
        area = area_geometry(session, q.within)
        # a feature is within an area when its representative point is covered by it
        stmt = stmt.where(func.ST_Covers(area, func.ST_PointOnSurface(layer.geom)))
    if q.near is not None:
        lon, lat, radius_m = q.near
        stmt = stmt.where(func.ST_DWithin(func.Geography(layer.geom), func.Geography(point_sql(lon, lat)), radius_m))
    if q.scope is not None and q.scope.where is not None:
        stmt = stmt.where(q.scope.where)
    return stmt


def feature_page(session: Session, layer_name: str, q: FeatureQuery) -> dict[str, Any]:
    """A GeoJSON FeatureCollection page with numberMatched / numberReturned (communities and compounds as
    they were at `q.at` when given)."""
    layer = _layer(layer_name, q.at)
    ids = _filtered(session, layer, q)
    matched = session.scalar(select(func.count()).select_from(ids.subquery())) or 0

    geometry = geojson(layer.geom, (q.simplify_m or 0.0) / METRES_PER_DEGREE)
    hidden = q.scope.hidden if q.scope is not None else frozenset()
    properties = {k: v for k, v in layer.properties.items() if k not in hidden}
    feature = feature_expr(geometry, properties, feature_id=layer.code)
    stmt = select(feature).select_from(layer.model)
    for target, on in layer.joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.where(layer.model.id.in_(ids.scalar_subquery()))
    if q.nearest is not None:
        lon, lat, k = q.nearest
        stmt = stmt.order_by(layer.geom.op("<->")(point_sql(lon, lat)), layer.code).limit(k)
        matched = min(matched, k)
    else:
        stmt = stmt.order_by(layer.code, layer.model.id).limit(q.limit).offset(q.offset)
    features = list(session.scalars(stmt))
    personal = access.PERSONAL_FIELDS.get(layer_name, frozenset()) - hidden
    if q.scope is not None and q.scope.reader is not None and personal and features:
        codes = ",".join(str(f["id"]) for f in features)
        ref = codes if len(codes) <= 100 else f"{len(features)}: {codes[:80]}…"
        access.record_read(session, q.scope.reader, subject=layer_name, ref=ref, fields=sorted(personal))
    if layer.model is ServiceResource:
        for f in features:
            p = f["properties"]
            p["open_now"] = open_now(p.get("osm_hours"), p.get("hours"))  # 营业中 / 休息中, holidays included
    return feature_collection(features, numberMatched=matched, numberReturned=len(features))


def feature_by_code(session: Session, layer_name: str, code: str, *, scope: LayerAccess | None) -> dict[str, Any]:
    page = feature_page(session, layer_name, FeatureQuery(codes=[code], limit=1, scope=scope))
    if not page["features"]:
        singular = LAYERS[layer_name].singular if layer_name in LAYERS else layer_name
        raise NotFound(f"no {singular} with code {code!r} (or it is outside your jurisdiction)")
    feature: dict[str, Any] = page["features"][0]
    return feature
