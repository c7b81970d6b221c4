/* gridgov: the plan diff shell. A link to /maps/plans/{id} (no Authorization header) gets a page holding no plan
   data; gg.planShell({url}) asks the same URL again with the stored token (gg_auth.js, loaded before this file)
   and shows the diff map it gets in place of the shell, or says in Chinese why it cannot. */
(function () {
  "use strict";
  var gg = window.gg;
  var WHY = {
    401: "登录已过期，请重新登录。",
    403: "只有规划员、管理员和社区管理员可以查看规划方案。",
    404: "方案不存在。",
  };
  /* The diff map's inline script carries the nonce of its own answer, while the shell's Content-Security-Policy
     (which stays in force after document.write) allows the shell's nonce: exactly that attribute is given the
     shell's nonce (read from the inline script calling planShell). Text from the plan cannot take part: the
     answer's nonce is random and unknown before the answer, and text is escaped. */
  function underShellNonce(html, answer, shellNonce) {
    var csp = answer.headers.get("Content-Security-Policy") || "";
    var m = /'nonce-([A-Za-z0-9_-]+)'/.exec(csp);
    if (!m || !shellNonce) return html;
    return html.split('nonce="' + m[1] + '"').join('nonce="' + shellNonce + '"');
  }

  gg.planShell = function (opts) {
    var msg = document.getElementById("gg-plan-msg");
    var shellNonce = document.currentScript ? document.currentScript.nonce : "";
    if (!gg.token()) { msg.textContent = "请先登录：在方案编辑器或网格运行图登录后再打开对比图。"; return; }
    gg.api("GET", opts.url, undefined, { response: true, cache: "no-store" })
      .then(function (answer) {
        return answer.text().then(function (html) { return underShellNonce(html, answer, shellNonce); });
      })
      .then(function (html) {  // the diff map itself replaces this shell, at the same address
        document.open();
        document.write(html);
        document.close();
      })
      .catch(function (err) {
        if (!err.status) { msg.textContent = "无法连接服务器"; return; }
        var why = WHY[err.status] || "加载失败（HTTP " + err.status + "）";
        msg.textContent = why + (err.body && err.body.message ? " " + err.body.message : "");
      });
  };
})();
