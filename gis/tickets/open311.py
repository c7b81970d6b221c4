"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): services, service definitions,
service requests (GET with filters, POST with api_key), tokens — as plain data, plus an XML writer.

Service codes are our category codes. Status is "open" or "closed": a ticket counts as closed for
the public once it is resolved (办结), verified, closed or merged into another.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound, Unauthorized
from gis.models import Compound, Organization, utcnow
from gis.tickets import intake, sla, workflow
from gis.tickets.config import load_config
from gis.tickets.models import Attachment, Open311Key, Ticket

CLOSED_STATES = ("resolved", "verified", "closed", "merged")
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000  # rows of one filtered query, before paging
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_IDS = 50
# What a public feed may show: reports residents made to be seen. Internal cases (patrol, grid worker, staff),
# 12345 call narratives and the property 400 line never leave the building.
PUBLIC_CHANNELS = ("resident", "open311")
PUBLIC_DECIMALS = 3  # ~100 m: the street, not the doorway
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LONG_DIGITS = re.compile(r"\d{7,}")  # ID-card, landline and account numbers
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
URGENCY_ATTRIBUTE = {
    "variable": True,
    "code": "urgency",
    "datatype": "singlevaluelist",
    "required": False,
    "datatype_description": "一般 normal / 紧急 urgent",
    "order": 1,
    "description": "紧急程度 / urgency",
    "values": [{"key": "normal", "name": "一般 normal"}, {"key": "urgent", "name": "紧急 urgent"}],
}
BUILDING_ATTRIBUTE = {
    "variable": True,
    "code": "building",
    "datatype": "string",
    "required": False,
    "datatype_description": "楼栋 / 单元 / 室, e.g. 3号楼2单元",
    "order": 2,
    "description": "楼栋单元 / building and entrance (inside a compound)",
    "values": [],
}


def status_of(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(sla.SHANGHAI).isoformat(timespec="seconds") if t else None


def services() -> list[dict[str, Any]]:
    cfg = load_config()
    return [
        {
            "service_code": c.code,
            "service_name": c.label,
            "description": f"{c.label} — {cfg.unit_types.get(c.unit_type, c.unit_type)}",
            "metadata": True,
            "type": "realtime",
            "keywords": ", ".join(c.hotline),
            "group": c.group,
        }
        for c in cfg.categories.values()
    ]


def service_definition(service_code: str) -> dict[str, Any]:
    category = load_config().categories.get(service_code)
    if category is None:
        raise NotFound(f"unknown service_code {service_code!r}")
    attributes = [URGENCY_ATTRIBUTE] + ([BUILDING_ATTRIBUTE] if category.property else [])
    return {"service_code": category.code, "attributes": attributes}


def create_key(session: Session, name: str, *, key: str | None = None) -> str:
    """A new api_key for an Open311 client application (shown once, stored hashed)."""
    key = key or secrets.token_urlsafe(24)
    session.add(Open311Key(name=name, key_sha256=hashlib.sha256(key.encode()).hexdigest()))
    session.flush()
    return key


def check_key(session: Session, api_key: str | None) -> Open311Key:
    if not api_key or not isinstance(api_key, str):
        raise Unauthorized("api_key (a string) is required to submit service requests")
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    key = session.scalar(select(Open311Key).where(Open311Key.key_sha256 == digest))
    if key is None or key.revoked:
        raise Unauthorized("invalid api_key")
    return key


def post_request(session: Session, form: dict[str, Any], *, idempotency_key: str | None = None) -> list[dict[str, Any]]:
    """POST requests: lat/long or address_string, service_code, description, contact, attribute[...].

    With an idempotency key (the Idempotency-Key header), a retried POST answers with the ticket the first
    one created instead of creating another."""
    key = check_key(session, form.get("api_key"))
    code = str(form.get("service_code") or "")
    category = load_config().categories.get(code)
    if category is None:
        raise InvalidInput(f"unknown service_code {code!r}; see services.json")
    lat, lon = form.get("lat"), form.get("long")
    address = form.get("address_string")
    if (lat in (None, "") or lon in (None, "")) and not address:
        raise InvalidInput("lat and long, or address_string, are required")
    try:
        lon_f = float(lon) if lon not in (None, "") else None
        lat_f = float(lat) if lat not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise InvalidInput("lat and long must be numbers (WGS84)") from exc
    attributes = form.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidInput('attributes must be an object, e.g. {"floor": "3"}')
    name = " ".join(str(form.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    draft = intake.TicketDraft(
        category=category.code,
        description=str(form.get("description") or category.label)[:4000],
        lon=lon_f,
        lat=lat_f,
        address=str(address)[:200] if address else None,
        channel="open311",
        urgency="urgent" if attributes.get("urgency") == "urgent" else "normal",
        reporter_name=name[:60] or None,
        reporter_phone=str(form.get("phone") or "")[:40] or None,
        attributes={
            "open311": {k: form.get(k) for k in ("email", "device_id", "account_id", "media_url") if form.get(k)},
            **{f"attribute:{k}": v for k, v in attributes.items()},
        },
    )
    result = intake.create_ticket(
        session,
        draft,
        user=None,
        label=f"open311:{key.name}",
        open311_client=True,
        client_key=idempotency_key,
        key_scope=f"open311:{key.id}",
    )
    return [
        {
            "service_request_id": str(result.ticket.id),
            "token": result.ticket.token,
            "service_notice": load_config().templates.get("received", ""),
            "account_id": form.get("account_id"),
        }
    ]


def public_text(text: str | None) -> str:
    """Free text for a public feed: mobile numbers masked (138****1234), other long digit runs hidden."""
    masked = _PHONE.sub(r"\1****\2", text or "")
    return _LONG_DIGITS.sub(lambda m: "*" * len(m.group()), masked)


def _request_row(
    t: Ticket, lon: float, lat: float, agency: str | None, media: int | None, compound: str | None
) -> dict[str, Any]:
    cfg = load_config()
    cat = cfg.categories.get(t.category)
    return {
        "service_request_id": str(t.id),
        "status": status_of(t.state),
        "status_notes": f"{workflow.STATE_LABELS[t.state]} / {t.state}",
        "service_name": cat.label if cat else t.category,
        "service_code": t.category,
        "description": public_text(t.description),
        "agency_responsible": agency or cfg.unit_types.get(t.unit_type, t.unit_type),
        "service_notice": "",
        "requested_datetime": _iso(t.opened_at),
        "updated_datetime": _iso(t.updated_at),
        "expected_datetime": _iso(t.resolve_due_at),
        "address": compound or "",  # the compound, not the door: a typed address may be someone's home
        "address_id": t.compound_code or "",
        "zipcode": "",
        "lat": round(lat, PUBLIC_DECIMALS),
        "long": round(lon, PUBLIC_DECIMALS),
        "media_url": f"/v1/attachments/{media}" if media else "",
    }


def get_requests(
    session: Session,
    *,
    ids: list[int] | None = None,
    service_codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    now: datetime | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """GET requests, as a public listing may show them: only public channels and categories, coarsened
    location, masked free text. By ids (at most MAX_IDS), or by filters (default: the last 90 days, newest
    first), a page of `page_size` (≤ MAX_PAGE_SIZE) at a time."""
    now = now or utcnow()
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if not 1 <= page <= MAX_REQUESTS // page_size + 1:
        raise InvalidInput(f"page must be between 1 and {MAX_REQUESTS // page_size + 1}: narrow the dates instead")
    if ids and len(ids) > MAX_IDS:
        raise InvalidInput(f"at most {MAX_IDS} service_request_id values per request")
    public_codes = [c.code for c in load_config().categories.values() if c.public]
    media = select(func.min(Attachment.id)).where(Attachment.ticket_id == Ticket.id).scalar_subquery()
    stmt = (
        select(Ticket, func.ST_X(Ticket.geom), func.ST_Y(Ticket.geom), Organization.name, media, Compound.name)
        .outerjoin(Organization, Organization.id == Ticket.unit_id)
        .outerjoin(Compound, Compound.code == Ticket.compound_code)
        .where(Ticket.channel.in_(PUBLIC_CHANNELS), Ticket.category.in_(public_codes))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    if ids:
        stmt = stmt.where(Ticket.id.in_(ids))
    else:
        if status not in (None, "", "open", "closed"):
            raise InvalidInput("status must be open or closed")
        end = end or now
        start = start or end - timedelta(days=DEFAULT_DAYS)
        stmt = stmt.where(Ticket.opened_at >= start, Ticket.opened_at <= end)
        if service_codes:
            stmt = stmt.where(Ticket.category.in_(service_codes))
        if status == "closed":
            stmt = stmt.where(Ticket.state.in_(CLOSED_STATES))
        elif status == "open":
            stmt = stmt.where(Ticket.state.not_in(CLOSED_STATES))
    return [_request_row(t, x, y, agency, m, c) for t, x, y, agency, m, c in session.execute(stmt).tuples()]


def token_lookup(session: Session, token: str) -> list[dict[str, Any]]:
    ticket_id = session.scalar(select(Ticket.id).where(Ticket.token == token))
    if ticket_id is None:
        raise NotFound(f"unknown token {token!r}")
    return [{"service_request_id": str(ticket_id), "token": token}]


# ---- XML (GeoReport v2 element names) ----

LIST_TAGS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute"}


def _add(parent: Element, tag: str, value: Any) -> None:
    el = SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _add(el, k, v)
    elif isinstance(value, list):
        child = LIST_TAGS.get(tag, "value" if tag == "values" else "item")
        for item in value:
            _add(el, child, item)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = _XML_ILLEGAL.sub("", str(value))  # XML 1.0 cannot carry control characters at all


def to_xml(root: str, value: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """<services><service>…</service></services>, <service_requests><request>…, <service_definition>…"""
    el = Element(root)
    if isinstance(value, list):
        child = LIST_TAGS.get(root, "item")
        for item in value:
            _add(el, child, item)
    else:
        for k, v in value.items():
            _add(el, k, v)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(el, encoding="unicode").encode("utf-8")
