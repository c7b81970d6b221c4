"""The 通报's small static map: the 街道's cells (those in force in the period), shaded by 解决率, the worst
cells outlined in red and numbered — as SVG for the HTML page and as PNG (Pillow) for the Word document.

Coordinates are lon/lat scaled by cos(latitude) (an equirectangular view, fine at a 街道's size)."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from html import escape
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from gis.evaluation.areas import cells_in_period
from gis.evaluation.units import Period

Ring = list[tuple[float, float]]


@dataclass
class CellShape:
    code: str
    name: str
    rings: list[Ring]  # exterior rings of each polygon part


def cell_shapes(session: Session, street: str, period: Period) -> list[CellShape]:
    out = []
    for code, name, geom in cells_in_period(session, street, period):
        g = json.loads(geom)
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        out.append(CellShape(code, name, [[(float(x), float(y)) for x, y in p[0]] for p in polys]))
    return out


def _colour(value: float | None) -> str:
    """解决率 0 → red, 1 → green; no tickets → grey."""
    if value is None:
        return "#e5e7eb"
    v = max(0.0, min(1.0, value))
    r, g = int(220 - 160 * v), int(70 + 130 * v)
    return f"#{r:02x}{g:02x}50"


class _Projection:
    def __init__(self, shapes: list[CellShape], width: float, pad: float = 8.0) -> None:
        xs = [x for s in shapes for r in s.rings for x, _ in r] or [0.0, 1.0]
        ys = [y for s in shapes for r in s.rings for _, y in r] or [0.0, 1.0]
        self.k = math.cos(math.radians((min(ys) + max(ys)) / 2))
        self.x0, self.y1 = min(xs), max(ys)
        span_x = max((max(xs) - self.x0) * self.k, 1e-9)
        span_y = max(self.y1 - min(ys), 1e-9)
        self.scale = (width - 2 * pad) / span_x
        self.pad = pad
        self.width = width
        self.height = span_y * self.scale + 2 * pad

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        return self.pad + (x - self.x0) * self.k * self.scale, self.pad + (self.y1 - y) * self.scale


def _centroid(ring: Ring) -> tuple[float, float]:
    return sum(x for x, _ in ring) / len(ring), sum(y for _, y in ring) / len(ring)


def svg_map(shapes: list[CellShape], values: dict[str, float | None], worst: list[str], *, width: int = 640) -> str:
    """An SVG: every cell shaded by its value, the worst outlined in red with their place number."""
    proj = _Projection(shapes, width)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {proj.height:.0f}" '
        f'width="{width}" height="{proj.height:.0f}" role="img" aria-label="问题网格分布图">'
    ]
    for s in shapes:
        for ring in s.rings:
            pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in (proj(x, y) for x, y in ring))
            bad = s.code in worst
            stroke = 'stroke="#b91c1c" stroke-width="2.5"' if bad else 'stroke="#ffffff" stroke-width="0.6"'
            parts.append(
                f'<polygon points="{pts}" fill="{_colour(values.get(s.code))}" {stroke}>'
                f"<title>{escape(s.name)} {escape(s.code)}</title></polygon>"
            )
    for s in shapes:
        if s.code in worst and s.rings:
            cx, cy = proj(*_centroid(s.rings[0]))
            parts.append(
                f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" font-size="13" font-weight="bold" '
                f'fill="#7f1d1d">{worst.index(s.code) + 1}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def png_map(shapes: list[CellShape], values: dict[str, float | None], worst: list[str], *, width: int = 900) -> bytes:
    """The same map as a PNG (for the Word document)."""
    proj = _Projection(shapes, width)
    img = Image.new("RGB", (width, max(1, int(proj.height))), "white")
    draw = ImageDraw.Draw(img)
    for s in shapes:
        for ring in s.rings:
            draw.polygon([proj(x, y) for x, y in ring], fill=_colour(values.get(s.code)), outline="white")
    for s in shapes:
        if s.code in worst:
            for ring in s.rings:
                draw.line([proj(x, y) for x, y in ring], fill="#b91c1c", width=4)
            cx, cy = proj(*_centroid(s.rings[0]))
            draw.text((cx - 4, cy - 6), str(worst.index(s.code) + 1), fill="#7f1d1d")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def legend() -> list[dict[str, Any]]:
    return [{"label": "解决率 0%", "colour": _colour(0.0)}, {"label": "50%", "colour": _colour(0.5)},
            {"label": "100%", "colour": _colour(1.0)}, {"label": "无工单", "colour": _colour(None)}]  # fmt: skip
