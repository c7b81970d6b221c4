/* The notifications page (/maps/notifications): the inbox of the logged-in user and, for admins, the delivery
   log with resend. Every value from the server goes into the page through textContent or gg.esc. */
(function () {
  "use strict";
  var gg = window.gg;
  var $ = function (id) { return document.getElementById(id); };
  var labels = { channels: {}, statuses: {} };

  function say(text) { $("nt-msg").textContent = text || ""; }

  function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—"; }

  function loadInbox() {
    var q = "/v1/me/notifications?limit=100" + ($("nt-only-unread").checked ? "&unread=true" : "");
    return gg.api("GET", q).then(function (page) {
      $("nt-inbox").hidden = false;
      $("nt-unread").textContent = "未读 " + page.unread;
      var list = $("nt-items");
      list.textContent = "";
      page.items.forEach(function (m) {
        var li = document.createElement("li");
        li.className = m.read_at ? "nt-read" : "nt-unread";
        li.innerHTML = "<b>" + gg.esc(m.title) + "</b> <span class='gg-muted'>" + gg.esc(when(m.created_at)) +
          "</span><div>" + gg.esc(m.body).replace(/\n/g, "<br>") + "</div>";
        if (m.link) {
          var a = document.createElement("a");
          a.href = m.link; a.textContent = "查看";
          li.appendChild(a);
        }
        if (!m.read_at) {
          var b = document.createElement("button");
          b.type = "button"; b.className = "gg-btn"; b.textContent = "标为已读";
          b.addEventListener("click", function () {
            gg.api("POST", "/v1/me/notifications/read", { ids: [m.id] }).then(loadInbox, function (e) { say(e.message); });
          });
          li.appendChild(b);
        }
        list.appendChild(li);
      });
      if (!page.items.length) list.textContent = "暂无通知";
    });
  }

  function loadDeliveries() {
    var q = "/v1/notifications/deliveries?limit=200";
    if ($("nt-status").value) q += "&status=" + encodeURIComponent($("nt-status").value);
    if ($("nt-channel").value) q += "&channel=" + encodeURIComponent($("nt-channel").value);
    return gg.api("GET", q).then(function (page) {
      $("nt-deliveries").hidden = false;
      var rows = $("nt-rows");
      rows.textContent = "";
      page.items.forEach(function (d) {
        var tr = document.createElement("tr");
        var answer = d.last_error ? d.last_error + " " + (d.last_answer || "") : d.last_answer || "";
        tr.innerHTML = "<td>" + gg.esc(d.id) + "</td><td>" + gg.esc(d.event) + "</td><td>" +
          gg.esc(labels.channels[d.channel] || d.channel) + "</td><td>" + gg.esc(d.to) + "</td><td>" +
          gg.esc(labels.statuses[d.status] || d.status) + "</td><td>" + gg.esc(d.attempts) + "</td><td>" +
          gg.esc(answer.slice(0, 200)) + "</td><td></td>";
        if (d.status === "failed" || d.status === "cancelled") {
          var b = document.createElement("button");
          b.type = "button"; b.className = "gg-btn"; b.textContent = "重发";
          b.addEventListener("click", function () {
            gg.api("POST", "/v1/notifications/deliveries/" + d.id + "/resend").then(function () {
              say("已重新排队 #" + d.id); loadDeliveries();
            }, function (e) { say(e.message); });
          });
          tr.lastChild.appendChild(b);
        }
        rows.appendChild(tr);
      });
    });
  }

  function start() {
    gg.api("GET", "/v1/auth/me").then(function (me) {
      say("");
      loadInbox().catch(function (e) { say(e.message); });
      if (me.role === "admin") loadDeliveries().catch(function (e) { say(e.message); });
    }, function (e) { say(e.message); });
  }

  gg.notifyPage = function (init) {
    labels = init;
    Object.keys(init.statuses).forEach(function (k) { $("nt-status").add(new Option(init.statuses[k], k)); });
    Object.keys(init.channels).forEach(function (k) { $("nt-channel").add(new Option(init.channels[k], k)); });
    $("nt-only-unread").addEventListener("change", function () { loadInbox().catch(function (e) { say(e.message); }); });
    $("nt-read-all").addEventListener("click", function () {
      gg.api("POST", "/v1/me/notifications/read", { all: true }).then(loadInbox, function (e) { say(e.message); });
    });
    $("nt-refresh").addEventListener("click", function () { loadDeliveries().catch(function (e) { say(e.message); }); });
    $("nt-status").addEventListener("change", function () { loadDeliveries().catch(function (e) { say(e.message); }); });
    $("nt-channel").addEventListener("change", function () { loadDeliveries().catch(function (e) { say(e.message); }); });
    gg.setupLogin(start);
    if (gg.token()) start();
    else say("请先登录");
  };
})();
