/* gridgov map pages: the page's map (opening view, panel ↔ marker links, printing, today's date) and the open-now
   badges. Loaded after gg_auth.js, before gg_remote.js and gg_tickets.js; the page's own script calls
   gg.init(map, {bounds, maxZoom}) once the map and its layers exist. */
(function () {
  "use strict";
  var gg = window.gg;
  gg.markers = gg.markers || {};
  gg.groups = gg.groups || {};

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
    gg.ready = true;  // bbox layers (gg_remote.js) load once the map is at its opening view
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
})();
