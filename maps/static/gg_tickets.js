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
