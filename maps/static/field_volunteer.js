/* 志愿服务 in the field app (/field): register (双报到 / 志愿者), service items to claim near me (nearest first), my
   claims with on-site sign-in and sign-out from the phone's position (the server checks the distance to the place
   and the time window, and says why when it refuses), my hours. Online only: a claim is first come, first served,
   so it is never queued. field.js calls gg.volunteer.load() after log-in. Needs gg_auth.js. */
(function () {
  "use strict";
  var gg = window.gg;
  var RADIUS_M = 3000, P = "/v1/participation";
  var $ = function (id) { return document.getElementById(id); };

  function say(text, bad) {
    var el = $("ff-msg");
    el.textContent = text || "";
    el.className = "ff-msg" + (bad ? " ff-error" : "");
  }
  function li(html) { var el = document.createElement("li"); el.innerHTML = html; return el; }
  function button(text, onClick, primary) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (primary) b.className = "ff-primary";
    b.addEventListener("click", onClick);
    return b;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function window_(a, b) {  // 12-06 09:00–11:00 in the phone's time
    var s = new Date(a), e = new Date(b);
    return pad(s.getMonth() + 1) + "-" + pad(s.getDate()) + " " + pad(s.getHours()) + ":" + pad(s.getMinutes()) +
      "–" + pad(e.getHours()) + ":" + pad(e.getMinutes());
  }
  function position() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject({ message: "此设备无法定位" }); return; }
      navigator.geolocation.getCurrentPosition(function (p) { resolve(p.coords); },
        function (e) { reject({ message: "无法定位（" + e.message + "）" }); },
        { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 });
    });
  }
  function failed(err) { say(err.message, true); }

  /* ---- items near me ---- */
  function loadItems() {
    return position().then(function (c) {
      return gg.api("GET", P + "/items?near=" + c.longitude.toFixed(6) + "," + c.latitude.toFixed(6) + "," + RADIUS_M);
    }).then(showItems, function (err) {
      $("fv-items").textContent = "";
      $("fv-items").appendChild(li('<span class="ff-sub">' + gg.esc(err.message) + "</span>"));
    });
  }

  function showItems(items) {
    var ul = $("fv-items");
    ul.textContent = "";
    if (!items.length) ul.appendChild(li('<span class="ff-sub">附近 3 公里内暂无可认领的服务项目</span>'));
    items.forEach(function (it) {
      var row = li("<b>" + gg.esc(it.title) + "</b> <span class=\"ff-sub\">" + gg.esc(it.kind_label) + "</span><br>" +
        gg.esc(it.place_name || "") + ' <span class="ff-sub">约 ' + Math.round(it.distance_m) + " 米</span><br>" +
        gg.esc(window_(it.starts_at, it.ends_at)) + " · 剩余 " + gg.esc(it.places_left) + "/" + gg.esc(it.capacity) +
        (it.skills.length ? ' <span class="ff-sub">需要：' + gg.esc(it.skills.join("、")) + "</span>" : "") +
        (it.team_id ? ' <span class="ff-sub">队伍专属</span>' : "") + "<br>");
      row.dataset.item = String(it.id);
      row.appendChild(button("认领", function () { claim(it.id); }, true));
      ul.appendChild(row);
    });
  }

  function claim(id) {
    gg.api("POST", P + "/items/" + id + "/claims", {}).then(function () {
      say("认领成功，请按时到场签到");
      load();
    }, failed);
  }

  /* ---- me: registration, hours, claims ---- */
  function showMe(me) {
    var m = me.member;
    $("fv-register-form").hidden = !!m;
    $("fv-status").textContent = !m ? "尚未登记" : m.status === "confirmed" ?
      "本月 " + m.hours_month + " 小时 · 累计 " + m.hours_total + " 小时" :
      m.status === "pending" ? "登记待社区确认" : "登记未通过";
    var ul = $("fv-claims");
    ul.textContent = "";
    var live = me.claims.filter(function (c) { return c.status === "claimed"; });
    if (!live.length) ul.appendChild(li('<span class="ff-sub">暂无认领</span>'));
    live.forEach(function (c) {
      var state = c.confirmed_at ? '<span class="ff-ok">已确认 ' + gg.esc(c.confirmed_minutes) + " 分钟</span>" :
        c.signed_out_at ? '<span class="ff-ok">已签退 ' + gg.esc(c.minutes) + " 分钟，待社区确认</span>" :
        c.signed_in_at ? '<span class="ff-ok">已签到</span>' : '<span class="ff-sub">待签到</span>';
      var row = li("<b>" + gg.esc(c.title) + "</b> " + state + "<br>" + gg.esc(c.place_name || "") + " · " +
        gg.esc(window_(c.starts_at, c.ends_at)) + "<br>");
      row.dataset.claim = String(c.id);
      if (!c.signed_in_at) row.appendChild(button("到场签到", function () { onSite(c.id, "sign-in"); }, true));
      if (c.signed_in_at && !c.signed_out_at) row.appendChild(button("签退", function () { onSite(c.id, "sign-out"); }, true));
      if (!c.signed_in_at && new Date(c.starts_at) > new Date()) {
        row.appendChild(button("释放", function () { release(c.id); }));
      }
      ul.appendChild(row);
    });
  }

  function onSite(id, what) {
    say("正在定位…");
    position().then(function (c) {
      return gg.api("POST", P + "/claims/" + id + "/" + what,
        { lon: c.longitude, lat: c.latitude, accuracy_m: c.accuracy });
    }).then(function (claim) {
      say(what === "sign-in" ? "签到成功（距服务地点 " + Math.round(claim.signed_in_m) + " 米）" :
        "签退成功，本次 " + claim.minutes + " 分钟，待社区确认");
      load();
    }, failed);
  }

  function release(id) {
    gg.api("POST", P + "/claims/" + id + "/release", {}).then(function () { say("已释放名额"); load(); }, failed);
  }

  function register(e) {
    e.preventDefault();
    var f = e.target;
    var body = { kind: f.kind.value, name: f.name.value.trim(), phone: f.phone.value.trim(),
      community_code: f.community.value.trim(), work_unit: f.work_unit.value.trim() || null,
      skills: f.skills.value.split(/[,，、\s]+/).filter(Boolean) };
    gg.api("POST", P + "/members", body).then(function () { say("登记已提交，待社区确认"); load(); }, failed);
  }

  function showPoints(answer) {  // my 积分 across my communities
    var total = 0;
    Object.keys(answer.balances).forEach(function (k) { total += answer.balances[k]; });
    $("fv-points").textContent = "我的积分 " + total + (answer.entries.length ? "（最近：" +
      (answer.entries[0].points > 0 ? "+" : "") + answer.entries[0].points + " " + (answer.entries[0].note || "") + "）" : "");
  }

  function load() {
    if (!gg.token()) return Promise.resolve();
    return Promise.all([gg.api("GET", P + "/me").then(showMe, failed), loadItems(),
      gg.api("GET", P + "/points?limit=1").then(showPoints, function () {})]);
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("fv-register-form").addEventListener("submit", register);
    $("fv-refresh").addEventListener("click", load);
  });
  gg.volunteer = { load: load };
})();
