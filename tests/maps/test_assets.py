"""Local assets: pinned versions, the allow-list, folium's CDN URLs rewritten, standalone inlining."""

from __future__ import annotations

import json
import re

import folium
import folium.plugins
import pytest

from gis.errors import NotFound
from gis.settings import ROOT, Settings
from maps.assets import (
    _LOCAL,
    PACKAGES,
    inline_assets,
    installed_versions,
    outside_urls,
    package_root,
    resolve_asset,
    use_local_assets,
)

ASSETS = Settings().maps.assets_dir


def test_pinned_versions_match_package_json_and_node_modules() -> None:
    declared = json.loads((ROOT / "package.json").read_text())["dependencies"]
    installed = installed_versions(ASSETS)
    for name, pkg in PACKAGES.items():
        if name in ("folium", "gridgov"):
            continue
        assert declared.get(name) == pkg.version, (
            f"package.json pins {name} {declared.get(name)}, assets.py {pkg.version}"
        )
        assert installed[name] == pkg.version, f"node_modules has {name} {installed[name]}: run `make assets`"
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in declared.values()), "pin exact versions"


def test_every_allowed_file_is_installed() -> None:
    for pkg in PACKAGES.values():
        root = package_root(pkg, ASSETS)
        for file in pkg.files:
            assert (root / file).is_file(), f"{pkg.name}/{file} missing"
        for folder in pkg.dirs:
            assert any((root / folder).iterdir()), f"{pkg.name}/{folder} empty"


def test_folium_classes_point_at_local_files_only() -> None:
    use_local_assets()
    for cls in _LOCAL:
        for _, url in [*cls.default_js, *cls.default_css]:
            assert url.startswith("/assets/"), f"{cls.__name__}: {url}"
    names = [n for n, _ in [*folium.Map.default_js, *folium.Map.default_css]]
    assert "glyphicons_css" not in names and "bootstrap" not in names and "bootstrap_css" not in names
    html = folium.Map(tiles=None).get_root().render()
    assert not outside_urls(html), outside_urls(html)


def test_a_cdn_in_a_page_is_detected() -> None:
    use_local_assets()
    m = folium.Map(tiles=None)
    folium.plugins.MiniMap().add_to(m)  # a plugin we never rewrote: its CDN URL must be caught
    bad = outside_urls(m.get_root().render())
    assert any("cdnjs.cloudflare.com" in u for u in bad)
    svg = '<svg xmlns="http://www.w3.org/2000/svg"></svg><a href="http://base.example:8000/x">x</a>'
    assert outside_urls(svg, allowed_hosts=("base.example:8000",)) == []


@pytest.mark.parametrize(
    "path",
    [
        "leaflet@1.9.4/package.json",  # not allow-listed
        "leaflet@1.9.3/dist/leaflet.js",  # not the pinned version
        "leaflet@1.9.4/dist/../../jquery/dist/jquery.js",  # traversal
        "leaflet@1.9.4/dist/images/../../package.json",
        "@fortawesome/fontawesome-free@6.7.2/webfonts/sub/x.woff2",
        "left-pad@1.0.0/index.js",
        "nonsense",
    ],
)
def test_resolve_refuses_anything_not_allow_listed(path: str) -> None:
    with pytest.raises(NotFound):
        resolve_asset(path, assets_dir=ASSETS)


def test_resolve_serves_allowed_files_with_their_media_type() -> None:
    file, media = resolve_asset("leaflet@1.9.4/dist/leaflet.js", assets_dir=ASSETS)
    assert file.name == "leaflet.js" and media == "application/javascript"
    file, media = resolve_asset("@fortawesome/fontawesome-free@6.7.2/webfonts/fa-solid-900.woff2", assets_dir=ASSETS)
    assert media == "font/woff2"
    heat = PACKAGES["folium"]
    file, _ = resolve_asset(f"folium@{heat.version}/templates/leaflet_heat.min.js", assets_dir=ASSETS)
    assert file.parent.parent == package_root(heat, ASSETS)


def test_inlining_leaves_no_asset_links_and_embeds_fonts_and_images() -> None:
    use_local_assets()
    m = folium.Map(tiles=None)
    folium.Marker([36.6, 117.0], icon=folium.Icon(icon="flag", prefix="fa")).add_to(m)
    html = inline_assets(m.get_root().render(), assets_dir=ASSETS)
    assert 'src="/assets/' not in html and 'href="/assets/' not in html
    assert "data:font/woff2;base64," in html, "Font Awesome's solid font is embedded"
    assert "data:image/png;base64," in html, "the marker sprites are embedded"
    assert not re.search(r"url\([^)]*\.ttf\)", html), "woff2 only"
    assert 'format("truetype")' not in html
