/* gridgov map pages: open-now badges, panel ↔ marker links, printing, bbox-fetched layers, login.
   Served by the app under /assets/gridgov@<hash>/maps.js (inlined in exported pages). No globals but `gg`. */
(function () {
  "use strict";
  var gg = (window.gg = window.gg || {});
  gg.markers = gg.markers || {};
  gg.groups = gg.groups || {};
  var TOKEN_KEY = "gridgov.token";

  /* ---- opening hours, the same rule as gis/resources.py is_open (Asia/Shanghai) ---- */
  var DAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
  gg.nowShanghai = function (date) {
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Shanghai", weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false,
    }).formatToParts(date || new Date());
    var get = function (t) { return (parts.find(function (p) { return p.type === t; }) || {}).value; };
    var hh = get("hour") === "24" ? "00" : get("hour");
    return { day: DAYS[get("weekday")], hhmm: hh + ":" + get("minute") };
  };
  gg.isOpen = function (hours, date) {
    if (!hours || !hours.length) return null;
    var now = gg.nowShanghai(date);
    return hours.some(function (span) {
      if ((span.days || []).indexOf(now.day) < 0) return false;
      var opens = String(span.open || "00:00"), closes = String(span.close || "24:00");
      if (closes === "24:00" || closes <= opens) {
        return now.hhmm >= opens || (closes !== "24:00" && now.hhmm < closes);
      }
      return opens <= now.hhmm && now.hhmm < closes;
    });
  };
  gg.refreshOpen = function (root) {
    (root || document).querySelectorAll("[data-hours]").forEach(function (el) {
      var open = gg.isOpen(JSON.parse(el.getAttribute("data-hours") || "[]"));
      if (open === null) return;
      el.textContent = open ? "营业中" : "休息中";
      el.className = "gg-open " + (open ? "gg-yes" : "gg-no");
    });
  };

  /* ---- the page's map, panel links and printing ---- */
  gg.init = function (map, opts) {
    gg.map = map;
    opts = opts || {};
    if (opts.bounds) map.fitBounds(opts.bounds, { maxZoom: opts.maxZoom || 17 });
    map.on("popupopen", function (e) { gg.refreshOpen(e.popup.getElement()); });
    gg.refreshOpen(document);
    setInterval(function () { gg.refreshOpen(document); }, 60000);
    document.addEventListener("click", function (e) {
      var el = e.target.closest && e.target.closest("[data-focus]");
      if (el) { e.preventDefault(); gg.focus(el.getAttribute("data-focus")); }
      var pr = e.target.closest && e.target.closest("[data-print]");
      if (pr) { e.preventDefault(); window.print(); }
    });
    var legends = document.querySelectorAll(".gg-legend details");
    if (window.innerWidth < 1100) legends.forEach(function (d) { d.open = false; });  // keep the map visible
    window.addEventListener("beforeprint", function () { legends.forEach(function (d) { d.open = true; }); });
    var refit = function () {
      map.invalidateSize(false);
      if (opts.bounds) map.fitBounds(opts.bounds, { maxZoom: opts.maxZoom || 17, animate: false });
    };
    window.addEventListener("beforeprint", refit);
    window.addEventListener("afterprint", function () { setTimeout(refit, 50); });
    if (window.matchMedia) {
      var mq = window.matchMedia("print");
      if (mq.addEventListener) mq.addEventListener("change", refit);
    }
    var today = document.querySelectorAll("[data-today]");
    today.forEach(function (el) {
      el.textContent = new Intl.DateTimeFormat("zh-CN", {
        timeZone: "Asia/Shanghai", year: "numeric", month: "long", day: "numeric",
      }).format(new Date());
    });
    if (location.hash.indexOf("token=") >= 0) {  // a link from the dashboard: keep the token, hide it
      var t = new URLSearchParams(location.hash.slice(1)).get("token");
      if (t) localStorage.setItem(TOKEN_KEY, t);
      history.replaceState(null, "", location.pathname + location.search);
    }
    gg.ready = true;  // bbox layers load once the map is at its opening view
    gg.reload();
  };
  gg.focus = function (code) {
    var m = gg.markers[code];
    if (!m || !gg.map) return;
    var group = gg.groups[code];
    if (group && !gg.map.hasLayer(group)) gg.map.addLayer(group);
    if (window.innerWidth <= 800) gg.map.getContainer().scrollIntoView({ behavior: "smooth" });
    if (gg.cluster && gg.cluster.hasLayer(m)) {  // zoom or spider the cluster open, then the popup
      gg.cluster.zoomToShowLayer(m, function () { m.openPopup(); });
      return;
    }
    gg.map.setView(m.getLatLng(), Math.max(gg.map.getZoom(), 17));
    m.openPopup();
  };

  /* ---- layers fetched by bbox (operations map) ---- */
  gg.token = function () { return localStorage.getItem(TOKEN_KEY); };
  gg.pending = 0;  // bbox fetches in flight
  gg.loads = {};  // layer id -> answers drawn
  gg.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"'`]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  };
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
      var headers = spec.auth ? { Authorization: "Bearer " + gg.token() } : {};
      gg.pending++;
      fetch(url, { headers: headers })
        .then(function (r) {
          if (r.status === 401) { localStorage.removeItem(TOKEN_KEY); gg.showLogin(true); throw "login"; }
          if (r.status === 422) {
            return r.json().then(function (b) { throw "筛选条件有误：" + (b.message || r.status); });
          }
          if (!r.ok) throw "HTTP " + r.status;
          return r.json();
        })
        .then(function (data) {
          if (mine !== seq) return;
          gg.loaders[spec.kind](layer, data, spec);
          gg.loads[spec.id] = (gg.loads[spec.id] || 0) + 1;  // for tests and the W6 bench
          layer.fire("gg:loaded", { data: data });
          gg.status(data.truncated ? spec.label + "过多，仅显示部分，请放大地图或筛选" : "");
        })
        .catch(function (err) {
          if (err !== "login") gg.status(spec.label + "加载失败：" + err);
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
    heat: function (layer, points) {
      var max = points.reduce(function (a, p) { return Math.max(a, p[2]); }, 1);
      layer.setOptions({ max: max });
      layer.setLatLngs(points);
    },
  };

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
    if (location.hash.indexOf("token=") >= 0) {
      var t = new URLSearchParams(location.hash.slice(1)).get("token");
      if (t) localStorage.setItem(TOKEN_KEY, t);
      history.replaceState(null, "", location.pathname + location.search);
    }
    if (!gg.token()) { msg.textContent = "请先在网格运行图登录后再查看工单。"; return; }
    var get = function (path) {
      return fetch(path, { headers: { Authorization: "Bearer " + gg.token() } }).then(function (r) {
        if (r.status === 401) { localStorage.removeItem(TOKEN_KEY); throw "登录已过期，请在网格运行图重新登录。"; }
        if (r.status === 404) throw "工单不存在或不在您的辖区。";
        if (!r.ok) throw "加载失败（HTTP " + r.status + "）";
        return r.json();
      });
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
      .catch(function (err) { msg.textContent = typeof err === "string" ? err : "无法连接服务器"; });
  };

  /* ---- login (operations map: the page is public, its data needs a token) ---- */
  gg.showLogin = function (show) {
    var form = document.getElementById("gg-login"), who = document.getElementById("gg-who");
    if (form) form.hidden = !show;
    if (who) who.hidden = !!show;
  };
  gg.setupLogin = function () {
    var form = document.getElementById("gg-login");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var msg = document.getElementById("gg-login-msg");
      fetch("/v1/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: form.username.value, password: form.password.value }),
      })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          if (!res.ok) { msg.textContent = res.body.message || "登录失败"; return; }
          localStorage.setItem(TOKEN_KEY, res.body.access_token);
          document.getElementById("gg-who-name").textContent = res.body.user.full_name;
          form.password.value = "";
          msg.textContent = "";
          gg.showLogin(false);
          gg.reload();
        })
        .catch(function () { msg.textContent = "无法连接服务器"; });
    });
    var out = document.getElementById("gg-logout");
    if (out) out.addEventListener("click", function () {
      var t = gg.token();
      localStorage.removeItem(TOKEN_KEY);
      gg.showLogin(true);
      if (t) fetch("/v1/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + t } });
    });
    gg.showLogin(!gg.token());
    if (gg.token()) {
      fetch("/v1/auth/me", { headers: { Authorization: "Bearer " + gg.token() } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (me) {
          if (me) document.getElementById("gg-who-name").textContent = me.full_name;
          else { localStorage.removeItem(TOKEN_KEY); gg.showLogin(true); }
        });
    }
  };
})();
