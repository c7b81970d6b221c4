"""A deterministic demo 街道 near Jinan: communities, grid cells that tile them exactly, compounds,
buildings, streets, service resources, organisations and users for every role.

The geometry is a jittered lattice: every cell is a quadrilateral built from shared lattice vertices,
so neighbouring cells share identical edges (an exact coverage: no gaps, no overlaps); communities
are blocks of cells; compounds and buildings are bilinear sub-quads of their cell, so they lie inside
it with streets (the lattice edges) between them.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from data import names
from gis.reference import hours as osm_hours
from gis.resources import RESOURCE_TYPES

CENTER = (117.05, 36.67)
DISTRICT_CODE = "370102"
SUBDISTRICT_CODE = "370102010"
DEMO_PASSWORD = "gridgov-demo"
VALID_FROM = datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

CELL_COLS, CELL_ROWS = 6, 7  # cells per community block (42)
CELL_W_M, CELL_H_M = 125.0, 180.0
COMMUNITIES_PER_SUBDISTRICT = 800

DEPARTMENTS = {
    "urban_management": "历下区城市管理局泉华中队",
    "police": "历下公安分局泉华派出所",
    "market_regulation": "历下区市场监管局泉华所",
    "fire": "历下区消防救援大队",
    "housing": "历下区住房和城乡建设局",
    "landscaping": "历下区园林绿化服务中心",
    "emergency": "历下区应急管理局",
    "civil_affairs": "历下区民政局",
    "environment": "济南市生态环境局历下分局",
    "water": "济南水务集团历下营业所",
    "power": "国网济南供电公司历下供电中心",
    "gas": "济南港华燃气历下服务站",
    "health": "历下区卫生健康局",
}
CONTACT_TITLES = {
    "secretary": "小区书记",
    "liaison_worker": "包联社区工作者",
    "property_steward": "物业管家",
    "police": "社区民警",
}
# type -> (name pattern, opening hours in OpenStreetMap syntax (gis/reference/hours.py), features)
RESOURCE_SPECS: dict[str, tuple[str, str, list[str]]] = {
    "party_service_center": (
        "{c}党群服务中心",
        "Mo-Fr 08:30-17:30; PH off",
        ["党员活动室", "议事协商", "政务代办", "志愿者服务"],
    ),
    "community_canteen": (
        "{c}社区食堂",
        "Mo-Su 06:30-19:00",
        ["早中晚三餐", "满60岁8折", "可堂食"],
    ),
    "elderly_meal_point": (
        "{c}长者助餐点",
        "Mo-Sa 11:00-13:00; PH off",
        ["老年助餐", "满80岁免费", "可送餐上门"],
    ),
    "elderly_care": (
        "{c}养老服务站",
        "Mo-Su 08:00-18:00",
        ["日间照料", "助浴助洁", "康复理疗"],
    ),
    "childcare": (
        "{c}托育园",
        "Mo-Fr 07:30-18:00; PH off",
        ["0-3岁托育", "普惠收费", "临时托管"],
    ),
    "repair": (
        "{r}便民维修点",
        "Mo-Su 08:00-20:00",
        ["家电维修", "管道疏通", "开锁换锁"],
    ),
    "health_station": (
        "{c}社区卫生服务站",
        "Mo-Su 08:00-17:00",
        ["家庭医生签约", "慢病随访", "免费测血压"],
    ),
    "supermarket": (
        "{r}便民超市",
        "Mo-Su 07:00-22:00",
        ["生鲜果蔬", "送货上门"],
    ),
    "station_24h": (
        "{r}24小时城市驿站",
        "24/7",
        ["饮水", "充电", "休息", "应急药箱"],
    ),
    "police_office": (
        "{c}警务室",
        "Mo-Su 08:00-20:00",
        ["户籍咨询", "矛盾调解", "反诈宣传"],
    ),
    "science_education": (
        "{g}科普活动室",
        "Tu-Su 09:00-17:00",
        ["科普讲座", "青少年课堂"],
    ),
    "good_life_center": (
        "{g}",
        "Mo-Su 08:00-20:00",
        ["托育", "养老", "健康", "科普", "超市", "24小时驿站"],
    ),
}
PER_COMMUNITY = {
    "party_service_center": 1,
    "community_canteen": 1,
    "elderly_meal_point": 2,
    "elderly_care": 1,
    "childcare": 1,
    "repair": 3,
    "health_station": 1,
    "supermarket": 1,
    "station_24h": 1,
    "police_office": 1,
}
GOOD_LIFE_MODULES = ("childcare", "elderly_care", "health_station", "science_education", "supermarket", "station_24h")

_geod = Geod(ellps="WGS84")


@dataclass
class DemoData:
    """Everything the demo holds, in memory: rows as dicts, geometries as shapely objects."""

    scale: int
    areas: list[dict[str, Any]] = field(default_factory=list)
    organizations: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    compounds: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    streets: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    staff: list[dict[str, Any]] = field(default_factory=list)  # {"cell_code", "username", "duty", "duty_phone"}


def _bilinear(q: list[tuple[float, float]], u: float, v: float) -> tuple[float, float]:
    """Point at (u, v) in [0, 1]^2 of the quad q = [p00, p10, p11, p01]."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = q
    x = (1 - u) * (1 - v) * x0 + u * (1 - v) * x1 + u * v * x2 + (1 - u) * v * x3
    y = (1 - u) * (1 - v) * y0 + u * (1 - v) * y1 + u * v * y2 + (1 - u) * v * y3
    return x, y


def _subquad(q: list[tuple[float, float]], u0: float, u1: float, v0: float, v1: float) -> Polygon:
    pts = [_bilinear(q, u0, v0), _bilinear(q, u1, v0), _bilinear(q, u1, v1), _bilinear(q, u0, v1)]
    return Polygon(pts)


class _Lattice:
    """Jittered lattice of (cols+1) x (rows+1) shared vertices around CENTER."""

    def __init__(self, cols: int, rows: int, rng: random.Random) -> None:
        self.cols, self.rows = cols, rows
        lat0 = math.radians(CENTER[1])
        self.dx = CELL_W_M / (111_320.0 * math.cos(lat0))
        self.dy = CELL_H_M / 110_574.0
        x0 = CENTER[0] - cols * self.dx / 2
        y0 = CENTER[1] - rows * self.dy / 2
        self.v: list[list[tuple[float, float]]] = []
        for i in range(cols + 1):
            column = []
            for j in range(rows + 1):
                jx = rng.uniform(-0.2, 0.2) * self.dx
                jy = rng.uniform(-0.2, 0.2) * self.dy
                column.append((round(x0 + i * self.dx + jx, 7), round(y0 + j * self.dy + jy, 7)))
            self.v.append(column)

    def quad(self, i: int, j: int) -> list[tuple[float, float]]:
        return [self.v[i][j], self.v[i + 1][j], self.v[i + 1][j + 1], self.v[i][j + 1]]

    def node(self, i: int, j: int) -> int:
        return i * (self.rows + 1) + j + 1


def _layout(n_communities: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(n_communities * 2)))
    rows = math.ceil(n_communities / cols)
    return cols, rows


def generate_demo(*, scale: int = 1, seed: int = 42) -> DemoData:
    """Build the demo 街道 in memory (pure: same scale and seed, same data)."""
    rng = random.Random(seed)
    data = DemoData(scale=scale)
    n_comm = 8 * scale
    bcols, brows = _layout(n_comm)
    lattice = _Lattice(bcols * CELL_COLS, brows * CELL_ROWS, rng)

    data.areas.append({"code": DISTRICT_CODE, "name": "历下区", "level": "district", "parent": None})
    data.organizations.append(
        {
            "code": "SD-01",
            "name": "泉华街道办事处",
            "kind": "subdistrict_office",
            "unit_type": "subdistrict",
            "phone": names.landline(rng),
            "address": "泉华街道燕山路1号",
        }
    )
    for unit, name in DEPARTMENTS.items():
        data.organizations.append(
            {
                "code": f"DEPT-{unit}",
                "name": name,
                "kind": "department",
                "unit_type": unit,
                "phone": names.landline(rng),
                "address": None,
            }
        )
    companies = [f"PM-{k + 1:02d}" for k in range(min(6, 3 + scale))]
    for k, code in enumerate(companies):
        data.organizations.append(
            {
                "code": code,
                "name": names.PROPERTY_COMPANIES[k % len(names.PROPERTY_COMPANIES)],
                "kind": "property_company",
                "unit_type": "property",
                "phone": f"400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                "address": None,
            }
        )

    data.users.append({"username": "admin", "full_name": "系统管理员", "role": "admin", "jurisdiction": []})
    data.users.append(
        {"username": "planner", "full_name": names.person_name(rng), "role": "planner", "jurisdiction": []}
    )
    for unit in DEPARTMENTS:
        data.users.append(
            {
                "username": f"dept-{unit}",
                "full_name": names.person_name(rng),
                "role": "department",
                "org": f"DEPT-{unit}",
                "jurisdiction": [],
            }
        )
    for code in companies:
        data.users.append(
            {
                "username": code.lower(),
                "full_name": names.person_name(rng),
                "role": "property",
                "org": code,
                "jurisdiction": [],
            }
        )
    for k in range(1, 6):
        data.users.append(
            {"username": f"resident{k}", "full_name": names.person_name(rng), "role": "resident", "jurisdiction": []}
        )

    subdistricts: dict[str, list[Polygon]] = {}
    comp_seq = res_seq = 0
    for c in range(n_comm):
        sd_index, local = divmod(c, COMMUNITIES_PER_SUBDISTRICT)
        sd_code = f"{DISTRICT_CODE}{10 + sd_index:03d}"
        comm_code = f"{sd_code}{local + 1:03d}"
        word = names.COMMUNITY_WORDS[c % len(names.COMMUNITY_WORDS)]
        comm_name = (
            f"{word}社区" if c < len(names.COMMUNITY_WORDS) else f"{word}{c // len(names.COMMUNITY_WORDS) + 1}社区"
        )
        bi, bj = c % bcols, c // bcols
        quads = []
        for ci in range(CELL_COLS):
            for cj in range(CELL_ROWS):
                quads.append((bi * CELL_COLS + ci, bj * CELL_ROWS + cj))
        cell_polys = {(i, j): Polygon(lattice.quad(i, j)) for i, j in quads}
        comm_poly = shapely.coverage_union_all(list(cell_polys.values()))
        subdistricts.setdefault(sd_code, []).append(comm_poly)
        secretary = names.person_name(rng)
        data.areas.append(
            {
                "code": comm_code,
                "name": comm_name,
                "level": "community",
                "parent": sd_code,
                "party_org": f"{comm_name}党委",
                "secretary": secretary,
                "phone": names.landline(rng),
                "geom": comm_poly,
            }
        )
        mgr = f"mgr{c + 1:03d}"
        data.users.append(
            {
                "username": mgr,
                "full_name": secretary,
                "role": "manager",
                "jurisdiction": [comm_code],
                "phone": (mgr_phone := names.mobile(rng)),
            }
        )
        workers_of_comm = [names.person_name(rng) for _ in range(8)]
        police = (names.person_name(rng), names.landline(rng))  # 社区民警: one officer per community
        comm_cells: list[dict[str, Any]] = []
        for seq, (i, j) in enumerate(quads, start=1):
            cell_code = f"{comm_code}{seq:03d}"
            cell = {
                "code": cell_code,
                "name": f"{comm_name}第{seq}网格",
                "community": comm_code,
                "cell_type": "dedicated" if rng.random() < 0.06 else "basic",
                "households": 0,
                "population": 0,
                "geom": cell_polys[(i, j)],
                "quad": lattice.quad(i, j),
            }
            comm_cells.append(cell)
            data.staff.append({"cell_code": cell_code, "username": mgr, "duty": "manager", "duty_phone": mgr_phone})
            cell_workers: list[dict[str, Any]] = []
            for w in range(1 if rng.random() < 0.5 else 2):
                username = f"gw{comm_code[-6:]}{seq:03d}{w + 1}"
                worker = {
                    "username": username,
                    "full_name": rng.choice(workers_of_comm),
                    "role": "grid_worker",
                    "jurisdiction": [cell_code],
                    "phone": names.mobile(rng),
                }
                data.users.append(worker)
                cell_workers.append(worker)
                # the demo's staff publish their work mobile as their duty phone
                data.staff.append(
                    {"cell_code": cell_code, "username": username, "duty": "worker", "duty_phone": worker["phone"]}
                )
            # compounds: 1 or 2 bilinear sub-quads of the cell, leaving streets along the lattice edges
            spans = [(0.1, 0.9)] if rng.random() < 0.5 else [(0.1, 0.47), (0.53, 0.9)]
            for u0, u1 in spans:
                comp_seq += 1
                closed = rng.random() < 5 / 6
                kind = "closed" if closed else "open"
                suffix = rng.choice(names.CLOSED_SUFFIX if closed else names.OPEN_SUFFIX)
                cname = f"{rng.choice(names.COMPOUND_PREFIX)}{suffix}"
                ccode = f"{comm_code}X{comp_seq % 10000:04d}"
                road = rng.choice(names.ROADS)
                poly = _subquad(cell["quad"], u0, u1, 0.1, 0.9)
                # 责任公示牌: the 包联社区工作者 is the cell's grid worker, the 社区民警 the community's officer
                people = {
                    "secretary": (secretary if rng.random() < 0.3 else names.person_name(rng), names.mobile(rng)),
                    "liaison_worker": (cell_workers[0]["full_name"], cell_workers[0]["phone"]),
                    "property_steward": (names.person_name(rng), names.mobile(rng)),
                    "police": police,
                }
                contacts = [
                    {
                        "duty": duty,
                        "title": title,
                        "name": people[duty][0],
                        "phone": people[duty][1],
                        "photo_url": f"/v1/avatars/{quote(people[duty][0])}.svg",
                    }
                    for duty, title in CONTACT_TITLES.items()
                ]
                compound = {
                    "code": ccode,
                    "name": cname,
                    "kind": kind,
                    "community": comm_code,
                    "cell_code": cell_code,
                    "address": f"泉华街道{road}{rng.randint(1, 299)}号",
                    "property_company": rng.choice(companies) if closed else None,
                    "party_branch": f"{cname}党支部",
                    "households": 0,
                    "built_year": rng.randint(1985, 2020),
                    "wechat_group": f"{cname}邻里群",
                    "contacts": contacts,
                    "geom": poly,
                }
                n_bld = rng.randint(4, 12) if closed else rng.randint(2, 6)
                bcols_ = 2 if n_bld <= 4 else 3
                brows_ = math.ceil(n_bld / bcols_)
                for b in range(n_bld):
                    bu, bv = b % bcols_, b // bcols_
                    du, dv = (u1 - u0) / bcols_, 0.8 / brows_
                    footprint = _subquad(
                        cell["quad"],
                        u0 + (bu + 0.2) * du,
                        u0 + (bu + 0.8) * du,
                        0.1 + (bv + 0.25) * dv,
                        0.1 + (bv + 0.75) * dv,
                    )
                    households = rng.randint(18, 120)
                    leader = names.person_name(rng)
                    members = [
                        f"{rng.randint(1, 4)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)} {names.person_name(rng)}"
                        for _ in range(rng.randint(0, 3))
                    ]
                    data.buildings.append(
                        {
                            "code": f"{ccode}-{b + 1:02d}",
                            "name": f"{b + 1}号楼",
                            "compound": ccode,
                            "cell_code": cell_code,
                            "households": households,
                            "floors": rng.randint(6, 33),
                            "party_group_leader": leader,
                            "party_member_households": members,
                            "geom": footprint,
                        }
                    )
                    compound["households"] += households
                cell["households"] += compound["households"]
                data.compounds.append(compound)
            cell["population"] = round(cell["households"] * 2.6)
        data.cells.extend(comm_cells)

        # resources sit on the street side of a random cell of the community (u = 0.05 or 0.95)
        def spot(quads: list[tuple[int, int]] = quads) -> tuple[float, float]:
            i, j = rng.choice(quads)
            q = lattice.quad(i, j)
            return _bilinear(q, rng.choice((0.05, 0.95)), rng.uniform(0.1, 0.9))

        for rtype, n in PER_COMMUNITY.items():
            for _ in range(n):
                res_seq += 1
                data.resources.append(_resource(rtype, res_seq, comm_name, comm_code, spot(), rng))
        if c % 4 == 0:  # 美好生活中心 with its six modules next door
            gi, gj = rng.choice(quads)  # the centre of a cell, so its modules around it stay inside
            gx, gy = _bilinear(lattice.quad(gi, gj), 0.5, 0.5)
            gname = f"{word}美好生活中心"
            res_seq += 1
            data.resources.append(_resource("good_life_center", res_seq, comm_name, comm_code, (gx, gy), rng, gname))
            for k, module in enumerate(GOOD_LIFE_MODULES):
                res_seq += 1
                angle = 2 * math.pi * k / len(GOOD_LIFE_MODULES)
                pos = (gx + 0.00025 * math.cos(angle), gy + 0.0002 * math.sin(angle))
                data.resources.append(_resource(module, res_seq, comm_name, comm_code, pos, rng, gname))

    for k, (sd_code, polys) in enumerate(sorted(subdistricts.items())):
        name = "泉华街道" if k == 0 else f"泉华第{k + 1}街道"
        data.areas.insert(
            1 + k,
            {
                "code": sd_code,
                "name": name,
                "level": "subdistrict",
                "parent": DISTRICT_CODE,
                "geom": shapely.coverage_union_all(polys),
            },
        )
    data.areas[0]["geom"] = shapely.coverage_union_all([a["geom"] for a in data.areas if a["level"] == "subdistrict"])

    _anchor_resources(data)
    data.streets = _streets(lattice, rng)
    return data


@functools.cache
def _hours_text(osm: str) -> str:
    return osm_hours.describe(osm)


def _hours_week(osm: str) -> list[dict[str, Any]]:
    return _hours_weeks(osm)[:]


@functools.cache
def _hours_weeks(osm: str) -> list[dict[str, Any]]:
    return osm_hours.weekly_spans(osm)


def _resource(
    rtype: str,
    seq: int,
    comm_name: str,
    comm_code: str,
    pos: tuple[float, float],
    rng: random.Random,
    group: str | None = None,
) -> dict[str, Any]:
    pattern, osm, features = RESOURCE_SPECS[rtype]
    road = rng.choice(names.ROADS)
    name = pattern.format(c=comm_name, r=road.removesuffix("路").removesuffix("大街"), g=group or comm_name)
    if group and rtype != "good_life_center":
        name = f"{group}·{RESOURCE_TYPES[rtype]}"
    return {
        "code": f"R{seq:05d}",
        "type": rtype,
        "name": name,
        "address": f"泉华街道{road}{rng.randint(1, 299)}号",
        "phone": names.landline(rng),
        "osm_hours": osm,  # 营业中/休息中 computed from it, holidays included
        "opening_hours": _hours_text(osm),
        "hours": _hours_week(osm),
        "features": list(features),
        "community": comm_code,
        "cell_code": None,
        "geom": Point(pos),
    }


def _anchor_resources(data: DemoData) -> None:
    """Set each resource's cell_code to the covering cell (lowest code on shared edges, as locate does)."""
    geoms = [c["geom"] for c in data.cells]
    tree = shapely.STRtree(geoms)
    for r in data.resources:
        hits = sorted(data.cells[int(i)]["code"] for i in tree.query(r["geom"], predicate="covered_by"))
        r["cell_code"] = hits[0] if hits else None


def _streets(lattice: _Lattice, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(lattice.cols + 1):
        for j in range(lattice.rows + 1):
            for di, dj in ((1, 0), (0, 1)):
                if i + di > lattice.cols or j + dj > lattice.rows:
                    continue
                a, b = lattice.v[i][j], lattice.v[i + di][j + dj]
                line = LineString([a, b])
                road = names.ROADS[(j if di else i) % len(names.ROADS)]
                out.append(
                    {
                        "name": road,
                        "source": lattice.node(i, j),
                        "target": lattice.node(i + di, j + dj),
                        "length_m": round(_geod.geometry_length(line), 1),
                        "geom": line,
                    }
                )
    return out
