/* Plan editor: compounds (小区) and communities (社区) of the draft (loaded after plan_editor.js). Both are
   outlines over the cells, toggled in the legend. A compound can be picked (then it, not a cell, has vertex
   handles), redrawn and reverted. A plan starts on a community picked from a list: its live cells enter the
   draft. */
(function () {
  "use strict";
  var ed = window.planEditor, S = ed.state, $ = ed.$, map = ed.map, esc = ed.esc, say = ed.say, act = ed.act;
  var updateButtons = ed.updateButtons, COLOUR = ed.COLOUR;
  var communityNames = {};  // code -> name, for the picker and the plan's list

  // compounds and communities above the cells' fills; the pane lets clicks through to the cells unless picking
  map.createPane("pe-areas").style.zIndex = 450;
  map.getPane("pe-areas").style.pointerEvents = "none";
  var communityLayer = L.geoJSON(null, {
    coordsToLatLng: ed.coordsToLatLng, pane: "pe-areas", interactive: false, pmIgnore: true, snapIgnore: true,
    style: { color: COLOUR.community, weight: 2.5, dashArray: "12 4 2 4", fill: false, className: "pe-community" },
  }).addTo(map);
  var compoundLayer = L.geoJSON(null, {
    coordsToLatLng: ed.coordsToLatLng, pane: "pe-areas", interactive: false, snapIgnore: true,
    style: function (f) { return compoundStyle(f.properties.code, f.properties.status); },
    onEachFeature: function (f, layer) {
      var code = f.properties.code;
      S.compoundLayers[code] = layer;
      layer.code = code;
      layer.options.className = "pe-compound pe-compound-" + code;
      layer.pm.setOptions({ allowEditing: false });  // only the picked compound gets vertex handles
      if (S.picking) layer.bindTooltip(esc(f.properties.name) + "（" + esc(code) + "）", { sticky: true });
      layer.on("click", onCompoundClick);
      layer.on("pm:edit", function () {
        if (code !== S.compound) return;
        S.dirty = true;
        say("小区边界已修改，尚未保存 / the compound's shape has unsaved changes", "warn");
        updateButtons();
      });
    },
  }).addTo(map);

  function compoundStyle(code, status) {
    var on = code === S.compound;
    return {
      color: on ? COLOUR.selected : COLOUR.compound,
      weight: on ? 3.5 : status === "live" ? 1.2 : 2.4,
      opacity: 0.9,
      dashArray: status === "remove" ? "4 4" : null,
      fillColor: on ? COLOUR.selected : COLOUR.compound,
      fillOpacity: on ? 0.18 : S.picking ? 0.08 : 0,  // picking: the inside takes the click
    };
  }

  function overlay(layer, on) { if (on) map.addLayer(layer); else map.removeLayer(layer); }
  $("show-compounds").onchange = function () {  // the legend's checkboxes
    if (!this.checked && S.picking) setPicking(false);
    if (!this.checked && S.compound && !selectCompound(null)) { this.checked = true; return; }
    overlay(compoundLayer, this.checked);
  };
  $("show-communities").onchange = function () { overlay(communityLayer, this.checked); };

  /* ---- loading ---- */
  ed.loadAreas = function () {  // the draft's compounds and communities (outlines; compounds can be picked)
    return Promise.all([
      ed.call("GET", "/features?layer=compound&scope=draft"), ed.call("GET", "/features?layer=community&scope=draft"),
    ]).then(function (res) {
      communityLayer.clearLayers();
      communityLayer.addData(res[1]);
      // a community without cells yet still shows where it is (the cells, once loaded, set the view)
      if (!S.fitted && res[1].features.length) map.fitBounds(communityLayer.getBounds(), { padding: [10, 10] });
      var keep = S.compoundAfter || S.compound;
      S.compoundAfter = null;
      S.compounds = {};
      res[0].features.forEach(function (f) { S.compounds[f.properties.code] = f; });
      S.compound = keep && S.compounds[keep] ? keep : null;
      drawCompounds();
      ed.areaLoads++;
      showCompound();
    });
  };
  function drawCompounds() {  // (re)built: whether a click picks a compound is fixed when its path is made
    if (map.pm.globalEditModeEnabled() && S.compound) ed.stopEditing();
    S.compoundLayers = {};
    compoundLayer.clearLayers();
    compoundLayer.options.interactive = S.picking;
    compoundLayer.addData({ type: "FeatureCollection", features: Object.keys(S.compounds).map(function (c) {
      return S.compounds[c];
    }) });
  }
  ed.loadCommunities = function () {  // names for the picker and the plan's list (whatever the user's role may read)
    return ed.call("GET", "/v1/communities?limit=1000&simplify_m=50").then(function (fc) {
      fc.features.forEach(function (f) { communityNames[f.properties.code] = f.properties.name; });
      ed.showCommunities();
    }, function (err) { $("community-note").textContent = "社区列表无法读取 / cannot list communities: " + err.message; });
  };
  function communityLabel(code) { return (communityNames[code] || "社区") + "（" + code + "）"; }
  ed.showCommunities = function () {
    var mine = S.plan ? S.plan.communities : [], pick = $("community-pick"), keep = pick.value;
    $("plan-communities").textContent = mine.length ?
      "方案中的社区 / in the plan：" + mine.map(communityLabel).join("、") : "方案还没有社区 / no community yet";
    var others = Object.keys(communityNames).sort().filter(function (c) { return mine.indexOf(c) < 0; });
    pick.innerHTML = "<option value=''>选择社区… / pick a community</option>" + others.map(function (c) {
      return "<option value='" + esc(c) + "'>" + esc(communityLabel(c)) + "</option>";
    }).join("");
    pick.value = others.indexOf(keep) >= 0 ? keep : "";
    updateButtons();
  };

  /* ---- communities: a plan starts on one (its live cells enter the draft) ---- */
  $("community-pick").onchange = updateButtons;
  $("community-start").onclick = function () {
    var code = $("community-pick").value;
    if (!code) return;
    if (S.dirty) { say("请先保存或放弃边界修改 / save or discard the shape first", "err"); return; }
    S.fitted = false;  // show the community's cells
    act("POST", "/communities", { code: code }, "已开始编辑 " + communityLabel(code) + "，其现行网格已进入草案 / " +
      "its live cells are in the draft", { areas: true });
  };

  /* ---- compounds: pick one to see it, redraw its boundary or revert it ---- */
  function setPicking(on) {
    if (on === S.picking) return;
    if (!on && S.compound && !selectCompound(null)) return;
    if (on && !ed.select(null)) return;
    S.picking = on;
    S.mode = null;
    if (on && !$("show-compounds").checked) { $("show-compounds").checked = true; overlay(compoundLayer, true); }
    map.getPane("pe-areas").classList.toggle("pe-picking", on);
    drawCompounds();
    $("compound-pick").textContent = on ? "结束选择小区 / stop picking" : "选择小区 / pick a compound";
    say(on ? "点击地图上的小区（Esc 结束）/ click a compound on the map" : "");
    updateButtons();
  }
  ed.setPicking = setPicking;
  function selectCompound(code) {
    if (code === S.compound) return true;
    if (S.dirty) {
      say((S.compound ? "小区 " + S.compound : "网格 " + S.selected) + " 的边界修改尚未保存：请先保存或放弃 / save or " +
        "discard the shape first", "err");
      return false;
    }
    ed.stopEditing();
    if (code && S.selected) ed.select(null);
    var old = S.compound;
    S.compound = code;
    if (old && S.compoundLayers[old]) S.compoundLayers[old].setStyle(compoundStyle(old, S.compounds[old].properties.status));
    if (code) {
      S.compoundLayers[code].setStyle(compoundStyle(code, S.compounds[code].properties.status));
      ed.startEditing();
    }
    showCompound();
    return true;
  }
  ed.selectCompound = selectCompound;
  function onCompoundClick(e) {
    if (map.pm.globalDrawModeEnabled()) return;
    L.DomEvent.stopPropagation(e);
    selectCompound(e.target.code);
  }
  function showCompound() {
    var f = S.compound && S.compounds[S.compound];
    $("compound-info").hidden = !f;
    if (f) {
      var p = f.properties, s = ed.STATUS[p.status] || ed.STATUS.live;
      $("compound-code").textContent = p.code;
      $("compound-name").textContent = p.name;
      $("compound-status").textContent = s.label;
      $("compound-status").className = "pe-badge pe-" + p.status;
      $("compound-households").textContent = p.households === undefined || p.households === null ? "—" : p.households;
    }
    $("compound-count").textContent = Object.keys(S.compounds).length;
    updateButtons();
  }
  $("compound-pick").onclick = function () { setPicking(!S.picking); };
  $("compound-done").onclick = function () { selectCompound(null); };
  $("compound-save").onclick = function () {
    var code = S.compound;
    S.compoundAfter = code;
    act("PUT", "/areas/compound/" + encodeURIComponent(code), { geometry: ed.geometryOf(S.compoundLayers[code]) },
      "已保存小区 " + code + " 的边界 / compound saved", { areas: true });
  };
  $("compound-discard").onclick = function () {
    S.dirty = false;
    ed.stopEditing();
    drawCompounds();
    ed.startEditing();
    showCompound();
    say("已放弃小区边界修改 / discarded");
  };
  $("compound-revert").onclick = function () {
    var code = S.compound;
    S.compoundAfter = code;
    act("POST", "/areas/compound/" + encodeURIComponent(code) + "/revert", undefined,
      "已撤销方案对小区 " + code + " 的修改 / reverted", { areas: true });
  };
})();
