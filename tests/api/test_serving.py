"""Serving at speed, as a client sees it: tickets as an OGC collection and as vector tiles within the reader's
jurisdiction, TileJSON and ETags, datetime and property filters, and bad input (huge limits, deep pages, the
whole world, z0) answered with a clear 4xx and bounded work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.tickets.models import Ticket
from tests.api.test_ogc_tiles import tile_of

Maker = Callable[..., tuple[Any, dict[str, str]]]


def _a_ticket(session: Session) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.community_code.is_not(None)).order_by(Ticket.id)).first()
    assert ticket is not None, "the demo has tickets"
    return ticket


def test_tickets_collection_needs_a_token_and_follows_jurisdiction(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    ticket = _a_ticket(session)
    assert client.get("/ogc/collections/tickets/items").status_code == 401
    _, admin = make_user("admin")
    page = client.get("/ogc/collections/tickets/items", params={"limit": 1000}, headers=admin).json()
    assert page["numberMatched"] == page["numberReturned"] > 0
    assert ticket.token in {f["id"] for f in page["features"]}
    assert "reporter_phone" not in page["features"][0]["properties"]
    one = client.get(f"/ogc/collections/tickets/items/{ticket.token}", headers=admin)
    assert one.status_code == 200 and one.json()["properties"]["community_code"] == ticket.community_code

    other = "370102010008" if ticket.community_code != "370102010008" else "370102010001"
    _, manager = make_user("manager", jurisdiction=[other])
    theirs = client.get("/ogc/collections/tickets/items", params={"limit": 1000}, headers=manager).json()
    assert all(f["properties"]["community_code"] == other for f in theirs["features"])
    assert theirs["numberMatched"] < page["numberMatched"]
    assert client.get(f"/ogc/collections/tickets/items/{ticket.token}", headers=manager).status_code == 404


def test_datetime_and_property_filters(client: TestClient, session: Session, make_user: Maker) -> None:
    ticket = _a_ticket(session)
    _, admin = make_user("admin")
    opened = ticket.opened_at.isoformat()
    params = {"datetime": f"{opened}/{opened}", "state": ticket.state, "limit": 100}
    page = client.get("/ogc/collections/tickets/items", params=params, headers=admin).json()
    assert ticket.token in {f["id"] for f in page["features"]}
    assert all(f["properties"]["state"] == ticket.state for f in page["features"])
    before = client.get("/ogc/collections/tickets/items", params={"datetime": "../2000-01-01T00:00:00Z"}, headers=admin)
    assert before.json()["numberReturned"] == 0
    # cells: the boundary version in force at an instant (the demo's cells start on 2024-01-01, Beijing time)
    assert (
        client.get("/ogc/collections/cells/items?datetime=2030-01-01T00:00:00Z", headers=admin).json()["numberReturned"]
        > 0
    )
    assert (
        client.get("/ogc/collections/cells/items?datetime=2020-01-01T00:00:00Z", headers=admin).json()["numberReturned"]
        == 0
    )
    bad = client.get("/ogc/collections/cells/items?datetime=2020-01-01/..", headers=admin)
    assert bad.status_code == 422 and "instant" in bad.json()["message"]
    assert client.get("/ogc/collections/resources/items?datetime=2020-01-01").status_code == 422
    assert client.get("/ogc/collections/resources/items?datetime=yesterday").status_code == 422
    assert client.get("/ogc/collections/resources/items?datetime=2021-01-01/2020-01-01").status_code == 422
    typed = client.get("/ogc/collections/resources/items", params={"type": "party_service_center"}).json()
    assert typed["numberReturned"] > 0
    assert {f["properties"]["type"] for f in typed["features"]} == {"party_service_center"}


def test_bad_paging_and_world_bbox_are_bounded(client: TestClient) -> None:
    huge = client.get("/ogc/collections/resources/items?limit=1000000")
    assert huge.status_code == 422 and "10000" in huge.json()["message"]
    assert client.get("/ogc/collections/resources/items?limit=0").status_code == 422
    assert client.get("/ogc/collections/resources/items?offset=99999999").status_code == 422
    deep = client.get("/ogc/collections/resources/items?offset=1000000")
    assert deep.status_code == 200 and deep.json()["numberReturned"] == 0
    assert not any(link["rel"] == "next" for link in deep.json()["links"])
    world = client.get("/ogc/collections/resources/items?bbox=-180,-90,180,90&limit=10000")
    assert world.status_code == 200 and world.json()["numberReturned"] == world.json()["numberMatched"] > 0
    across = client.get("/ogc/collections/resources/items?bbox=170,-10,-170,10")  # across the antimeridian
    assert across.status_code == 422 and "bbox" in across.json()["message"]
    full = client.get("/ogc/collections/resources/items?limit=10000").json()
    paged = client.get("/ogc/collections/resources/items?limit=7&offset=7").json()
    assert [f["id"] for f in paged["features"]] == [f["id"] for f in full["features"]][7:14]


def test_ticket_tiles_need_a_token_and_hold_only_readable_tickets(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    ticket = _a_ticket(session)
    lon, lat = session.execute(select(Ticket.geom.ST_X(), Ticket.geom.ST_Y()).where(Ticket.id == ticket.id)).one()
    x, y = tile_of(lon, lat, 14)
    url = f"/tiles/tickets/14/{x}/{y}.pbf"
    assert client.get(url).status_code == 401
    _, admin = make_user("admin")
    r = client.get(url, headers=admin)
    assert r.status_code == 200 and b"tickets" in r.content and ticket.token.encode() in r.content
    assert r.headers["cache-control"].startswith("private")
    again = client.get(url, headers={**admin, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = "370102010008" if ticket.community_code != "370102010008" else "370102010001"
    _, manager = make_user("manager", jurisdiction=[other])
    theirs = client.get(url, headers=manager)
    assert theirs.status_code == 200 and ticket.token.encode() not in theirs.content
    assert client.get("/tiles/tickets/0/0/0.pbf", headers=admin).status_code == 422  # z0: zoom in


def test_tilejson_and_public_tile_caching(client: TestClient) -> None:
    tj = client.get("/tiles/cells.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/tiles/cells/{z}/{x}/{y}.pbf")
    assert tj["minzoom"] == 10 and tj["vector_layers"][0]["id"] == "cells"
    assert client.get("/tiles/secrets.json").status_code == 404
    x, y = tile_of(117.05, 36.67, 14)
    r = client.get(f"/tiles/cells/14/{x}/{y}.pbf")
    assert r.headers["cache-control"].startswith("public") and r.headers["etag"]
    assert client.get("/tiles/cells/0/0/0.pbf").status_code == 422


def test_public_map_pages_are_built_once_per_data_version(client: TestClient, session: Session) -> None:
    from gis.meta import sample_compound_point
    from gis.models import Compound

    found = sample_compound_point(session)
    assert found is not None
    code = found[0]
    first = client.get(f"/maps/compounds/{code}")
    assert first.status_code == 200 and first.headers["etag"]
    nonce = first.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in first.text and "ggCachedPageNonce" not in first.text
    second = client.get(f"/maps/compounds/{code}")
    assert second.headers["etag"] == first.headers["etag"]
    nonce2 = second.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert nonce2 != nonce and f'nonce="{nonce2}"' in second.text  # a fresh nonce on the cached page
    same = client.get(f"/maps/compounds/{code}", headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304 and "content-security-policy" not in same.headers
    compound = session.scalars(select(Compound).where(Compound.code == code)).one()
    compound.name = compound.name + "（新）"
    session.commit()
    changed = client.get(f"/maps/compounds/{code}", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    assert "（新）" in changed.text
    community = code[:12]
    page = client.get(f"/maps/communities/{community}")
    assert page.status_code == 200
    assert (
        client.get(f"/maps/communities/{community}", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    )


def test_ogc_pages_as_html_for_a_browser(client: TestClient) -> None:
    listing = client.get("/ogc/collections?f=html")
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("text/html")
    assert "tickets" in listing.text and "/ogc/collections/resources/items" in listing.text
    page = client.get("/ogc/collections/resources/items?f=html&limit=5")
    assert page.status_code == 200 and "党群服务中心" in page.text and page.text.count("<tr>") == 6
    assert "<script>" not in page.text
    one = client.get("/ogc/collections/resources?f=html")
    assert one.status_code == 200 and "服务资源" in one.text
    as_json = client.get("/ogc/collections/resources/items?limit=5").json()
    assert any(link["rel"] == "alternate" and link["type"] == "text/html" for link in as_json["links"])
    assert client.get("/ogc/collections?f=xml").status_code == 422
