/* gridgov: tickets on the map pages (labels, popups, cluster icons of the operations map's ticket layer) and the
   ticket page (/maps/tickets/{id}, gg.ticketPage), which fetches one ticket and its history with the stored
   token. Loaded after gg_auth.js (gg.api, gg.esc). */
(function () {
  "use strict";
  var gg = window.gg;

  /* ---- tickets: labels, popups, cluster icons, the ticket page ---- */
  gg.label = function (labels, code) { return (labels && labels[code]) || code || ""; };
  gg.fmtTime = function (iso) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hour12: false,
    }).format(new Date(iso));
  };
  gg.ticketPopup = function (p, spec) {
    var badge = p.overdue ? " <span class='gg-badge gg-badge-red'>超期</span>" : "";
    var urgent = p.urgency === "urgent" ? " <span class='gg-badge'>紧急</span>" : "";
    return "<div class='gg-pop'><b>" + gg.esc(gg.label(spec.categories, p.category)) + "</b>" + badge + urgent +
      "<br>状态：" + gg.esc(gg.label(spec.states, p.state)) +
      "<br>时限：" + gg.esc(gg.fmtTime(p.due_at)) +
      "<br>受理：" + gg.esc(gg.fmtTime(p.opened_at)) +
      (p.address ? "<br>" + gg.esc(p.address) : "") +
      "<br><a href='" + gg.esc(spec.ticketUrl + p.id) + "' target='_blank' rel='noopener'>查看工单 #" +
      gg.esc(p.id) + "</a></div>";
  };
  /* The operations map's tickets as vector tiles (maps/remote.py TicketTiles): Leaflet.VectorGrid fetches
     spec.url per tile with the stored bearer token and the panel's ticket filters in the query (the server keeps
     only the matching tickets; a filter change asks for new tiles), draws dots on canvas (red when overdue now)
     and, on a click, fetches the ticket for the same popup as the clusters. A tile answered 401 (the token
     expired or was revoked) asks for a log-in again (gg.expired); logging in reloads the layers. */
  gg.ticketOverdue = function (p, now) {  // gis/tickets/queries.py overdue_clause: due passed, clock not paused
    return !!p.due_at && p.state !== "suspended" && new Date(p.due_at).getTime() < now;
  };
  gg.ticketTiles = function (map, spec) {
    var now = Date.now();
    var style = function (p) {
      var late = gg.ticketOverdue(p, now);
      return { radius: 6, weight: 2, color: "#fff", fill: true, fillOpacity: 1, fillColor: late ? "#d7191c" : "#1f78b4" };
    };
    var urlFor = function () {  // the filters travel with every tile (and key the browser's cache)
      var q = new URLSearchParams(spec.params || {}).toString();
      return spec.url + (q ? "?" + q : "");
    };
    // Above the cell colours (a pane at z 450), letting clicks through to them: a click on a ticket dot is found
    // from the drawn tiles (below), so the cells keep their popups.
    var pane = map.getPane("gg-ticket-tiles") || map.createPane("gg-ticket-tiles");
    pane.style.zIndex = "450";
    pane.style.pointerEvents = "none";
    var layer = L.vectorGrid.protobuf(urlFor(), {
      rendererFactory: L.canvas.tile, pane: "gg-ticket-tiles",  // no minZoom: it would bound the map's zoom
      fetchOptions: {}, vectorTileLayerStyles: { tickets: style },
      getFeatureId: function (f) { return f.properties.ticket_id; },
    });
    var load;
    gg.tileLayer(layer, { minZoom: spec.minZoom, waitReady: true, onExpired: function () { load(); } });
    var tokenFor = function () { return gg.token() ? { headers: { Authorization: "Bearer " + gg.token() } } : {}; };
    var hint = function () {
      gg.hint = map.hasLayer(layer) && map.getZoom() < spec.minZoom ? "请放大地图以显示" + spec.label : "";
      gg.status(gg.hint);
    };
    layer.on("remove", hint);
    load = function () {  // opening view, log-in / log-out and filter changes: the token and filters, redrawn
      if (!gg.ready) return;
      if (!gg.token()) { if (map.hasLayer(layer)) layer.redraw(); gg.showLogin(true); return; }  // drawn: none
      now = Date.now();
      layer.options.fetchOptions = tokenFor();
      layer.setUrl(urlFor(), true);
      if (map.hasLayer(layer)) { gg.tilesLoading = true; layer.redraw(); }
      hint();
    };
    layer.on("loading", function () { gg.tilesLoading = true; });
    layer.on("load", function () {
      gg.tilesLoading = false;
      gg.loads[spec.id] = (gg.loads[spec.id] || 0) + 1;  // for tests
    });
    map.on("zoomend", hint);
    /* the ticket under a click: the drawn dots of the tile clicked (points near a tile's edge are in both) */
    var ticketAt = function (latlng) {
      var z = layer._tileZoom, size = layer.getTileSize();
      if (z === undefined || !map.hasLayer(layer)) return null;
      var px = map.project(latlng, z), tile = px.unscaleBy(size).floor();
      var drawn = layer._vectorTiles[tile.x + ":" + tile.y + ":" + z];
      if (!drawn || !drawn._features) return null;
      var local = px.subtract(tile.scaleBy(size)), scale = map.getZoomScale(map.getZoom(), z), best = null, dist = 9;
      Object.keys(drawn._features).forEach(function (id) {
        var f = drawn._features[id].feature;
        if (!f._point) return;
        var d = f._point.distanceTo(local) * scale;
        if (d < dist) { dist = d; best = id; }
      });
      return best;
    };
    map.getContainer().addEventListener("click", function (ev) {
      if (map.dragging && map.dragging.moved()) return;
      // only clicks on the map itself or the cell colours: controls, markers and popups keep theirs
      var t = ev.target, panes = map.getPanes();
      if (t !== map.getContainer() && t !== panes.mapPane && !panes.overlayPane.contains(t) &&
          !panes.tilePane.contains(t)) return;
      var latlng = map.mouseEventToLatLng(ev), id = ticketAt(latlng);
      if (id === null) return;
      ev.stopPropagation();  // the ticket's popup, not the cell's under it
      var popup = L.popup().setLatLng(latlng).setContent("<div class='gg-pop'>加载中…</div>").openOn(map);
      gg.api("GET", "/v1/tickets/" + encodeURIComponent(id))
        .then(function (t) {
          popup.setContent(gg.ticketPopup({
            id: t.id, category: t.category, state: t.state, urgency: t.urgency, due_at: t.due_at,
            opened_at: t.opened_at, address: t.address, overdue: t.overdue_now,
          }, spec));
          gg.ticketPopupShown = t.id;
        })
        .catch(function (err) {
          if (!err.login) popup.setContent("<div class='gg-pop'>工单加载失败" + (err.status ? "（HTTP " + err.status + "）" : "") + "</div>");
        });
    }, true);
    gg.reloaders = (gg.reloaders || []).concat([load]);
    gg.specs = gg.specs || {};
    gg.specs[spec.id] = { spec: spec, load: load, layer: layer };
    return layer;
  };
  gg.ticketClusterIcon = function (cluster) {
    var n = cluster.getChildCount();
    var late = cluster.getAllChildMarkers().some(function (m) { return m.options.overdue; });
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    return L.divIcon({
      html: "<div><span>" + n + "</span></div>", iconSize: L.point(40, 40),
      className: "marker-cluster gg-ticket-cluster marker-cluster-" + size + (late ? " gg-ticket-cluster-late" : ""),
    });
  };
  gg.ticketPage = function (opts) {
    var L10N = opts.labels, msg = document.getElementById("gg-ticket-msg");
    if (!gg.token()) { msg.textContent = "请先在网格运行图登录后再查看工单。"; return; }
    var get = function (path) { return gg.api("GET", path); };  // a 401 forgets the token (no log-in form here)
    var why = function (err) {
      if (err.status === 401) return "登录已过期，请在网格运行图重新登录。";
      if (err.status === 404) return "工单不存在或不在您的辖区。";
      return err.status ? "加载失败（HTTP " + err.status + "）" : "无法连接服务器";
    };
    var row = function (k, v) { return "<dt>" + gg.esc(k) + "</dt><dd>" + v + "</dd>"; };
    Promise.all([get("/v1/tickets/" + opts.id), get("/v1/tickets/" + opts.id + "/history")])
      .then(function (res) {
        var t = res[0], events = res[1];
        var state = gg.esc(t.state_label || gg.label(L10N.states, t.state)) +
          (t.overdue_now ? " <span class='gg-badge gg-badge-red'>超期</span>" : "");
        document.querySelector("#gg-ticket .gg-facts").innerHTML = [
          row("类别", gg.esc(t.category_label)), row("状态", state), row("诉求内容", gg.esc(t.description)),
          row("地址", gg.esc(t.address || "—")), row("网格", gg.esc(t.cell_code)),
          row("承办单位", gg.esc(t.unit_name || "—")), row("时限等级", gg.esc(t.tier_label)),
          row("受理时间", gg.esc(gg.fmtTime(t.opened_at))), row("当前时限", gg.esc(gg.fmtTime(t.due_at))),
          row("办结时限", gg.esc(gg.fmtTime(t.resolve_due_at))),
          row("办结时间", gg.esc(gg.fmtTime(t.resolved_at))),
          row("网格长", gg.esc(t.cell_manager ? t.cell_manager.name : "—")),
        ].join("");
        document.querySelector("#gg-history .gg-timeline").innerHTML = events.map(function (e) {
          var move = e.to_state && e.to_state !== e.from_state ?
            "（" + gg.esc(gg.label(L10N.states, e.from_state) || "—") + " → " +
            gg.esc(gg.label(L10N.states, e.to_state)) + "）" : "";
          return "<li><time>" + gg.esc(gg.fmtTime(e.at)) + "</time> <b>" +
            gg.esc(gg.label(L10N.actions, e.action)) + "</b>" + move + " " + gg.esc(e.actor || "") +
            (e.note ? "<div class='gg-muted'>" + gg.esc(e.note) + "</div>" : "") + "</li>";
        }).join("");
        document.getElementById("gg-ticket").hidden = false;
        document.getElementById("gg-history").hidden = false;
        msg.textContent = "";
        gg.ticketLoaded = true;
      })
      .catch(function (err) { msg.textContent = why(err); });
  };
})();
