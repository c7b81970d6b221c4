/* Plan editor: the plan as a whole (loaded after plan_editor.js). Validation after every change (problems
   listed and drawn; clicking one zooms to it), commit with its report (a committed or abandoned plan is then
   read-only), and file import with progress. */
(function () {
  "use strict";
  var ed = window.planEditor, S = ed.state, $ = ed.$, map = ed.map, esc = ed.esc, say = ed.say, call = ed.call;
  var updateButtons = ed.updateButtons, COLOUR = ed.COLOUR;

  var STAGES = {
    queued: "排队中 / queued", reading: "读取文件 / reading", converting: "坐标转换 / converting",
    checking: "检查要素 / checking", "counting households": "统计户数 / counting households",
    writing: "写入草案 / writing", done: "完成 / done",
  };
  var MOVED = { tickets: "工单", service_resources: "服务资源", compounds: "小区", buildings: "楼栋", patrols: "巡查记录" };
  var movedLabel = function (key) {  // "tickets" or "tickets.compound_code" (a second anchor of the same table)
    var parts = key.split(".");
    return (MOVED[parts[0]] || parts[0]) + (parts[1] ? "（" + parts[1] + "）" : "");
  };
  var LAYERS = { cell: "网格 / cells", compound: "小区 / compounds", community: "社区 / communities" };
  var shanghai = function (iso) { return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }); };

  /* ---- validation ---- */
  var problems = L.featureGroup().addTo(map), items = [];  // items: the listed problems, their <li> and layer
  ed.validate = function () {
    return call("POST", "/validate").then(function (fc) {
      problems.clearLayers();
      items = [];
      var list = $("problems");
      list.innerHTML = "";
      var sorted = fc.features.slice().sort(function (a, b) {
        return (a.properties.severity === "error" ? 0 : 1) - (b.properties.severity === "error" ? 0 : 1);
      });
      sorted.forEach(function (f) {
        var p = f.properties, err = p.severity === "error", colour = err ? COLOUR.error : COLOUR.warning, layer = null;
        if (f.geometry) {
          var style = { color: colour, weight: err ? 3 : 2, dashArray: err ? null : "4 3", fillColor: colour,
            fillOpacity: err ? 0.45 : 0.12 };
          layer = L.geoJSON(f, {
            coordsToLatLng: ed.coordsToLatLng, interactive: false, pmIgnore: true, snapIgnore: true, style: style,
            pointToLayer: function (_f, ll) {
              return L.circleMarker(ll, { radius: 7, color: colour, fillOpacity: 0.6, interactive: false,
                pmIgnore: true, snapIgnore: true });
            },
          });
          problems.addLayer(layer);
        }
        var li = document.createElement("li");
        li.className = err ? "pe-err" : "pe-warn";
        li.textContent = (err ? "✖ " : "⚠ ") + p.message;
        li.setAttribute("data-kind", p.kind);
        li.onclick = function () { focusProblem(f, layer, li); };
        list.appendChild(li);
        items.push({ li: li, layer: layer, err: err });
      });
      var s = fc.summary, el = $("summary");
      var warn = s.warnings ? "（" + s.warnings + " 个提示 / warnings）" : "";
      if (S.readonly && S.plan && S.plan.status !== "draft") el.textContent = "方案已提交，仅供查看 / committed" + warn;
      else if (!ed.changes()) el.textContent = "方案还没有修改，无需提交 / nothing to commit yet" + warn;
      else el.textContent = s.ok ? "可以提交 / ready to commit" + warn : s.errors + " 个错误，不能提交 / errors" + warn;
      el.className = s.ok ? "pe-ok" : "pe-err";
      showWarnings();
      ed.validations++;
    });
  };
  function showWarnings() {
    var on = $("show-warnings").checked;
    items.forEach(function (it) {
      if (it.err) return;
      it.li.classList.toggle("pe-hidden", !on);
      if (it.layer) { if (on) problems.addLayer(it.layer); else problems.removeLayer(it.layer); }
    });
  }
  $("show-warnings").onchange = showWarnings;
  $("validate").onclick = function () {
    ed.validate().then(function () { say("已校验 / validated", "ok"); }).catch(ed.fail);
  };
  function focusProblem(f, layer, li) {
    var p = f.properties, cellsOf = p.cells || [];
    items.forEach(function (it) { it.li.style.background = ""; });
    li.style.background = "#fff3e0";
    if (cellsOf.length === 1 && S.byCode[cellsOf[0]] && cellsOf[0] !== S.selected && !S.dirty) ed.select(cellsOf[0]);
    if (layer && f.geometry.type !== "Point") {
      map.fitBounds(layer.getBounds().pad(0.6), { maxZoom: 19 });
      layer.setStyle({ weight: 6 });
      setTimeout(function () { layer.setStyle({ weight: p.severity === "error" ? 3 : 2 }); }, 1500);
    } else if (layer || p.location) {
      var ll = layer ? layer.getBounds().getCenter() : ed.coordsToLatLng(p.location);
      map.setView(ll, Math.max(map.getZoom(), 18));
    } else if (cellsOf.length && S.byCode[cellsOf[0]]) {
      map.fitBounds(S.byCode[cellsOf[0]].getBounds(), { maxZoom: 19 });
    }
  }

  /* ---- commit ---- */
  $("commit").onclick = function () {
    var message = $("commit-message").value.trim(), out = $("commit-result");
    if (!message) {
      out.innerHTML = "<div class='pe-err'>提交说明不能为空 / a commit needs a message saying why the cells change</div>";
      return;
    }
    if (S.dirty) { out.innerHTML = "<div class='pe-err'>请先保存或放弃边界修改 / save or discard the shape first</div>"; return; }
    S.acting = true;
    updateButtons();
    out.textContent = "正在提交… / committing…";
    call("POST", "/commit", { message: message })
      .then(function (report) {
        out.innerHTML = "";
        $("commit-report").innerHTML = reportHtml(report);
        say("方案已提交 / committed", "ok");
        return ed.refresh(true);
      })
      .catch(function (err) { out.innerHTML = "<div class='pe-err'>" + esc(err.message) + "</div>"; })
      .finally(function () { S.acting = false; updateButtons(); });
  };
  function reportHtml(r) {
    var moved = Object.keys(r.moved || {}).map(function (k) {
      return esc(movedLabel(k)) + " " + esc(r.moved[k].count);
    }).join(" · ");
    var staff = (r.staff_to_reassign || []).length ?
      "<li>需重新安排网格员 / staff to reassign：" + esc(r.staff_to_reassign.join("、")) + "</li>" : "";
    return "<div class='pe-report' id='commit-report-body'><b>提交报告 / commit report</b><ul>" +
      "<li>新开版本 / versions opened：" + esc(r.versions_opened) + "</li>" +
      "<li>关闭版本 / versions closed：" + esc(r.versions_closed) + "</li>" +
      "<li>新增 " + esc((r.added || []).length) + "、修改 " + esc((r.changed || []).length) + "、删除 " +
      esc((r.removed || []).length) + " 个网格</li>" +
      "<li>重新归属 / moved：" + (moved || "无 / none") + "</li>" + staff + "</ul></div>";
  }
  ed.setReadonly = function (on) {  // a committed or abandoned plan: no tools, no edit buttons, its commit report
    S.readonly = on;
    document.body.classList.toggle("pe-readonly", on);
    if (on) {
      map.pm.disableDraw();
      ed.stopEditing();
      map.pm.removeControls();
      ed.cancelNew();
      S.mode = null;
      var c = S.plan && S.plan.commit;
      $("committed-text").textContent = S.plan && S.plan.status === "committed" ?
        "方案已提交" + (c ? "（" + shanghai(c.committed_at) + "：" + c.message + "）" : "") +
        "，只能查看 / committed: read-only" : "方案已废弃，只能查看 / abandoned: read-only";
      $("committed").hidden = false;
      if (c && !$("commit-report").innerHTML) {
        call("GET", "/v1/plans/history").then(function (entries) {
          var mine = entries.filter(function (e) { return e.plan_id === S.plan.id; })[0];
          if (mine && !$("commit-report").innerHTML) $("commit-report").innerHTML = reportHtml(mine.report);
        }).catch(function () {});
      }
    }
    updateButtons();
  };

  /* ---- file import, with progress ---- */
  $("import-form").onsubmit = function (e) {
    e.preventDefault();
    if (S.dirty) { say("请先保存或放弃边界修改 / save or discard the shape first", "err"); return; }
    var form = new FormData($("import-form"));
    ["crs", "mapping"].forEach(function (k) { if (!String(form.get(k) || "").trim()) form.delete(k); });
    var bar = $("import-bar"), out = $("import-result");
    S.acting = true;
    updateButtons();
    out.innerHTML = "";
    $("import-progress").hidden = false;
    bar.removeAttribute("value");
    $("import-stage").textContent = "上传中 / uploading";
    call("POST", "/imports", form)
      .then(poll)
      .then(function (job) {
        out.innerHTML = importHtml(job);
        $("import-file").value = "";
        return ed.refresh(true).then(function () { say("导入完成 / imported", "ok"); });
      })
      .catch(function (err) {
        var detail = err.body && Array.isArray(err.body.detail) ? err.body.detail.slice(0, 10) : [];
        out.innerHTML = "<div class='pe-err'>" + esc(err.message) + "</div>" + (detail.length ? "<ul class='pe-err'>" +
          detail.map(function (d) { return "<li>" + esc(typeof d === "string" ? d : JSON.stringify(d)) + "</li>"; })
            .join("") + "</ul>" : "");
      })
      .finally(function () { S.acting = false; updateButtons(); });
  };
  function poll(job) {
    var bar = $("import-bar");
    bar.max = job.total || 1;
    if (job.total) bar.value = job.done; else bar.removeAttribute("value");
    if (job.status === "done") bar.value = bar.max;
    $("import-stage").textContent = (STAGES[job.stage] || job.stage) + (job.total ? "：" + job.done + " / " + job.total : "");
    if (job.status === "done") return job;
    if (job.status === "failed") {
      var e = job.error || {};
      throw { message: e.message || "导入失败 / the import failed", body: e };
    }
    return new Promise(function (resolve) { setTimeout(resolve, 300); })
      .then(function () { return call("GET", job.status_url); })
      .then(poll);
  }
  function importHtml(job) {
    var r = job.report || {}, n = function (k) { return esc((r[k] || []).length); };
    var warnings = (r.warnings || []).map(function (w) { return "<li class='pe-warn'>" + esc(w) + "</li>"; }).join("");
    return "<div class='pe-report' id='import-report'><b>导入完成 / imported</b>：" + esc(job.filename) + "（" +
      esc(r.format) + "，" + esc(r.source_crs) + "）<ul><li>图层 / layer：" + esc(LAYERS[r.layer] || r.layer) +
      (r.attributes_only ? "（属性表，只更新属性 / attribute table: attributes only）" : "") + "</li>" +
      "<li>要素 / features：" + esc(r.features) + "</li>" +
      "<li>新增 " + n("added") + "、修改 " + n("changed") + "、未变 " + n("unchanged") + "、删除 " + n("removed") +
      "</li></ul>" + (warnings ? "<b>提示 / warnings</b><ul>" + warnings + "</ul>" : "") + "</div>";
  }
})();
