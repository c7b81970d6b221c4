"""OGC API feature pages as one SQL statement whose GeoJSON PostgreSQL makes: the hot path of
/ogc/collections/{id}/items.

The page is the layer's filtered rows (`gis.features`: jurisdiction, bbox, codes, version in force) with the
features built by `feature_expr` and aggregated by `json_agg`; the same statement counts the matching rows, but
only up to `COUNT_CAP` (1,000) rows beyond the page, so a page of a million-row table never counts the million:
numberMatched is left out when the count would cost more than the page (as tipg does), and the next link is then
given whenever the page is full. It runs on the read engine (no BEGIN/COMMIT, a statement timeout), and the
features leave the database as the bytes of the response.

Collections are the layers of `gis.features` plus `tickets` (with a token, on `gis.tickets.access`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, DateTime, Float, Integer, Text, any_, bindparam, cast, func, null, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session

from gis import access, auth
from gis.cql2_filter import Filter, filter_clause
from gis.db import ReadBind, read_row, read_session
from gis.errors import InvalidInput, NotFound
from gis.features import LAYERS, FeatureQuery, Layer, LayerAccess, _filtered, layer_access
from gis.models import GridCell
from gis.resources import SHANGHAI
from gis.spatial import METRES_PER_DEGREE, feature_expr, geojson
from gis.tickets.access import visible_filter
from gis.tickets.models import Ticket

# numberMatched is counted up to this many rows past the page's end; beyond, it is left out. Counting 10,000
# rows was most of the statement of a 10-feature page of cells (W3, 10,080 cells); 1,000 cost about the page.
COUNT_CAP = 1_000
# how long a reader's compiled page statement is kept (as long as `gis.auth` keeps their token)
PLAN_S = auth.TOKEN_CACHE_S


@dataclass(frozen=True)
class TicketLayer(Layer):
    """Tickets as a feature layer: identified by their public token, readable with a token only."""

    @property
    def code(self) -> Any:
        return Ticket.token


TICKETS = TicketLayer(
    name="tickets",
    model=Ticket,
    properties={
        "token": Ticket.token,
        "category": Ticket.category,
        "state": Ticket.state,
        "urgency": Ticket.urgency,
        "channel": Ticket.channel,
        "address": Ticket.address,
        "cell_code": Ticket.cell_code,
        "community_code": Ticket.community_code,
        "compound_code": Ticket.compound_code,
        "tier": Ticket.tier,
        "overdue": Ticket.overdue,
        "opened_at": Ticket.opened_at,
        "due_at": Ticket.due_at,
        "resolved_at": Ticket.resolved_at,
        "closed_at": Ticket.closed_at,
    },
    scope_columns=(Ticket.cell_code, Ticket.compound_code),
    type_column=Ticket.state,
)

COLLECTIONS: dict[str, Layer] = {**LAYERS, "tickets": TICKETS}

# which date a `datetime` filter reads: the version in force (boundaries) or when the ticket was opened
DATE_COLUMNS: dict[str, Any] = {"cells": GridCell.valid_from, "tickets": Ticket.opened_at}


@dataclass(frozen=True)
class Interval:
    """An OGC `datetime`: an instant (start == end) or an interval whose open ends are None."""

    start: datetime | None
    end: datetime | None

    @property
    def instant(self) -> bool:
        return self.start is not None and self.start == self.end


@dataclass(frozen=True)
class JsonPage:
    features: bytes  # a JSON array
    returned: int
    matched: int | None  # None: more than the page plus COUNT_CAP rows match (not counted)


def collection(name: str) -> Layer:
    layer = COLLECTIONS.get(name)
    if layer is None:
        raise NotFound(f"no collection {name!r}; collections: {', '.join(COLLECTIONS)}")
    return layer


def collection_access(session: Session, layer: Layer, user: Any) -> LayerAccess:
    """Who reads what: `gis.features.layer_access`, and for tickets `gis.tickets.access.visible_filter`."""
    if layer is not TICKETS:
        return layer_access(session, layer.name, user)
    reader = access.require_user(user, "tickets")
    return LayerAccess(visible_filter(session, reader), frozenset(), reader)


def property_filters(layer: Layer, names: list[str], hidden: frozenset[str]) -> list[Any]:
    """`?name=value` equality filters on the layer's published properties (compared as text), the values bound
    as :p0, :p1 … in the order of `names`; unknown or hidden names are ignored."""
    return [
        cast(layer.properties[name], Text) == bindparam(f"p{i}", type_=Text)
        for i, name in enumerate(names)
        if name in layer.properties and name not in hidden
    ]


@dataclass(frozen=True)
class _Plan:
    """A compiled page statement for one reader and one shape of request: values are bound at each request."""

    sql: str
    params: dict[str, Any]  # the values fixed by the reader (jurisdiction codes, property names …)
    reader: Any  # the user (for the audit of personal reads), None when anonymous
    personal: list[str]  # personal fields this reader reads here (audited), empty: none
    expires: float


_plans: dict[tuple[Any, ...], _Plan] = {}
_PLAN_CAP = 2000  # plans kept per process (a full cache is emptied: plans are cheap to make again)
auth.on_account_change(_plans.clear)  # a new role, jurisdiction or staffing makes new plans at once


def _when_shape(layer: Layer, when: Interval | None) -> str:
    if when is None:
        return ""
    if DATE_COLUMNS.get(layer.name) is None:
        raise InvalidInput(f"collection {layer.name!r} has no datetime; datetime applies to: cells, tickets")
    if layer.name == "cells":
        if not when.instant:
            raise InvalidInput("cells: datetime must be an instant (the boundary version in force then)")
        return "at"
    return ("s" if when.start is not None else "") + ("e" if when.end is not None else "")


def _plan(
    bind: ReadBind,
    layer: Layer,
    token: str | None,
    shape: tuple[Any, ...],
    names: list[str],
    flt: Filter | None = None,
) -> _Plan:
    """Build and compile the page statement of one shape (bbox?, codes?, datetime kind, property names,
    simplification, filter shape) as `token`'s user reads it."""
    has_bbox, has_codes, when_shape, simplify_m = shape[0], shape[1], shape[2], shape[4]
    with read_session(bind) as session:
        user = auth.user_for_token(session, token) if token is not None else None
        scope = collection_access(session, layer, user)
        envelope = tuple(bindparam(k, type_=Float) for k in ("x1", "y1", "x2", "y2"))
        at = bindparam("at", type_=DateTime(timezone=True)) if when_shape == "at" else None
        q = FeatureQuery(bbox=cast_any(envelope) if has_bbox else None, at=cast_any(at), scope=scope)
        extra = property_filters(layer, names, scope.hidden)
        if flt is not None:
            extra.append(filter_clause(flt, layer.properties, scope.hidden, layer.geom, layer.name))
        if has_codes:
            extra.append(layer.code == any_(bindparam("codes", type_=ARRAY(Text))))
        column = DATE_COLUMNS.get(layer.name)
        if column is not None and "s" in when_shape:
            extra.append(column >= bindparam("start", type_=DateTime(timezone=True)))
        if column is not None and "e" in when_shape:
            extra.append(column <= bindparam("end", type_=DateTime(timezone=True)))
        ids = _filtered(session, layer, q).where(*extra)
        properties = {k: v for k, v in layer.properties.items() if k not in scope.hidden}
        geometry = geojson(layer.geom, (simplify_m or 0.0) / METRES_PER_DEGREE)
        feature = feature_expr(geometry, properties, feature_id=layer.code)
        page = (
            ids.with_only_columns(feature.label("f"), layer.code.label("k"), layer.model.id.label("i"))
            .order_by(layer.code, layer.model.id)
            .limit(bindparam("limit", type_=Integer))
            .offset(bindparam("offset", type_=Integer))
            .subquery("page")
        )
        capped = ids.limit(bindparam("cap", type_=Integer)).subquery("capped")
        personal = sorted(access.PERSONAL_FIELDS.get(layer.name, frozenset()) - scope.hidden)
        agg = func.json_agg(aggregate_order_by(page.c.f, page.c.k, page.c.i))
        columns: list[Any] = [
            cast(func.coalesce(agg, text("'[]'::json")), Text),
            func.count(),
            select(func.count()).select_from(capped).scalar_subquery(),
            func.array_agg(aggregate_order_by(page.c.k, page.c.k)) if personal else null(),
        ]
        compiled = select(*columns).select_from(page).compile(dialect=psycopg_dialect())  # type: ignore[no-untyped-call]
        reader = scope.reader if personal else None
    return _Plan(str(compiled), dict(compiled.params), reader, personal if reader else [], time.monotonic() + PLAN_S)


def read_page(
    bind: ReadBind,
    name: str,
    q: FeatureQuery,
    *,
    token: str | None,
    when: Interval | None = None,
    props: dict[str, str] | None = None,
    audit: Callable[[Any, str, list[str]], None] | None = None,
    flt: Filter | None = None,
) -> JsonPage:
    """One items page of collection `name` as `token`'s user may read it (anonymous: public layers only),
    filtered by `q.bbox`, `q.codes`, `when`, `props` and the CQL2 filter `flt`, paged by `q.limit` / `q.offset`.

    The statement is built once per reader and shape of request and kept for PLAN_S seconds (emptied at once
    when an account, token or staffing changes), so a request costs one round trip and little Python.
    `audit(user, ref, fields)` records a read of personal fields (`gis.access.record_read`) in a transaction
    of its own; the page itself is read without one."""
    layer = collection(name)
    names = sorted(props or {})
    shape = (
        q.bbox is not None,
        bool(q.codes),
        _when_shape(layer, when),
        tuple(names),
        q.simplify_m,
        flt.shape if flt is not None else None,
    )
    key = (auth.token_digest(token) if token is not None else None, layer.name, shape)
    plan = _plans.get(key)
    if plan is None or plan.expires < time.monotonic():
        if len(_plans) >= _PLAN_CAP:
            _plans.clear()
        plan = _plans[key] = _plan(bind, layer, token, shape, names, flt)
    cap = q.offset + q.limit + COUNT_CAP
    params = {**plan.params, "limit": q.limit, "offset": q.offset, "cap": cap, "codes": list(q.codes)}
    if q.bbox is not None:
        params.update(zip(("x1", "y1", "x2", "y2"), q.bbox, strict=True))
    if when is not None:
        params.update(at=when.start, start=when.start, end=when.end)
    params.update({f"p{i}": (props or {})[n] for i, n in enumerate(names)})
    if flt is not None:
        params.update(flt.values)
    body, returned, matched, codes = read_row(bind, plan.sql, params)
    if audit is not None and plan.reader is not None and returned:
        ref = ",".join(map(str, codes))
        audit(plan.reader, ref if len(ref) <= 100 else f"{returned}: {ref[:80]}…", plan.personal)
    return JsonPage(str(body).encode(), int(returned), None if matched >= cap else int(matched))


def cast_any(value: Any) -> Any:
    """A bound-parameter stand-in where `FeatureQuery` types a value (its filters compose either)."""
    return value


def interval(raw: str) -> Interval:
    """Parse an OGC `datetime`: 'T', 'T1/T2', '../T2', 'T1/..' (RFC 3339; a time without zone is Beijing)."""

    def one(part: str) -> datetime | None:
        if part in ("", ".."):
            return None
        try:
            value = datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                f"datetime {raw!r}: {part!r} is not an RFC 3339 date-time (e.g. 2026-12-01T08:00:00+08:00)"
            ) from exc
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)

    if "/" not in raw:
        start = one(raw)
        if start is None:
            raise InvalidInput("datetime must be an instant or an interval 'start/end' ('..' for an open end)")
        return Interval(start, start)
    first, _, second = raw.partition("/")
    start, end = one(first), one(second)
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"datetime {raw!r}: the interval ends before it starts")
    return Interval(start, end)
