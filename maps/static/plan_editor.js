/* Plan editor (/plans/{id}/edit) for planners (规划员): the core. Loaded by maps/templates/plan_editor.html after
   gg_auth.js (the token, gg.api with its 401 → log-in, gg.loginForm), then
   plan_cells.js (the selected cell's card, its operations, drawing), plan_areas.js (compounds and communities)
   and plan_panels.js (validation, commit, import); all long-cached assets (/assets/gridgov@<hash>/…, allow-listed
   in maps/assets.py). window.PLAN_EDITOR is the page's config.

   The files share one object, window.planEditor (`ed`): the state the browser tests read (ready, busy, loads,
   validations, map, toMap), the editor's state in ed.state (the plan, the cells, the selection, what is in
   progress), and the few functions one file calls in another. This file holds the coordinates (WGS84, or GCJ-02
   over a 高德 basemap: every vertex shown shifted and sent back in WGS84, unchanged ones exactly), the JSON API
   (gg.api: the token the map pages keep, a link's #token=…), the map with the geoman toolbar and
   the cells, loading, selection (only the selected cell gets vertex handles, snapping to its neighbours), the
   operation runner (save to the draft, reload, validate), log-in and start. */
(function () {
  "use strict";
  var gg = window.gg, CFG = window.PLAN_EDITOR, API = CFG.api;
  var $ = function (id) { return document.getElementById(id); };
  // state the browser tests read: ready after the first load, busy = requests in flight
  var ed = (window.planEditor = { ready: false, busy: 0, validations: 0, loads: 0, areaLoads: 0 });
  // the editor's state, read and written by every plan_*.js: the plan, its cells (GeoJSON features and map
  // layers by code), the selected cell, unsaved vertex edits, the mode (merge), the new cell being drawn, …
  var S = (ed.state = {
    plan: null, features: {}, byCode: {}, selected: null, selectAfter: null, dirty: false, mode: null,
    pending: null, readonly: false, mayWrite: true, acting: false, fitted: false,
    // compounds (plan_areas.js): drafted features and their layers by code, the picked one, whether a click picks
    compounds: {}, compoundLayers: {}, compound: null, compoundAfter: null, picking: false,
  });

  var STATUS = (ed.STATUS = {
    live: { label: "现行 / live", colour: "#616161" },
    add: { label: "新增 / added", colour: "#2e7d32" },
    change: { label: "修改 / changed", colour: "#1565c0" },
    remove: { label: "删除 / removed", colour: "#b71c1c" },
  });
  var PLAN_STATUS = { draft: "草案 / draft", committed: "已提交 / committed", abandoned: "已废弃 / abandoned" };
  var COLOUR = (ed.COLOUR = {
    selected: "#ff6f00", error: "#d50000", warning: "#ef6c00", compound: "#8e24aa", community: "#263238",
  });
  var WRITERS = ["planner", "admin"];
  var EDIT = (ed.EDIT = { snappable: true, snapDistance: 15, allowSelfIntersection: false, draggable: false });

  /* ---- display coordinates: WGS84, or GCJ-02 over a 高德 basemap ---- */
  var GCJ = (CFG.basemap || {}).crs === "gcj02";
  var shown = new Map();  // "lng,lat" on the map -> the WGS84 position it shows: unchanged vertices go back exactly
  function wgsToGcj(lon, lat) {  // the published GCJ-02 offset (as gis.crs / prcoords); as-is outside China
    if (lat < 0.8293 || lat > 55.8271 || lon < 72.004 || lon > 137.8347) return [lon, lat];
    var x = lon - 105, y = lat - 35, PI = Math.PI, A = 6378245, EE = 0.006693421622965943;
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
  ed.coordsToLatLng = toMap;
  ed.fromMap = fromMap;
  ed.geometryOf = geometryOf;
  ed.toMap = function (lon, lat) { var ll = toMap([lon, lat]); return [ll.lng, ll.lat]; };

  var esc = gg.esc;
  function say(text, kind) {
    var el = $("status");
    el.textContent = text || "";
    el.className = kind ? "pe-" + kind : "";
  }
  function fail(err) { say((err && err.message) || String(err), "err"); }
  ed.$ = $;
  ed.esc = esc;
  ed.say = say;
  ed.fail = fail;

  /* ---- the JSON API: gg.api on the plan's URLs (a path not under /v1/ is the plan's), counted in ed.busy ---- */
  function call(method, path, body) {
    ed.busy++;
    return gg.api(method, path.indexOf("/v1/") === 0 ? path : API + path, body).finally(function () { ed.busy--; });
  }
  ed.call = call;

  /* ---- the map, the toolbar, the cells, the legend ---- */
  var map = (ed.map = L.map("map", { zoomSnap: 0.5, maxZoom: 21 }));
  map.setView([35, 105], 4);  // China, until the plan's cells are loaded (a new plan has none)
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  ((CFG.basemap || {}).tiles || []).forEach(function (t) {  // the configured basemap (none: no tiles, no requests)
    L.tileLayer(t.url, { attribution: t.attribution, subdomains: t.subdomains, maxNativeZoom: t.maxZoom, maxZoom: 21 })
      .addTo(map);
  });
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

  var cells = (ed.cells = L.geoJSON(null, {
    coordsToLatLng: toMap,
    style: function (f) { return styleOf(f.properties.code, f.properties.status); },
    onEachFeature: function (f, layer) {
      var code = f.properties.code;
      S.features[code] = f;
      S.byCode[code] = layer;
      layer.code = code;
      layer.options.className = "pe-cell pe-cell-" + code;  // before the path exists: tests and styling find it
      layer.pm.setOptions({ allowEditing: false });  // only the selected cell gets vertex handles
      layer.bindTooltip(esc(code.slice(12)), { permanent: true, direction: "center", className: "pe-label" });
      layer.on("click", onCellClick);
      layer.on("pm:edit", onEdited);
    },
  }).addTo(map));

  function styleOf(code, status) {
    var s = STATUS[status] || STATUS.live, on = code === S.selected;
    return {
      color: on ? COLOUR.selected : s.colour,
      weight: on ? 4 : status === "live" ? 1.5 : 2.5,
      dashArray: status === "remove" ? "6 5" : null,
      fillColor: s.colour,
      fillOpacity: status === "remove" ? 0.03 : on ? 0.28 : status === "live" ? 0.06 : 0.16,
    };
  }
  function restyle(code) {
    if (S.byCode[code]) S.byCode[code].setStyle(styleOf(code, S.features[code].properties.status));
  }

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {  // the two checkboxes show and hide the areas' outlines (plan_areas.js)
    var div = L.DomUtil.create("details", "pe-legend");
    div.open = window.innerWidth > 800;  // on a phone the legend would hide the cells: closed until asked
    var row = function (fill, stroke, label, dashed) {
      return "<div class='gg-row'><span class='gg-swatch' style='background:" + fill + ";border-color:" + stroke +
        (dashed ? ";border-style:dashed" : "") + "'></span>" + esc(label) + "</div>";
    };
    div.innerHTML = "<summary>图例 / legend</summary>" + Object.keys(STATUS).map(function (k) {
      return row(STATUS[k].colour + "33", STATUS[k].colour, STATUS[k].label, k === "remove");
    }).join("") + row(COLOUR.selected + "44", COLOUR.selected, "选中 / selected") +
      row(COLOUR.error + "66", COLOUR.error, "错误 / error") +
      row(COLOUR.warning + "33", COLOUR.warning, "提示 / warning", true) +
      "<label class='gg-row'><input type='checkbox' id='show-compounds' checked>" +
      "<span class='gg-swatch' style='background:transparent;border-color:" + COLOUR.compound + "'></span>" +
      "小区 / compounds</label>" +
      "<label class='gg-row'><input type='checkbox' id='show-communities' checked>" +
      "<span class='gg-swatch' style='background:transparent;border-color:" + COLOUR.community +
      ";border-style:dashed'></span>社区 / communities</label>";
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  legend.addTo(map);
  map.on("zoomend", function () { map.getContainer().classList.toggle("pe-small-labels", map.getZoom() < 15); });

  /* ---- loading ---- */
  function loadPlan() {
    return call("GET", "").then(function (p) {
      S.plan = p;
      ed.showCommunities();
      $("plan-name").textContent = p.name;
      $("plan-status").textContent = PLAN_STATUS[p.status] || p.status;
      showCounts();
      if (p.status !== "draft" && !S.readonly) ed.setReadonly(true);
    });
  }
  function loadCells() {
    return call("GET", "/features?scope=draft").then(function (fc) {
      var keep = S.selectAfter || S.selected;
      S.selectAfter = null;
      stopEditing();
      S.selected = null;
      S.dirty = false;
      S.features = {};
      S.byCode = {};
      cells.clearLayers();
      cells.addData(fc);
      if (!S.fitted && fc.features.length) { map.fitBounds(cells.getBounds(), { padding: [10, 10] }); S.fitted = true; }
      ed.loads++;
      showCounts();
      select(keep && S.features[keep] ? keep : null);
    });
  }
  ed.loadCells = loadCells;
  ed.changes = function () {  // cells (and compounds / communities) the plan adds, changes or removes
    if (!S.plan) return 0;
    var n = 0, add = function (c) { Object.keys(c || {}).forEach(function (k) { n += c[k]; }); };
    add(S.plan.counts);
    Object.keys(S.plan.area_counts || {}).forEach(function (k) { add(S.plan.area_counts[k]); });
    return n;
  };
  function showCounts() {
    var codes = Object.keys(S.features), live = codes.filter(function (c) {
      return S.features[c].properties.status !== "remove";
    }).length;
    var n = S.plan ? S.plan.counts : { add: 0, change: 0, remove: 0 };
    $("plan-counts").textContent = live + " 个网格 / cells · 新增 " + n.add + " · 修改 " + n.change + " · 删除 " + n.remove;
  }
  function refresh(areasToo) {  // cell operations leave compounds and communities as they are
    return Promise.all([loadCells(), loadPlan(), areasToo ? ed.loadAreas() : null]).then(ed.validate);
  }
  ed.refresh = refresh;

  /* ---- selection: one cell (here) or one compound (plan_areas.js) at a time ---- */
  function select(code) {
    if (code === S.selected) { ed.showCell(); return true; }
    if (S.dirty) {
      say((S.compound ? "小区 " + S.compound : "网格 " + S.selected) + " 的边界修改尚未保存：请先保存或放弃 / save or " +
        "discard the shape first", "err");
      return false;
    }
    var old = S.selected;
    stopEditing();
    if (code && S.compound) ed.selectCompound(null);
    S.selected = code;
    S.mode = null;
    if (old) restyle(old);
    if (code) { restyle(code); S.byCode[code].bringToFront(); startEditing(); }
    ed.showCell();
    return true;
  }
  ed.select = select;
  function editable() {  // the one layer that gets vertex handles: the selected cell or the picked compound
    if (S.readonly || !S.mayWrite) return null;
    if (S.compound) return S.compounds[S.compound].properties.status === "remove" ? null : S.compoundLayers[S.compound];
    return S.selected && S.features[S.selected].properties.status !== "remove" ? S.byCode[S.selected] : null;
  }
  function startEditing() {
    var layer = editable();
    if (!layer) return;
    layer.pm.setOptions({ allowEditing: true });
    map.pm.enableGlobalEditMode(EDIT);  // = the toolbar's edit button; no other layer may be edited
  }
  function stopEditing() {
    if (map.pm.globalEditModeEnabled()) map.pm.disableGlobalEditMode();
    if (S.selected && S.byCode[S.selected]) S.byCode[S.selected].pm.setOptions({ allowEditing: false });
    if (S.compound && S.compoundLayers[S.compound]) S.compoundLayers[S.compound].pm.setOptions({ allowEditing: false });
  }
  ed.startEditing = startEditing;
  ed.stopEditing = stopEditing;
  function onCellClick(e) {
    if (map.pm.globalDrawModeEnabled()) return;  // drawing: the click places a vertex
    L.DomEvent.stopPropagation(e);
    var code = e.target.code;
    if (S.mode === "merge") { if (code !== S.selected) ed.mergeWith(code); return; }
    select(code);
  }
  map.on("click", function (e) {
    if (map.pm.globalDrawModeEnabled()) return;
    var target = e.originalEvent && e.originalEvent.target;
    if (target && target.closest && target.closest(".leaflet-marker-icon")) return;  // a vertex handle
    if (S.mode === "merge") { S.mode = null; say("已取消合并 / merge cancelled"); updateButtons(); return; }
    if (S.compound) ed.selectCompound(null);
    else select(null);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (map.pm.globalDrawModeEnabled()) { map.pm.disableDraw(); say(""); return; }
    if (S.pending) { ed.cancelNew(); say(""); return; }
    if (S.mode) { S.mode = null; say(""); updateButtons(); return; }
    if (S.compound) { ed.selectCompound(null); return; }
    if (S.picking) { ed.setPicking(false); return; }
    select(null);
  });
  function onEdited(e) {
    if (S.compound || e.target.code !== S.selected) return;
    S.dirty = true;
    say("边界已修改，尚未保存 / the shape has unsaved changes", "warn");
    updateButtons();
  }

  function updateButtons() {  // every button of the panel, from the state
    var f = S.selected && S.features[S.selected], st = f ? f.properties.status : null;
    var can = !S.readonly && S.mayWrite && !S.acting, shape = can && !!f && st !== "remove" && !S.dirty;
    var set = function (id, on) { $(id).disabled = !on; };
    set("save-attrs", can && !!f && st !== "remove");
    set("save-geom", can && S.dirty);
    set("discard-geom", can && S.dirty);
    set("split-line", shape);
    set("split-parts", shape);
    set("merge", shape && S.mode !== "merge");
    set("remove", shape);
    set("revert", can && !!f && st !== "live");
    set("commit", can);
    set("import-go", can);
    set("new-save", can && !!S.pending);
    set("validate", !S.acting);
    set("community-start", can && !S.dirty && !!$("community-pick").value);
    var cst = S.compound ? S.compounds[S.compound].properties.status : null;
    set("compound-save", can && !!S.compound && S.dirty);
    set("compound-discard", can && !!S.compound && S.dirty);
    set("compound-revert", can && !!S.compound && cst !== "live" && !S.dirty);
    $("cell-name").disabled = $("cell-households").disabled = S.readonly || !S.mayWrite || st === "remove";
  }
  ed.updateButtons = updateButtons;

  /* ---- operations: each one saves to the draft, then reloads and validates ---- */
  // opts.areas: compounds / communities changed too (reload them); opts.failed(err): after the error is shown
  ed.act = function (method, path, body, done, opts) {
    if (S.acting) return Promise.resolve(null);
    opts = opts || {};
    S.acting = true;
    updateButtons();
    say("正在处理… / working…");
    return call(method, path, body)
      .then(function (res) {
        S.dirty = false;
        var text = typeof done === "function" ? done(res) : done;
        var warnings = (res && res.warnings) || [];
        return refresh(opts.areas).then(function () {
          say(text + (warnings.length ? "（" + warnings.length + " 条提示：" + warnings.join("；") + "）" : ""), "ok");
          return res;
        });
      })
      .catch(function (err) {
        S.selectAfter = S.compoundAfter = null;
        fail(err);
        if (opts.failed) opts.failed(err);
        return null;
      })
      .finally(function () { S.acting = false; startEditing(); updateButtons(); });
  };

  /* ---- log in, then start ---- */
  gg.showLogin = function (on) { $("login-card").hidden = !on; };  // the editor's own log-in card
  gg.loginForm($("login"), function () {
    gg.showLogin(false);
    say("");
    start();
  }, function (text) { say(text, "err"); }, { failed: "登录失败 / login failed", offline: "无法连接服务器 / cannot reach the server" });
  function start() {
    call("GET", "/v1/auth/me")
      .then(function (me) {
        S.mayWrite = WRITERS.indexOf(me.role) >= 0;
        if (!S.mayWrite) {
          map.pm.removeControls();
          document.body.classList.add("pe-readonly");
          say("只读：修改方案需要规划员或管理员权限 / read-only: planners and admins edit plans", "warn");
        }
        ed.loadCommunities();  // the picker; its failure is shown in its card
        return Promise.all([loadPlan(), loadCells(), ed.loadAreas()]);
      })
      .then(ed.validate)
      .then(function () { ed.ready = true; })
      .catch(fail);
  }
  // the page's other plan_*.js are loaded after this one (in order, at the end of <body>): they have all run
  // before DOMContentLoaded, so everything they add to `ed` is there when the editor starts
  document.addEventListener("DOMContentLoaded", function () {
    ed.showCell();
    if (gg.token()) start(); else gg.showLogin(true);
  });
})();
