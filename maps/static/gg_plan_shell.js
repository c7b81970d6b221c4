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
  gg.planShell = function (opts) {
    var msg = document.getElementById("gg-plan-msg");
    if (!gg.token()) { msg.textContent = "请先登录：在方案编辑器或网格运行图登录后再打开对比图。"; return; }
    gg.api("GET", opts.url, undefined, { text: true, cache: "no-store" })
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
