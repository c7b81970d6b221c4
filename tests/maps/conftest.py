"""Shared pieces of the map tests: plain map data (no database) and an independent outside-host scan."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from gis.mapdata import CommunityMap, CompoundMap, Reach
from maps.basemaps import Basemap, basemap_from_settings
from maps.core import PageContext

BASE_URL = "http://gridgov.test:8000"
LOCAL_HOSTS = {"127.0.0.1", "localhost", urlsplit(BASE_URL).hostname}
XML_NAMESPACES = {"www.w3.org"}  # xmlns of inline SVG: names, not requests


def outside_hosts(html: str, *, extra: set[str] | None = None) -> set[str]:
    """Every host an http(s) URL in the page points at, other than the app's own (and `extra`)."""
    allowed = LOCAL_HOSTS | XML_NAMESPACES | (extra or set())
    hosts = {urlsplit(u).hostname or "" for u in re.findall(r"https?://[^\s\"'`<>)\\]+", html)}
    hosts |= set(re.findall(r"""(?:src|href)=["']//([^/"']+)""", html))  # protocol-relative
    return {h for h in hosts if h not in allowed}


def ctx_for(path: str = "/maps/compounds/C1", basemap: Basemap | None = None, **kw: Any) -> PageContext:
    return PageContext(
        title="测试页", basemap=basemap or basemap_from_settings("none"), base_url=BASE_URL, path=path, **kw
    )


def square(x: float, y: float, d: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def resource(code: str, rtype: str, name: str, lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    r = {
        "code": code,
        "type": rtype,
        "type_label": {"repair": "便民维修", "elderly_meal_point": "长者助餐点"}.get(rtype, rtype),
        "name": name,
        "address": "泉华路1号",
        "phone": "0531-86001234",
        "opening_hours": "周一至周五 08:30-17:30",
        "hours": [{"days": [0, 1, 2, 3, 4], "open": "08:30", "close": "17:30"}],
        "features": ["小修小补", "磨刀"],
        "photo_url": None,
        "lon": lon,
        "lat": lat,
        "distance_m": 120,
        "walk_m": 180,
        "in_reach": True,
        "open_now": True,
    }
    r.update(kw)
    return r


@pytest.fixture()
def compound_data() -> CompoundMap:
    x, y = 117.05, 36.67
    return CompoundMap(
        compound={
            "code": "C1",
            "name": "明湖花园",
            "kind": "closed",
            "kind_label": "封闭式小区",
            "address": "历下区泉华路8号",
            "households": 420,
            "party_branch": "明湖花园小区党支部",
            "property_company": {"code": "P1", "name": "泉城物业", "phone": "400-100-2000"},
            "wechat_group": "明湖花园邻里群",
            "contacts": [
                {"duty": "secretary", "name": "李绪杰", "phone": "13900000001", "photo_url": "/v1/avatars/李绪杰.svg"},
                {"duty": "liaison_worker", "name": "张丽", "phone": "13900000002", "photo_url": None},
                {
                    "duty": "property_steward",
                    "name": "王强",
                    "phone": "13900000003",
                    "photo_url": "https://cdn.example.com/x.jpg",
                },
                {"duty": "police", "name": "刘警官", "phone": "13900000004"},
            ],
            "geometry": square(x, y, 0.003),
            "community": {"code": "370102010001", "name": "文华社区", "secretary": "王芳", "phone": "0531-88880000"},
            "subdistrict": {"code": "370102010", "name": "泉华街道"},
        },
        buildings={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": square(x + 0.001, y + 0.001, 0.0005),
                    "properties": {
                        "code": "B1",
                        "name": "1号楼",
                        "households": 60,
                        "floors": 6,
                        "party_group_leader": "陈明",
                    },
                }
            ],
        },
        cell={
            "type": "Feature",
            "geometry": square(x - 0.001, y - 0.001, 0.005),
            "properties": {
                "code": "370102010001009",
                "name": "文华社区第9网格",
                "households": 288,
                "cell_type_label": "基础网格",
                "manager": {"name": "赵敏", "phone": "13800000001", "photo_url": None},
                "workers": [{"name": "孙伟", "phone": "13800000002", "photo_url": None}],
            },
        },
        neighbours={"type": "FeatureCollection", "features": []},
        streets={"type": "MultiLineString", "coordinates": [[[x - 0.01, y], [x + 0.01, y]]]},
        reach=Reach("network", 1000.0, square(x - 0.009, y - 0.009, 0.02)),
        resources=[
            resource("R1", "repair", "泉景便民维修站", x + 0.004, y + 0.001),
            resource("R2", "elderly_meal_point", "明湖长者助餐点", x - 0.002, y + 0.002, open_now=False),
            resource(
                "R3", "health_station", "明湖卫生服务站", x + 0.02, y, walk_m=None, in_reach=False, distance_m=1800
            ),
        ],
        gaps=["卫生"],
        bounds=(x - 0.01, y - 0.01, x + 0.012, y + 0.012),
    )


@pytest.fixture()
def community_data(compound_data: CompoundMap) -> CommunityMap:
    x, y = 117.05, 36.67
    return CommunityMap(
        community={
            "type": "Feature",
            "geometry": square(x - 0.01, y - 0.01, 0.03),
            "properties": {
                "code": "370102010001",
                "name": "文华社区",
                "party_org": "文华社区党委",
                "secretary": "王芳",
                "phone": "0531-88880000",
                "subdistrict": "泉华街道",
            },
        },
        cells={"type": "FeatureCollection", "features": [compound_data.cell]},
        compounds={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": square(x, y, 0.003),
                    "properties": {
                        "code": "C1",
                        "name": "明湖花园",
                        "kind": "closed",
                        "households": 420,
                        "gaps": ["托育", "卫生"],
                    },
                }
            ],
        },
        resources=compound_data.resources,
        streets=compound_data.streets,
        bounds=(x - 0.01, y - 0.01, x + 0.02, y + 0.02),
    )
