/* gridgov: the managers' patrol map (/maps/patrols). The page carries its data in the JSON block #pm-data (no
   inline script); this file draws it with Leaflet: cells coloured by the share the day's tracks covered,
   compounds outlined red when below the 定岗 rule (dashed when not visited for N days), one colour per worker's
   tracks, check-ins and 五必查 problems. A shell page (opened by a link, no token sent) asks its own address
   again with the stored token (gg_auth.js) and shows what it gets. The Excel export is fetched with the token. */
(function () {
  "use strict";
  var gg = window.gg;
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  var WHY = { 401: "登录已过期，请重新登录。", 403: "只有管理员和本社区的管理员可以查看巡查地图。", 404: "社区不存在。" };

  function shell(box, url) {
    if (!gg.token()) { box.textContent = "请先登录：在网格运行图登录后再打开巡查地图。"; return; }
    gg.api("GET", url + location.search, undefined, { text: true, cache: "no-store" }).then(function (html) {
      document.open();
      document.write(html);
      document.close();
    }, function (err) {
      if (!err.status) { box.textContent = "无法连接服务器"; return; }
      box.textContent = (WHY[err.status] || "加载失败（HTTP " + err.status + "）") +
        (err.body && err.body.message ? " " + err.body.message : "");
    });
  }

  function shareColour(s) {
    return s >= 0.8 ? "#1a9850" : s >= 0.6 ? "#91cf60" : s >= 0.4 ? "#fee08b" : s >= 0.2 ? "#fc8d59" : "#d73027";
  }

  function legendRow(colour, text, dashed) {
    var row = document.createElement("div"), sw = document.createElement("span");
    sw.className = "gg-swatch";
    sw.style.background = colour;
    if (dashed) sw.style.borderStyle = "dashed";
    row.className = "gg-row";
    row.appendChild(sw);
    row.appendChild(document.createTextNode(text));
    return row;
  }

  function draw(data) {
    var map = L.map("pm-map", { zoomSnap: 0.5 });
    if (data.bounds) map.fitBounds(data.bounds); else map.setView([0, 0], 2);
    L.control.scale({ imperial: false }).addTo(map);
    var colourOf = {}, legend = document.getElementById("pm-legend");
    data.workers.forEach(function (w, i) { colourOf[w.id] = COLOURS[i % COLOURS.length]; });
    var tip = function (html) { return function (layer) { return html(layer.feature.properties); }; };

    var cells = L.geoJSON(data.cells, {
      style: function (f) {
        return { color: "#555", weight: 1, fillColor: shareColour(f.properties.share), fillOpacity: 0.35 };
      },
    }).bindTooltip(tip(function (p) {
      return gg.esc(p.name) + "：巡查覆盖 " + Math.round(p.share * 100) + "%";
    })).addTo(map);
    var compounds = L.geoJSON(data.compounds, {
      style: function (f) {
        var p = f.properties;
        return { color: p.below_rule ? "#c0392b" : "#2c3e50", weight: p.below_rule ? 3 : 1.5,
          dashArray: p.unvisited ? "6 4" : null, fillOpacity: 0 };
      },
    }).bindTooltip(tip(function (p) {
      return gg.esc(p.name) + "<br>定岗达标 " + p.met + "/" + p.assigned + (p.unvisited ? "<br>近期未巡查" : "");
    })).addTo(map);
    var tracks = L.geoJSON(data.tracks, {
      filter: function (f) { return f.properties.kind === "track"; },
      style: function (f) { return { color: colourOf[f.properties.worker_id] || "#000", weight: 3, opacity: 0.85 }; },
    }).bindTooltip(tip(function (p) {
      return gg.esc(p.worker_name) + " · " + Math.round(p.distance_m) + " 米";
    })).addTo(map);
    var checkins = L.geoJSON(data.tracks, {
      filter: function (f) { return f.properties.kind === "checkin"; },
      pointToLayer: function (f, ll) {
        return L.circleMarker(ll, { radius: 6, color: "#fff", weight: 2, fillOpacity: 1,
          fillColor: colourOf[f.properties.worker_id] || "#000" });
      },
    }).bindTooltip(tip(function (p) {
      return gg.esc(p.worker_name) + " 签到 " + gg.esc(p.compound_code || "") + " " + gg.esc(String(p.t).slice(11, 16));
    })).addTo(map);
    var problems = L.geoJSON(data.problems, {
      pointToLayer: function (f, ll) {
        return L.circleMarker(ll, { radius: 8, color: "#c0392b", weight: 3, fillColor: "#f1c40f", fillOpacity: 1 });
      },
    }).bindTooltip(tip(function (p) {
      return "五必查：" + gg.esc(p.item_label) + (p.note ? "<br>" + gg.esc(p.note) : "") +
        (p.ticket_id ? "<br>工单 " + gg.esc(p.ticket_id) : "") + "<br>" + gg.esc(p.worker_name);
    })).addTo(map);
    var overlays = { "网格覆盖率": cells, "小区": compounds, "轨迹": tracks, "签到": checkins, "五必查问题": problems };
    var fixes = fixLayer(map, data, colourOf);
    if (fixes) overlays["轨迹点"] = fixes;
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);

    var walked = {};  // the legend names the workers with a track that day
    data.tracks.features.forEach(function (f) { walked[f.properties.worker_id] = true; });
    data.workers.forEach(function (w) {
      if (walked[w.id]) legend.appendChild(legendRow(colourOf[w.id], w.name + " 的轨迹"));
    });
    legend.appendChild(legendRow("#f1c40f", "五必查问题"));
    legend.appendChild(legendRow("transparent", "低于定岗要求的小区（红框）"));
    legend.appendChild(legendRow("transparent", "近期未巡查的小区（虚线）", true));
    [[0.8, "覆盖 ≥ 80%"], [0.4, "覆盖 40–80%"], [0, "覆盖 < 40%"]].forEach(function (s) {
      legend.appendChild(legendRow(shareColour(s[0]), s[1]));
    });
  }

  /* "轨迹点": the day's GPS fixes as vector tiles (/tiles/patrol_fixes/…, the stored token; gis.patrol.tiles thins
     them below zoom 16), one colour per worker, flagged fixes hollow and red; off until switched on. A refused
     token (401) asks for a log-in (gg_auth.js gg.expired). */
  function fixLayer(map, data, colourOf) {
    var spec = data.fixTiles;
    if (!spec || !L.vectorGrid || !gg.token()) return null;
    var style = function (p) {
      if (p.flags) return { radius: 3, weight: 1.5, color: "#c0392b", fill: false };
      return { radius: 2.5, weight: 0, fill: true, fillOpacity: 0.8, fillColor: colourOf[p.worker_id] || "#333" };
    };
    var pane = map.createPane("pm-fixes");  // above the tracks (overlay pane, z 400), letting clicks through
    pane.style.zIndex = "450";
    pane.style.pointerEvents = "none";
    var layer = L.vectorGrid.protobuf(spec.url, {
      rendererFactory: L.canvas.tile, pane: "pm-fixes",
      fetchOptions: { headers: { Authorization: "Bearer " + gg.token() } },
      vectorTileLayerStyles: { patrol_fixes: style },
      getFeatureId: function (f) { return f.properties.patrol_id + ":" + f.properties.t; },
    });
    gg.tileLayer(layer, { minZoom: spec.minZoom });
    gg.fixTiles = { loads: 0, loading: false, layer: layer };  // for tests
    layer.on("loading", function () { gg.fixTiles.loading = true; });
    layer.on("load", function () { gg.fixTiles.loading = false; gg.fixTiles.loads++; });
    var legend = document.getElementById("pm-legend");
    legend.appendChild(legendRow("#c0392b", "轨迹点：被标记的定位点（红圈，放大到 " + spec.minZoom + " 级以上显示）"));
    return layer;
  }

  function exportXlsx(button) {
    fetch(button.dataset.url, { headers: { Authorization: "Bearer " + gg.token() } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.blob();
    }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "定岗-" + (new URLSearchParams(button.dataset.url.split("?")[1]).get("date") || "") + ".xlsx";
      document.body.appendChild(a);
      a.click();
      a.remove();
    }, function (err) { button.textContent = "导出失败：" + err.message; });
  }

  function start() {
    var data = JSON.parse(document.getElementById("pm-data").textContent);
    var box = document.getElementById("pm-shell");
    if (box) { shell(box, data.url); return; }
    draw(data);
    var button = document.getElementById("pm-export");
    button.addEventListener("click", function () { exportXlsx(button); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
