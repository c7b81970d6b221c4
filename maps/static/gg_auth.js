/* gridgov pages: the token, log-in and the JSON API, shared by every page (the map pages, the ticket page, the
   plan diff shell, the plan editor). Loaded first, before any other gridgov script; served by the app under
   /assets/gridgov@<hash>/gg_auth.js (inlined in exported pages). It makes the one global `gg`.

   The token comes from POST /v1/auth/login, or from a link's #token=… (kept, then removed from the address), and
   is kept in localStorage under "gridgov.token", so one log-in serves every page of the app. An answer 401 forgets
   it and asks for a log-in again (gg.showLogin). */
(function () {
  "use strict";
  var gg = (window.gg = window.gg || {});
  var TOKEN_KEY = "gridgov.token";

  gg.token = function () { return localStorage.getItem(TOKEN_KEY); };
  gg.keepToken = function (token) { localStorage.setItem(TOKEN_KEY, token); };
  gg.forgetToken = function () { localStorage.removeItem(TOKEN_KEY); };

  /* A link carrying a token (#token=…) logs in with it, and the token leaves the address bar. When another token
     is already kept (someone is logged in on this browser), the link must not silently make them work as the
     link's user (token fixation): the page asks first, and keeps the current log-in unless told otherwise. */
  if (location.hash.indexOf("token=") >= 0) {
    var linked = new URLSearchParams(location.hash.slice(1)).get("token"), kept = gg.token();
    if (linked && (!kept || (linked !== kept && window.confirm(
      "此链接带有另一个登录身份。切换到该身份（退出当前登录）吗？\n" +
      "This link carries another log-in. Switch to it (and log out the current one)?")))) {
      gg.keepToken(linked);
    }
    history.replaceState(null, "", location.pathname + location.search);
  }

  /* text from an API answer, made safe to paste into HTML (also in an attribute, also backticks) */
  gg.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"'`]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  };

  /* Where the page asks for a log-in. The map pages' panel by default (form #gg-login, or #gg-who once logged
     in); a page with another log-in card (the plan editor) replaces this function. */
  gg.showLogin = function (show) {
    var form = document.getElementById("gg-login"), who = document.getElementById("gg-who");
    if (form) form.hidden = !show;
    if (who) who.hidden = !!show;
  };

  /* One request to the app. `body`: an object (sent as JSON) or FormData. opts.auth (default true) sends the
     token, and without one asks for a log-in instead; opts.text reads the answer as text, not JSON; opts.response
     resolves with the fetch Response itself (answer not read); opts.cache is fetch's. Resolves with the answer; rejects with {status, message, body} (status absent when the server could
     not be reached or there is no token; `login` true when the page now asks for a log-in). */
  gg.api = function (method, path, body, opts) {
    opts = opts || {};
    var auth = opts.auth !== false, token = gg.token();
    if (auth && !token) {
      gg.showLogin(true);
      return Promise.reject({ message: "请先登录 / log in first", login: true });
    }
    var init = { method: method, headers: {} };
    if (auth) init.headers.Authorization = "Bearer " + token;
    if (opts.cache) init.cache = opts.cache;
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    var json = function (r) { return r.json().catch(function () { return {}; }); };
    return fetch(path, init).then(function (r) {
      if (r.ok) return opts.response ? r : opts.text ? r.text() : json(r);
      var login = auth && r.status === 401;
      if (login) gg.expired();
      return json(r).then(function (j) {
        throw { status: r.status, message: j.message || "HTTP " + r.status, body: j, login: login };
      });
    }, function () { throw { message: "无法连接服务器 / cannot reach the server" }; });
  };

  /* The token was refused (401: expired, revoked, logged out elsewhere): forget it and ask for a log-in, saying
     why in the page's log-in message (#gg-login-msg) when it has one. */
  gg.expired = function () {
    gg.forgetToken();
    gg.showLogin(true);
    var msg = document.getElementById("gg-login-msg");
    if (msg) msg.textContent = "登录已过期或已退出，请重新登录。";
  };

  /* A Leaflet.VectorGrid protobuf layer of the app's tiles (ticket tiles of the operations map, patrol fixes of the
     patrol map): no request before the page is ready (with opts.waitReady: gg.ready, set by gg_page.js), without a
     token or outside opts.minZoom..22 (an empty tile instead); a tile answered 401 calls gg.expired() and
     opts.onExpired. */
  gg.tileLayer = function (layer, opts) {
    var fetchTile = layer._getVectorTilePromise;
    layer._getVectorTilePromise = function (coords) {
      if ((opts.waitReady && !gg.ready) || !gg.token() || coords.z < (opts.minZoom || 0) || coords.z > 22) {
        return Promise.resolve({ layers: {} });
      }
      // VectorGrid calls fetch() synchronously here and hides the status (a refused tile is drawn empty): this one
      // call goes through a fetch that notices a 401
      var realFetch = window.fetch;
      window.fetch = function (url, init) {
        return realFetch(url, init).then(function (r) {
          if (r.status === 401 && gg.token()) { gg.expired(); if (opts.onExpired) opts.onExpired(); }
          return r;
        });
      };
      try { return fetchTile.call(layer, coords); } finally { window.fetch = realFetch; }
    };
    return layer;
  };

  /* ---- log-in and log-out ---- */
  gg.login = function (username, password) {
    return gg.api("POST", "/v1/auth/login", { username: username, password: password }, { auth: false })
      .then(function (answer) { gg.keepToken(answer.access_token); return answer; });
  };
  gg.logout = function () {
    var token = gg.token();
    gg.forgetToken();
    gg.showLogin(true);
    if (token) fetch("/v1/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + token } });
  };
  /* A log-in form (inputs `username`, `password`): logs in, then done(answer of /v1/auth/login); or
     failed(text): the server's reason, else texts.failed, or texts.offline when the server cannot be reached. */
  gg.loginForm = function (form, done, failed, texts) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      gg.login(form.username.value, form.password.value).then(
        function (answer) {
          form.password.value = "";
          done(answer);
        },
        function (err) { failed(err.status ? (err.body && err.body.message) || texts.failed : texts.offline); }
      );
    });
  };
  /* The map pages' log-in panel (operations map: the page is public, its data needs a token); loggedIn() runs
     after a log-in through it. */
  /* The unread count of the in-app inbox in an element #gg-unread (a link to /maps/notifications), if the page
     has one; hidden at zero. */
  gg.unreadBadge = function () {
    var el = document.getElementById("gg-unread");
    if (!el || !gg.token()) return;
    gg.api("GET", "/v1/me/notifications/unread").then(function (a) {
      el.textContent = "通知 " + a.unread;
      el.hidden = !a.unread;
    }, function () { el.hidden = true; });
  };
  gg.setupLogin = function (loggedIn) {
    var form = document.getElementById("gg-login");
    if (!form) return;
    var msg = document.getElementById("gg-login-msg"), name = document.getElementById("gg-who-name");
    gg.loginForm(form, function (answer) {
      name.textContent = answer.user.full_name;
      msg.textContent = "";
      gg.showLogin(false);
      gg.unreadBadge();
      if (loggedIn) loggedIn();
    }, function (text) { msg.textContent = text; }, { failed: "登录失败", offline: "无法连接服务器" });
    var out = document.getElementById("gg-logout");
    if (out) out.addEventListener("click", gg.logout);
    gg.showLogin(!gg.token());
    if (gg.token()) {
      gg.api("GET", "/v1/auth/me").then(
        function (me) { name.textContent = me.full_name; gg.unreadBadge(); },
        function (err) { if (err.status) { gg.forgetToken(); gg.showLogin(true); } }
      );
    }
  };
})();
