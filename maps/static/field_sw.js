/* The field app's service worker, served at /field/sw.js (scope /field). Its first line, written by the app
   (maps/field_app.py), sets self.GG_FIELD: the local URLs of Workbox's build files (from node_modules, served
   under /assets/, never a CDN) and the precache list (the /field shell, manifest, icons, scripts and styles).
   It keeps those for offline use and answers them from the cache; API calls are not touched (the page queues
   its writes in IndexedDB and keeps its last reads there). */
/* global importScripts, workbox */
(function () {
  "use strict";
  importScripts.apply(self, self.GG_FIELD.workbox);

  self.addEventListener("install", function () { self.skipWaiting(); });
  workbox.core.clientsClaim();
  workbox.precaching.cleanupOutdatedCaches();
  // the shell is asked for as /field (or /field?…): one cached entry answers both
  workbox.precaching.precacheAndRoute(self.GG_FIELD.precache, { ignoreURLParametersMatching: [/.*/] });
})();
