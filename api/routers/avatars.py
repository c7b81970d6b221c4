"""Placeholder portraits for the 责任公示牌 when no photo was uploaded: the surname on a coloured disc."""

from __future__ import annotations

import hashlib
from html import escape

from fastapi import APIRouter, Response

router = APIRouter(tags=["maps"])

COLOURS = ("#c0392b", "#2e86c1", "#239b56", "#b9770e", "#7d3c98", "#148f77", "#a04000", "#2c3e50")


@router.get("/v1/avatars/{name}.svg", response_class=Response, include_in_schema=False)
def avatar(name: str) -> Response:
    name = name.strip()[:20] or "?"
    colour = COLOURS[int(hashlib.sha1(name.encode()).hexdigest(), 16) % len(COLOURS)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<circle cx="48" cy="48" r="48" fill="{colour}"/>'
        '<text x="48" y="62" font-size="44" text-anchor="middle" fill="#fff" '
        f'font-family="Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif">{escape(name[0])}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
