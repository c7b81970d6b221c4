/* The admin console (/admin/…): forms and tables over the /v1 reference-data endpoints, with the token of
   gg_auth.js. The page's markup says what to do; this script only follows it:

   - form[data-path]: submitting sends its named inputs as JSON (dotted names nest; data-type list | int | float
     | members converts; blanks are left out) with data-method to data-path, whose {placeholders} come from the
     form itself or from the form named by data-context. data-multipart sends a FormData (photo uploads).
     data-load (a GET) fills the page's other forms from the answer. An error shows the API's message under the
     form and next to the field the API names (detail.field): the same words as the API.
   - table[data-list]: rows from the URL (an array, {items}, or GeoJSON features), filtered by the form named by
     data-filter; columns from th[data-key] (data-render: bool | label | open | time | contacts | diff); row
     buttons from data-actions (method + path, confirm, prompt for one body field, or fill: a form's id).
   - datalist[data-source]: options from an API list (communities, organizations).
   - #ad-map (resources): communities and resources on a Leaflet map; a click fills lon/lat of the create form.
   - a[data-download] (sheets): the file at href, fetched with the token, saved under the name data-download.
   - form#sheet-upload (sheets): the file goes to /v1/reference/sheets/{sheet}/preview; the report (created,
     updated, unchanged, errors by row and column in the API's words) fills #sheet-report; 确认导入 (#sheet-commit)
     posts the same file to …/commit, and is offered only after a preview without errors. */
(function () {
  "use strict";

  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  function rowsOf(answer) {
    if (Array.isArray(answer)) return answer;
    if (answer && Array.isArray(answer.items)) return answer.items;
    if (answer && Array.isArray(answer.features)) {
      return answer.features.map(function (f) {
        var p = Object.assign({}, f.properties);
        if (f.geometry && f.geometry.type === "Point") { p.lon = f.geometry.coordinates[0]; p.lat = f.geometry.coordinates[1]; }
        if (p.osm_hours) p.opening_hours = p.osm_hours;
        return p;
      });
    }
    return [];
  }

  function getPath(obj, name) {
    return name.split(".").reduce(function (o, k) { return o === null || o === undefined ? undefined : o[k]; }, obj);
  }
  function setPath(obj, name, value) {
    var keys = name.split("."), last = keys.pop();
    keys.forEach(function (k) { obj = obj[k] = obj[k] || {}; });
    obj[last] = value;
  }

  function convert(el) {
    var v = el.value.trim(), type = el.dataset.type;
    if (v === "") return undefined;
    if (type === "list") return v.split(/[,，、;\s]+/).filter(Boolean);
    if (type === "int") return parseInt(v, 10);
    if (type === "float") return parseFloat(v);
    if (type === "members") {
      return v.split(/\n+/).filter(function (l) { return l.trim(); }).map(function (line) {
        var p = line.trim().split(/\s+/);
        return { title: p[0] || "", name: p[1] || "", phone: p[2] || null };
      });
    }
    return v;
  }
  function show(el, value) {
    if (value === null || value === undefined) return "";
    if (el && el.dataset.type === "members" && Array.isArray(value)) {
      return value.map(function (m) { return [m.title, m.name, m.phone || ""].join(" ").trim(); }).join("\n");
    }
    return Array.isArray(value) ? value.join(",") : String(value);
  }

  function fill(form, obj) {
    $$("[name]", form).forEach(function (el) {
      if (el.type === "file" || el.type === "password") return;
      var value = getPath(obj, el.name);
      if (value !== undefined) el.value = show(el, value);
    });
  }

  function values(form) {
    var out = {};
    $$("[name]", form).forEach(function (el) {
      if (el.type === "file") return;
      var v = convert(el);
      if (v !== undefined) setPath(out, el.name, v);
    });
    return out;
  }

  function placeholders(path, own, context) {
    var missing = false;
    var url = path.replace(/\{(\w+)\}/g, function (_, key) {
      var v = own && own[key] !== undefined ? own[key] : context ? context[key] : undefined;
      if (v === undefined || v === "") { missing = true; return ""; }
      return encodeURIComponent(v);
    });
    return missing ? null : url;
  }
  function tmpl(text, row) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return row[k] === undefined || row[k] === null ? "" : row[k]; });
  }
  function contextOf(el) {
    var id = el.dataset.context;
    return id ? values(document.getElementById(id)) : {};
  }

  function clearErrors(form) {
    $$(".ad-field-error", form).forEach(function (e) { e.hidden = true; e.textContent = ""; });
    $$("[aria-invalid]", form).forEach(function (e) { e.removeAttribute("aria-invalid"); });
  }
  function showError(form, err) {
    var msg = $(".ad-form-msg", form);
    if (msg) { msg.textContent = err.message || "出错了"; msg.className = "ad-form-msg ad-bad"; }
    var field = err.body && err.body.detail && err.body.detail.field;
    if (!field && err.body && Array.isArray(err.body.detail) && err.body.detail[0] && err.body.detail[0].loc) {
      field = err.body.detail[0].loc.slice(1).join(".");  // FastAPI's own validation: ["body", "field", …]
    }
    var input = field ? form.querySelector('[name="' + String(field).replace(/"/g, "") + '"]') : null;
    if (!input && field) input = form.querySelector('[name="' + String(field).split(/[.[]/)[0] + '"]');
    if (input) {
      input.setAttribute("aria-invalid", "true");
      var note = $(".ad-field-error", input.closest(".ad-field"));
      if (note) { note.hidden = false; note.textContent = err.message; }
      input.focus();
    }
  }
  function ok(form, text) {
    var msg = $(".ad-form-msg", form);
    if (msg) { msg.textContent = text; msg.className = "ad-form-msg ad-good"; }
  }

  /* ---- tables ---- */
  function render(th, row) {
    var key = th.dataset.key, v = row[key], how = th.dataset.render;
    if (how === "bool") return v ? "是" : "否";
    if (how === "label") return v === null || v === undefined ? "" : JSON.parse(th.dataset.labels)[v] || v;
    if (how === "open") return v === true ? "营业中" : v === false ? "休息中" : "时间未知";
    if (how === "time") return v ? new Date(v).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) : "";
    if (how === "contacts") {
      return (v || []).map(function (c) { return (c.title || c.duty) + " " + c.name + (c.phone ? " " + c.phone : ""); }).join("；");
    }
    if (how === "diff") {
      var before = row.before || {}, after = row.after || {}, keys = Object.keys(Object.assign({}, before, after));
      return keys.filter(function (k) { return JSON.stringify(before[k]) !== JSON.stringify(after[k]); })
        .map(function (k) {
          return k + ": " + (k in before ? JSON.stringify(before[k]) : "—") + " → " + (k in after ? JSON.stringify(after[k]) : "—");
        }).join("\n");
    }
    return show(null, v);
  }

  function loadTable(table) {
    var filter = table.dataset.filter ? values(document.getElementById(table.dataset.filter)) : {};
    var url = placeholders(table.dataset.list, null, contextOf(table));
    var body = $("tbody", table);
    if (url === null) { body.innerHTML = ""; return Promise.resolve(); }
    var query = new URLSearchParams(filter).toString();
    if (query) url += (url.indexOf("?") >= 0 ? "&" : "?") + query;
    return gg.api("GET", url).then(function (answer) {
      var heads = $$("th", table), actions = table.dataset.actions ? JSON.parse(table.dataset.actions) : [];
      body.innerHTML = "";
      rowsOf(answer).forEach(function (row) {
        var tr = document.createElement("tr");
        heads.forEach(function (th) {
          var td = document.createElement("td");
          if (th.dataset.key) td.textContent = render(th, row);
          else actions.forEach(function (a) { button(td, a, row, table); });
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      if (!body.children.length) body.innerHTML = '<tr><td colspan="' + heads.length + '" class="ad-empty">没有记录</td></tr>';
    }, function (err) {
      body.innerHTML = '<tr><td class="ad-bad" colspan="9"></td></tr>';
      $("td", body).textContent = err.message;
    });
  }

  function button(td, action, row, table) {
    if (action.when && !row[action.when]) return;
    if (action.unless && row[action.unless]) return;
    var b = document.createElement("button");
    b.type = "button";
    b.className = "ad-btn ad-small";
    b.textContent = action.label;
    b.addEventListener("click", function () {
      if (action.fill) {
        var form = document.getElementById(action.fill);
        fill(form, row);
        form.scrollIntoView({ behavior: "smooth" });
        return;
      }
      if (action.confirm && !window.confirm(tmpl(action.confirm, row))) return;
      var body;
      if (action.prompt) {
        var answer = window.prompt(tmpl(action.ask || action.prompt, row));
        if (!answer) return;
        body = {};
        body[action.prompt] = answer;
      }
      gg.api(action.method, placeholders(action.path, row), body).then(
        function () { refresh(); },
        function (err) { window.alert(err.message); }
      );
    });
    td.appendChild(b);
  }

  function refresh() {
    $$("table[data-list]").forEach(loadTable);
    if (gg.adminMap) gg.adminMap.reload();
  }

  /* ---- forms ---- */
  function setupForm(form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearErrors(form);
      var own = values(form), path = placeholders(form.dataset.path, own, contextOf(form));
      if (path === null) { showError(form, { message: "请先填写必填项（或先选择小区） / fill in the required fields first" }); return; }
      var body;
      if (form.hasAttribute("data-multipart")) {
        body = new FormData();
        $$('input[type="file"]', form).forEach(function (f) { if (f.files[0]) body.append(f.name, f.files[0]); });
      } else if (form.dataset.method !== "GET") {
        body = own;
        (form.dataset.path.match(/\{(\w+)\}/g) || []).forEach(function (p) { delete body[p.slice(1, -1)]; });
      }
      gg.api(form.dataset.method, path, body).then(function (answer) {
        ok(form, form.dataset.method === "GET" ? "已打开" : "已保存");
        if (form.hasAttribute("data-load") || form.dataset.context) loaded(answer);
        if (form.dataset.method === "POST" && !form.hasAttribute("data-multipart") && !form.dataset.context) form.reset();
        refresh();
      }, function (err) { showError(form, err); });
    });
  }

  /* a compound's details and board, opened or saved: fill the forms that show them */
  function loaded(answer) {
    if (!answer || !answer.contacts) return;
    var details = document.getElementById("compound-details");
    if (details) fill(details, answer);
    answer.contacts.forEach(function (c) {
      var form = $('form[data-contact="' + c.duty + '"]');
      if (!form) return;
      fill(form, { name: c.name || "", phone: c.phone || "" });
      var img = $(".ad-photo", form);
      if (c.photo_url) { img.src = c.photo_url; img.hidden = false; } else { img.hidden = true; }
    });
  }

  function loadDatalists() {
    $$("datalist[data-source]").forEach(function (list) {
      gg.api("GET", list.dataset.source).then(function (answer) {
        list.innerHTML = "";
        rowsOf(answer).forEach(function (row) {
          var o = document.createElement("option");
          o.value = row[list.dataset.key];
          o.label = row[list.dataset.label] || "";
          list.appendChild(o);
        });
      }, function () { /* optional help: a manager may not read every list */ });
    });
  }

  /* ---- the resources map ---- */
  function setupMap(el) {
    if (typeof L === "undefined") return;
    var map = L.map(el, { zoomControl: true }).setView([36.66, 117.05], 13);
    var areas = L.featureGroup().addTo(map), points = L.featureGroup().addTo(map), pick = null;
    var target = $("form[data-map-target]");
    map.on("click", function (e) {
      if (!target) return;
      target.elements.lon.value = e.latlng.lng.toFixed(6);
      target.elements.lat.value = e.latlng.lat.toFixed(6);
      if (pick) map.removeLayer(pick);
      pick = L.circleMarker(e.latlng, { radius: 7, color: "#b71c1c" }).addTo(map);
    });
    gg.api("GET", el.dataset.communities).then(function (fc) {
      L.geoJSON(fc, { style: { color: "#555", weight: 1, fillOpacity: 0.04 }, interactive: false }).addTo(areas);
      if (areas.getLayers().length && areas.getBounds().isValid()) map.fitBounds(areas.getBounds());
    }, function () { /* no communities readable: the map still picks points */ });
    gg.adminMap = {
      map: map,
      reload: function () {
        gg.api("GET", el.dataset.resources, undefined, { auth: false }).then(function (fc) {
          points.clearLayers();
          rowsOf(fc).forEach(function (r) {
            var m = L.circleMarker([r.lat, r.lon], { radius: 5, color: r.open_now ? "#2e7d32" : "#757575" });
            var state = r.open_now === true ? "营业中" : r.open_now === false ? "休息中" : "时间未知";
            m.bindPopup("<b>" + gg.esc(r.name) + "</b><br>" + gg.esc(r.type_label || r.type) + " · " + state +
              "<br>" + gg.esc(r.opening_hours || ""));
            m.on("click", function () { fill(document.getElementById("resource-edit"), r); });
            m.addTo(points);
          });
        });
      },
    };
    gg.adminMap.reload();
  }

  /* hours typed in OpenStreetMap syntax: read back in Chinese with today's state, or the parser's reason */
  function setupHoursPreview(input) {
    var note = document.createElement("small");
    note.className = "ad-hint ad-hours-preview";
    input.insertAdjacentElement("afterend", note);
    input.addEventListener("change", function () {
      if (!input.value.trim()) { note.textContent = ""; return; }
      gg.api("POST", "/v1/opening-hours/check", { opening_hours: input.value }, { auth: false }).then(function (a) {
        var state = a.open_now === true ? "现在营业中" : a.open_now === false ? "现在休息中" : "时间不定";
        note.textContent = a.description + "（" + state + "）";
        note.className = "ad-hint ad-hours-preview ad-good";
      }, function (err) {
        note.textContent = err.message;
        note.className = "ad-hint ad-hours-preview ad-bad";
      });
    });
  }

  /* ---- the sheets page: downloads with the token, upload → preview → commit ---- */
  function setupDownload(a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      gg.api("GET", a.getAttribute("href"), undefined, { response: true })
        .then(function (r) { return r.blob(); })
        .then(function (blob) {
          var url = URL.createObjectURL(blob), link = document.createElement("a");
          link.href = url;
          link.download = a.dataset.download;
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        }, function (err) { if (!err.login) window.alert(err.message); });
    });
  }

  function rowsInto(table, rows, cells) {
    var body = $("tbody", table);
    body.innerHTML = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cells(row).forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text === null || text === undefined ? "" : String(text);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.closest("[data-part]").hidden = !rows.length;
  }

  function showReport(r) {
    var box = $("#sheet-report");
    box.hidden = false;
    $("#sheet-summary").textContent = r.title + "：共 " + r.rows + " 行，新建 " + r.created.length + "，修改 " +
      r.updated.length + "，不变 " + r.unchanged + "，错误 " + r.errors.length + (r.committed ? "（已导入）" : "（预览，尚未写入）");
    rowsInto($("#sheet-errors"), r.errors, function (e) { return [e.row, e.column, e.value, e.message]; });
    $("#sheet-created").textContent = r.created.join("、");
    $("#sheet-created").closest("[data-part]").hidden = !r.created.length;
    rowsInto($("#sheet-updated"), r.updated, function (u) {
      return [u.row, u.key, Object.keys(u.changes).map(function (k) {
        return k + "：" + show(null, u.changes[k][0]) + " → " + show(null, u.changes[k][1]);
      }).join("\n")];
    });
    rowsInto($("#sheet-placed"), r.placed, function (p) { return [p.row, p.name, p.placed_on]; });
    rowsInto($("#sheet-unplaced"), r.unplaced, function (u) { return [u.row, u.name, u.address, u.message]; });
    $("#sheet-ignored").textContent = r.ignored_columns.length ? "未识别、已忽略的列：" + r.ignored_columns.join("、") : "";
  }

  function setupSheetUpload(form) {
    var commit = $("#sheet-commit");
    var reset = function () { commit.disabled = true; };
    form.addEventListener("change", reset);  // another sheet or file: preview it first
    function send(step) {
      clearErrors(form);
      var file = form.elements.file.files[0], sheet = form.elements.sheet.value;
      if (!file) { showError(form, { message: "请选择文件 / choose a file", body: { detail: { field: "file" } } }); return; }
      var body = new FormData();
      body.append("file", file);
      commit.disabled = true;
      var path = "/v1/reference/sheets/" + encodeURIComponent(sheet) + "/" + step;
      gg.api("POST", path, body).then(function (r) {
        showReport(r);
        if (step === "commit") {
          ok(form, "已导入：新建 " + r.created.length + "，修改 " + r.updated.length + "，不变 " + r.unchanged);
        } else if (!r.ok) {
          showError(form, { message: "有 " + r.errors.length + " 处错误：请在表格中改正后重新上传（不会写入任何数据）" });
        } else if (!r.created.length && !r.updated.length) {
          ok(form, "与现有数据相同，无需导入");
        } else {
          ok(form, "没有错误：请核对后点“确认导入”");
          commit.disabled = false;
        }
      }, function (err) {
        var detail = err.body && err.body.detail;
        if (detail && Array.isArray(detail.errors)) showReport(detail);
        showError(form, err);
      });
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); send("preview"); });
    commit.addEventListener("click", function () { send("commit"); });
  }

  function start() {
    $$("a[data-download]").forEach(setupDownload);
    var upload = document.getElementById("sheet-upload");
    if (upload) setupSheetUpload(upload);
    $$('input[name="opening_hours"]').forEach(setupHoursPreview);
    gg.setupLogin(function () { whoAmI(); refresh(); loadDatalists(); });
    $$("form[data-path]").forEach(setupForm);
    $$("form.ad-filter:not([data-path])").forEach(function (f) {
      f.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
    });
    var mapEl = document.getElementById("ad-map");
    if (mapEl) setupMap(mapEl);
    if (gg.token()) { whoAmI(); refresh(); loadDatalists(); }
  }

  function whoAmI() {
    gg.api("GET", "/v1/auth/me").then(function (me) {
      var role = $("#ad-role");
      if (role) role.textContent = me.role;
      if (me.role !== "admin") $$("[data-admin-only]").forEach(function (a) { a.hidden = true; });
    }, function () { /* gg.api asks for a log-in on 401 */ });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
