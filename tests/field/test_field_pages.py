"""The field app's shell, service worker, manifest and icons as the server answers them."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient


def test_shell_has_no_inline_script_and_local_assets_only(client: TestClient) -> None:
    r = client.get("/field")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    scripts = re.findall(r"<script\b([^>]*)>", r.text)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts), "no inline script"
    assert not re.search(r"\son[a-z]+=", r.text), "no inline event handler"
    assert not re.search(r"https?://", r.text)
    for src in re.findall(r'(?:src|href)="(/assets/[^"]+)"', r.text):
        assert client.get(src).status_code == 200, src
    assert 'rel="manifest" href="/field/manifest.webmanifest"' in r.text
    assert 'capture="environment"' in r.text


def test_service_worker_covers_field_and_precaches_the_shell(client: TestClient) -> None:
    r = client.get("/field/sw.js")
    assert r.status_code == 200
    assert r.headers["service-worker-allowed"] == "/field"
    assert r.headers["content-type"].startswith("application/javascript")
    first = r.text.split("\n", 1)[0]
    settings = json.loads(first.removeprefix("self.GG_FIELD = ").removesuffix(";"))
    urls = [e["url"] for e in settings["precache"]]
    assert "/field" in urls and any("/idb@" in u for u in urls) and any("field.js" in u for u in urls)
    for url in [*urls, *settings["workbox"]]:
        assert client.get(url).status_code == 200, url
    assert not re.search(r"https?://", r.text), "Workbox from the app, never a CDN"


def test_manifest_and_icons(client: TestClient) -> None:
    m = client.get("/field/manifest.webmanifest")
    assert m.headers["content-type"].startswith("application/manifest+json")
    manifest = m.json()
    assert manifest["start_url"] == "/field" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get("/field/icon-64.png").status_code == 404
