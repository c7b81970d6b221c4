"""GDAL's OAPIF driver (what QGIS uses) reads every OGC API collection with a token: ogrinfo from Debian's
gdal-bin against the app served on a local port."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.browser import serve

Maker = Callable[..., tuple[Any, dict[str, str]]]

pytestmark = pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="ogrinfo is not installed (Debian gdal-bin: make tools)"
)


def _ogrinfo(url: str, headers: dict[str, str], *args: str) -> str:
    header = "\r\n".join(f"{k}: {v}" for k, v in headers.items())
    command = ["ogrinfo", "--config", "GDAL_HTTP_HEADERS", header, "-ro", "-oo", "PAGE_SIZE=1000", f"OAPIF:{url}/ogc"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_ogrinfo_reads_every_collection_with_a_token(client: TestClient, make_user: Maker) -> None:
    _, admin = make_user("admin")
    collections = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    with serve(client.app) as url:
        listing = _ogrinfo(url, admin)
        for name in collections:
            assert re.search(rf"^\d+: {name} \(", listing, re.M), listing
            expected = client.get(f"/ogc/collections/{name}/items?limit=10000", headers=admin).json()["numberReturned"]
            assert expected > 0
            read = _ogrinfo(url, admin, "-al", name)
            assert read.count("OGRFeature(") == expected, name
        # without a token GDAL reads the public layer and is refused the others
        public = _ogrinfo(url, {}, "-so", "resources")
        assert "Feature Count" in public
