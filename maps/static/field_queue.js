/* The field app's offline queue (gg.queue): every write of the app — GPS fix batches, check-ins, 五必查 answers,
   photos, reports, ticket actions — goes into IndexedDB (through the `idb` library) first, and sync sends the
   items in the order they were made, each with its idempotency key (batch_key / client_key, fixed when the item
   was queued), so a send that is repeated after a lost answer creates nothing twice on the server.

   Items may depend on what an earlier item created (the patrol's id, the visit's id, a photo's id): an item
   names the answer it keeps (`save: "visit-…"`, taken from answer[saveField]) and later items write
   "@ref:visit-…" in their path or body, replaced by the kept id just before sending.

   Stores: queue (pending items, in order), refs (kept ids), failed (items the server refused: shown, not
   retried), kv (the last day and checklist read, the current patrol, for use offline). */
(function () {
  "use strict";
  var gg = (window.gg = window.gg || {});
  var DB_NAME = "gridgov-field", REF = "@ref:";
  var dbp = null, syncing = null, listeners = [];

  function db() {
    if (!dbp) {
      dbp = window.idb.openDB(DB_NAME, 1, {
        upgrade: function (d) {
          d.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
          d.createObjectStore("refs");
          d.createObjectStore("failed", { keyPath: "seq" });
          d.createObjectStore("kv");
        },
      });
    }
    return dbp;
  }

  /* a fresh idempotency key */
  function newKey(prefix) {
    var rnd = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Date.now().toString(36) + Math.random().toString(36).slice(2);
    return (prefix || "k") + "-" + rnd;
  }

  function notify() {
    return count().then(function (n) {
      listeners.forEach(function (f) { f(n); });
      return n;
    });
  }

  function count() { return db().then(function (d) { return d.count("queue"); }); }

  /* Queue one request. item: {method, path, body (JSON object), upload ({blob, name}) instead of body,
     save (ref name), saveField (answer field kept, default "id"), label (shown when it fails)}. */
  function add(item) {
    item.method = item.method || "POST";
    item.queuedAt = new Date().toISOString();
    return db().then(function (d) { return d.add("queue", item); }).then(function (seq) {
      notify();
      return seq;
    });
  }

  /* "@ref:name" strings anywhere in a value, replaced by the kept ids; throws {missing} when one is not known */
  function resolve(value, refs) {
    if (typeof value === "string") {
      var i = value.indexOf(REF);
      if (i < 0) return value;
      var name = value.slice(i + REF.length).split(/[/?&]/)[0];
      if (!(name in refs)) throw { missing: name };
      var id = refs[name];
      return i === 0 && value === REF + name ? id : resolve(value.replace(REF + name, String(id)), refs);
    }
    if (Array.isArray(value)) return value.map(function (v) { return resolve(v, refs); });
    if (value && typeof value === "object" && !(value instanceof Blob)) {
      var out = {};
      Object.keys(value).forEach(function (k) { out[k] = resolve(value[k], refs); });
      return out;
    }
    return value;
  }

  function allRefs(d) {
    return Promise.all([d.getAllKeys("refs"), d.getAll("refs")]).then(function (kv) {
      var refs = {};
      kv[0].forEach(function (k, i) { refs[k] = kv[1][i]; });
      return refs;
    });
  }

  function send(item, refs) {
    var path = resolve(item.path, refs), body;
    if (item.upload) {
      body = new FormData();
      body.append("file", item.upload.blob, item.upload.name || "photo.jpg");
    } else if (item.body !== undefined) {
      body = resolve(item.body, refs);
    }
    return gg.api(item.method, path, body);
  }

  /* Send what is queued, oldest first. Stops at the first item that cannot reach the server (or a 401 or a
     5xx: tried again later); an item the server refuses (4xx) moves to `failed`, and so do the items that
     needed its answer. Resolves with the number still pending. */
  function sync() {
    if (syncing) return syncing;
    syncing = db().then(function (d) {
      function next() {
        return d.getAll("queue", null, 1).then(function (items) {
          if (!items.length) return;
          var item = items[0], refs;
          return allRefs(d).then(function (r) {
            refs = r;
            try { return send(item, refs); } catch (e) {
              if (e && e.missing) return Promise.reject({ status: 0, missing: e.missing, message: "缺少前序记录" });
              throw e;
            }
          }).then(function (answer) {
            var tx = d.transaction(["queue", "refs"], "readwrite");
            if (item.save) tx.objectStore("refs").put(answer[item.saveField || "id"], item.save);
            tx.objectStore("queue").delete(item.seq);
            return tx.done.then(function () { notify(); return next(); });
          }, function (err) {
            var refused = err.missing || (err.status && err.status >= 400 && err.status < 500 && err.status !== 401);
            if (!refused) throw err;  // offline, 401 or a server error: keep it, try later
            item.error = err.message || "HTTP " + err.status;
            var tx = d.transaction(["queue", "failed"], "readwrite");
            tx.objectStore("failed").put(item);
            tx.objectStore("queue").delete(item.seq);
            return tx.done.then(function () { notify(); return next(); });
          });
        });
      }
      return next();
    }).then(count, function () { return count(); }).then(function (n) {
      syncing = null;
      notify();
      return n;
    });
    return syncing;
  }

  function kvGet(key) { return db().then(function (d) { return d.get("kv", key); }); }
  function kvSet(key, value) { return db().then(function (d) { return d.put("kv", value, key); }); }
  function failed() { return db().then(function (d) { return d.getAll("failed"); }); }
  function ref(name) { return db().then(function (d) { return d.get("refs", name); }); }

  /* forget everything (log-out: the next worker on this phone sees nothing of the last one) */
  function clear() {
    return db().then(function (d) {
      var tx = d.transaction(["queue", "refs", "failed", "kv"], "readwrite");
      ["queue", "refs", "failed", "kv"].forEach(function (s) { tx.objectStore(s).clear(); });
      return tx.done;
    }).then(notify);
  }

  gg.queue = {
    add: add,
    sync: sync,
    count: count,
    failed: failed,
    ref: ref,
    kvGet: kvGet,
    kvSet: kvSet,
    clear: clear,
    newKey: newKey,
    REF: REF,
    onChange: function (f) { listeners.push(f); notify(); },
  };
})();
