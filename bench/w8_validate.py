"""W8: validate the cells of a 街道 (≥ 300 cells, ~30k vertices) against shapely.coverage_is_valid, in the same run.

    .venv/bin/python -m bench.w8_validate [--scale 1] [--repeat 5]

Each community is tiled by cells cut from wavy lines (polygonize of noded lines: neighbours share every vertex),
in metres. The plan validation (per-cell validity with reasons, overlaps, gaps, slivers, cells outside their
community, mismatched edges) runs on a clean 街道 and on one with planted errors; its per-community coverage
verdict must equal shapely.coverage_is_valid's. --scale k gives k × 8 communities.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, box

from bench.common import cli, write_result
from gis.plans.topology import Rules, check_community
from gis.plans.validate import geometry_problems

COLS, ROWS, W, H = 8, 5, 1000.0, 900.0


def community_cells(index: int, samples_v: int = 140, samples_h: int = 210) -> tuple[Any, list[Any]]:
    rng = np.random.default_rng(index)
    x0 = index * (W + 100)
    area = box(x0, 0, x0 + W, H)
    lines = [area.boundary]
    ys = np.linspace(-10, H + 10, samples_v)
    for i in range(1, COLS):
        x = x0 + i * W / COLS + 12 * np.sin(ys / 60 + rng.uniform(0, 6)) + rng.normal(0, 1.5, len(ys))
        lines.append(LineString(np.column_stack([x, ys])))
    xs = np.linspace(x0 - 10, x0 + W + 10, samples_h)
    for j in range(1, ROWS):
        y = j * H / ROWS + 12 * np.sin(xs / 70 + rng.uniform(0, 6)) + rng.normal(0, 1.5, len(xs))
        lines.append(LineString(np.column_stack([xs, y])))
    noded = shapely.intersection(shapely.union_all(lines), area.buffer(0.001))
    faces = [f for f in shapely.get_parts(shapely.polygonize([noded])) if area.covers(f.point_on_surface())]
    return area, faces


def plant_errors(cells: list[Any]) -> list[Any]:
    """A cell grown by 2 m (overlaps) and another shrunk by 2 m (a gap); the rest untouched."""
    return [cells[0].buffer(2.0), cells[1], cells[2].buffer(-2.0), *cells[3:]]


def validate(streets: list[tuple[str, Any, list[Any]]]) -> dict[str, bool]:
    verdict = {}
    for code, area, cells in streets:
        codes = [f"{code}{i + 1:03d}" for i in range(len(cells))]
        usable = []
        for c, g in zip(codes, cells, strict=True):
            _, geom = geometry_problems(c, g)
            usable.append(geom)
        _, verdict[code] = check_community(code, area, codes, usable, Rules())
    return verdict


def reference(streets: list[tuple[str, Any, list[Any]]]) -> dict[str, bool]:
    return {code: bool(shapely.coverage_is_valid(np.asarray(cells, dtype=object))) for code, _, cells in streets}


def best_of(fn: Any, arg: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(scale: int = 1, repeat: int = 5) -> dict[str, Any]:
    clean = []
    for i in range(8 * scale):
        area, cells = community_cells(i)
        clean.append((f"9901000{i:05d}", area, cells))
    planted = [(c, a, plant_errors(cells) if i % 2 == 0 else cells) for i, (c, a, cells) in enumerate(clean)]
    n_cells = sum(len(c) for _, _, c in clean)
    vertices = int(sum(shapely.get_num_coordinates(np.asarray(c, dtype=object)).sum() for _, _, c in clean))
    out: dict[str, Any] = {"cells": n_cells, "vertices": vertices, "communities": len(clean)}
    for name, streets in (("clean", clean), ("planted_errors", planted)):
        ours_s, ours = best_of(validate, streets, repeat)
        ref_s, ref = best_of(reference, streets, repeat)
        out[name] = {
            "validate_s": round(ours_s, 4),
            "coverage_is_valid_s": round(ref_s, 4),
            "time_ratio_vs_reference": round(ours_s / ref_s, 2),
            "identical": ours == ref,
            "invalid_communities": sorted(k for k, v in ours.items() if not v),
        }
    out["targets"] = {"validate_s_max": 2.0, "identical": True}
    out["meets_target"] = all(out[n]["validate_s"] < 2.0 and out[n]["identical"] for n in ("clean", "planted_errors"))
    write_result("w8", out)
    return out


if __name__ == "__main__":
    cli(run, __doc__, scale=1, repeat=5)
