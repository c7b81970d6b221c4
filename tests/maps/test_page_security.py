"""Security review H1 / L5 on the pages, without a browser: a name from a boundary file or a plan edit never
reaches a page unescaped (Folium tooltips and popups included), and every answer of the app carries the
security headers; a page's inline scripts carry the answer's CSP nonce and nothing else runs inline."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.mapdata import CommunityMap, CompoundMap, PlanDiffMap
from gis.models import AdminArea, Compound
from maps.community_map import community_page
from maps.csp import page_nonce
from maps.plan_map import plan_page
from maps.resource_map import compound_page
from tests.maps.conftest import ctx_for, square

PAYLOAD = '<img src=x onerror="window.__xss=1">'
RAW = re.compile(r"<img src=x", re.IGNORECASE)


def raw_names(html: str) -> list[str]:
    """Where the payload stands unescaped (with some context)."""
    return [html[max(0, m.start() - 200) : m.end()] for m in RAW.finditer(html)]


def unescaped(html: str) -> str:
    """Page text with JavaScript's \\uXXXX escapes decoded (folium writes some strings that way)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def _named(fc: dict[str, Any], **names: str) -> dict[str, Any]:
    return {**fc, "features": [{**f, "properties": {**f["properties"], **names}} for f in fc["features"]]}


def test_names_from_files_are_escaped_on_the_compound_page(compound_data: CompoundMap) -> None:
    x, y = 117.05, 36.67
    neighbour = {"type": "Feature", "geometry": square(x + 0.004, y, 0.001), "properties": {"name": PAYLOAD}}
    data = CompoundMap(
        **{
            **compound_data.__dict__,
            "compound": {**compound_data.compound, "name": PAYLOAD, "address": PAYLOAD},
            "buildings": _named(compound_data.buildings, name=PAYLOAD, party_group_leader=PAYLOAD),
            "cell": {**compound_data.cell, "properties": {**compound_data.cell["properties"], "name": PAYLOAD}},
            "neighbours": {"type": "FeatureCollection", "features": [neighbour]},
        }
    )
    html = unescaped(compound_page(data, ctx_for()))
    assert "&lt;img src=x" in html, "the names are on the page, escaped"
    assert raw_names(html) == [], "no name reaches the page as HTML (building tooltip and popup included)"


def test_names_from_files_are_escaped_on_the_community_page(community_data: CommunityMap) -> None:
    data = CommunityMap(
        **{
            **community_data.__dict__,
            "cells": _named(community_data.cells, name=PAYLOAD),
            "compounds": _named(community_data.compounds, name=PAYLOAD),
        }
    )
    html = unescaped(community_page(data, ctx_for("/maps/communities/370102010001")))
    assert "&lt;img src=x" in html and raw_names(html) == []


def test_names_from_plan_edits_are_escaped_on_the_plan_diff_map() -> None:
    x, y = 117.05, 36.67

    def fc(**props: Any) -> dict[str, Any]:
        feature = {"type": "Feature", "geometry": square(x, y, 0.002), "properties": props}
        return {"type": "FeatureCollection", "features": [feature]}

    data = PlanDiffMap(
        plan={"id": 1, "code": PAYLOAD, "name": PAYLOAD, "status": "draft"},
        live=fc(code="L1", name=PAYLOAD, households=3),
        draft=fc(code="D1", name=PAYLOAD, households=3, change="changed"),
        changed=fc(from_code=PAYLOAD, to_code="D1", area_m2=1.0, tickets=0),
        affected={},
        bounds=(x, y, x + 0.002, y + 0.002),
        areas=fc(layer="compound", side="draft", change="changed", code="C1", name=PAYLOAD),
    )
    html = unescaped(plan_page(data, ctx_for("/maps/plans/1")))
    assert "&lt;img src=x" in html and raw_names(html) == []


# --- headers -------------------------------------------------------------------------------------------------


def _policy_of(csp: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in (p.strip() for p in csp.split(";")) if d}


def _policy(r: Any) -> dict[str, str]:
    return _policy_of(r.headers.get("content-security-policy", ""))


def _inline_scripts(html: str) -> list[str]:
    """The opening tags of the page's inline scripts (no src), JSON data blocks excepted."""
    tags = re.findall(r"<script\b[^>]*>", html, re.IGNORECASE)
    return [t for t in tags if "src=" not in t and "application/json" not in t]


def _assert_headers(r: Any) -> dict[str, str]:
    assert r.headers.get("x-content-type-options") == "nosniff", r.url
    assert r.headers.get("referrer-policy") == "strict-origin-when-cross-origin", r.url
    assert r.headers.get("x-frame-options") == "SAMEORIGIN", r.url
    policy = _policy(r)
    assert policy.get("frame-ancestors") == "'self'", r.url
    assert policy.get("default-src") == "'self'" and policy.get("object-src") == "'none'", r.url
    return policy


def _assert_nonced(r: Any) -> str:
    """Every inline script of an HTML answer carries the nonce the policy allows; 'unsafe-inline' nowhere."""
    policy = _assert_headers(r)
    script_src = policy["script-src"].split()
    assert script_src[0] == "'self'" and "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    nonces = [s[len("'nonce-") : -1] for s in script_src if s.startswith("'nonce-")]
    assert len(nonces) == 1, script_src
    inline = _inline_scripts(r.text)
    assert inline, "the page has inline scripts, run under the nonce"
    assert all(f'nonce="{nonces[0]}"' in tag for tag in inline), inline
    return nonces[0]


def test_every_page_carries_the_policy_and_its_inline_scripts_the_nonce(
    client: TestClient, session: Session, make_user: Any
) -> None:
    compound = session.scalar(select(Compound.code).where(~Compound.code.startswith("99")).order_by(Compound.code))
    community = session.scalar(select(AdminArea.code).where(AdminArea.level == "community").order_by(AdminArea.code))
    pages = [f"/maps/compounds/{compound}", f"/maps/communities/{community}", "/maps/operations", "/maps/tickets/1"]
    seen = set()
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        seen.add(_assert_nonced(r))
    again = client.get(pages[0])
    assert _assert_nonced(again) not in seen, "a new nonce for every answer"


def test_plan_pages_and_docs_carry_the_policy(client: TestClient, session: Session, make_user: Any) -> None:
    from gis.plans.catalog import create_plan

    _, headers = make_user(role="planner")
    plan_id = create_plan(session, name="CSP").id
    session.commit()
    for r in (
        client.get(f"/maps/plans/{plan_id}"),  # the shell (no token)
        client.get(f"/maps/plans/{plan_id}", headers=headers),  # the diff map itself
        client.get(f"/plans/{plan_id}/edit"),
    ):
        assert r.status_code == 200, r.url
        _assert_nonced(r)
    docs = client.get("/docs")
    policy = _assert_headers(docs)
    assert "'unsafe-inline'" not in policy["script-src"] and "'sha256-" in policy["script-src"], "docs: hashes"


def test_json_answers_and_errors_carry_the_headers_too(client: TestClient) -> None:
    for r in (client.get("/openapi.json"), client.get("/v1/auth/me"), client.get("/maps/compounds/nope")):
        _assert_headers(r)


def test_the_nonce_is_absent_outside_an_answer() -> None:
    """Pages rendered outside a request (exported files, tests) have no nonce attribute; inside one they do."""
    from maps.core import render_plain_page

    ctx = ctx_for("/maps/tickets/1")
    assert "nonce=" not in render_plain_page("ticket_page.html", ctx, ticket_id=1, init={})
    with page_nonce("abc123"):
        assert 'nonce="abc123"' in render_plain_page("ticket_page.html", ctx, ticket_id=1, init={})


def test_basemap_tile_hosts_are_allowed_images() -> None:
    from maps.csp import policy

    img = _policy_of(policy(image_hosts=("webrd0{s}.is.autonavi.com", "t0.tianditu.gov.cn")))["img-src"].split()
    assert "https://*.is.autonavi.com" in img and "https://t0.tianditu.gov.cn" in img and "{" not in " ".join(img)
