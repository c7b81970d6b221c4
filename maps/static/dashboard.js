/* gridgov: the evaluation dashboard (/maps/dashboard). Reads /v1/kpis, /v1/kpis/breakdown, /v1/kpis/map and
   /v1/rankings with the stored token (gg_auth.js), draws KPI cards, ECharts trends, a Leaflet choropleth and the
   红黑榜; every number opens the tickets behind it (/v1/kpis/tickets) in the list at the bottom. */
(function () {
  "use strict";
  var gg = window.gg;
  var CARDS = ["received", "response_rate", "solve_rate", "on_time_rate", "median_hours", "p90_hours", "reopened",
    "escalated", "follow_up_rate", "satisfaction_rate", "mean_stars", "hotline", "hotline_change", "suggestions",
    "rectify_rate"];
  var RATES = { response_rate: "responded_in_sla", solve_rate: "solved", on_time_rate: "on_time",
    follow_up_rate: "followed_up", satisfaction_rate: "satisfied", rectify_rate: "suggestions_rectified",
    reopen_rate: "reopened", hotline_change: "hotline", median_hours: "solved", p90_hours: "solved",
    mean_stars: "rated" };
  var MAP_KPIS = ["received", "solve_rate", "response_rate", "on_time_rate", "satisfaction_rate", "ever_overdue",
    "hotline"];
  /* figures read from the tickets table alone (kpis.BASIC): asked with figures=basic, the same values, faster */
  var BASIC = ["received", "solved", "on_time", "unsolved", "ever_overdue", "reopened", "hotline", "suggestions",
    "suggestions_rectified", "solve_rate", "on_time_rate", "reopen_rate", "rectify_rate", "hotline_last_year",
    "hotline_change"];
  var state = { labels: {}, query: null, map: null, layer: null, charts: {} };

  function el(id) { return document.getElementById(id); }
  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }
  function show(k, v) {
    if (v === null || v === undefined) return "—";
    if (k === "hotline_change") return (v >= 0 ? "+" : "") + (v * 100).toFixed(1) + "%";
    if (/_rate$|^coverage$/.test(k)) return pct(v);
    if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(1);
    return String(v);
  }
  function status(text) { el("db-status").textContent = text || ""; }
  function monthRange(month, back) {
    var y = +month.slice(0, 4), m = +month.slice(5, 7);
    var last = new Date(Date.UTC(y, m, 0)).getUTCDate();
    var from = new Date(Date.UTC(y, m - 1 - (back || 0), 1));
    return { from: from.toISOString().slice(0, 10), to: month + "-" + String(last).padStart(2, "0") };
  }
  function qs(o) { return Object.keys(o).filter(function (k) { return o[k] !== undefined && o[k] !== null; })
    .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(o[k]); }).join("&"); }
  function failed(err) { status(err.login ? "请先登录" : "加载失败：" + (err.message || "")); }

  /* ---- the tickets behind a number ---- */
  function openTickets(title, params) {
    var card = el("db-tickets-card"), table = el("db-tickets");
    card.hidden = false;
    el("db-tickets-title").textContent = title + "（加载中…）";
    gg.api("GET", "/v1/kpis/tickets?" + qs(Object.assign({ limit: 200 }, params))).then(function (page) {
      el("db-tickets-title").textContent = title + "：共 " + page.numberMatched + " 件" +
        (page.numberMatched > page.items.length ? "（显示前 " + page.items.length + " 件）" : "");
      var rows = page.items.map(function (t) {
        return "<tr><td><a href=\"/maps/tickets/" + t.id + "\">#" + t.id + "</a></td><td>" + gg.esc(t.category) +
          "</td><td>" + gg.esc(t.state) + "</td><td>" + gg.esc(t.opened_at.slice(0, 16).replace("T", " ")) +
          "</td><td>" + gg.esc(t.cell_code) + "</td><td>" + gg.esc(t.unit_name || "社区自办") + "</td><td>" +
          show("h", t.handling_hours) + "</td></tr>";
      });
      table.innerHTML = "<thead><tr><th>工单</th><th>类别</th><th>状态</th><th>受理时间</th><th>网格</th>" +
        "<th>承办单位</th><th>处置时长(工作小时)</th></tr></thead><tbody>" + rows.join("") + "</tbody>";
      card.scrollIntoView({ block: "nearest" });
    }, function (err) { el("db-tickets-title").textContent = title + "：" + (err.message || "无权查看"); });
  }
  function behind(kpi, extra) {
    var q = state.query;
    return Object.assign({ unit: q.unit, code: q.code, from: q.from, to: q.to, kpi: RATES[kpi] || kpi }, extra || {});
  }

  /* ---- cards ---- */
  function cards(k) {
    state.labels = k.labels;
    var box = el("db-cards");
    box.innerHTML = "";
    CARDS.forEach(function (name) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "db-card";
      b.dataset.kpi = name;
      b.innerHTML = "<small>" + gg.esc(k.labels[name]) + "</small><b>" + gg.esc(show(name, k.figures[name])) +
        "</b><small>" + gg.esc(k.unit.label) + "</small>";
      b.addEventListener("click", function () { openTickets(k.labels[name], behind(name)); });
      box.appendChild(b);
    });
    var sel = el("db-kpi");
    if (!sel.options.length) {
      MAP_KPIS.forEach(function (name) {
        var o = document.createElement("option");
        o.value = name;
        o.textContent = k.labels[name];
        sel.appendChild(o);
      });
    }
  }

  /* ---- charts ---- */
  function chart(id) {
    if (!state.charts[id]) state.charts[id] = echarts.init(el(id), null, { renderer: "svg" });
    return state.charts[id];
  }
  function trend(rows) {
    var c = chart("db-trend"), months = rows.map(function (r) { return r.key; });
    c.setOption({
      tooltip: { trigger: "axis" }, legend: { data: ["受理数", "解决数", "12345热线量", "解决率"] },
      xAxis: { type: "category", data: months },
      yAxis: [{ type: "value", name: "件" }, { type: "value", name: "解决率", max: 1,
        axisLabel: { formatter: function (v) { return v * 100 + "%"; } } }],
      series: [
        { name: "受理数", type: "bar", data: rows.map(function (r) { return r.figures.received; }) },
        { name: "解决数", type: "bar", data: rows.map(function (r) { return r.figures.solved; }) },
        { name: "12345热线量", type: "line", data: rows.map(function (r) { return r.figures.hotline; }) },
        { name: "解决率", type: "line", yAxisIndex: 1, data: rows.map(function (r) { return r.figures.solve_rate; }) },
      ],
    }, true);
    c.off("click");
    c.on("click", function (p) {
      var kpi = { "受理数": "received", "解决数": "solved", "12345热线量": "hotline", "解决率": "solved" }[p.seriesName];
      var r = monthRange(months[p.dataIndex]);
      var q = behind(kpi, { group_by: "month", group: months[p.dataIndex] });
      q.from = r.from; q.to = r.to;
      openTickets(months[p.dataIndex] + " " + p.seriesName, q);
    });
  }
  function categories(rows) {
    var c = chart("db-category");
    rows.sort(function (a, b) { return b.figures.received - a.figures.received; });
    c.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 110 },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name || r.key; }) },
      series: [{ name: "受理数", type: "bar", data: rows.map(function (r) { return r.figures.received; }) }],
    }, true);
    c.off("click");
    c.on("click", function (p) {
      var r = rows[p.dataIndex];
      openTickets((r.name || r.key) + " 受理数", behind("received", { group_by: "category", group: r.key }));
    });
  }

  /* ---- choropleth ---- */
  function colour(v, max) {
    if (v === null || v === undefined) return "#e5e7eb";
    var t = max > 0 ? Math.min(1, v / max) : 0;
    return "rgb(" + Math.round(254 - 70 * t) + "," + Math.round(224 - 190 * t) + "," + Math.round(210 - 170 * t) + ")";
  }
  function drawMap() {
    var q = state.query, kpi = el("db-kpi").value || "received", level = el("db-level").value;
    if (q.unit !== "street" && q.unit !== "community") {
      el("db-legend").textContent = "分布图适用于街道或社区。";
      if (state.layer) { state.layer.remove(); state.layer = null; }
      return;
    }
    var figures = BASIC.indexOf(kpi) >= 0 ? "basic" : undefined;
    gg.api("GET", "/v1/kpis/map?" + qs({ unit: q.unit, code: q.code, from: q.from, to: q.to, kpi: kpi, level: level,
      figures: figures }))
      .then(function (fc) {
        if (!state.map) {
          state.map = L.map("db-map", { zoomSnap: 0.25 });
          L.control.scale({ imperial: false }).addTo(state.map);
        }
        if (state.layer) state.layer.remove();
        var isRate = /_rate$/.test(kpi), max = 0;
        fc.features.forEach(function (f) { if (f.properties.value > max) max = f.properties.value; });
        if (isRate) max = 1;
        state.layer = L.geoJSON(fc, {
          style: function (f) {
            return { color: "#555", weight: 1, fillOpacity: 0.75, fillColor: colour(f.properties.value, max) };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindTooltip(gg.esc(p.name) + "：" + gg.esc(fc.label) + " " + gg.esc(show(kpi, p.value)));
            layer.on("click", function () {
              openTickets(p.name + " " + fc.label, behind(kpi, { group_by: level, group: p.code }));
            });
          },
        }).addTo(state.map);
        if (fc.features.length) state.map.fitBounds(state.layer.getBounds());
        el("db-legend").textContent = fc.label + "：浅色低，深色高（最大 " + show(kpi, max) + "）；灰色为无工单。";
      }, failed);
  }

  /* ---- 红黑榜 ---- */
  function ranking() {
    var q = state.query, kind = el("db-rank-kind").value;
    var street = q.unit === "street" ? q.code : undefined;
    gg.api("GET", "/v1/rankings/" + kind + "?" + qs({ from: q.from, to: q.to, street: street })).then(function (r) {
      el("db-rule").textContent = r.rule + " " + r.tie_rule;
      var rows = r.ranked.concat(r.too_few).map(function (e, i) {
        var cls = e.list === "red" ? "db-red" : e.list === "black" ? "db-black" : "";
        return "<tr class=\"" + cls + "\"><td>" + (e.rank === null ? "—" : e.rank + (e.tied ? "（并列）" : "")) +
          "</td><td>" + gg.esc(e.name) + "</td><td>" + show("s", e.score) + "</td><td>" +
          (e.list === "red" ? "红榜" : e.list === "black" ? "黑榜" : "") + "</td><td><button type=\"button\" " +
          "class=\"db-link\" data-code=\"" + gg.esc(e.code) + "\" data-name=\"" + gg.esc(e.name) + "\">" +
          e.received + "</button></td><td>" + gg.esc(e.note) + "</td></tr>";
      });
      var table = el("db-ranking");
      table.innerHTML = "<thead><tr><th>名次</th><th>单位</th><th>得分</th><th>榜单</th><th>受理数</th><th>说明</th>" +
        "</tr></thead><tbody>" + rows.join("") + "</tbody>";
      table.querySelectorAll(".db-link").forEach(function (b) {
        b.addEventListener("click", function () {
          openTickets(b.dataset.name + " 受理数",
            { unit: kind, code: b.dataset.code, from: q.from, to: q.to, kpi: "received" });
        });
      });
    }, function (err) { el("db-rule").textContent = err.message || "无权查看红黑榜"; el("db-ranking").innerHTML = ""; });
  }

  /* ---- files ---- */
  function download(url, name) {
    gg.api("GET", url, undefined, { response: true }).then(function (r) { return r.blob(); }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    }, failed);
  }

  function load() {
    var f = el("db-form"), month = f.month.value, r = monthRange(month);
    state.query = { unit: f.unit.value, code: f.code.value.trim(), from: r.from, to: r.to, month: month };
    var q = state.query, unit = { unit: q.unit, code: q.code };
    status("加载中…");
    /* every request at once (the server answers them side by side); the charts and the map read only
       ticket-table figures, so they ask figures=basic */
    gg.api("GET", "/v1/kpis?" + qs(Object.assign({ from: q.from, to: q.to }, unit))).then(function (k) {
      cards(k);
      status(k.unit.label + " · " + q.from + " 至 " + q.to);
    }, failed);
    var year = monthRange(month, 11);
    gg.api("GET", "/v1/kpis/breakdown?" + qs(Object.assign({ from: year.from, to: year.to, by: "month",
      figures: "basic" }, unit)))
      .then(function (b) { trend(b.rows); }, failed);
    gg.api("GET", "/v1/kpis/breakdown?" + qs(Object.assign({ from: q.from, to: q.to, by: "category",
      figures: "basic" }, unit)))
      .then(function (b) { categories(b.rows); }, failed);
    drawMap();
    ranking();
  }

  function init() {
    var streets = JSON.parse(el("db-streets").textContent), f = el("db-form");
    var now = new Date(), last = new Date(now.getFullYear(), now.getMonth() - 1, 1);
    f.month.value = last.getFullYear() + "-" + String(last.getMonth() + 1).padStart(2, "0");
    if (streets.length) f.code.value = streets[0].code;
    var params = new URLSearchParams(location.search);
    ["unit", "code", "month"].forEach(function (k) { if (params.get(k)) f[k].value = params.get(k); });
    f.addEventListener("submit", function (e) { e.preventDefault(); load(); });
    el("db-kpi").addEventListener("change", drawMap);
    el("db-level").addEventListener("change", drawMap);
    el("db-rank-kind").addEventListener("change", ranking);
    document.querySelectorAll(".db-file").forEach(function (b) {
      b.addEventListener("click", function () {
        var q = state.query;
        if (!q || q.unit !== "street") { status("定期通报按街道生成：请选择街道。"); return; }
        download("/v1/reports/monthly/file?" + qs({ street: q.code, period: q.month, format: b.dataset.format }),
          "通报-" + q.code + "-" + q.month + "." + b.dataset.format);
      });
    });
    el("db-export").addEventListener("click", function () {
      var q = state.query;
      if (!q) return;
      download("/v1/kpis/export?" + qs({ unit: q.unit, code: q.code, from: q.from, to: q.to, by: "community",
        format: "xlsx" }), "指标-" + q.code + "-" + q.month + ".xlsx");
    });
    window.addEventListener("resize", function () {
      Object.keys(state.charts).forEach(function (k) { state.charts[k].resize(); });
    });
    gg.setupLogin(load);
    if (gg.token()) load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
