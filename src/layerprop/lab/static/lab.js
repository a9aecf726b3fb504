/* layerprop lab: the page — tabs, language, the server connection and the share link — around the
   graph view (graph.js) and the train view (train.js), which the notebook widgets share.
   Every request carries the token from <body data-token>. The page's whole state lives in the
   URL's # part (never sent to the server): opening the link restores it, and "Open a shared link"
   applies the # part of a link copied from any lab (layerprop.lab.share_links has the same rules for
   `layerprop lab --open`). State for scripts and tests: window.lab. */
(function () {
  "use strict";
  var TOKEN = document.body.getAttribute("data-token");
  var $ = function (id) { return document.getElementById(id); };
  var lab = window.lab = { lang: "en", limits: null };
  // hooks for the page's other scripts (layers.js: the learner's own layers): graphRequest(body) →
  // {path, body}, afterGraph(result), step(step), language(lang); lab.recompute() redraws the graph
  lab.hooks = {};

  // -- language ------------------------------------------------------------------------------
  function t(key, args, lang) { return labText(lang || lab.lang, key, args); }
  function setLanguage(lang) {
    lab.lang = LAB_WORDS[lang] ? lang : "en";
    document.documentElement.lang = lab.lang;
    try { localStorage.setItem("layerprop-lab-lang", lab.lang); } catch (e) { /* private mode */ }
    labTranslate(document, lab.lang);
    $("lang").textContent = t("other_language");
    showLimits();
    showOpened();
    if (graph) graph.relabel();
    if (trainer) trainer.relabel();
    if (lab.hooks.language) lab.hooks.language(lab.lang);
  }

  function showLimits() {
    if (!lab.limits) return;
    var args = Object.assign({ csv_kib: Math.round(lab.limits.csv_bytes / 1024) }, lab.limits);
    $("limits").textContent = t("limits", args);
  }

  // -- talking to the lab ----------------------------------------------------------------------
  function call(name, body) {  // POST /api/NAME (a hook may route the graph elsewhere); a refusal is {en, ko}
    var path = "/api/" + name;
    if (name === "graph" && lab.hooks.graphRequest) {
      var routed = lab.hooks.graphRequest(body);
      path = routed.path; body = routed.body;
    }
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json", "X-Lab-Token": TOKEN },
      body: JSON.stringify(body)
    }).then(function (reply) {
      return reply.json().catch(function () { return { error: reply.statusText }; }).then(function (data) {
        if (!reply.ok || data.error) throw { en: data.error || reply.statusText, ko: data.error_ko || null };
        return data;
      });
    });
  }
  var socket = null;
  function connect() {
    if (socket) return;
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/train?token=" + encodeURIComponent(TOKEN));
    socket.onopen = function () { trainer.connected(); };
    socket.onmessage = function (event) { trainer.receive(JSON.parse(event.data)); };
    socket.onclose = function () {
      socket = null;
      trainer.disconnected();
      trainer.receive({ type: "error", message: t("disconnected", {}, "en"), message_ko: t("disconnected", {}, "ko") });
    };
  }
  function send(message) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(message)); }

  // -- the views ---------------------------------------------------------------------------------
  var graph = null, trainer = null;
  var host = {
    call: call, t: t, lang: function () { return lab.lang; }, keys: document, elementId: "lab-graph",
    limits: function () { return lab.limits || {}; },
    changed: function () { writeLink(); },
    shown: function (result) {
      lab.limits = result.limits;
      showLimits();
      document.body.setAttribute("data-graph-version", String(graph.view.version));
      if (lab.hooks.afterGraph) lab.hooks.afterGraph(result);
    },
    stepped: function (step) { if (lab.hooks.step) lab.hooks.step(step); },
    send: send
  };
  graph = layerpropGraphView.mount($("graph-page"), host);
  trainer = layerpropTrainView.mount($("train-page"), host);
  Object.defineProperties(lab, {  // what the tests read
    graph: { get: function () { return graph.view.result; } },
    steps: { get: function () { return graph.view.steps; } },
    step: { get: function () { return graph.view.step; } },
    version: { get: function () { return graph.view.version; } },
    train: { get: function () { return trainer.train; } }
  });
  lab.showStep = graph.showStep;
  lab.recompute = graph.recompute;
  lab.t = t;

  // -- tabs --------------------------------------------------------------------------------------
  var tab = "graph";
  function showTab(name) {
    tab = name === "train" ? "train" : "graph";
    $("graph-page").hidden = tab !== "graph";
    $("train-page").hidden = tab !== "train";
    $("tab-graph").setAttribute("aria-selected", String(tab === "graph"));
    $("tab-train").setAttribute("aria-selected", String(tab === "train"));
    if (tab === "train") connect(); else graph.visible();
    writeLink();
  }
  $("tab-graph").addEventListener("click", function () { showTab("graph"); });
  $("tab-train").addEventListener("click", function () { showTab("train"); });
  $("lang").addEventListener("click", function () { setLanguage(lab.lang === "ko" ? "en" : "ko"); });

  // -- the link: the page's state in the # part ----------------------------------------------------
  var PREFIX = "v.";  // an input's value: v.NAME=number (a tensor: JSON)
  function encode() {
    var p = new URLSearchParams();
    p.set("tab", tab);
    var g = graph.state();
    if (g.expr) p.set("expr", g.expr); else p.set("preset", g.preset);
    Object.keys(g.values).forEach(function (name) {
      var v = g.values[name];
      p.set(PREFIX + name, typeof v === "number" ? String(v) : JSON.stringify(v));
    });
    if (g.step !== undefined) p.set("step", String(g.step));
    var s = trainer.state();
    p.set("data", s.data);
    if (s.points) {
      p.set("pts", s.points.x.map(function (xy, j) { return xy[0] + "," + xy[1] + "," + s.points.t[j]; }).join(";"));
      p.set("classes", JSON.stringify(s.points.classes));
      if (s.data === "csv") { p.set("cols", JSON.stringify(s.points.columns)); p.set("file", s.points.name || ""); }
    }
    p.set("hidden", s.hidden.join(","));
    [["act", s.activation], ["opt", s.optimizer], ["lr", s.lr], ["batch", s.batch], ["speed", s.speed], ["seed", s.seed]]
      .forEach(function (kv) { p.set(kv[0], String(kv[1])); });
    return p.toString();
  }
  function decode(hash) {
    var text = hash.replace(/^#/, "");
    if (text === "train" || text === "graph") return { tab: text };
    var p = new URLSearchParams(text), state = { tab: p.get("tab") || "graph", graph: { values: {} }, train: {} };
    var json = function (s, fallback) { try { return JSON.parse(s); } catch (e) { return fallback; } };
    if (p.get("expr")) state.graph.expr = p.get("expr"); else if (p.get("preset")) state.graph.preset = p.get("preset");
    p.forEach(function (value, key) {
      if (key.indexOf(PREFIX) !== 0) return;
      var v = /^[\[{]/.test(value) ? json(value, null) : Number(value);
      if (v !== null && (typeof v !== "number" || isFinite(v))) state.graph.values[key.slice(PREFIX.length)] = v;
    });
    if (p.get("step") !== null && isFinite(Number(p.get("step")))) state.graph.step = Number(p.get("step"));
    var tr = state.train;
    if (p.get("data")) tr.data = p.get("data");
    if (p.get("pts") !== null) {
      var xs = [], ts = [];
      p.get("pts").split(";").filter(Boolean).forEach(function (item) {
        var f = item.split(",").map(Number);
        if (f.length === 3 && f.every(isFinite)) { xs.push([f[0], f[1]]); ts.push(f[2]); }
      });
      tr.points = { x: xs, t: ts, classes: json(p.get("classes"), ["A", "B"]), columns: json(p.get("cols"), ["x1", "x2"]),
        name: p.get("file") || "", frame: tr.data === "draw" ? "square" : "fit" };
    }
    if (p.get("hidden") !== null) tr.hidden = p.get("hidden").split(",").filter(Boolean).map(Number);
    [["act", "activation"], ["opt", "optimizer"], ["lr", "lr", Number], ["batch", "batch", Number], ["speed", "speed", Number], ["seed", "seed", Number]]
      .forEach(function (kv) { if (p.get(kv[0]) !== null) tr[kv[1]] = kv[2] ? kv[2](p.get(kv[0])) : p.get(kv[0]); });
    return state;
  }
  var writing = null, restoring = false;
  function writeLink() {
    if (restoring) return;
    clearTimeout(writing);
    writing = setTimeout(function () { history.replaceState(null, "", "#" + encode()); }, 150);
  }
  function restore(hash) {
    var state = decode(hash);
    restoring = true;
    graph.load(state.graph || {});
    trainer.load(state.train || {});
    restoring = false;
    showTab(state.tab);
  }
  window.addEventListener("hashchange", function () { restore(location.hash); });
  $("share").addEventListener("click", function () {
    clearTimeout(writing);
    history.replaceState(null, "", "#" + encode());
    var link = location.href;
    $("share-link").value = link;
    $("share-box").hidden = false;
    $("share-link").select();
    var done = function (copied) { $("share-status").textContent = t(copied ? "share_copied" : "share_select"); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(link).then(function () { done(true); }, function () { done(false); });
    else done(false);
  });
  lab.link = function () { return "#" + encode(); };

  // -- a link shared from another lab: its # part, applied here ----------------------------------------
  // the keys encode() writes (an input's value: PREFIX + name); a # part that is just a tab's name
  // counts too. layerprop.lab.share_links.STATE_KEYS is the same list (a test compares them).
  var STATE_KEYS = ["tab", "expr", "preset", "step", "data", "pts", "classes", "cols", "file", "hidden",
    "act", "opt", "lr", "batch", "speed", "seed"];
  lab.stateKeys = STATE_KEYS;
  function holdsState(fragment) {
    if (fragment === "graph" || fragment === "train") return true;
    var found = false;
    new URLSearchParams(fragment).forEach(function (value, key) {
      if (STATE_KEYS.indexOf(key) >= 0 || key.indexOf(PREFIX) === 0) found = true;
    });
    return found;
  }
  /* The # part of `text` — a link from any lab (its token, host and port are not used) or its # part
     alone — or throws the key of the message that says why not. */
  function sharedFragment(text) {
    var limit = (lab.limits || {}).link_chars;
    if (limit && text.length > limit) throw { key: "open_too_long", args: { n: text.length, limit: limit } };
    var fragment;
    if (text.charAt(0) === "#") fragment = text.slice(1);
    else {
      var url = null;
      try { url = new URL(text); } catch (e) { /* not a URL */ }
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || !url.host) throw { key: "open_not_link" };
      fragment = url.hash.slice(1);
    }
    if (!holdsState(fragment)) throw { key: "open_no_state" };
    return fragment;
  }
  var opened = null;  // the last message of "Open a shared link": {key, args, refused}
  function showOpened() {
    var box = $("open-status");
    box.hidden = !opened;
    if (!opened) return;
    box.textContent = t(opened.key, opened.args);
    box.className = opened.refused ? "refused" : "";
    box.setAttribute("data-state", opened.refused ? "refused" : "opened");
  }
  $("open-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("open-link").value.trim();
    if (!text) return;
    try {
      var fragment = sharedFragment(text);
      history.pushState(null, "", "#" + fragment);  // Back returns to the state before it
      restore(location.hash);  // the decoder of a fresh page
      $("open-link").value = "";
      opened = { key: "open_done" };
    } catch (problem) {
      if (!problem || !problem.key) throw problem;
      opened = { key: problem.key, args: problem.args, refused: true };
    }
    showOpened();
  });

  // -- start ---------------------------------------------------------------------------------------
  var stored = null;
  try { stored = localStorage.getItem("layerprop-lab-lang"); } catch (e) { /* private mode */ }
  setLanguage(stored || ((navigator.language || "en").toLowerCase().indexOf("ko") === 0 ? "ko" : "en"));
  restore(location.hash);
})();
