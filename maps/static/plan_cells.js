/* Plan editor: the selected cell's card and what a planner does to cells (loaded after plan_editor.js, which
   holds the shared state `ed.state`). From the panel: save the shape or the name and households, split by a
   drawn line or into k parts by households, merge with a clicked neighbour, remove, revert. With the geoman
   toolbar: draw a new cell (its code a fresh one from the server, never a retired cell's) or a split line. */
(function () {
  "use strict";
  var ed = window.planEditor, S = ed.state, $ = ed.$, map = ed.map, say = ed.say, fail = ed.fail, act = ed.act;
  var updateButtons = ed.updateButtons;

  ed.showCell = function () {
    var f = S.selected && S.features[S.selected];
    var empty = ed.loads > 0 && Object.keys(S.features).length === 0;
    $("cell-none").hidden = !!f || empty;
    $("cell-empty").hidden = !empty;
    $("cell-info").hidden = !f;
    $("remove-confirm").hidden = true;
    if (f) {
      var p = f.properties, s = ed.STATUS[p.status] || ed.STATUS.live;
      $("cell-code").textContent = p.code;
      $("cell-status").textContent = s.label;
      $("cell-status").className = "pe-badge pe-" + p.status;
      $("cell-name").value = p.name;
      $("cell-households").value = p.households;
    }
    updateButtons();
  };

  /* ---- operations on the selected cell ---- */
  function households(res) {
    return Object.keys(res.households || {}).map(function (c) { return c + "：" + res.households[c] + " 户"; }).join("，");
  }

  $("save-attrs").onclick = function () {
    var f = S.features[S.selected], name = $("cell-name").value.trim(), typed = $("cell-households").value.trim();
    var hh = Number(typed);
    if (!name) { say("名称不能为空 / the name is empty", "err"); return; }
    if (!typed || !Number.isInteger(hh) || hh < 0) { say("户数必须是非负整数 / households must be a whole number", "err"); return; }
    var body = { code: S.selected, name: name, fit_neighbours: false, geometry: f.geometry };
    if (S.dirty) {  // save the edited shape too; households then follow the buildings unless typed in
      body.geometry = ed.geometryOf(S.byCode[S.selected]);
      body.fit_neighbours = $("fit").checked;
      if (hh !== f.properties.households) body.households = hh;
    } else {
      body.households = hh;
    }
    act("POST", "/reshape", body, "已保存网格 " + S.selected + " 的名称和户数 / saved");
  };
  $("save-geom").onclick = function () {
    var body = { code: S.selected, geometry: ed.geometryOf(S.byCode[S.selected]), fit_neighbours: $("fit").checked };
    act("POST", "/reshape", body, function (res) { return "边界已保存 / shape saved（" + households(res) + "）"; });
  };
  $("discard-geom").onclick = function () {
    S.dirty = false;
    ed.loadCells().then(function () { say("已放弃边界修改 / discarded"); }).catch(fail);
  };
  $("split-line").onclick = function () {
    map.pm.enableDraw("Line", ed.EDIT);
    say("画一条穿过网格 " + S.selected + " 的线，单击最后一点结束（Esc 取消）/ draw a line across the cell", "warn");
  };
  $("split-parts").onclick = function () {
    var parts = Number($("parts").value);
    if (!Number.isInteger(parts) || parts < 2 || parts > 20) { say("份数为 2–20 / parts: 2 to 20", "err"); return; }
    act("POST", "/split", { code: S.selected, parts: parts }, function (res) {
      return "已按户数拆分为 " + res.codes.length + " 个网格 / split：" + households(res);
    });
  };
  $("merge").onclick = function () {
    S.mode = "merge";
    updateButtons();
    say("点击要并入 " + S.selected + " 的相邻网格（Esc 取消）/ click the neighbouring cell to merge into it", "warn");
  };
  ed.mergeWith = function (code) {  // the cell clicked in merge mode
    S.mode = null;
    var into = S.selected;
    act("POST", "/merge", { codes: [into, code] }, "已将 " + code + " 并入 " + into + " / merged");
  };
  $("remove").onclick = function () { $("remove-confirm").hidden = false; };
  $("remove-no").onclick = function () { $("remove-confirm").hidden = true; };
  $("remove-yes").onclick = function () {
    var code = S.selected;
    $("remove-confirm").hidden = true;
    act("DELETE", "/features/" + code, undefined, "已在方案中删除 " + code + "，请将其范围并入相邻网格 / removed");
  };
  $("revert").onclick = function () {
    var code = S.selected;
    act("POST", "/features/" + code + "/revert", undefined, "已撤销方案对 " + code + " 的修改 / reverted");
  };
  $("deselect").onclick = function () { ed.select(null); };

  /* ---- drawing: a new cell (polygon) or a split line ---- */
  map.on("pm:create", function (e) {
    if (S.readonly || !S.mayWrite) { map.removeLayer(e.layer); return; }
    if (e.shape === "Line") splitByLine(e.layer);
    else if (e.shape === "Polygon") newCell(e.layer);
    else map.removeLayer(e.layer);
  });
  map.on("pm:drawend", function () { if (!S.acting) ed.startEditing(); });

  function splitByLine(layer) {
    var latlngs = layer.getLatLngs(), line = outwards(latlngs);
    map.removeLayer(layer);
    var code = S.selected && S.features[S.selected].properties.status !== "remove" ? S.selected : cellAt(halfway(latlngs));
    if (!code) { say("线没有穿过网格 / the line crosses no cell", "err"); return; }
    if (S.dirty) { say("请先保存或放弃边界修改 / save or discard the shape first", "err"); return; }
    S.selectAfter = code;  // the largest piece keeps the code
    act("POST", "/split", { code: code, line: line }, function (res) {
      return "已将 " + code + " 切分为 " + res.codes.join("、") + " / split（" + households(res) + "）";
    });
  }
  function newCell(layer) {
    if (S.pending) map.removeLayer(S.pending);
    S.pending = layer;
    layer.setStyle({ color: ed.STATUS.add.colour, weight: 3, dashArray: "5 4", fillOpacity: 0.2 });
    var ring = layer.getLatLngs()[0];
    var under = cellAt(layer.getBounds().getCenter()) || cellAt(ring[0]) || S.selected;
    var community = under ? under.slice(0, 12) : S.plan && S.plan.communities.length ? S.plan.communities[0] : "";
    suggestCode(community);
    $("new-name").value = "";
    $("new-card").hidden = false;
    updateButtons();
    say("填写新网格的编码和名称，再点“创建网格” / enter the code and name, then create", "warn");
  }
  function cancelNew() {
    if (S.pending) map.removeLayer(S.pending);
    S.pending = null;
    $("new-card").hidden = true;
    updateButtons();
  }
  ed.cancelNew = cancelNew;
  function suggestCode(community) {  // a fresh code from the server: never one a live or retired cell had
    var field = $("new-code");
    field.value = "";
    field.placeholder = community ? "正在取新编码… / fetching a fresh code" : "15 位编码 / 15 digits";
    if (!community) return;
    var asked = S.pending;
    ed.call("GET", "/next-codes?community=" + encodeURIComponent(community) + "&n=1").then(function (r) {
      if (S.pending === asked && !field.value) field.value = r.codes[0];
    }).catch(fail).finally(function () { field.placeholder = "15 位编码 / 15 digits"; });
  }
  $("new-cancel").onclick = function () { cancelNew(); say(""); };
  $("new-save").onclick = function () {
    var code = $("new-code").value.trim(), name = $("new-name").value.trim();
    if (!/^[0-9]{15}$/.test(code)) { say("编码必须是15位数字 / the code must be 15 digits", "err"); return; }
    if (S.features[code]) { say("编码 " + code + " 已存在 / the code is taken", "err"); return; }
    if (S.dirty) { say("请先保存或放弃选中网格的边界修改 / save or discard the shape first", "err"); return; }
    var body = { code: code, geometry: ed.geometryOf(S.pending), fit_neighbours: $("new-fit").checked };
    if (name) body.name = name;
    S.selectAfter = code;
    act("POST", "/reshape", body, "已创建网格 " + code + " / cell created", { failed: function (err) {
      var free = err.body && err.body.detail && err.body.detail.next_free;
      if (!free || !S.pending) return;
      $("new-code").value = free;  // the code was a retired cell's: offer the server's fresh one
      say(err.message + "（已改填 " + free + "，请再点“创建网格” / the form now holds " + free + "）", "err");
    } }).then(function (res) {
      if (res) cancelNew();
    });
  };

  /* ---- geometry on the map ---- */
  function outwards(latlngs) {
    // a line snapped onto the cell's edge ends on it, not across it: push both ends ~1 m further out
    var xy = latlngs.map(function (ll) { return ed.fromMap(ll.lng, ll.lat); }), n = xy.length;
    var push = function (from, to) {
      var dx = to[0] - from[0], dy = to[1] - from[1], len = Math.sqrt(dx * dx + dy * dy);
      return len ? [to[0] + (dx / len) * 1e-5, to[1] + (dy / len) * 1e-5] : to;
    };
    if (n >= 2) { xy[n - 1] = push(xy[n - 2], xy[n - 1]); xy[0] = push(xy[1], xy[0]); }
    return { type: "LineString", coordinates: xy };
  }
  function cellAt(latlng) {
    var found = null;
    Object.keys(S.byCode).some(function (code) {
      var layer = S.byCode[code];
      if (S.features[code].properties.status === "remove" || !layer.getBounds().contains(latlng)) return false;
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
})();
