/* gridgov map pages: layers fetched by bbox (operations map), their filters and the loaders that draw each
   answer. Loaded after gg_auth.js (gg.api: the token, 401 → log-in) and gg_page.js. maps/remote.py declares a
   layer; gg.remote(map, layer, spec) fetches spec.url for the visible bbox whenever the map moves. */
(function () {
  "use strict";
  var gg = window.gg;
  gg.pending = 0;  // bbox fetches in flight
  gg.loads = {};  // layer id -> answers drawn
  gg.colourFor = function (value, metric) {
    var i = 0;
    while (i < metric.breaks.length && value > metric.breaks[i]) i++;
    return metric.colours[i];
  };
  gg.status = function (text) {
    var el = document.getElementById("gg-status");
    if (el) el.textContent = text || "";
  };
  gg.remote = function (map, layer, spec) {
    var seq = 0;
    var load = function () {
      if (!gg.ready || !map.hasLayer(layer)) return;
      if (spec.auth && !gg.token()) { gg.showLogin(true); return; }
      if (spec.minZoom && map.getZoom() < spec.minZoom) {
        layer.clearLayers ? layer.clearLayers() : layer.setLatLngs([]);
        gg.status("请放大地图以显示" + spec.label);
        return;
      }
      var b = map.getBounds().pad(0.15);
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
      var q = new URLSearchParams(spec.params || {});
      q.set("bbox", bbox.join(","));
      q.set("zoom", String(map.getZoom()));
      q.set("crs", spec.crs || "wgs84");
      var url = spec.url + "?" + q.toString();
      var mine = ++seq;  // a slower, older answer must not overwrite a newer one
      gg.pending++;
      gg.api("GET", url, undefined, { auth: !!spec.auth })
        .then(function (data) {
          if (mine !== seq) return;
          gg.loaders[spec.kind](layer, data, spec);
          gg.loads[spec.id] = (gg.loads[spec.id] || 0) + 1;  // for tests and the W6 bench
          layer.fire("gg:loaded", { data: data });
          // gg.hint: a standing note of another layer (the ticket tiles' "zoom in"), kept when all is well
          gg.status(data.truncated ? spec.label + "过多，仅显示部分，请放大地图或筛选" : gg.hint || "");
        })
        .catch(function (err) {
          if (err.login) return;  // gg.api has asked for a log-in
          if (err.status === 422) gg.status("筛选条件有误：" + (err.body.message || err.status));
          else gg.status(spec.label + "加载失败：" + (err.status ? "HTTP " + err.status : err.message));
        })
        .then(function () { gg.pending--; });
    };
    map.on("moveend", load);
    layer.on("add", load);
    gg.reloaders = (gg.reloaders || []).concat([load]);
    gg.specs = gg.specs || {};
    gg.specs[spec.id] = { spec: spec, load: load, layer: layer };
    load();
  };
  /* <select data-filter="layer-id" data-param="type">: a filter of one bbox layer */
  /* <select|input data-filter-group="tickets" data-param="state">: a filter of every layer of a group */
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!el.getAttribute || !gg.specs) return;
    var id = el.getAttribute("data-filter"), group = el.getAttribute("data-filter-group");
    var entries = Object.keys(gg.specs).map(function (k) { return gg.specs[k]; }).filter(function (entry) {
      return entry.spec.id === id || (group && (entry.spec.filters || []).indexOf(group) >= 0);
    });
    var param = el.getAttribute("data-param");
    entries.forEach(function (entry) {
      entry.spec.params = entry.spec.params || {};
      if (el.value) entry.spec.params[param] = el.value; else delete entry.spec.params[param];
      entry.load();
    });
  });
  gg.reload = function () { (gg.reloaders || []).forEach(function (f) { f(); }); };

  gg.loaders = {
    choropleth: function (layer, fc, spec) {
      layer.clearLayers();
      layer.options.style = function (f) {
        return {
          fillColor: gg.colourFor(f.properties.value, fc.metric), fillOpacity: 0.6,
          color: "#555", weight: 1,
        };
      };
      layer.options.onEachFeature = function (f, l) {
        var p = f.properties;
        l.bindTooltip(gg.esc(p.name) + "：" + gg.esc(p.value) + fc.metric.unit, { sticky: true });
        l.bindPopup("<div class='gg-pop'><b>" + gg.esc(p.name) + "</b><br>网格编码 " + gg.esc(p.code) +
          "<br>" + gg.esc(p.community) + "<br>" + gg.esc(fc.metric.label) + "：" + gg.esc(p.value) +
          gg.esc(fc.metric.unit) + "<br>户数：" + gg.esc(p.households) + "</div>");
      };
      layer.addData(fc);
      var legend = document.getElementById("gg-legend-" + spec.id);
      if (legend) {
        var m = fc.metric, rows = [], lo = null;
        m.colours.forEach(function (c, i) {
          var hi = m.breaks[i];
          var text = hi === undefined ? "> " + lo : (lo === null ? "≤ " + hi : lo + " – " + hi);
          rows.push("<div class='gg-row'><span class='gg-swatch' style='background:" + c + "'></span>" +
            gg.esc(text) + " " + gg.esc(m.unit) + "</div>");
          lo = hi;
        });
        legend.innerHTML = "<b>" + gg.esc(spec.label) + "：" + gg.esc(m.label) + "</b>" + rows.join("");
      }
    },
    cluster: function (layer, fc, spec) {
      layer.clearLayers();
      var icons = spec.icons || {};
      var markers = fc.features.map(function (f) {
        var p = f.properties, c = f.geometry.coordinates, ic = icons[p.type] || ["circle", "blue"];
        var m = L.marker([c[1], c[0]], {
          title: p.name,
          icon: L.AwesomeMarkers.icon({ icon: ic[0], prefix: "fa", markerColor: ic[1], iconColor: "white" }),
        });
        var open = p.open_now === null || p.open_now === undefined ? "" :
          "<span class='gg-open " + (p.open_now ? "gg-yes'>营业中" : "gg-no'>休息中") + "</span>";
        m.bindPopup("<div class='gg-pop'><b>" + gg.esc(p.name) + "</b> " + open + "<br>" +
          gg.esc(p.type_label) + "<br>" + gg.esc(p.address) + "<br>" + gg.esc(p.opening_hours) +
          (p.phone ? "<br><a href='tel:" + gg.esc(p.phone) + "'>" + gg.esc(p.phone) + "</a>" : "") + "</div>");
        return m;
      });
      layer.addLayers(markers);
    },
    tickets: function (layer, fc, spec) {
      layer.clearLayers();
      var markers = fc.features.map(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var m = L.marker([c[1], c[0]], {
          title: gg.label(spec.categories, p.category) + " · " + gg.label(spec.states, p.state),
          icon: L.divIcon({ className: "gg-ticket" + (p.overdue ? " gg-ticket-overdue" : ""), iconSize: [14, 14] }),
          overdue: !!p.overdue,
        });
        m.bindPopup(function () { return gg.ticketPopup(p, spec); });
        return m;
      });
      layer.addLayers(markers);
    },
    /* 志愿服务 (GET /maps/data/participation.geojson): items with places left, and per community its
       members / hours this month / open items as a label, in a popup and in the side panel's card */
    participation: function (layer, fc) {
      layer.clearLayers();
      var rows = [];
      fc.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        if (p.layer === "community") {
          var figures = "登记成员 " + p.members + " 人 · 本月 " + p.hours_month + " 小时 · 待认领 " +
            p.open_items + " 项";
          var label = L.marker([c[1], c[0]], {
            zIndexOffset: 500,
            title: p.name + "：" + figures,
            icon: L.divIcon({ className: "gg-vol-community", iconSize: null,
              html: "<b>" + gg.esc(p.name) + "</b><br>" + gg.esc(p.members) + "人 · " + gg.esc(p.hours_month) +
                "小时 · " + gg.esc(p.open_items) + "项" }),
          });
          label.bindPopup("<div class='gg-pop'><b>" + gg.esc(p.name) + "</b> 志愿服务<br>登记成员：" +
            gg.esc(p.members) + " 人（队伍 " + gg.esc(p.teams) + " 支）<br>本月服务时长：" + gg.esc(p.hours_month) +
            " 小时<br>待认领项目：" + gg.esc(p.open_items) + " 项</div>");
          layer.addLayer(label);
          rows.push("<div class='gg-row' data-community='" + gg.esc(p.community_code) + "'><b>" + gg.esc(p.name) +
            "</b>：" + gg.esc(figures) + "</div>");
          return;
        }
        var where = [p.compound_name, p.cell_name].filter(Boolean).map(gg.esc).join(" · ");
        var dot = L.circleMarker([c[1], c[0]], { radius: 7, color: "#fff", weight: 2, fillColor: "#2e7d32",
          fillOpacity: 0.9, className: "gg-vol-item" });
        dot.bindTooltip(gg.esc(p.title) + "（余 " + gg.esc(p.places_left) + " 个名额）");
        dot.bindPopup("<div class='gg-pop'><b>" + gg.esc(p.title) + "</b><br>" + gg.esc(p.kind_label) +
          (p.team_reserved ? "（队伍专项）" : "") + "<br>时间：" + gg.esc(p.window) + "<br>余 " +
          gg.esc(p.places_left) + " / " + gg.esc(p.capacity) + " 个名额<br>地点：" + gg.esc(p.place_name) +
          (where ? "<br>" + where : "") + "</div>");
        layer.addLayer(dot);
      });
      var card = document.getElementById("gg-participation");
      if (card && !layer.ggCardHook) {
        layer.ggCardHook = true;
        layer.on("remove", function () { card.hidden = true; });
      }
      if (card) {
        card.hidden = false;
        document.getElementById("gg-participation-body").innerHTML = rows.length ? rows.join("") :
          "视野内没有社区";
      }
    },
    heat: function (layer, points) {
      var max = points.reduce(function (a, p) { return Math.max(a, p[2]); }, 1);
      layer.setOptions({ max: max });
      layer.setLatLngs(points);
    },
  };
})();
