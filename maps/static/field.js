/* The field app (/field) of the grid workers (网格员): log in, my day, patrol with the phone's GPS, check in at a
   compound, the 五必查 checklist with photos, report an issue, claim and resolve tickets. Every write goes through
   gg.queue (field_queue.js): kept in IndexedDB, sent in order with its idempotency key when the network is
   there, the pending count always visible. Reads (my day, the checklist, categories) are kept too, so the page
   still shows them offline. The service worker (/field/sw.js) keeps the page and its scripts for offline use.
   Settings come from the JSON block #ff-config (no inline script). Needs gg_auth.js and field_queue.js. */
(function () {
  "use strict";
  var gg = window.gg, Q = gg.queue;
  var BATCH = 20, FLUSH_MS = 30000, SYNC_MS = 15000;
  var STATES_CLAIM = ["dispatched", "reopened"], STATES_RESOLVE = ["claimed", "in_progress", "escalated"];
  var $ = function (id) { return document.getElementById(id); };
  var state = { patrol: null, visit: null, watch: null, fixes: [], last: null, count: 0, today: null, checklist: [],
    resident: false };

  function say(text, bad) {
    var el = $("ff-msg");
    el.textContent = text || "";
    el.className = "ff-msg" + (bad ? " ff-error" : "");
  }
  function now() { return new Date().toISOString(); }
  function li(html) { var el = document.createElement("li"); el.innerHTML = html; return el; }

  /* ---- log-in ---- */
  gg.showLogin = function (show) {
    $("gg-login").hidden = !show;
    $("gg-who").hidden = !!show;
    $("ff-logout").hidden = !!show;
  };

  function loggedIn(me) {
    $("ff-name").textContent = me.full_name;
    state.resident = me.role === "resident";  // a volunteer: 志愿服务 and reporting, no patrol
    document.body.classList.toggle("ff-resident", state.resident);
    Q.kvSet("me", me);
    gg.showLogin(false);
    gg.unreadBadge();
    refresh();
  }

  /* ---- network and queue ---- */
  function showNet() {
    var on = navigator.onLine, el = $("ff-net");
    el.textContent = on ? "在线" : "离线";
    el.className = "ff-badge" + (on ? "" : " ff-offline");
  }
  function sync() {
    if (!gg.token()) return Promise.resolve(0);
    return Q.sync().then(function (n) {
      showFailed();
      if (n === 0 && navigator.onLine) loadDay();
      return n;
    });
  }

  /* ---- my day ---- */
  function cached(key, path) {  // the answer, kept for offline use; else the last kept one
    return gg.api("GET", path).then(function (answer) {
      Q.kvSet(key, answer);
      return answer;
    }, function (err) {
      if (err.status) throw err;
      return Q.kvGet(key).then(function (kept) {
        if (kept === undefined) throw err;
        return kept;
      });
    });
  }

  function loadDay() {
    if (state.resident) return Promise.resolve();
    return cached("today", "/v1/patrols/me/today").then(showDay, function (err) { say(err.message, true); });
  }

  function showDay(day) {
    state.today = day;
    $("ff-date").textContent = day.date;
    var list = $("ff-compounds"), select = $("ff-compound");
    list.textContent = "";
    select.length = 1;
    if (!day.compounds.length) list.appendChild(li('<span class="ff-sub">暂无定岗小区</span>'));
    day.compounds.forEach(function (c) {
      var met = c.minutes_on_site >= c.required_minutes;
      var row = li(gg.esc(c.name) + ' <span class="' + (met ? "ff-ok" : "ff-bad") + '">' +
        Math.round(c.minutes_on_site) + " / " + c.required_minutes + " 分钟</span>" +
        (c.visited ? ' <span class="ff-ok">已到访</span>' : "") + '<div class="ff-bar"><span></span></div>');
      row.querySelector(".ff-bar span").style.width = Math.min(100, 100 * c.minutes_on_site / c.required_minutes) + "%";
      list.appendChild(row);
      select.add(new Option(c.name, c.code));
    });
    var must = $("ff-mustvisit");
    must.textContent = "";
    if (!day.must_visit.length) must.appendChild(li('<span class="ff-sub">今天没有必到事项</span>'));
    day.must_visit.forEach(function (m) {
      if (m.kind === "ticket") {
        must.appendChild(li("工单 " + gg.esc(m.ticket_id) + " · " + gg.esc(m.category) + " · " + gg.esc(m.state)));
      } else {
        must.appendChild(li(gg.esc(m.kind_label || m.kind) + " · " + gg.esc(m.building) + "栋" + gg.esc(m.unit) +
          (m.label ? " · " + gg.esc(m.label) : "") +
          (m.visited ? ' <span class="ff-ok">已走访</span>' : ' <span class="ff-bad">待走访</span>')));
      }
    });
    showTickets(day.tickets);
  }

  function showTickets(tickets) {
    var ul = $("ff-tickets");
    ul.textContent = "";
    if (!tickets.length) ul.appendChild(li('<span class="ff-sub">暂无工单</span>'));
    tickets.forEach(function (t) {
      var row = li("工单 " + gg.esc(t.id) + " · " + gg.esc(t.category) + " · " + gg.esc(t.state) +
        (t.due_at ? ' <span class="ff-sub">限 ' + gg.esc(t.due_at.slice(0, 16).replace("T", " ")) + "</span>" : "") + "<br>");
      if (STATES_CLAIM.indexOf(t.state) >= 0) row.appendChild(button("接单", function () { claim(t.id); }));
      if (STATES_RESOLVE.indexOf(t.state) >= 0) row.appendChild(button("办结", function () { openResolve(t.id); }));
      ul.appendChild(row);
    });
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  /* ---- patrol: start, GPS fixes, end ---- */
  function showPatrol() {
    var on = !!state.patrol;
    $("ff-patrol-state").textContent = on ? "巡查中（" + state.patrol.started.slice(11, 16) + " 起）" : "未开始";
    $("ff-start").hidden = on;
    $("ff-end").hidden = !on;
    $("ff-checkin-box").hidden = !on;
    $("ff-fix-count").textContent = String(state.count);
  }

  function watch() {
    if (state.watch !== null || !navigator.geolocation) return;
    state.watch = navigator.geolocation.watchPosition(onFix, function (e) {
      $("ff-fix").textContent = "无法定位（" + e.message + "）";
    }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 });
  }

  function onFix(pos) {
    var c = pos.coords, fix = {
      t: new Date(pos.timestamp || Date.now()).toISOString(), lon: c.longitude, lat: c.latitude,
      accuracy_m: c.accuracy,
    };
    if (c.speed !== null && c.speed >= 0 && !isNaN(c.speed)) fix.speed_mps = c.speed;
    if (c.heading !== null && c.heading >= 0 && !isNaN(c.heading)) fix.heading_deg = c.heading;
    state.last = fix;
    $("ff-fix").textContent = c.latitude.toFixed(5) + ", " + c.longitude.toFixed(5) + " ±" + Math.round(c.accuracy) + "m";
    if (!state.patrol) return;
    state.fixes.push(fix);
    state.count += 1;
    $("ff-fix-count").textContent = String(state.count);
    if (state.fixes.length >= BATCH) flush();
  }

  function flush() {  // the fixes gathered so far become one queued batch
    if (!state.patrol || !state.fixes.length) return Promise.resolve();
    var fixes = state.fixes.splice(0);
    return Q.add({
      path: "/v1/patrols/" + Q.REF + state.patrol.ref + "/fixes",
      body: { batch_key: Q.newKey("fixes"), fixes: fixes },
      label: "定位点 " + fixes.length + " 个",
    });
  }

  function startPatrol() {
    var key = Q.newKey("patrol");
    state.patrol = { key: key, ref: "patrol-" + key, started: localTime() };
    state.count = 0;
    Q.kvSet("patrol", state.patrol);
    Q.add({ path: "/v1/patrols", body: { client_key: key }, save: state.patrol.ref, label: "开始巡查" }).then(sync);
    if (state.last) onFix({ coords: { latitude: state.last.lat, longitude: state.last.lon, accuracy: state.last.accuracy_m,
      speed: null, heading: null }, timestamp: Date.now() });
    watch();
    showPatrol();
    say("巡查已开始");
  }

  function localTime() {  // yyyy-mm-ddThh:mm in the phone's time (shown only)
    var d = new Date(), p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes());
  }

  function endPatrol() {
    var ref = state.patrol.ref;
    flush().then(function () {
      return Q.add({ path: "/v1/patrols/" + Q.REF + ref + "/end", body: { t: now() }, label: "结束巡查" });
    }).then(sync);
    state.patrol = null;
    state.visit = null;
    Q.kvSet("patrol", null);
    Q.kvSet("visit", null);
    $("ff-checklist").hidden = true;
    showPatrol();
    say("巡查已结束");
  }

  /* ---- check-in and the 五必查 checklist ---- */
  function checkIn() {
    if (!state.last) { say("正在定位，请稍候再签到", true); return; }
    var key = Q.newKey("visit"), select = $("ff-compound");
    var body = { client_key: key, lon: state.last.lon, lat: state.last.lat, t: now() };
    if (select.value) body.compound_code = select.value;
    var where = select.value ? select.options[select.selectedIndex].text : "当前位置";
    state.visit = { ref: "visit-" + key, where: where };
    Q.kvSet("visit", state.visit);
    flush().then(function () {
      return Q.add({ path: "/v1/patrols/" + Q.REF + state.patrol.ref + "/checkins", body: body,
        save: state.visit.ref, saveField: "visit_id", label: "签到 " + where });
    }).then(sync);
    showChecklist();
    say("已签到：" + where);
  }

  function showChecklist() {
    var box = $("ff-items");
    box.textContent = "";
    $("ff-checklist-where").textContent = state.visit ? state.visit.where : "";
    state.checklist.forEach(function (item, i) {
      var div = document.createElement("div");
      div.className = "ff-item";
      div.dataset.item = item.code;
      div.innerHTML = "<b>" + gg.esc(item.label) + "</b><br>" +
        '<label class="ff-choice"><input type="radio" name="s' + i + '" value="ok" checked> 正常</label>' +
        '<label class="ff-choice"><input type="radio" name="s' + i + '" value="problem"> 有问题</label>' +
        '<label>说明 <input name="note" maxlength="2000"></label>' +
        '<label>照片 <input name="photo" type="file" accept="image/*" capture="environment"></label>';
      box.appendChild(div);
    });
    $("ff-checklist").hidden = !state.visit;
  }

  /* a chosen photo becomes a queued upload; the answer refers to its id as "@ref:photo-…" */
  function queuePhoto(input, path) {
    var file = input.files && input.files[0];
    if (!file) return Promise.resolve(null);
    var ref = "photo-" + Q.newKey("p");
    return Q.add({ path: path || "/v1/attachments", upload: { blob: file, name: file.name }, save: ref, label: "照片" })
      .then(function () { return Q.REF + ref; });
  }

  function submitChecklist(e) {
    e.preventDefault();
    var items = Array.prototype.slice.call($("ff-items").querySelectorAll(".ff-item"));
    var visit = state.visit;
    Promise.all(items.map(function (div) { return queuePhoto(div.querySelector("input[name=photo]")); }))
      .then(function (photos) {
        var answers = items.map(function (div, i) {
          var a = { item: div.dataset.item, status: div.querySelector("input[type=radio]:checked").value };
          var note = div.querySelector("input[name=note]").value.trim();
          if (note) a.note = note;
          a.photo_ids = photos[i] ? [photos[i]] : [];
          return a;
        });
        return Q.add({ path: "/v1/patrols/visits/" + Q.REF + visit.ref + "/answers",
          body: { client_key: Q.newKey("answers"), answers: answers }, label: "五必查 " + visit.where });
      }).then(function () {
        state.visit = null;
        Q.kvSet("visit", null);
        $("ff-checklist-form").reset();
        $("ff-checklist").hidden = true;
        say("检查结果已保存" + (navigator.onLine ? "" : "，联网后自动提交"));
        sync();
      });
  }

  /* ---- report an issue ---- */
  function submitReport(e) {
    e.preventDefault();
    var form = e.target;
    var body = { category: form.category.value, description: form.description.value.trim(), channel: "patrol",
      client_key: Q.newKey("ticket") };
    if (state.last) { body.lon = state.last.lon; body.lat = state.last.lat; }
    queuePhoto(form.photo).then(function (photo) {
      body.photo_ids = photo ? [photo] : [];
      return Q.add({ path: "/v1/tickets", body: body, label: "上报 " + body.description.slice(0, 20) });
    }).then(function () {
      form.reset();
      say("问题已保存" + (navigator.onLine ? "" : "，联网后自动上报"));
      sync();
    });
  }

  function showCategories(answer) {
    var select = $("ff-category");
    select.length = 0;
    answer.categories.forEach(function (c) { select.add(new Option(c.label, c.code)); });
  }

  /* ---- tickets: claim, resolve with a photo ---- */
  function claim(id) {
    Q.add({ path: "/v1/tickets/" + id + "/actions", body: { action: "claim", client_key: Q.newKey("claim") },
      label: "接单 " + id }).then(sync);
    say("已接单 " + id);
  }

  function openResolve(id) {
    $("ff-resolve").hidden = false;
    $("ff-resolve-id").textContent = String(id);
    $("ff-resolve").dataset.ticket = String(id);
    $("ff-resolve").scrollIntoView();
  }

  function submitResolve(e) {
    e.preventDefault();
    var form = e.target, id = $("ff-resolve").dataset.ticket;
    queuePhoto(form.photo, "/v1/attachments?ticket_id=" + id).then(function () {
      return Q.add({ path: "/v1/tickets/" + id + "/actions",
        body: { action: "resolve", note: form.note.value.trim(), client_key: Q.newKey("resolve") }, label: "办结 " + id });
    }).then(function () {
      form.reset();
      $("ff-resolve").hidden = true;
      say("工单 " + id + " 已办结" + (navigator.onLine ? "" : "，联网后自动提交"));
      sync();
    });
  }

  function showFailed() {
    Q.failed().then(function (items) {
      var ul = $("ff-failed");
      ul.textContent = "";
      items.forEach(function (it) { ul.appendChild(li(gg.esc(it.label || it.path) + "：" + gg.esc(it.error))); });
      $("ff-failed-box").hidden = !items.length;
    });
  }

  /* ---- start ---- */
  function refresh() {
    loadDay();
    if (gg.volunteer) gg.volunteer.load();
    cached("checklist", "/v1/patrols/checklist").then(function (items) {
      state.checklist = items;
      if (state.visit) showChecklist();
    }, function () {});
    cached("categories", "/v1/ticket-categories").then(showCategories, function () {});
    sync();
  }

  function logout() {
    Q.count().then(function (n) {
      if (n > 0) { say("还有 " + n + " 条记录未同步，请联网同步后再退出", true); return; }
      if (state.watch !== null) navigator.geolocation.clearWatch(state.watch);
      state.watch = null;
      state.patrol = null;
      Q.clear().then(function () { gg.logout(); showPatrol(); });
    });
  }

  function start() {
    var config = JSON.parse($("ff-config").textContent);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(config.sw, { scope: config.scope }).catch(function (err) {
        say("离线功能不可用：" + err.message, true);
      });
    }
    Q.onChange(function (n) { $("ff-pending").textContent = String(n); });
    showNet();
    window.addEventListener("online", function () { showNet(); sync(); });
    window.addEventListener("offline", showNet);
    document.addEventListener("visibilitychange", function () { if (document.hidden) flush(); });
    setInterval(function () { flush().then(function () { if (navigator.onLine) sync(); }); }, FLUSH_MS);
    setInterval(function () { if (navigator.onLine) sync(); }, SYNC_MS);

    gg.loginForm($("ff-login-form"), function (answer) { loggedIn(answer.user); },
      function (text) { $("ff-login-msg").textContent = text; }, { failed: "登录失败", offline: "无法连接服务器" });
    $("ff-logout").addEventListener("click", logout);
    $("ff-sync").addEventListener("click", sync);
    $("ff-start").addEventListener("click", startPatrol);
    $("ff-end").addEventListener("click", endPatrol);
    $("ff-checkin").addEventListener("click", checkIn);
    $("ff-checklist-form").addEventListener("submit", submitChecklist);
    $("ff-report-form").addEventListener("submit", submitReport);
    $("ff-resolve-form").addEventListener("submit", submitResolve);
    $("ff-resolve-cancel").addEventListener("click", function () { $("ff-resolve").hidden = true; });

    Promise.all([Q.kvGet("patrol"), Q.kvGet("visit")]).then(function (kept) {
      state.patrol = kept[0] || null;
      state.visit = kept[1] || null;
      showPatrol();
      if (state.patrol) watch();
    });
    if (!gg.token()) { gg.showLogin(true); return; }
    gg.api("GET", "/v1/auth/me").then(loggedIn, function (err) {
      if (err.status) return;  // 401: gg.api asked for a log-in
      Q.kvGet("me").then(function (me) { if (me) loggedIn(me); else gg.showLogin(false); });
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
