/* layerprop lab: your own layers on the graph page (layerprop lab --layers my_layers.py).
   Self-contained: it asks GET /api/layers for the classes of the file and the doctor's verdicts,
   shows them in a "Doctor" panel, adds to each node of the rules table a choice "layerprop" or
   one of your classes with as many inputs, and while any node is yours draws the graph through
   POST /api/layers/graph, which runs those nodes with your classes and marks every node with the
   doctor's verdict. It talks to lab.js only through window.lab.hooks and lab.recompute().
   State for scripts and tests: window.labLayers = { layers, mine, verdicts }. */
(function () {
  "use strict";
  var lab = window.lab;
  if (!lab || !lab.hooks) return;
  var TOKEN = document.body.getAttribute("data-token");
  var WORDS = {
    en: {
      doctor: "Doctor", checks: "checks the layers of {file}", layerprop: "layerprop", mine: "{name} (mine)",
      layer: "layer", verdict: "doctor", ok: "ok"
    },
    ko: {
      doctor: "닥터", checks: "{file}의 계층을 검사합니다", layerprop: "layerprop", mine: "{name} (내 계층)",
      layer: "계층", verdict: "닥터", ok: "통과"
    }
  };
  var state = window.labLayers = { layers: [], file: null, mine: {}, verdicts: {} };
  var style = document.createElement("style");
  style.textContent = ".doctor-list { list-style: none; padding: 0; margin: 4px 0; font-size: 13px; }" +
    ".doctor-layer { margin-bottom: 6px; } .doctor-problem { color: #c62828; font-size: 12px; margin-left: 1em; }" +
    ".doctor-note { margin-left: 1em; } #rules td.mine-cell select { font-size: 12px; max-width: 150px; }" +
    ".mine-verdict { font-size: 12px; font-weight: 600; }";
  document.head.appendChild(style);

  function t(key, args) {
    var text = (WORDS[lab.lang] || WORDS.en)[key] || WORDS.en[key] || key;
    if (args) Object.keys(args).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
    return text;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function said(pair) { return (pair && (pair[lab.lang] || pair.en)) || ""; }

  // -- the Doctor panel: one verdict per class, in the page's language ---------------------------
  var panel = el("section", "doctor-panel");
  panel.id = "doctor-panel";
  panel.hidden = true;
  function renderPanel() {
    panel.innerHTML = "";
    panel.appendChild(el("h2", "", t("doctor")));
    panel.appendChild(el("div", "hint", t("checks", { file: state.file || "" })));
    var list = el("ul", "doctor-list");
    state.layers.forEach(function (layer) {
      var item = el("li", "doctor-layer " + (layer.ok ? "ok" : "bad"));
      item.setAttribute("data-layer", layer.name);
      item.setAttribute("data-ok", String(layer.ok));
      item.appendChild(el("b", "", (layer.ok ? "✓ " : "✗ ") + layer.name));
      item.appendChild(el("span", "", " " + said(layer.verdict)));
      layer.problems.forEach(function (problem) {
        var line = el("div", "doctor-problem mono");
        line.setAttribute("data-code", problem.code);
        line.appendChild(el("code", "", problem.code));
        line.appendChild(document.createTextNode(" " + (lab.lang === "ko" ? problem.message_ko : problem.message)));
        item.appendChild(line);
      });
      layer.notes.forEach(function (note) {
        var line = el("div", "doctor-note hint");
        line.setAttribute("data-code", note.code);
        line.textContent = note.code + ": " + (lab.lang === "ko" ? note.message_ko : note.message);
        item.appendChild(line);
      });
      list.appendChild(item);
    });
    panel.appendChild(list);
  }

  // -- a choice per node of the rules table ------------------------------------------------------
  function inputsOf(nodeId) {  // the edges into the node in the drawing: its inputs and constants
    return document.querySelectorAll('#drawing .edge[data-target="' + CSS.escape(nodeId) + '"]').length;
  }
  function renderChoices() {
    if (!state.layers.length || !lab.graph || lab.graph.preset === "two-layer-net") return;
    Array.prototype.forEach.call(document.querySelectorAll("#rules tr[data-node]"), function (row) {
      var id = row.getAttribute("data-node");
      var cell = el("td", "mine-cell");
      var select = el("select", "mine-choice");
      select.setAttribute("data-node", id);
      select.setAttribute("aria-label", t("layer"));
      select.appendChild(new Option(t("layerprop"), ""));
      var count = inputsOf(id);
      state.layers.forEach(function (layer) {
        if (layer.buildable && layer.inputs === count) select.appendChild(new Option(t("mine", { name: layer.name }), layer.name));
      });
      if (select.options.length === 1) select.disabled = true;
      select.value = state.mine[id] || "";
      select.addEventListener("change", function () {
        if (select.value) state.mine[id] = select.value; else delete state.mine[id];
        lab.recompute();
      });
      cell.appendChild(select);
      var verdict = state.verdicts[id];
      if (verdict) {
        var mark = el("div", "mine-verdict " + (verdict.ok ? "ok" : "bad"), said(verdict.mark));
        mark.title = said(verdict.summary);
        mark.setAttribute("data-ok", String(verdict.ok));
        cell.appendChild(mark);
      }
      row.appendChild(cell);
    });
  }

  // (the step's verdict shows under the stepper's text: the shared stepper writes step.verdict into #step-verdict)

  // -- the hooks lab.js calls ------------------------------------------------------------------------
  lab.hooks.graphRequest = function (body) {
    // the same graph is asked for by its expression (new values); a preset or another expression is a new graph
    if (!(body.expr && lab.graph && body.expr === lab.graph.expr)) state.mine = {};
    if (!Object.keys(state.mine).length) return { path: "/api/graph", body: body };
    var withMine = {};
    Object.keys(body).forEach(function (key) { withMine[key] = body[key]; });
    withMine.mine = state.mine;
    return { path: "/api/layers/graph", body: withMine };
  };
  lab.hooks.afterGraph = function (result) {
    state.verdicts = result.verdicts || {};
    renderChoices();
  };
  lab.hooks.language = function () {
    if (state.layers.length) renderPanel();
    var rules = document.getElementById("rules");
    if (rules && lab.graph) renderChoices();
  };

  fetch("/api/layers", { headers: { "X-Lab-Token": TOKEN } }).then(function (reply) { return reply.json(); }).then(function (data) {
    state.layers = data.layers || [];
    state.file = data.file;
    if (!state.layers.length) return;
    var side = document.querySelector("#graph-page .side");
    side.insertBefore(panel, side.firstChild);
    panel.hidden = false;
    renderPanel();
    document.body.setAttribute("data-layers", String(state.layers.length));
    if (lab.graph) { var rules = document.getElementById("rules"); if (rules) renderChoices(); }
  });
})();
