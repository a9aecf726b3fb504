/* layerprop lab: the graph page and the train page. Plain JavaScript, SVG and canvas.
   Every request carries the token from <body data-token>. State for scripts and tests: window.lab. */
(function () {
  "use strict";
  var TOKEN = document.body.getAttribute("data-token");
  var WORDS = window.LAB_WORDS;
  var $ = function (id) { return document.getElementById(id); };
  var lab = window.lab = { lang: "en", graph: null, steps: [], step: 0, train: { first: null, latest: null, snapshots: 0 } };
  // hooks for the page's other scripts (layers.js: the learner's own layers): graphRequest(body) →
  // {path, body}, afterGraph(result), step(step), language(lang); lab.recompute() redraws the graph
  lab.hooks = {};

  // -- language ------------------------------------------------------------------------------
  function t(key, args) {
    var text = (WORDS[lab.lang] && WORDS[lab.lang][key]) || WORDS.en[key] || key;
    if (args) Object.keys(args).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
    return text;
  }
  function setLanguage(lang) {
    lab.lang = WORDS[lang] ? lang : "en";
    document.documentElement.lang = lab.lang;
    try { localStorage.setItem("layerprop-lab-lang", lab.lang); } catch (e) { /* private mode */ }
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    $("lang").textContent = t("other_language");
    if (lab.limits) $("limits").textContent = t("limits", lab.limits);
    if (lab.graph) { renderRules(); renderSums(); showStep(lab.step); renderInputs(true); }
    if (lab.train.latest) drawTrain(lab.train.latest);
    if (lab.hooks.language) lab.hooks.language(lab.lang);
  }
  $("lang").addEventListener("click", function () { setLanguage(lab.lang === "ko" ? "en" : "ko"); });

  // -- tabs ----------------------------------------------------------------------------------
  function showTab(name) {
    $("graph-page").hidden = name !== "graph";
    $("train-page").hidden = name !== "train";
    $("tab-graph").setAttribute("aria-selected", String(name === "graph"));
    $("tab-train").setAttribute("aria-selected", String(name === "train"));
    if (name === "train") connect();
  }
  $("tab-graph").addEventListener("click", function () { showTab("graph"); });
  $("tab-train").addEventListener("click", function () { showTab("train"); });

  function post(path, body) {
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json", "X-Lab-Token": TOKEN },
      body: JSON.stringify(body)
    }).then(function (reply) {
      return reply.json().then(function (data) {
        if (!reply.ok) throw new Error((lab.lang === "ko" && data.error_ko) || data.error || reply.statusText);
        return data;
      });
    });
  }
  function showError(id, message) {
    var box = $(id);
    box.textContent = message || "";
    box.hidden = !message;
  }
  function fmt(x) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
    return String(Math.round(x * 1e4) / 1e4);
  }

  // -- graph page ----------------------------------------------------------------------------
  var source = { preset: "apple-orange" };  // what the graph comes from: a preset or {expr}
  var values = {};
  var busy = false, pending = false;

  function request() {
    if (source.preset === "two-layer-net") return { preset: source.preset, values: values };
    if (source.expr) return { expr: source.expr, values: values };
    return { preset: source.preset, values: values };
  }
  lab.recompute = function () { recompute(); };
  function recompute() {
    if (busy) { pending = true; return; }
    busy = true;
    var routed = lab.hooks.graphRequest ? lab.hooks.graphRequest(request()) : { path: "/api/graph", body: request() };
    post(routed.path, routed.body).then(function (result) {
      showError("graph-error", "");
      var keep = lab.graph && lab.graph.svg && lab.steps.length && lab.step !== lab.steps.length - 1 ? lab.step : null;
      lab.graph = result;
      if (result.expr) { source = { expr: result.expr, preset: source.preset }; if (document.activeElement !== $("expr")) $("expr").value = result.expr; }
      else $("expr").value = "";  // the network preset is layers, not an expression
      result.inputs.forEach(function (input) { if (!(input.name in values)) values[input.name] = input.value; });
      lab.limits = result.limits;
      $("limits").textContent = t("limits", lab.limits);
      $("drawing").innerHTML = result.svg;
      applyZoom();
      renderInputs(false);
      renderOutputs();
      renderSums();
      renderRules();
      $("check-results").textContent = "";
      lab.steps = result.steps;
      showStep(keep === null ? result.steps.en.length - 1 : keep);
      lab.version = (lab.version || 0) + 1;
      if (lab.hooks.afterGraph) lab.hooks.afterGraph(result);
      document.body.setAttribute("data-graph-version", String(lab.version));
    }).catch(function (error) {
      showError("graph-error", error.message);
    }).then(function () {
      busy = false;
      if (pending) { pending = false; recompute(); }
    });
  }

  function renderInputs(relabel) {
    var box = $("inputs");
    var inputs = lab.graph.inputs;
    var names = inputs.map(function (i) { return i.name; }).join(",");
    if (box.getAttribute("data-names") !== names || relabel) {
      box.setAttribute("data-names", names);
      box.innerHTML = "";
      inputs.forEach(function (input) { box.appendChild(inputRow(input)); });
    }
    inputs.forEach(function (input) {
      var row = box.querySelector('.input-row[data-name="' + CSS.escape(input.name) + '"]');
      if (!row) return;
      row.querySelector(".grad").textContent = input.name + ".grad = " + input.grad;
      row.querySelector(".grad").setAttribute("data-value", input.grad);
      var check = row.querySelector(".check"); check.textContent = ""; check.className = "check";
    });
  }
  function inputRow(input) {
    var row = document.createElement("div");
    row.className = "input-row";
    row.setAttribute("data-name", input.name);
    var name = document.createElement("span");
    name.className = "name"; name.textContent = input.name; name.title = input.name;
    row.appendChild(name);
    if (input.tensor) {  // a small tensor: one field per element, and a slider for the chosen one
      var shape = input.shape, cols = shape.length > 1 ? shape[shape.length - 1] : shape[0];
      var flat = [].concat.apply([], (values[input.name] || input.value).map(function (r) { return [].concat(r); }));
      var chosen = 0;
      var tensorSlider = document.createElement("input");
      tensorSlider.type = "range"; tensorSlider.className = "slider"; tensorSlider.min = -3; tensorSlider.max = 3; tensorSlider.step = 0.01;
      var shapeText = document.createElement("span"); shapeText.className = "shape"; shapeText.textContent = "(" + shape.join(", ") + ")";
      var grid = document.createElement("div"); grid.className = "cells";
      grid.style.gridTemplateColumns = "repeat(" + cols + ", 1fr)";
      var store = function () {
        var rows = [];
        if (shape.length === 1) rows = flat.slice(); else for (var r = 0; r < shape[0]; r++) rows.push(flat.slice(r * cols, (r + 1) * cols));
        values[input.name] = rows; recompute();
      };
      var choose = function (k) {
        chosen = k; tensorSlider.value = flat[k];
        Array.prototype.forEach.call(grid.children, function (cell, j) { cell.classList.toggle("chosen", j === k); });
      };
      flat.forEach(function (v, k) {
        var cell = document.createElement("input");
        cell.type = "number"; cell.step = "any"; cell.className = "cell"; cell.value = Math.round(v * 1e4) / 1e4;
        cell.setAttribute("data-index", String(k));
        cell.addEventListener("focus", function () { choose(k); });
        cell.addEventListener("change", function () {
          var x = parseFloat(cell.value);
          if (isFinite(x)) { flat[k] = x; tensorSlider.value = x; store(); }
        });
        grid.appendChild(cell);
      });
      tensorSlider.addEventListener("input", function () {
        flat[chosen] = parseFloat(tensorSlider.value); grid.children[chosen].value = tensorSlider.value; store();
      });
      row.appendChild(tensorSlider); row.appendChild(shapeText); row.appendChild(grid);
      choose(0);
    } else {
      var slider = document.createElement("input");
      slider.type = "range"; slider.className = "slider";
      slider.min = input.min; slider.max = input.max; slider.step = input.step; slider.value = values[input.name];
      var field = document.createElement("input");
      field.type = "number"; field.className = "field"; field.step = "any"; field.value = values[input.name];
      slider.addEventListener("input", function () {
        values[input.name] = parseFloat(slider.value); field.value = slider.value; recompute();
      });
      field.addEventListener("change", function () {
        var v = parseFloat(field.value);
        if (!isFinite(v)) return;
        values[input.name] = v;
        if (v < parseFloat(slider.min)) slider.min = v;
        if (v > parseFloat(slider.max)) slider.max = v;
        slider.value = v; recompute();
      });
      row.appendChild(slider); row.appendChild(field);
    }
    var grad = document.createElement("span"); grad.className = "grad"; row.appendChild(grad);
    var check = document.createElement("span"); check.className = "check"; row.appendChild(check);
    return row;
  }
  function renderOutputs() {
    $("outputs").textContent = lab.graph.outputs.map(function (o) { return o.name + " = " + o.value; }).join("\n");
  }
  function renderSums() {
    var sums = lab.graph.branch_sums;
    $("branch-sums").textContent = sums.length ? sums.map(function (s) { return s.text; }).join("\n") : t("no_branch");
  }
  function renderRules() {
    var table = $("rules");
    table.innerHTML = "";
    Object.keys(lab.graph.rules).forEach(function (id) {
      var rule = lab.graph.rules[id];
      var tr = document.createElement("tr");
      tr.setAttribute("data-node", id);
      [[rule.label, ""], [rule.forward[lab.lang], "f"], [rule.backward[lab.lang], "b"]].forEach(function (cell) {
        var td = document.createElement("td"); td.textContent = cell[0]; td.className = cell[1]; tr.appendChild(td);
      });
      table.appendChild(tr);
    });
  }

  // the stepper (the same steps as the static step-through page)
  function showStep(k) {
    var steps = lab.steps[lab.lang] || lab.steps.en;
    if (!steps) return;
    lab.step = Math.max(0, Math.min(steps.length - 1, k));
    var shown = { values: {}, grads: {}, sums: {} };
    for (var i = 0; i <= lab.step; i++) {
      steps[i].values.forEach(function (id) { shown.values[id] = true; });
      steps[i].grads.forEach(function (id) { shown.grads[id] = true; });
      (steps[i].sums || []).forEach(function (id) { shown.sums[id] = true; });
    }
    var step = steps[lab.step];
    var svg = $("drawing");
    Array.prototype.forEach.call(svg.querySelectorAll(".edge"), function (edge) {
      var id = edge.getAttribute("data-edge");
      var value = edge.querySelector(".value"), grad = edge.querySelector(".grad");
      if (value) value.classList.toggle("visible", !!shown.values[id]);
      if (grad) grad.classList.toggle("visible", !!shown.grads[id]);
      edge.classList.toggle("has-value", !!shown.values[id]);
      edge.classList.toggle("has-grad", !!shown.grads[id]);
      edge.classList.toggle("active", step.node !== null &&
        (edge.getAttribute("data-source") === step.node || edge.getAttribute("data-target") === step.node));
    });
    Array.prototype.forEach.call(svg.querySelectorAll(".branch-sum"), function (text) {
      text.classList.toggle("visible", !!shown.sums[text.getAttribute("data-node")]);
    });
    Array.prototype.forEach.call(svg.querySelectorAll(".node"), function (node) {
      node.classList.toggle("current", node.getAttribute("data-node") === step.node);
    });
    $("status").setAttribute("data-phase", step.phase);
    $("status").setAttribute("data-step", String(lab.step));
    $("step-heading").textContent = step.heading;
    $("step-rule").textContent = step.rule;
    $("step-numbers").textContent = step.numbers;
    $("counter").textContent = t("step_of", { i: lab.step, n: steps.length - 1 });
    $("prev").disabled = $("first").disabled = lab.step === 0;
    $("next").disabled = $("last").disabled = lab.step === steps.length - 1;
    if (lab.hooks.step) lab.hooks.step(step);
  }
  $("first").addEventListener("click", function () { showStep(0); });
  $("prev").addEventListener("click", function () { showStep(lab.step - 1); });
  $("next").addEventListener("click", function () { showStep(lab.step + 1); });
  $("last").addEventListener("click", function () { showStep(1e9); });
  document.addEventListener("keydown", function (event) {
    if ($("graph-page").hidden || /INPUT|TEXTAREA|SELECT/.test(event.target.tagName)) return;
    var moves = { ArrowRight: lab.step + 1, ArrowLeft: lab.step - 1, Home: 0, End: 1e9 };
    if (event.key in moves) { event.preventDefault(); showStep(moves[event.key]); }
    if (event.key === "+" || event.key === "=") setZoom(zoom * 1.25);
    if (event.key === "-") setZoom(zoom * 0.8);
  });
  // large graphs: the box scrolls and zooms, the text is never shrunk to fit
  var zoom = 1;
  function applyZoom() {
    var svg = $("drawing").querySelector("svg");
    if (!svg) return;
    if (!svg.dataset.width) { svg.dataset.width = svg.getAttribute("width"); svg.dataset.height = svg.getAttribute("height"); }
    svg.setAttribute("width", String(Math.round(svg.dataset.width * zoom)));
    svg.setAttribute("height", String(Math.round(svg.dataset.height * zoom)));
  }
  function setZoom(z) { zoom = Math.max(0.25, Math.min(4, z)); applyZoom(); }
  $("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
  $("zoom-out").addEventListener("click", function () { setZoom(zoom * 0.8); });

  $("preset").addEventListener("change", function () {
    if (!$("preset").value) return;
    source = { preset: $("preset").value };
    values = {};
    recompute();
  });
  function drawExpression() {
    var text = $("expr").value;
    source = { expr: text };
    $("preset").value = "";
    recompute();
  }
  $("draw").addEventListener("click", drawExpression);
  $("expr").addEventListener("keydown", function (event) { if (event.key === "Enter") drawExpression(); });
  $("check").addEventListener("click", function () {
    post("/api/check", request()).then(function (result) {
      showError("graph-error", "");
      var lines = [];
      result.inputs.forEach(function (row) {
        var ok = row.ok;
        var text = t(ok ? "check_ok" : "check_bad", { e: row.rel_error === null ? "NaN" : row.rel_error.toExponential(1) });
        lines.push(row.name + ": " + text);
        var el = $("inputs").querySelector('.input-row[data-name="' + CSS.escape(row.name) + '"] .check');
        if (el) { el.textContent = text + " · " + t("numeric") + " " + row.numeric; el.className = "check " + (ok ? "ok" : "bad"); el.setAttribute("data-ok", String(ok)); }
      });
      $("check-results").textContent = lines.join("\n");
    }).catch(function (error) { showError("graph-error", error.message); });
  });

  // -- train page ----------------------------------------------------------------------------
  var socket = null, frame = null;
  function connect() {
    if (socket) return;
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/train?token=" + encodeURIComponent(TOKEN));
    socket.onopen = function () { createJob(); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "error") { showError("train-error", (lab.lang === "ko" && message.message_ko) || message.message); return; }
      if (message.type !== "snapshot") return;
      showError("train-error", "");
      var snap = message.snapshot;
      if (!lab.train.first || snap.step === 0) lab.train.first = snap;
      lab.train.latest = snap;
      lab.train.snapshots += 1;
      if (frame === null) frame = requestAnimationFrame(function () { frame = null; drawTrain(lab.train.latest); });
    };
    socket.onclose = function () { socket = null; showError("train-error", t("disconnected")); };
  }
  function send(message) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(message)); }
  function config() {
    return {
      dataset: $("dataset").value,
      hidden: $("hidden").value.split(/[ ,]+/).filter(Boolean).map(Number),
      activation: $("activation").value, optimizer: $("optimizer").value,
      lr: parseFloat($("lr").value), batch_size: parseInt($("batch").value, 10),
      steps_per_second: parseInt($("speed").value, 10)
    };
  }
  function createJob() { lab.train.first = null; send({ cmd: "create", config: config() }); }
  $("reset").addEventListener("click", createJob);
  ["dataset", "hidden", "activation", "optimizer", "lr", "batch", "speed"].forEach(function (id) {
    $(id).addEventListener("change", createJob);
  });
  $("start").addEventListener("click", function () { send({ cmd: "start" }); });
  $("pause").addEventListener("click", function () { send({ cmd: "pause" }); });
  $("single").addEventListener("click", function () { send({ cmd: "step" }); });

  var CLASS_COLORS = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14],
    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];

  function drawTrain(snap) {
    $("train-step").textContent = String(snap.step);
    $("train-loss").textContent = fmt(snap.loss);
    $("train-accuracy").textContent = fmt(snap.accuracy);
    $("test-stat").hidden = snap.test_accuracy === null;
    if (snap.test_accuracy !== null) $("train-test").textContent = fmt(snap.test_accuracy);
    document.body.setAttribute("data-train-step", String(snap.step));
    $("train-diverged").hidden = !snap.diverged;  // the loss stopped being a number: say so, in the page's language
    $("train-diverged").textContent = snap.diverged ? t("diverged", { step: snap.diverged.step }) : "";
    drawBoundary(snap);
    drawFilters(snap);
    drawCurve($("loss-chart"), [{ points: snap.losses, color: "#1f77b4" }], true);
    drawCurve($("accuracy-chart"), [{ points: snap.accuracies, color: "#2ca02c" }], false, [0, 1]);
    var series = snap.layers.map(function (layer, i) {
      return { name: layer.name, color: "rgb(" + CLASS_COLORS[i % 10].join(",") + ")",
               points: snap.norms.map(function (p) { return [p[0], p[1][layer.name]]; }) };
    });
    drawCurve($("norm-chart"), series, true);
    $("norm-legend").innerHTML = "";
    series.forEach(function (s) {
      var span = document.createElement("span"); span.style.color = s.color; span.textContent = "■ " + s.name;
      $("norm-legend").appendChild(span);
    });
    drawNetwork(snap);
    drawInspect(snap.inspect);
  }
  function drawBoundary(snap) {
    var canvas = $("boundary"), ctx = canvas.getContext("2d");
    canvas.hidden = !snap.boundary;
    if (!snap.boundary) return;
    var b = snap.boundary, n = b.size;
    var off = document.createElement("canvas"); off.width = n; off.height = n;
    var img = off.getContext("2d").createImageData(n, n);
    for (var i = 0; i < n * n; i++) {  // class colour, paler where the network is unsure
      var c = CLASS_COLORS[b.classes[i] % 10], strength = 0.25 + 0.45 * Math.max(0, (b.confidence[i] - 0.5) * 2);
      img.data.set([255 - (255 - c[0]) * strength, 255 - (255 - c[1]) * strength, 255 - (255 - c[2]) * strength, 255], 4 * i);
    }
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    var scale = canvas.width / (2 * b.extent);
    snap.points.x.forEach(function (p, j) {
      ctx.beginPath();
      ctx.arc((p[0] + b.extent) * scale, (b.extent - p[1]) * scale, 2.4, 0, 2 * Math.PI);
      ctx.fillStyle = "rgb(" + CLASS_COLORS[snap.points.t[j] % 10].join(",") + ")";
      ctx.fill(); ctx.strokeStyle = "#fff"; ctx.lineWidth = 0.6; ctx.stroke();
    });
  }
  function drawFilters(snap) {
    var box = $("filters");
    if (!snap.filters) { box.innerHTML = ""; return; }
    if (box.children.length !== snap.filters.length) {
      box.innerHTML = "";
      snap.filters.forEach(function () { var c = document.createElement("canvas"); c.width = 28; c.height = 28; box.appendChild(c); });
    }
    snap.filters.forEach(function (w, k) {
      var ctx = box.children[k].getContext("2d"), img = ctx.createImageData(28, 28);
      var m = 1e-9; w.forEach(function (v) { m = Math.max(m, Math.abs(v)); });
      w.forEach(function (v, i) { var c = heatColor(v / m); img.data.set([c[0], c[1], c[2], 255], 4 * i); });
      ctx.putImageData(img, 0, 0);
    });
  }
  function drawCurve(canvas, series, log, fixed) {
    var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 28;
    ctx.clearRect(0, 0, W, H);
    var xs = [], ys = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (isFinite(p[1]) && (!log || p[1] > 0)) { xs.push(p[0]); ys.push(log ? Math.log10(p[1]) : p[1]); } }); });
    if (!xs.length) return;
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = fixed ? fixed[0] : Math.min.apply(null, ys), y1 = fixed ? fixed[1] : Math.max.apply(null, ys);
    if (x1 === x0) x1 = x0 + 1; if (y1 === y0) { y1 += 0.5; y0 -= 0.5; }
    ctx.strokeStyle = "#ccc"; ctx.strokeRect(pad, 4, W - pad - 4, H - pad);
    ctx.fillStyle = "#555"; ctx.font = "10px sans-serif";
    ctx.fillText(fmt(log ? Math.pow(10, y1) : y1), 0, 12);
    ctx.fillText(fmt(log ? Math.pow(10, y0) : y0), 0, H - pad);
    ctx.fillText(String(x1), W - 40, H - 8);
    series.forEach(function (s) {
      ctx.beginPath(); ctx.strokeStyle = s.color; ctx.lineWidth = 1.4;
      var first = true;
      s.points.forEach(function (p) {
        var y = log ? (p[1] > 0 ? Math.log10(p[1]) : null) : p[1];
        if (y === null || !isFinite(y)) return;
        var px = pad + (p[0] - x0) / (x1 - x0) * (W - pad - 4), py = 4 + (1 - (y - y0) / (y1 - y0)) * (H - pad);
        if (first) { ctx.moveTo(px, py); first = false; } else ctx.lineTo(px, py);
      });
      ctx.stroke();
    });
  }
  function drawNetwork(snap) {
    var svg = $("network"), ns = "http://www.w3.org/2000/svg";
    var key = snap.network.join(",") + "|" + snap.inspect.key;
    if (svg.getAttribute("data-key") === key) return;
    svg.setAttribute("data-key", key);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var names = snap.network, step = 150;
    svg.setAttribute("width", String(names.length * step + 20));
    var paramsOf = {};
    snap.layers.forEach(function (layer) { paramsOf[layer.name] = layer; });
    names.forEach(function (name, i) {
      var x = 10 + i * step;
      var g = document.createElementNS(ns, "g"); g.setAttribute("class", "layer");
      var rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", x); rect.setAttribute("y", 60); rect.setAttribute("width", step - 24); rect.setAttribute("height", 30); rect.setAttribute("rx", 6);
      var text = document.createElementNS(ns, "text");
      text.setAttribute("x", x + (step - 24) / 2); text.setAttribute("y", 80); text.setAttribute("text-anchor", "middle"); text.setAttribute("font-size", "11");
      text.textContent = name;
      g.appendChild(rect); g.appendChild(text); svg.appendChild(g);
      if (i < names.length - 1) {  // the edge carrying this layer's output: click to see it
        var act = document.createElementNS(ns, "g");
        act.setAttribute("class", "act" + (name === snap.inspect.key ? " selected" : ""));
        act.setAttribute("data-key", name);
        var hit = document.createElementNS(ns, "rect");
        hit.setAttribute("x", x + step - 26); hit.setAttribute("y", 66); hit.setAttribute("width", 28); hit.setAttribute("height", 18); hit.setAttribute("fill", "transparent");
        var line = document.createElementNS(ns, "line");
        line.setAttribute("x1", x + step - 24); line.setAttribute("x2", x + step); line.setAttribute("y1", 75); line.setAttribute("y2", 75);
        act.appendChild(hit); act.appendChild(line);
        act.addEventListener("click", function () { send({ cmd: "inspect", key: name }); });
        svg.appendChild(act);
      }
      var layer = paramsOf[name];
      if (!layer) return;
      Object.keys(layer.keys).forEach(function (k, j) {
        var full = layer.keys[k];
        var p = document.createElementNS(ns, "g");
        p.setAttribute("class", "param" + (full === snap.inspect.key ? " selected" : ""));
        p.setAttribute("data-key", full);
        var r = document.createElementNS(ns, "rect");
        r.setAttribute("x", x + j * 48); r.setAttribute("y", 10 + 0); r.setAttribute("width", 44); r.setAttribute("height", 34); r.setAttribute("rx", 3);
        var label = document.createElementNS(ns, "text");
        label.setAttribute("x", x + j * 48 + 22); label.setAttribute("y", 24); label.setAttribute("text-anchor", "middle"); label.setAttribute("font-size", "11");
        label.textContent = full;
        var shape = document.createElementNS(ns, "text");
        shape.setAttribute("x", x + j * 48 + 22); shape.setAttribute("y", 38); shape.setAttribute("text-anchor", "middle"); shape.setAttribute("font-size", "9");
        shape.textContent = "(" + layer.params[k].join("×") + ")";
        var edge = document.createElementNS(ns, "line");
        edge.setAttribute("x1", x + j * 48 + 22); edge.setAttribute("x2", x + (step - 24) / 2); edge.setAttribute("y1", 44); edge.setAttribute("y2", 60); edge.setAttribute("stroke", "#c9a45c");
        p.appendChild(edge); p.appendChild(r); p.appendChild(label); p.appendChild(shape);
        p.addEventListener("click", function () { send({ cmd: "inspect", key: full }); });
        svg.appendChild(p);
      });
    });
  }
  function heatColor(v) {  // −1 blue … 0 white … +1 red
    v = Math.max(-1, Math.min(1, v || 0));
    return v >= 0 ? [255, Math.round(255 * (1 - v)), Math.round(255 * (1 - v))] : [Math.round(255 * (1 + v)), Math.round(255 * (1 + v)), 255];
  }
  function drawHeat(canvas, heat) {
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!heat) return;
    var m = Math.max(Math.abs(heat.min), Math.abs(heat.max), 1e-12);
    var cw = canvas.width / heat.cols, ch = canvas.height / heat.rows;
    for (var i = 0; i < heat.data.length; i++) {
      ctx.fillStyle = "rgb(" + heatColor(heat.data[i] / m).join(",") + ")";
      ctx.fillRect((i % heat.cols) * cw, Math.floor(i / heat.cols) * ch, Math.ceil(cw), Math.ceil(ch));
    }
  }
  function drawInspect(info) {
    var stats = function (h) { return h ? t("stats", { min: fmt(h.min), max: fmt(h.max), mean: fmt(h.mean), std: fmt(h.std) }) : "–"; };
    $("inspect").textContent = info.key + "  " + t("shape") + " (" + info.shape.join(", ") + ")\n" +
      t("value") + ": " + stats(info.value) + "\n" + t("gradient") + ": " + stats(info.grad);
    $("inspect").setAttribute("data-key", info.key);
    drawHeat($("heat-value"), info.value);
    drawHeat($("heat-grad"), info.grad);
  }

  // -- start ---------------------------------------------------------------------------------
  var stored = null;
  try { stored = localStorage.getItem("layerprop-lab-lang"); } catch (e) { /* private mode */ }
  setLanguage(stored || ((navigator.language || "en").toLowerCase().indexOf("ko") === 0 ? "ko" : "en"));
  $("preset").value = "apple-orange";
  showTab(location.hash === "#train" ? "train" : "graph");
  recompute();
  lab.showStep = showStep;
  lab.t = t;
})();
