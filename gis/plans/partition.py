"""Balanced partitions of an area by households (pure shapely, coordinates in metres).

Atoms are what must not be cut where avoidable: whole compounds (小区), or single buildings of a compound too
big for one cell. Atoms are grouped by recursive bisection on household counts (k parts from the target
band), cutting across the longer side so cells stay compact; each part owns a box of the k-d split. The
area's outline, the boxes and the whole compounds' outlines are noded and polygonized: the faces tile the
area exactly, sharing vertices. A face inside a whole compound goes to the compound's part (the border
bends around it), any other face to the part owning its box; each cell is the coverage union of its faces,
and detached pieces go to the neighbour they share the longest border with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidInput


@dataclass
class Atom:
    geom: BaseGeometry  # compound polygon, building footprint or point (metres)
    households: int
    whole: bool = False  # a compound kept whole: its outline becomes part of the cell borders


@dataclass
class Part:
    geom: BaseGeometry
    households: int
    atoms: list[int]


def parts_for_band(total: int, lo: int, hi: int) -> int:
    """How many cells: each within [lo, hi] if possible, as close to the band's middle as possible."""
    if total <= hi:
        return 1
    kmin, kmax = math.ceil(total / hi), max(1, total // lo)
    if kmin > kmax:
        return kmin
    return min(max(round(total / ((lo + hi) / 2)), kmin), kmax)


Box = tuple[float, float, float, float]


def _bisect(
    idx: np.ndarray,
    xy: np.ndarray,
    w: np.ndarray,
    k: int,
    bounds: Box,
    out: list[tuple[list[int], Box]],
    band: tuple[int, int] | None = None,
) -> None:
    """Recursive bisection of atoms (k-d style): each part gets its atoms and the box it owns. With a band,
    a cut leaving both sides able to reach it (k1·lo ≤ left ≤ k1·hi …) is preferred over the best balance."""
    if k == 1 or len(idx) <= 1:
        out.append(([int(i) for i in idx], bounds))
        out.extend(([], (0.0, 0.0, 0.0, 0.0)) for _ in range(k - 1))
        return
    k1 = k // 2
    total = float(w[idx].sum())
    target = total * k1 / k
    extent = np.array([bounds[2] - bounds[0], bounds[3] - bounds[1]])
    best: tuple[bool, float, int, int, np.ndarray] | None = None
    for axis in np.argsort(-extent):  # longer side first: compact cells
        order = idx[np.argsort(xy[idx, axis], kind="stable")]
        left = np.cumsum(w[order])[:-1]
        err = np.abs(left - target)
        ok = np.ones(len(left), dtype=bool)
        if band is not None:
            lo, hi = band
            ok = (
                (left >= k1 * lo)
                & (left <= k1 * hi)
                & (total - left >= (k - k1) * lo)
                & (total - left <= (k - k1) * hi)
            )
        feasible = bool(ok.any())
        cut = int(np.argmin(np.where(ok, err, np.inf) if feasible else err)) + 1 if total > 0 else len(order) * k1 // k
        cut = min(max(cut, 1), len(order) - 1)
        e = float(err[cut - 1])
        # the shorter side only when it reaches the band where the longer does not, or balances clearly better
        if best is None or (feasible and not best[0]) or (feasible == best[0] and e < best[1] * 0.5):
            best = (feasible, e, cut, int(axis), order)
    _, _, cut, axis, order = best  # type: ignore[misc]  # set on the first axis
    at = float(xy[order[cut - 1], axis] + xy[order[cut], axis]) / 2
    low = (bounds[0], bounds[1], at, bounds[3]) if axis == 0 else (bounds[0], bounds[1], bounds[2], at)
    high = (at, bounds[1], bounds[2], bounds[3]) if axis == 0 else (bounds[0], at, bounds[2], bounds[3])
    _bisect(order[:cut], xy, w, k1, low, out, band)
    _bisect(order[cut:], xy, w, k - k1, high, out, band)


def partition(area: BaseGeometry, atoms: list[Atom], k: int, *, band: tuple[int, int] | None = None) -> list[Part]:
    """Split `area` into k parts of similar households; the parts tile the area exactly."""
    if not atoms:
        raise InvalidInput("区域内没有楼栋或小区 / no buildings or compounds to balance in this area")
    if k <= 1:
        return [Part(area, sum(a.households for a in atoms), list(range(len(atoms))))]
    outlines = [a.geom.boundary for a in atoms if a.whole]  # as drawn: the noder cuts them at the area's edge
    atoms = [Atom(shapely.intersection(a.geom, area), a.households, a.whole) if a.whole else a for a in atoms]
    anchor = np.array([shapely.get_coordinates(shapely.point_on_surface(a.geom))[0] for a in atoms])
    weights = np.array([max(a.households, 0) for a in atoms], dtype=float)
    xmin, ymin, xmax, ymax = area.bounds
    found: list[tuple[list[int], Box]] = []
    _bisect(
        np.arange(len(atoms)),
        anchor,
        weights,
        min(k, len(atoms)),
        (xmin - 1, ymin - 1, xmax + 1, ymax + 1),
        found,
        band,
    )
    found = [f for f in found if f[0]]
    groups = [members for members, _ in found]
    boxes = np.asarray([shapely.box(*b) for _, b in found], dtype=object)
    group_of = np.empty(len(atoms), dtype=int)
    for g, members in enumerate(groups):
        group_of[members] = g
    # faces: the area cut by the parts' boxes and by the outlines of whole compounds (polygonize: exact tiling).
    # The lines go in unclipped: clipping them first leaves end points a hair off the area's edge, the noder
    # then misses the junction, the edge dangles, polygonize drops it and two parts' faces merge into one.
    lines = [area.boundary, *(b.boundary for b in boxes), *outlines]
    faces = np.asarray(shapely.polygonize([shapely.union_all(lines)]).geoms, dtype=object)
    faces = faces[shapely.covers(area, shapely.point_on_surface(faces))]
    inside = shapely.point_on_surface(faces)
    # label faces: inside a whole compound → the compound's part, else the part whose box holds it
    fi, bi = shapely.STRtree(boxes).query(inside, predicate="within")
    face_group = np.zeros(len(faces), dtype=int)
    face_group[fi] = bi
    whole = [i for i, a in enumerate(atoms) if a.whole]
    if whole:
        fi, wi = shapely.STRtree(np.asarray([atoms[i].geom for i in whole], dtype=object)).query(
            inside, predicate="within"
        )
        face_group[fi] = group_of[np.asarray(whole)[wi]]
    anchor_pts = shapely.points(anchor)
    face_group = _contiguous(faces, inside, face_group, len(groups), anchor_pts, weights, band)
    parts = []
    for g in range(len(groups)):
        mine = faces[face_group == g]
        if len(mine) == 0:
            continue
        geom = shapely.coverage_union_all(mine)
        members = [int(i) for i in np.flatnonzero(shapely.covers(geom, anchor_pts))]
        parts.append(Part(geom, int(weights[members].sum()), members))
    return parts


def _contiguous(
    faces: np.ndarray,
    inside: np.ndarray,
    face_group: np.ndarray,
    n: int,
    anchors: np.ndarray,
    weights: np.ndarray,
    band: tuple[int, int] | None,
) -> np.ndarray:
    """Give each detached piece of a cell to the neighbour it shares the longest border with, when the piece
    holds no households or the move keeps both cells within the band."""
    for _ in range(3):
        moved = False
        merged = [shapely.coverage_union_all(faces[face_group == g]) for g in range(n)]
        totals = [float(weights[shapely.covers(m, anchors)].sum()) for m in merged]
        for g in range(n):
            pieces = sorted(getattr(merged[g], "geoms", []), key=lambda p: p.area, reverse=True)
            for piece in pieces[1:]:
                shared = [piece.boundary.intersection(merged[h]).length if h != g else 0.0 for h in range(n)]
                to = int(np.argmax(shared))
                held = float(weights[shapely.covers(piece, anchors)].sum())
                ok = held == 0 or (band is not None and totals[g] - held >= band[0] and totals[to] + held <= band[1])
                if shared[to] <= 0 or not ok:
                    continue
                face_group[(face_group == g) & shapely.covers(piece, inside)] = to
                totals[g], totals[to] = totals[g] - held, totals[to] + held
                moved = True
        if not moved:
            break
    return face_group


def balanced(area: BaseGeometry, atoms: list[Atom], lo: int, hi: int) -> list[Part]:
    """A partition with households per part within [lo, hi] where the atoms allow it."""
    total = sum(a.households for a in atoms)
    return partition(area, atoms, parts_for_band(total, lo, hi), band=(lo, hi))
