/* Plan editor (/plans/{id}/edit) for planners (规划员). Loaded by maps/plan_editor.html as a long-cached asset
   (/assets/gridgov@<hash>/plan_editor.js, allow-listed in maps/assets.py); window.PLAN_EDITOR is the page's config.

   Click a cell to select it: the side panel shows its code, name, households and status, and only that cell gets
   vertex handles (snapping to its neighbours). The geoman toolbar draws a new cell (polygon) or a split line;
   the panel saves the shape or the name and households, splits by a line or into k parts by households, merges
   with a clicked neighbour, removes and reverts. Every change is followed by validation (problems listed and
   drawn; clicking one zooms to it). Commit and file import (with progress) from the page; a committed plan is
   read-only. A plan without cells starts on a community picked from a list (its live cells enter the draft).
   Compounds (小区) and communities of the draft are outlines over the cells (toggled in the legend); a compound
   can be picked, redrawn and reverted. New cells get a fresh code from the server (never a retired one).
   Over a 高德 (GCJ-02) basemap every vertex is shown shifted and sent back in WGS84 (unchanged ones exactly).
   Data only from /v1/…, with the token the map pages keep in localStorage ("gridgov.token"). */
(function () {
  "use strict";
  var CFG = window.PLAN_EDITOR, API = CFG.api, TOKEN_KEY = "gridgov.token";
  var $ = function (id) { return document.getElementById(id); };
  // state the browser tests read: ready after the first load, busy = requests in flight
  var ed = (window.planEditor = { ready: false, busy: 0, validations: 0, loads: 0 });

  if (location.hash.indexOf("token=") >= 0) {  // a link carrying the token: keep it, hide it
    var t = new URLSearchParams(location.hash.slice(1)).get("token");
    if (t) localStorage.setItem(TOKEN_KEY, t);
    history.replaceState(null, "", location.pathname + location.search);
  }

  var STATUS = {
    live: { label: "现行 / live", colour: "#616161" },
    add: { label: "新增 / added", colour: "#2e7d32" },
    change: { label: "修改 / changed", colour: "#1565c0" },
    remove: { label: "删除 / removed", colour: "#b71c1c" },
  };
  var PLAN_STATUS = { draft: "草案 / draft", committed: "已提交 / committed", abandoned: "已废弃 / abandoned" };
  var SELECTED = "#ff6f00", ERROR = "#d50000", WARNING = "#ef6c00";
  var STAGES = {
    queued: "排队中 / queued", reading: "读取文件 / reading", converting: "坐标转换 / converting",
    checking: "检查要素 / checking", "counting households": "统计户数 / counting households",
    writing: "写入草案 / writing", done: "完成 / done",
  };
  var MOVED = { tickets: "工单", service_resources: "服务资源", compounds: "小区", buildings: "楼栋", patrols: "巡查记录" };
  var movedLabel = function (key) {  // "tickets" or "tickets.compound_code" (a second anchor of the same table)
    var parts = key.split(".");
    return (MOVED[parts[0]] || parts[0]) + (parts[1] ? "（" + parts[1] + "）" : "");
  };
  var shanghai = function (iso) { return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }); };
  var WRITERS = ["planner", "admin"];
  var EDIT = { snappable: true, snapDistance: 15, allowSelfIntersection: false, draggable: false };

  var plan = null, features = {}, byCode = {}, selected = null, selectAfter = null, dirty = false, mode = null;
  var pending = null, readonly = false, mayWrite = true, acting = false, fitted = false, items = [];
  // compounds: drafted features by code, their layers, the selected one, and whether a click picks one
  var compounds = {}, compoundLayers = {}, compound = null, compoundAfter = null, picking = false;
  var communityNames = {};

  /* ---- display coordinates: WGS84, or GCJ-02 over a 高德 basemap ---- */
  var GCJ = (CFG.basemap || {}).crs === "gcj02";
  var shown = new Map();  // "lng,lat" on the map -> the WGS84 position it shows: unchanged vertices go back exactly
  function wgsToGcj(lon, lat) {  // the published GCJ-02 offset (as gis.crs / prcoords); as-is outside China
    if (lat < 0.8293 || lat > 55.8271 || lon < 72.004 || lon > 137.8347) return [lon, lat];
    var x = lon - 105, y = lat - 35, PI = Math.PI, A = 6378245, EE = 0.00669342162296594323;
    var dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) +
      (2 * Math.sin(x * 6 * PI) + 2 * Math.sin(x * 2 * PI) + 2 * Math.sin(y * PI) + 4 * Math.sin(y / 3 * PI) +
        16 * Math.sin(y / 12 * PI) + 32 * Math.sin(y / 30 * PI)) * 20 / 3;
    var dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) +
      (2 * Math.sin(x * 6 * PI) + 2 * Math.sin(x * 2 * PI) + 2 * Math.sin(x * PI) + 4 * Math.sin(x / 3 * PI) +
        15 * Math.sin(x / 12 * PI) + 30 * Math.sin(x / 30 * PI)) * 20 / 3;
    var rad = lat * PI / 180, magic = 1 - EE * Math.pow(Math.sin(rad), 2);
    var latLen = (A * (1 - EE)) / Math.pow(magic, 1.5) * PI / 180, lonLen = A * Math.cos(rad) / Math.sqrt(magic) * PI / 180;
    return [lon + dLon / lonLen, lat + dLat / latLen];
  }
  function toMap(c) {  // GeoJSON [lon, lat] (WGS84) -> the map's L.LatLng
    if (!GCJ) return L.latLng(c[1], c[0]);
    var p = wgsToGcj(c[0], c[1]);
    shown.set(p[0] + "," + p[1], [c[0], c[1]]);
    return L.latLng(p[1], p[0]);
  }
  function fromMap(lng, lat) {  // a position on the map -> [lon, lat] WGS84 (a new vertex: the offset undone)
    if (!GCJ) return [lng, lat];
    var known = shown.get(lng + "," + lat);
    if (known) return known.slice();
    var x = lng, y = lat;
    for (var i = 0; i < 8; i++) { var p = wgsToGcj(x, y); x += lng - p[0]; y += lat - p[1]; }
    return [x, y];
  }
  function geometryOf(layer) {  // a layer's GeoJSON geometry in WGS84, full precision
    var g = layer.toGeoJSON(false).geometry;
    if (!GCJ) return g;
    var walk = function (c) { return typeof c[0] === "number" ? fromMap(c[0], c[1]) : c.map(walk); };
    return { type: g.type, coordinates: walk(g.coordinates) };
  }
  ed.toMap = function (lon, lat) { var ll = toMap([lon, lat]); return [ll.lng, ll.lat]; };

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }
  function say(text, kind) {
    var el = $("status");
    el.textContent = text || "";
    el.className = kind ? "pe-" + kind : "";
  }
  function fail(err) { say((err && err.message) || String(err), "err"); }

  /* ---- the JSON API ---- */
  function call(method, path, body) {
    var token = localStorage.getItem(TOKEN_KEY);
    if (!token) { showLogin(true); return Promise.reject({ message: "请先登录 / log in first" }); }
    var opts = { method: method, headers: { Authorization: "Bearer " + token } };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    ed.busy++;
    return fetch(path.indexOf("/v1/") === 0 ? path : API + path, opts)
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.status === 401) { localStorage.removeItem(TOKEN_KEY); showLogin(true); }
          if (!r.ok) throw { status: r.status, message: j.message || "HTTP " + r.status, body: j };
          return j;
        });
      }, function () { throw { message: "无法连接服务器 / cannot reach the server" }; })
      .finally(function () { ed.busy--; });
  }

  /* ---- the map, the toolbar, the legend ---- */
  var map = (ed.map = L.map("map", { zoomSnap: 0.5, maxZoom: 21 }));
  map.setView([35, 105], 4);  // China, until the plan's cells are loaded (a new plan has none)
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  ((CFG.basemap || {}).tiles || []).forEach(function (t) {  // the configured basemap (none: no tiles, no requests)
    L.tileLayer(t.url, { attribution: t.attribution, subdomains: t.subdomains, maxNativeZoom: t.maxZoom, maxZoom: 21 })
      .addTo(map);
  });
  // compounds and communities above the cells' fills; the pane lets clicks through to the cells unless picking
  map.createPane("pe-areas").style.zIndex = 450;
  map.getPane("pe-areas").style.pointerEvents = "none";
  map.pm.setLang("zh", {
    tooltips: {
      finishLine: "单击最后一点结束切分线 / click the last point to finish",
      finishPoly: "单击第一个点闭合新网格 / click the first point to close the cell",
    },
    buttonTitles: {
      drawPolyButton: "画新网格 / draw a new cell",
      drawLineButton: "画切分线（切分选中网格）/ draw a split line",
      editButton: "编辑选中网格的顶点 / edit the selected cell's vertices",
    },
  }, "zh");
  map.pm.setGlobalOptions(EDIT);
  var TOOLS = {
    position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: true, drawRectangle: false,
    drawPolygon: true, drawCircle: false, drawText: false, editMode: true, dragMode: false, cutPolygon: false,
    removalMode: false, rotateMode: false,
  };
  map.pm.addControls(TOOLS);

  var cells = L.geoJSON(null, {
    coordsToLatLng: toMap,
    style: function (f) { return styleOf(f.properties.code, f.properties.status); },
    onEachFeature: function (f, layer) {
      var code = f.properties.code;
      features[code] = f;
      byCode[code] = layer;
      layer.code = code;
      layer.options.className = "pe-cell pe-cell-" + code;  // before the path exists: tests and styling find it
      layer.pm.setOptions({ allowEditing: false });  // only the selected cell gets vertex handles
      layer.bindTooltip(esc(code.slice(12)), { permanent: true, direction: "center", className: "pe-label" });
      layer.on("click", onCellClick);
      layer.on("pm:edit", onEdited);
    },
  }).addTo(map);
  var problems = L.featureGroup().addTo(map);
  var communityLayer = L.geoJSON(null, {
    coordsToLatLng: toMap, pane: "pe-areas", interactive: false, pmIgnore: true, snapIgnore: true,
    style: { color: "#263238", weight: 2.5, dashArray: "12 4 2 4", fill: false, className: "pe-community" },
  }).addTo(map);
  var compoundLayer = L.geoJSON(null, {
    coordsToLatLng: toMap, pane: "pe-areas", interactive: false, snapIgnore: true,
    style: function (f) { return compoundStyle(f.properties.code, f.properties.status); },
    onEachFeature: function (f, layer) {
      var code = f.properties.code;
      compoundLayers[code] = layer;
      layer.code = code;
      layer.options.className = "pe-compound pe-compound-" + code;
      layer.pm.setOptions({ allowEditing: false });  // only the picked compound gets vertex handles
      if (picking) layer.bindTooltip(esc(f.properties.name) + "（" + esc(code) + "）", { sticky: true });
      layer.on("click", onCompoundClick);
      layer.on("pm:edit", function () {
        if (code !== compound) return;
        dirty = true;
        say("小区边界已修改，尚未保存 / the compound's shape has unsaved changes", "warn");
        updateButtons();
      });
    },
  }).addTo(map);

  function styleOf(code, status) {
    var s = STATUS[status] || STATUS.live, on = code === selected;
    return {
      color: on ? SELECTED : s.colour,
      weight: on ? 4 : status === "live" ? 1.5 : 2.5,
      dashArray: status === "remove" ? "6 5" : null,
      fillColor: s.colour,
      fillOpacity: status === "remove" ? 0.03 : on ? 0.28 : status === "live" ? 0.06 : 0.16,
    };
  }
  function restyle(code) {
    if (byCode[code]) byCode[code].setStyle(styleOf(code, features[code].properties.status));
  }
  var COMPOUND = "#8e24aa", COMMUNITY = "#263238";
  function compoundStyle(code, status) {
    var on = code === compound;
    return {
      color: on ? SELECTED : COMPOUND,
      weight: on ? 3.5 : status === "live" ? 1.2 : 2.4,
      opacity: 0.9,
      dashArray: status === "remove" ? "4 4" : null,
      fillColor: on ? SELECTED : COMPOUND,
      fillOpacity: on ? 0.18 : picking ? 0.08 : 0,  // picking: the inside takes the click
    };
  }

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("details", "pe-legend");
    div.open = window.innerWidth > 800;  // on a phone the legend would hide the cells: closed until asked
    var row = function (fill, stroke, label, dashed) {
      return "<div class='gg-row'><span class='gg-swatch' style='background:" + fill + ";border-color:" + stroke +
        (dashed ? ";border-style:dashed" : "") + "'></span>" + esc(label) + "</div>";
    };
    div.innerHTML = "<summary>图例 / legend</summary>" + Object.keys(STATUS).map(function (k) {
      return row(STATUS[k].colour + "33", STATUS[k].colour, STATUS[k].label, k === "remove");
    }).join("") + row(SELECTED + "44", SELECTED, "选中 / selected") + row(ERROR + "66", ERROR, "错误 / error") +
      row(WARNING + "33", WARNING, "提示 / warning", true) +
      "<label class='gg-row'><input type='checkbox' id='show-compounds' checked>" +
      "<span class='gg-swatch' style='background:transparent;border-color:" + COMPOUND + "'></span>小区 / compounds</label>" +
      "<label class='gg-row'><input type='checkbox' id='show-communities' checked>" +
      "<span class='gg-swatch' style='background:transparent;border-color:" + COMMUNITY + ";border-style:dashed'></span>" +
      "社区 / communities</label>";
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  legend.addTo(map);
  function overlay(layer, on) { if (on) map.addLayer(layer); else map.removeLayer(layer); }
  $("show-compounds").onchange = function () {
    if (!this.checked && picking) setPicking(false);
    if (!this.checked && compound && !selectCompound(null)) { this.checked = true; return; }
    overlay(compoundLayer, this.checked);
  };
  $("show-communities").onchange = function () { overlay(communityLayer, this.checked); };
  map.on("zoomend", function () { map.getContainer().classList.toggle("pe-small-labels", map.getZoom() < 15); });

  /* ---- loading ---- */
  function loadPlan() {
    return call("GET", "").then(function (p) {
      plan = p;
      showCommunities();
      $("plan-name").textContent = p.name;
      $("plan-status").textContent = PLAN_STATUS[p.status] || p.status;
      showCounts();
      if (p.status !== "draft" && !readonly) setReadonly(true);
    });
  }
  function loadCells() {
    return call("GET", "/features?scope=draft").then(function (fc) {
      var keep = selectAfter || selected;
      selectAfter = null;
      stopEditing();
      selected = null;
      dirty = false;
      features = {};
      byCode = {};
      cells.clearLayers();
      cells.addData(fc);
      if (!fitted && fc.features.length) { map.fitBounds(cells.getBounds(), { padding: [10, 10] }); fitted = true; }
      ed.loads++;
      showCounts();
      select(keep && features[keep] ? keep : null);
    });
  }
  function loadAreas() {  // the draft's compounds and communities (outlines; compounds can be picked)
    return Promise.all([
      call("GET", "/features?layer=compound&scope=draft"), call("GET", "/features?layer=community&scope=draft"),
    ]).then(function (res) {
      communityLayer.clearLayers();
      communityLayer.addData(res[1]);
      // a community without cells yet still shows where it is (the cells, once loaded, set the view)
      if (!fitted && res[1].features.length) map.fitBounds(communityLayer.getBounds(), { padding: [10, 10] });
      var keep = compoundAfter || compound;
      compoundAfter = null;
      compounds = {};
      res[0].features.forEach(function (f) { compounds[f.properties.code] = f; });
      compound = keep && compounds[keep] ? keep : null;
      drawCompounds();
      ed.areaLoads = (ed.areaLoads || 0) + 1;
      showCompound();
    });
  }
  function drawCompounds() {  // (re)built: whether a click picks a compound is fixed when its path is made
    if (map.pm.globalEditModeEnabled() && compound) stopEditing();
    compoundLayers = {};
    compoundLayer.clearLayers();
    compoundLayer.options.interactive = picking;
    compoundLayer.addData({ type: "FeatureCollection", features: Object.keys(compounds).map(function (c) {
      return compounds[c];
    }) });
  }
  function loadCommunities() {  // names for the picker and the plan's list (whatever the user's role may read)
    return call("GET", "/v1/communities?limit=1000&simplify_m=50").then(function (fc) {
      fc.features.forEach(function (f) { communityNames[f.properties.code] = f.properties.name; });
      showCommunities();
    }, function (err) { $("community-note").textContent = "社区列表无法读取 / cannot list communities: " + err.message; });
  }
  function communityLabel(code) { return (communityNames[code] || "社区") + "（" + code + "）"; }
  function showCommunities() {
    var mine = plan ? plan.communities : [], pick = $("community-pick"), keep = pick.value;
    $("plan-communities").textContent = mine.length ?
      "方案中的社区 / in the plan：" + mine.map(communityLabel).join("、") : "方案还没有社区 / no community yet";
    var others = Object.keys(communityNames).sort().filter(function (c) { return mine.indexOf(c) < 0; });
    pick.innerHTML = "<option value=''>选择社区… / pick a community</option>" + others.map(function (c) {
      return "<option value='" + esc(c) + "'>" + esc(communityLabel(c)) + "</option>";
    }).join("");
    pick.value = others.indexOf(keep) >= 0 ? keep : "";
    updateButtons();
  }
  function changes() {  // cells (and compounds / communities) the plan adds, changes or removes
    if (!plan) return 0;
    var n = 0, add = function (c) { Object.keys(c || {}).forEach(function (k) { n += c[k]; }); };
    add(plan.counts);
    Object.keys(plan.area_counts || {}).forEach(function (k) { add(plan.area_counts[k]); });
    return n;
  }
  function showCounts() {
    var codes = Object.keys(features), live = codes.filter(function (c) {
      return features[c].properties.status !== "remove";
    }).length;
    var n = plan ? plan.counts : { add: 0, change: 0, remove: 0 };
    $("plan-counts").textContent = live + " 个网格 / cells · 新增 " + n.add + " · 修改 " + n.change + " · 删除 " + n.remove;
  }
  function refresh(areasToo) {  // cell operations leave compounds and communities as they are
    return Promise.all([loadCells(), loadPlan(), areasToo ? loadAreas() : null]).then(validate);
  }

  /* ---- selection ---- */
  function select(code) {
    if (code === selected) { showCell(); return true; }
    if (dirty) {
      say((compound ? "小区 " + compound : "网格 " + selected) + " 的边界修改尚未保存：请先保存或放弃 / save or " +
        "discard the shape first", "err");
      return false;
    }
    var old = selected;
    stopEditing();
    if (code && compound) selectCompound(null);
    selected = code;
    mode = null;
    if (old) restyle(old);
    if (code) { restyle(code); byCode[code].bringToFront(); startEditing(); }
    showCell();
    return true;
  }
  function editable() {  // the one layer that gets vertex handles: the selected cell or the picked compound
    if (readonly || !mayWrite) return null;
    if (compound) return compounds[compound].properties.status === "remove" ? null : compoundLayers[compound];
    return selected && features[selected].properties.status !== "remove" ? byCode[selected] : null;
  }
  function startEditing() {
    var layer = editable();
    if (!layer) return;
    layer.pm.setOptions({ allowEditing: true });
    map.pm.enableGlobalEditMode(EDIT);  // = the toolbar's edit button; no other layer may be edited
  }
  function stopEditing() {
    if (map.pm.globalEditModeEnabled()) map.pm.disableGlobalEditMode();
    if (selected && byCode[selected]) byCode[selected].pm.setOptions({ allowEditing: false });
    if (compound && compoundLayers[compound]) compoundLayers[compound].pm.setOptions({ allowEditing: false });
  }
  function onCellClick(e) {
    if (map.pm.globalDrawModeEnabled()) return;  // drawing: the click places a vertex
    L.DomEvent.stopPropagation(e);
    var code = e.target.code;
    if (mode === "merge") { if (code !== selected) mergeWith(code); return; }
    select(code);
  }
  map.on("click", function (e) {
    if (map.pm.globalDrawModeEnabled()) return;
    var target = e.originalEvent && e.originalEvent.target;
    if (target && target.closest && target.closest(".leaflet-marker-icon")) return;  // a vertex handle
    if (mode === "merge") { mode = null; say("已取消合并 / merge cancelled"); updateButtons(); return; }
    if (compound) selectCompound(null);
    else select(null);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (map.pm.globalDrawModeEnabled()) { map.pm.disableDraw(); say(""); return; }
    if (pending) { cancelNew(); say(""); return; }
    if (mode) { mode = null; say(""); updateButtons(); return; }
    if (compound) { selectCompound(null); return; }
    if (picking) { setPicking(false); return; }
    select(null);
  });
  function onEdited(e) {
    if (compound || e.target.code !== selected) return;
    dirty = true;
    say("边界已修改，尚未保存 / the shape has unsaved changes", "warn");
    updateButtons();
  }

  function showCell() {
    var f = selected && features[selected];
    var empty = ed.loads > 0 && Object.keys(features).length === 0;
    $("cell-none").hidden = !!f || empty;
    $("cell-empty").hidden = !empty;
    $("cell-info").hidden = !f;
    $("remove-confirm").hidden = true;
    if (f) {
      var p = f.properties, s = STATUS[p.status] || STATUS.live;
      $("cell-code").textContent = p.code;
      $("cell-status").textContent = s.label;
      $("cell-status").className = "pe-badge pe-" + p.status;
      $("cell-name").value = p.name;
      $("cell-households").value = p.households;
    }
    updateButtons();
  }
  function updateButtons() {
    var f = selected && features[selected], st = f ? f.properties.status : null;
    var can = !readonly && mayWrite && !acting, shape = can && !!f && st !== "remove" && !dirty;
    var set = function (id, on) { $(id).disabled = !on; };
    set("save-attrs", can && !!f && st !== "remove");
    set("save-geom", can && dirty);
    set("discard-geom", can && dirty);
    set("split-line", shape);
    set("split-parts", shape);
    set("merge", shape && mode !== "merge");
    set("remove", shape);
    set("revert", can && !!f && st !== "live");
    set("commit", can);
    set("import-go", can);
    set("new-save", can && !!pending);
    set("validate", !acting);
    set("community-start", can && !dirty && !!$("community-pick").value);
    var cst = compound ? compounds[compound].properties.status : null;
    set("compound-save", can && !!compound && dirty);
    set("compound-discard", can && !!compound && dirty);
    set("compound-revert", can && !!compound && cst !== "live" && !dirty);
    $("cell-name").disabled = $("cell-households").disabled = readonly || !mayWrite || st === "remove";
  }

  /* ---- operations: each one saves to the draft, then reloads and validates ---- */
  // opts.areas: compounds / communities changed too (reload them); opts.failed(err): after the error is shown
  function act(method, path, body, done, opts) {
    if (acting) return Promise.resolve(null);
    opts = opts || {};
    acting = true;
    updateButtons();
    say("正在处理… / working…");
    return call(method, path, body)
      .then(function (res) {
        dirty = false;
        var text = typeof done === "function" ? done(res) : done;
        var warnings = (res && res.warnings) || [];
        return refresh(opts.areas).then(function () {
          say(text + (warnings.length ? "（" + warnings.length + " 条提示：" + warnings.join("；") + "）" : ""), "ok");
          return res;
        });
      })
      .catch(function (err) {
        selectAfter = compoundAfter = null;
        fail(err);
        if (opts.failed) opts.failed(err);
        return null;
      })
      .finally(function () { acting = false; startEditing(); updateButtons(); });
  }
  function households(res) {
    return Object.keys(res.households || {}).map(function (c) { return c + "：" + res.households[c] + " 户"; }).join("，");
  }

  $("save-attrs").onclick = function () {
    var f = features[selected], name = $("cell-name").value.trim(), typed = $("cell-households").value.trim();
    var hh = Number(typed);
    if (!name) { say("名称不能为空 / the name is empty", "err"); return; }
    if (!typed || !Number.isInteger(hh) || hh < 0) { say("户数必须是非负整数 / households must be a whole number", "err"); return; }
    var body = { code: selected, name: name, fit_neighbours: false, geometry: f.geometry };
    if (dirty) {  // save the edited shape too; households then follow the buildings unless typed in
      body.geometry = geometryOf(byCode[selected]);
      body.fit_neighbours = $("fit").checked;
      if (hh !== f.properties.households) body.households = hh;
    } else {
      body.households = hh;
    }
    act("POST", "/reshape", body, "已保存网格 " + selected + " 的名称和户数 / saved");
  };
  $("save-geom").onclick = function () {
    var body = { code: selected, geometry: geometryOf(byCode[selected]), fit_neighbours: $("fit").checked };
    act("POST", "/reshape", body, function (res) { return "边界已保存 / shape saved（" + households(res) + "）"; });
  };
  $("discard-geom").onclick = function () {
    dirty = false;
    loadCells().then(function () { say("已放弃边界修改 / discarded"); }).catch(fail);
  };
  $("split-line").onclick = function () {
    map.pm.enableDraw("Line", EDIT);
    say("画一条穿过网格 " + selected + " 的线，单击最后一点结束（Esc 取消）/ draw a line across the cell", "warn");
  };
  $("split-parts").onclick = function () {
    var parts = Number($("parts").value);
    if (!Number.isInteger(parts) || parts < 2 || parts > 20) { say("份数为 2–20 / parts: 2 to 20", "err"); return; }
    act("POST", "/split", { code: selected, parts: parts }, function (res) {
      return "已按户数拆分为 " + res.codes.length + " 个网格 / split：" + households(res);
    });
  };
  $("merge").onclick = function () {
    mode = "merge";
    updateButtons();
    say("点击要并入 " + selected + " 的相邻网格（Esc 取消）/ click the neighbouring cell to merge into it", "warn");
  };
  function mergeWith(code) {
    mode = null;
    var into = selected;
    act("POST", "/merge", { codes: [into, code] }, "已将 " + code + " 并入 " + into + " / merged");
  }
  $("remove").onclick = function () { $("remove-confirm").hidden = false; };
  $("remove-no").onclick = function () { $("remove-confirm").hidden = true; };
  $("remove-yes").onclick = function () {
    var code = selected;
    $("remove-confirm").hidden = true;
    act("DELETE", "/features/" + code, undefined, "已在方案中删除 " + code + "，请将其范围并入相邻网格 / removed");
  };
  $("revert").onclick = function () {
    var code = selected;
    act("POST", "/features/" + code + "/revert", undefined, "已撤销方案对 " + code + " 的修改 / reverted");
  };
  $("deselect").onclick = function () { select(null); };

  /* ---- communities: a plan starts on one (its live cells enter the draft) ---- */
  $("community-pick").onchange = updateButtons;
  $("community-start").onclick = function () {
    var code = $("community-pick").value;
    if (!code) return;
    if (dirty) { say("请先保存或放弃边界修改 / save or discard the shape first", "err"); return; }
    fitted = false;  // show the community's cells
    act("POST", "/communities", { code: code }, "已开始编辑 " + communityLabel(code) + "，其现行网格已进入草案 / " +
      "its live cells are in the draft", { areas: true });
  };

  /* ---- compounds (小区): outlines; pick one to see it, redraw its boundary or revert it ---- */
  function setPicking(on) {
    if (on === picking) return;
    if (!on && compound && !selectCompound(null)) return;
    if (on && !select(null)) return;
    picking = on;
    mode = null;
    if (on && !$("show-compounds").checked) { $("show-compounds").checked = true; overlay(compoundLayer, true); }
    map.getPane("pe-areas").classList.toggle("pe-picking", on);
    drawCompounds();
    $("compound-pick").textContent = on ? "结束选择小区 / stop picking" : "选择小区 / pick a compound";
    say(on ? "点击地图上的小区（Esc 结束）/ click a compound on the map" : "");
    updateButtons();
  }
  function selectCompound(code) {
    if (code === compound) return true;
    if (dirty) {
      say((compound ? "小区 " + compound : "网格 " + selected) + " 的边界修改尚未保存：请先保存或放弃 / save or " +
        "discard the shape first", "err");
      return false;
    }
    stopEditing();
    if (code && selected) select(null);
    var old = compound;
    compound = code;
    if (old && compoundLayers[old]) compoundLayers[old].setStyle(compoundStyle(old, compounds[old].properties.status));
    if (code) { compoundLayers[code].setStyle(compoundStyle(code, compounds[code].properties.status)); startEditing(); }
    showCompound();
    return true;
  }
  function onCompoundClick(e) {
    if (map.pm.globalDrawModeEnabled()) return;
    L.DomEvent.stopPropagation(e);
    selectCompound(e.target.code);
  }
  function showCompound() {
    var f = compound && compounds[compound];
    $("compound-info").hidden = !f;
    if (f) {
      var p = f.properties, s = STATUS[p.status] || STATUS.live;
      $("compound-code").textContent = p.code;
      $("compound-name").textContent = p.name;
      $("compound-status").textContent = s.label;
      $("compound-status").className = "pe-badge pe-" + p.status;
      $("compound-households").textContent = p.households === undefined || p.households === null ? "—" : p.households;
    }
    $("compound-count").textContent = Object.keys(compounds).length;
    updateButtons();
  }
  $("compound-pick").onclick = function () { setPicking(!picking); };
  $("compound-done").onclick = function () { selectCompound(null); };
  $("compound-save").onclick = function () {
    var code = compound;
    compoundAfter = code;
    act("PUT", "/areas/compound/" + encodeURIComponent(code), { geometry: geometryOf(compoundLayers[code]) },
      "已保存小区 " + code + " 的边界 / compound saved", { areas: true });
  };
  $("compound-discard").onclick = function () {
    dirty = false;
    stopEditing();
    drawCompounds();
    startEditing();
    showCompound();
    say("已放弃小区边界修改 / discarded");
  };
  $("compound-revert").onclick = function () {
    var code = compound;
    compoundAfter = code;
    act("POST", "/areas/compound/" + encodeURIComponent(code) + "/revert", undefined,
      "已撤销方案对小区 " + code + " 的修改 / reverted", { areas: true });
  };

  /* ---- drawing: a new cell (polygon) or a split line ---- */
  map.on("pm:create", function (e) {
    if (readonly || !mayWrite) { map.removeLayer(e.layer); return; }
    if (e.shape === "Line") splitByLine(e.layer);
    else if (e.shape === "Polygon") newCell(e.layer);
    else map.removeLayer(e.layer);
  });
  map.on("pm:drawend", function () { if (!acting) startEditing(); });

  function splitByLine(layer) {
    var latlngs = layer.getLatLngs(), line = outwards(latlngs);
    map.removeLayer(layer);
    var code = selected && features[selected].properties.status !== "remove" ? selected : cellAt(halfway(latlngs));
    if (!code) { say("线没有穿过网格 / the line crosses no cell", "err"); return; }
    if (dirty) { say("请先保存或放弃边界修改 / save or discard the shape first", "err"); return; }
    selectAfter = code;  // the largest piece keeps the code
    act("POST", "/split", { code: code, line: line }, function (res) {
      return "已将 " + code + " 切分为 " + res.codes.join("、") + " / split（" + households(res) + "）";
    });
  }
  function newCell(layer) {
    if (pending) map.removeLayer(pending);
    pending = layer;
    layer.setStyle({ color: STATUS.add.colour, weight: 3, dashArray: "5 4", fillOpacity: 0.2 });
    var ring = layer.getLatLngs()[0];
    var under = cellAt(layer.getBounds().getCenter()) || cellAt(ring[0]) || selected;
    var community = under ? under.slice(0, 12) : plan && plan.communities.length ? plan.communities[0] : "";
    suggestCode(community);
    $("new-name").value = "";
    $("new-card").hidden = false;
    updateButtons();
    say("填写新网格的编码和名称，再点“创建网格” / enter the code and name, then create", "warn");
  }
  function cancelNew() {
    if (pending) map.removeLayer(pending);
    pending = null;
    $("new-card").hidden = true;
    updateButtons();
  }
  function suggestCode(community) {  // a fresh code from the server: never one a live or retired cell had
    var field = $("new-code");
    field.value = "";
    field.placeholder = community ? "正在取新编码… / fetching a fresh code" : "15 位编码 / 15 digits";
    if (!community) return;
    var asked = pending;
    call("GET", "/next-codes?community=" + encodeURIComponent(community) + "&n=1").then(function (r) {
      if (pending === asked && !field.value) field.value = r.codes[0];
    }).catch(fail).finally(function () { field.placeholder = "15 位编码 / 15 digits"; });
  }
  $("new-cancel").onclick = function () { cancelNew(); say(""); };
  $("new-save").onclick = function () {
    var code = $("new-code").value.trim(), name = $("new-name").value.trim();
    if (!/^[0-9]{15}$/.test(code)) { say("编码必须是15位数字 / the code must be 15 digits", "err"); return; }
    if (features[code]) { say("编码 " + code + " 已存在 / the code is taken", "err"); return; }
    if (dirty) { say("请先保存或放弃选中网格的边界修改 / save or discard the shape first", "err"); return; }
    var body = { code: code, geometry: geometryOf(pending), fit_neighbours: $("new-fit").checked };
    if (name) body.name = name;
    selectAfter = code;
    act("POST", "/reshape", body, "已创建网格 " + code + " / cell created", { failed: function (err) {
      var free = err.body && err.body.detail && err.body.detail.next_free;
      if (!free || !pending) return;
      $("new-code").value = free;  // the code was a retired cell's: offer the server's fresh one
      say(err.message + "（已改填 " + free + "，请再点“创建网格” / the form now holds " + free + "）", "err");
    } }).then(function (res) {
      if (res) cancelNew();
    });
  };

  function outwards(latlngs) {
    // a line snapped onto the cell's edge ends on it, not across it: push both ends ~1 m further out
    var xy = latlngs.map(function (ll) { return fromMap(ll.lng, ll.lat); }), n = xy.length;
    var push = function (from, to) {
      var dx = to[0] - from[0], dy = to[1] - from[1], len = Math.sqrt(dx * dx + dy * dy);
      return len ? [to[0] + (dx / len) * 1e-5, to[1] + (dy / len) * 1e-5] : to;
    };
    if (n >= 2) { xy[n - 1] = push(xy[n - 2], xy[n - 1]); xy[0] = push(xy[1], xy[0]); }
    return { type: "LineString", coordinates: xy };
  }
  function cellAt(latlng) {
    var found = null;
    Object.keys(byCode).some(function (code) {
      var layer = byCode[code];
      if (features[code].properties.status === "remove" || !layer.getBounds().contains(latlng)) return false;
      if (inside(latlng, layer.getLatLngs())) found = code;
      return !!found;
    });
    return found;
  }
  function inside(ll, rings) {  // even-odd rule over every ring of every part
    var hit = false;
    (function walk(arr) {
      if (arr.length && arr[0] instanceof L.LatLng) {
        for (var i = 0, j = arr.length - 1; i < arr.length; j = i++) {
          var a = arr[i], b = arr[j];
          if ((a.lat > ll.lat) !== (b.lat > ll.lat) &&
              ll.lng < ((b.lng - a.lng) * (ll.lat - a.lat)) / (b.lat - a.lat) + a.lng) hit = !hit;
        }
      } else arr.forEach(walk);
    })(rings);
    return hit;
  }
  function halfway(latlngs) {  // the point half way along a line
    var total = 0, i;
    for (i = 1; i < latlngs.length; i++) total += latlngs[i - 1].distanceTo(latlngs[i]);
    var left = total / 2;
    for (i = 1; i < latlngs.length; i++) {
      var d = latlngs[i - 1].distanceTo(latlngs[i]);
      if (d >= left && d > 0) {
        var k = left / d, a = latlngs[i - 1], b = latlngs[i];
        return L.latLng(a.lat + (b.lat - a.lat) * k, a.lng + (b.lng - a.lng) * k);
      }
      left -= d;
    }
    return latlngs[0];
  }

  /* ---- validation ---- */
  function validate() {
    return call("POST", "/validate").then(function (fc) {
      problems.clearLayers();
      items = [];
      var list = $("problems");
      list.innerHTML = "";
      var sorted = fc.features.slice().sort(function (a, b) {
        return (a.properties.severity === "error" ? 0 : 1) - (b.properties.severity === "error" ? 0 : 1);
      });
      sorted.forEach(function (f) {
        var p = f.properties, err = p.severity === "error", colour = err ? ERROR : WARNING, layer = null;
        if (f.geometry) {
          var style = { color: colour, weight: err ? 3 : 2, dashArray: err ? null : "4 3", fillColor: colour,
            fillOpacity: err ? 0.45 : 0.12 };
          layer = L.geoJSON(f, {
            coordsToLatLng: toMap, interactive: false, pmIgnore: true, snapIgnore: true, style: style,
            pointToLayer: function (_f, ll) {
              return L.circleMarker(ll, { radius: 7, color: colour, fillOpacity: 0.6, interactive: false,
                pmIgnore: true, snapIgnore: true });
            },
          });
          problems.addLayer(layer);
        }
        var li = document.createElement("li");
        li.className = err ? "pe-err" : "pe-warn";
        li.textContent = (err ? "✖ " : "⚠ ") + p.message;
        li.setAttribute("data-kind", p.kind);
        li.onclick = function () { focusProblem(f, layer, li); };
        list.appendChild(li);
        items.push({ li: li, layer: layer, err: err });
      });
      var s = fc.summary, el = $("summary");
      var warn = s.warnings ? "（" + s.warnings + " 个提示 / warnings）" : "";
      if (readonly && plan && plan.status !== "draft") el.textContent = "方案已提交，仅供查看 / committed" + warn;
      else if (!changes()) el.textContent = "方案还没有修改，无需提交 / nothing to commit yet" + warn;
      else el.textContent = s.ok ? "可以提交 / ready to commit" + warn : s.errors + " 个错误，不能提交 / errors" + warn;
      el.className = s.ok ? "pe-ok" : "pe-err";
      showWarnings();
      ed.validations++;
    });
  }
  function showWarnings() {
    var on = $("show-warnings").checked;
    items.forEach(function (it) {
      if (it.err) return;
      it.li.classList.toggle("pe-hidden", !on);
      if (it.layer) { if (on) problems.addLayer(it.layer); else problems.removeLayer(it.layer); }
    });
  }
  $("show-warnings").onchange = showWarnings;
  $("validate").onclick = function () {
    validate().then(function () { say("已校验 / validated", "ok"); }).catch(fail);
  };
  function focusProblem(f, layer, li) {
    var p = f.properties, cellsOf = p.cells || [];
    items.forEach(function (it) { it.li.style.background = ""; });
    li.style.background = "#fff3e0";
    if (cellsOf.length === 1 && byCode[cellsOf[0]] && cellsOf[0] !== selected && !dirty) select(cellsOf[0]);
    if (layer && f.geometry.type !== "Point") {
      map.fitBounds(layer.getBounds().pad(0.6), { maxZoom: 19 });
      layer.setStyle({ weight: 6 });
      setTimeout(function () { layer.setStyle({ weight: p.severity === "error" ? 3 : 2 }); }, 1500);
    } else if (layer || p.location) {
      var ll = layer ? layer.getBounds().getCenter() : toMap(p.location);
      map.setView(ll, Math.max(map.getZoom(), 18));
    } else if (cellsOf.length && byCode[cellsOf[0]]) {
      map.fitBounds(byCode[cellsOf[0]].getBounds(), { maxZoom: 19 });
    }
  }

  /* ---- commit ---- */
  $("commit").onclick = function () {
    var message = $("commit-message").value.trim(), out = $("commit-result");
    if (!message) {
      out.innerHTML = "<div class='pe-err'>提交说明不能为空 / a commit needs a message saying why the cells change</div>";
      return;
    }
    if (dirty) { out.innerHTML = "<div class='pe-err'>请先保存或放弃边界修改 / save or discard the shape first</div>"; return; }
    acting = true;
    updateButtons();
    out.textContent = "正在提交… / committing…";
    call("POST", "/commit", { message: message })
      .then(function (report) {
        out.innerHTML = "";
        $("commit-report").innerHTML = reportHtml(report);
        say("方案已提交 / committed", "ok");
        return refresh(true);
      })
      .catch(function (err) { out.innerHTML = "<div class='pe-err'>" + esc(err.message) + "</div>"; })
      .finally(function () { acting = false; updateButtons(); });
  };
  function reportHtml(r) {
    var moved = Object.keys(r.moved || {}).map(function (k) {
      return esc(movedLabel(k)) + " " + esc(r.moved[k].count);
    }).join(" · ");
    var staff = (r.staff_to_reassign || []).length ?
      "<li>需重新安排网格员 / staff to reassign：" + esc(r.staff_to_reassign.join("、")) + "</li>" : "";
    return "<div class='pe-report' id='commit-report-body'><b>提交报告 / commit report</b><ul>" +
      "<li>新开版本 / versions opened：" + esc(r.versions_opened) + "</li>" +
      "<li>关闭版本 / versions closed：" + esc(r.versions_closed) + "</li>" +
      "<li>新增 " + esc((r.added || []).length) + "、修改 " + esc((r.changed || []).length) + "、删除 " +
      esc((r.removed || []).length) + " 个网格</li>" +
      "<li>重新归属 / moved：" + (moved || "无 / none") + "</li>" + staff + "</ul></div>";
  }
  function setReadonly(on) {
    readonly = on;
    document.body.classList.toggle("pe-readonly", on);
    if (on) {
      map.pm.disableDraw();
      stopEditing();
      map.pm.removeControls();
      cancelNew();
      mode = null;
      var c = plan && plan.commit;
      $("committed-text").textContent = plan && plan.status === "committed" ?
        "方案已提交" + (c ? "（" + shanghai(c.committed_at) + "：" + c.message + "）" : "") +
        "，只能查看 / committed: read-only" : "方案已废弃，只能查看 / abandoned: read-only";
      $("committed").hidden = false;
      if (c && !$("commit-report").innerHTML) {
        call("GET", "/v1/plans/history").then(function (entries) {
          var mine = entries.filter(function (e) { return e.plan_id === plan.id; })[0];
          if (mine && !$("commit-report").innerHTML) $("commit-report").innerHTML = reportHtml(mine.report);
        }).catch(function () {});
      }
    }
    updateButtons();
  }

  /* ---- file import, with progress ---- */
  $("import-form").onsubmit = function (e) {
    e.preventDefault();
    if (dirty) { say("请先保存或放弃边界修改 / save or discard the shape first", "err"); return; }
    var form = new FormData($("import-form"));
    ["crs", "mapping"].forEach(function (k) { if (!String(form.get(k) || "").trim()) form.delete(k); });
    var bar = $("import-bar"), out = $("import-result");
    acting = true;
    updateButtons();
    out.innerHTML = "";
    $("import-progress").hidden = false;
    bar.removeAttribute("value");
    $("import-stage").textContent = "上传中 / uploading";
    call("POST", "/imports", form)
      .then(poll)
      .then(function (job) {
        out.innerHTML = importHtml(job);
        $("import-file").value = "";
        return refresh(true).then(function () { say("导入完成 / imported", "ok"); });
      })
      .catch(function (err) {
        var detail = err.body && Array.isArray(err.body.detail) ? err.body.detail.slice(0, 10) : [];
        out.innerHTML = "<div class='pe-err'>" + esc(err.message) + "</div>" + (detail.length ? "<ul class='pe-err'>" +
          detail.map(function (d) { return "<li>" + esc(typeof d === "string" ? d : JSON.stringify(d)) + "</li>"; })
            .join("") + "</ul>" : "");
      })
      .finally(function () { acting = false; updateButtons(); });
  };
  function poll(job) {
    var bar = $("import-bar");
    bar.max = job.total || 1;
    if (job.total) bar.value = job.done; else bar.removeAttribute("value");
    if (job.status === "done") bar.value = bar.max;
    $("import-stage").textContent = (STAGES[job.stage] || job.stage) + (job.total ? "：" + job.done + " / " + job.total : "");
    if (job.status === "done") return job;
    if (job.status === "failed") {
      var e = job.error || {};
      throw { message: e.message || "导入失败 / the import failed", body: e };
    }
    return new Promise(function (resolve) { setTimeout(resolve, 300); })
      .then(function () { return call("GET", job.status_url); })
      .then(poll);
  }
  var LAYERS = { cell: "网格 / cells", compound: "小区 / compounds", community: "社区 / communities" };
  function importHtml(job) {
    var r = job.report || {}, n = function (k) { return esc((r[k] || []).length); };
    var warnings = (r.warnings || []).map(function (w) { return "<li class='pe-warn'>" + esc(w) + "</li>"; }).join("");
    return "<div class='pe-report' id='import-report'><b>导入完成 / imported</b>：" + esc(job.filename) + "（" +
      esc(r.format) + "，" + esc(r.source_crs) + "）<ul><li>图层 / layer：" + esc(LAYERS[r.layer] || r.layer) +
      (r.attributes_only ? "（属性表，只更新属性 / attribute table: attributes only）" : "") + "</li>" +
      "<li>要素 / features：" + esc(r.features) + "</li>" +
      "<li>新增 " + n("added") + "、修改 " + n("changed") + "、未变 " + n("unchanged") + "、删除 " + n("removed") +
      "</li></ul>" + (warnings ? "<b>提示 / warnings</b><ul>" + warnings + "</ul>" : "") + "</div>";
  }

  /* ---- log in, then start ---- */
  function showLogin(on) { $("login-card").hidden = !on; }
  $("login").onsubmit = function (e) {
    e.preventDefault();
    var form = e.target;
    fetch("/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: form.username.value, password: form.password.value }),
    })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { say(res.body.message || "登录失败 / login failed", "err"); return; }
        localStorage.setItem(TOKEN_KEY, res.body.access_token);
        form.password.value = "";
        showLogin(false);
        say("");
        start();
      })
      .catch(function () { say("无法连接服务器 / cannot reach the server", "err"); });
  };
  function start() {
    call("GET", "/v1/auth/me")
      .then(function (me) {
        mayWrite = WRITERS.indexOf(me.role) >= 0;
        if (!mayWrite) {
          map.pm.removeControls();
          document.body.classList.add("pe-readonly");
          say("只读：修改方案需要规划员或管理员权限 / read-only: planners and admins edit plans", "warn");
        }
        loadCommunities();  // the picker; its failure is shown in its card
        return Promise.all([loadPlan(), loadCells(), loadAreas()]);
      })
      .then(validate)
      .then(function () { ed.ready = true; })
      .catch(fail);
  }
  showCell();
  if (localStorage.getItem(TOKEN_KEY)) start(); else showLogin(true);
})();
