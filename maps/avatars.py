"""Placeholder portraits for the 责任公示牌 when no photo was uploaded: the surname on a coloured disc.

Served by the app at /v1/avatars/<name>.svg (api/routers/avatars.py) and inlined by `gridgov map export`.
"""

from __future__ import annotations

import hashlib
from html import escape

AVATAR_PREFIX = "/v1/avatars/"
COLOURS = ("#c0392b", "#2e86c1", "#239b56", "#b9770e", "#7d3c98", "#148f77", "#a04000", "#2c3e50")


def avatar_svg(name: str) -> str:
    """The portrait of `name`: its first character, white on a colour that depends on the name only."""
    name = name.strip()[:20] or "?"
    colour = COLOURS[int(hashlib.sha1(name.encode()).hexdigest(), 16) % len(COLOURS)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<circle cx="48" cy="48" r="48" fill="{colour}"/>'
        '<text x="48" y="62" font-size="44" text-anchor="middle" fill="#fff" '
        f'font-family="Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif">{escape(name[0])}</text></svg>'
    )
