// eslint for the pages' own scripts (maps/static): plain browser scripts, no modules, no build step.
// Each file is an IIFE that reads Leaflet (`L`) and adds to one namespace: `gg` (map pages, gg_*.js) or
// `window.planEditor` (plan_*.js). Run by `make lint` after ruff.
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    files: ["maps/static/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: {
        ...globals.browser,
        L: "readonly",  // Leaflet and its plugins, loaded before our scripts
        gg: "writable",  // the map pages' namespace (window.gg), made by gg_auth.js
        echarts: "readonly",  // the dashboard's charts (maps/static/dashboard.js), loaded before it
      },
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "none" }],
      eqeqeq: ["error", "always"],
      "no-var": "off",  // the scripts are ES5-style on purpose: one IIFE each, `var` throughout
      strict: ["error", "function"],
    },
  },
];
