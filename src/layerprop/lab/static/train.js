/* layerprop lab: the train page as a view, mounted into the lab's page (lab.js) or a notebook
   widget (widget.js) — one copy of the script for both.

   layerpropTrainView.mount(root, host): root holds train.html. The host gives
     host.send(message)       a command for the training job (layerprop.lab.training): create,
                              start, pause, step, inspect, export
     host.call("dataset", {csv, name}) → Promise of the points of a CSV file (layerprop.lab.userdata)
     host.t, host.lang, host.changed   as for the graph view
   and calls view.receive(message) with what the job answers (snapshot, error, export) and
   view.connected() once it can send. The data are a toy set, MNIST, an uploaded CSV file or points
   drawn on the boundary with the mouse; view.state()/load(state) are what a link restores. */
var layerpropTrainView = (function () {
  "use strict";
  var COLORS = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14],
    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];
  var TOY = ["moons", "circles", "spirals", "xor"];
  var EXTENT = 1.8;  // the square the 2-D data are trained and drawn in (layerprop.lab.exports.EXTENT)
  var PLOT = { left: 48, top: 10, size: 300 };  // where the boundary is drawn on its canvas
  var DRAWN_CLASSES = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"];

  function rgb(c, alpha) { return alpha === undefined ? "rgb(" + c.join(",") + ")" : "rgba(" + c.join(",") + "," + alpha + ")"; }
  function fmt(x) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
    return String(Math.round(x * 1e4) / 1e4);
  }
  function pct(x) { return x === null || x === undefined || !isFinite(x) ? "–" : (Math.round(x * 1000) / 10).toFixed(1) + " %"; }
  function niceTicks(lo, hi, count) {  // round numbers between lo and hi
    var span = hi - lo;
    if (!(span > 0)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10(span / count)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= count) { step *= m; return true; } return false; });
    var ticks = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return ticks;
  }
  function saveFile(name, media, base64) {  // an export: a file the browser downloads
    var bytes = Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); });
    var url = URL.createObjectURL(new Blob([bytes], { type: media }));
    var a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }
  function tickText(v) { var a = Math.abs(v); return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(0) : String(Math.round(v * 1e6) / 1e6); }

  function mount(root, host) {
    var $ = function (id) { return root.querySelector("#" + id); };
    var t = host.t;
    var train = { first: null, latest: null, snapshots: 0, job: "none", exported: [] };
    var data = { kind: "moons", points: null };  // points: {x, t, classes, columns, name, frame} of a CSV file or a drawing
    var drawClass = 0, frame = null, ticket = 0, startWhenReady = false, errorShown = null, connected = false;

    // -- the settings and the job ------------------------------------------------------------
    function hidden() { return $("hidden").value.split(/[ ,]+/).filter(Boolean).map(Number); }
    function config() {
      var c = {
        hidden: hidden(), activation: $("activation").value, optimizer: $("optimizer").value,
        lr: parseFloat($("lr").value), batch_size: parseInt($("batch").value, 10),
        steps_per_second: parseInt($("speed").value, 10), seed: parseInt($("seed").value, 10)
      };
      if (data.kind === "csv" || data.kind === "draw") { c.dataset = "points"; c.points = data.points; }
      else c.dataset = data.kind;
      return c;
    }
    function ready() {  // whether the data are complete enough to train on; else the hint says what is missing
      var hint = "";
      if (data.kind === "csv" && !data.points) hint = t("csv_hint");
      if (data.kind === "draw" && (!data.points || data.points.x.length < 2)) hint = t("draw_hint");
      $("data-hint").textContent = hint;
      $("data-hint").hidden = !hint;
      return !hint;
    }
    function createJob(start) {
      showError(null);
      changed();
      if (!ready()) { train.job = "none"; drawEmpty(); return; }
      if (!connected) { startWhenReady = startWhenReady || !!start; return; }
      train.first = null;
      train.job = "creating";
      ticket += 1;  // the new job's snapshots carry it: older ones are the last frames of the job it replaces
      startWhenReady = false;
      host.send({ cmd: "create", config: config(), start: !!start, ticket: ticket });
    }
    function command(name) {
      if (train.job === "open") host.send({ cmd: name });
      else if (name !== "pause") createJob(name === "start");  // no job (refused, or never made): make one now
    }
    $("reset").addEventListener("click", function () { createJob(false); });
    ["hidden", "activation", "optimizer", "lr", "batch", "speed", "seed"].forEach(function (id) {
      $(id).addEventListener("change", function () { createJob(false); });
    });
    $("dataset").addEventListener("change", function () { setData($("dataset").value, null); createJob(false); });
    $("start").addEventListener("click", function () { command("start"); });
    $("pause").addEventListener("click", function () { command("pause"); });
    $("single").addEventListener("click", function () { command("step"); });
    ["model", "python", "onnx"].forEach(function (kind) {
      $("export-" + kind).addEventListener("click", function () {
        if (train.job === "open") host.send({ cmd: "export", format: kind });
        else showError({ en: t("export_no_job", {}, "en"), ko: t("export_no_job", {}, "ko") });
      });
    });

    function setData(kind, points) {
      data = { kind: kind, points: points };
      $("dataset").value = kind;
      if (kind === "draw" && !points) data.points = { x: [], t: [], classes: DRAWN_CLASSES.slice(0, 2), columns: ["x1", "x2"], name: "", frame: "square" };
      if (kind === "draw") drawClass = Math.min(drawClass, data.points.classes.length - 1);
      $("draw-tools").hidden = kind !== "draw";
      $("upload-name").textContent = kind === "csv" && points ? points.name + " · " + t("csv_loaded", { n: points.x.length, k: points.classes.length }) : "";
      renderLegend();
    }

    // -- your own data: a CSV file --------------------------------------------------------------
    $("choose-file").addEventListener("click", function () { $("upload").click(); });  // the button speaks the page's language
    $("upload").addEventListener("change", function () {
      var file = $("upload").files[0];
      if (!file) return;
      var limit = host.limits ? host.limits().csv_bytes : 262144;
      if (file.size > limit) {
        var args = { name: file.name, size: file.size, limit: limit };
        showError({ en: t("csv_too_big", args, "en"), ko: t("csv_too_big", args, "ko") });
        $("upload").value = "";
        return;
      }
      var reader = new FileReader();
      reader.onload = function () {
        host.call("dataset", { csv: String(reader.result), name: file.name }).then(function (points) {
          points.frame = "fit";
          setData("csv", points);
          createJob(false);
        }).catch(function (error) { showError(error); });
        $("upload").value = "";
      };
      reader.onerror = function () { showError({ en: t("csv_unreadable", {}, "en"), ko: t("csv_unreadable", {}, "ko") }); };
      reader.readAsText(file);
    });

    // -- your own data: points drawn with the mouse ---------------------------------------------
    var redraw = null;
    $("boundary").addEventListener("click", function (event) {
      if (data.kind !== "draw") return;
      var canvas = $("boundary"), box = canvas.getBoundingClientRect();
      var px = (event.clientX - box.left) * canvas.width / box.width, py = (event.clientY - box.top) * canvas.height / box.height;
      var u = ((px - PLOT.left) / PLOT.size) * 2 * EXTENT - EXTENT, v = EXTENT - ((py - PLOT.top) / PLOT.size) * 2 * EXTENT;
      if (Math.abs(u) > EXTENT || Math.abs(v) > EXTENT) return;
      var limit = host.limits ? host.limits().toy_samples : 2000;
      if (data.points.x.length >= limit) { showError({ en: t("draw_full", { n: limit }, "en"), ko: t("draw_full", { n: limit }, "ko") }); return; }
      data.points.x.push([Math.round(u * 1000) / 1000, Math.round(v * 1000) / 1000]);
      data.points.t.push(drawClass);
      drawPoints(train.latest && train.latest.boundary ? train.latest : null);
      clearTimeout(redraw);  // a new job once the clicks pause
      redraw = setTimeout(function () { createJob(false); }, 400);
      changed();
    });
    $("clear-points").addEventListener("click", function () { setData("draw", null); createJob(false); });
    $("add-class").addEventListener("click", function () {
      var classes = data.points.classes;
      if (classes.length >= DRAWN_CLASSES.length) return;
      classes.push(DRAWN_CLASSES[classes.length]);
      drawClass = classes.length - 1;
      renderLegend();
      changed();
    });

    function renderLegend() {  // the classes, with their colours; while drawing, a click picks the class
      var box = $("class-legend");
      box.innerHTML = "";
      var classes = data.kind === "draw" ? data.points.classes : (train.latest && train.latest.boundary ? train.latest.classes : []);
      classes.forEach(function (name, k) {
        var item = document.createElement(data.kind === "draw" ? "button" : "span");
        item.className = "class" + (data.kind === "draw" && k === drawClass ? " chosen" : "");
        item.setAttribute("data-class", String(k));
        var swatch = document.createElement("i"); swatch.style.background = rgb(COLORS[k % 10]);
        item.appendChild(swatch);
        item.appendChild(document.createTextNode(name));
        if (data.kind === "draw") {
          item.type = "button";
          item.title = t("draw_class", { name: name });
          item.addEventListener("click", function () { drawClass = k; renderLegend(); });
        }
        box.appendChild(item);
      });
      $("add-class").disabled = data.kind !== "draw" || data.points.classes.length >= DRAWN_CLASSES.length;
    }

    // -- what the job answers ---------------------------------------------------------------------
    function showError(error) {
      errorShown = error || null;
      var box = $("train-error");
      box.textContent = error ? layerpropGraphView.fmtError(host, error) : "";
      box.hidden = !error;
    }
    function receive(message) {
      if (message.type === "error") {
        if (message.cmd === "create" && train.job === "creating") train.job = "none";
        showError({ en: message.message, ko: message.message_ko });
        return;
      }
      if (message.type === "export") {
        train.exported.push({ format: message.format, filename: message.filename, size: message.size });
        saveFile(message.filename, message.media, message.data);
        return;
      }
      if (message.type !== "snapshot") return;
      var snap = message.snapshot;
      if (snap.ticket !== ticket) return;  // the last frames of a job being replaced
      train.job = "open";
      if (errorShown) showError(null);
      if (!train.first || snap.step === 0) train.first = snap;
      train.latest = snap;
      train.snapshots += 1;
      if (frame === null) frame = requestAnimationFrame(function () { frame = null; draw(train.latest); });
    }

    function draw(snap) {
      $("train-step").textContent = String(snap.step);
      $("train-loss").textContent = fmt(snap.loss);
      $("train-accuracy").textContent = pct(snap.accuracy);
      $("test-stat").hidden = snap.test_accuracy === null;
      if (snap.test_accuracy !== null) $("train-test").textContent = pct(snap.test_accuracy);
      root.setAttribute("data-train-step", String(snap.step));
      $("train-diverged").hidden = !snap.diverged;  // the loss blew up: say so, in the page's language
      $("train-diverged").textContent = snap.diverged ? t("diverged", { step: snap.diverged.step }) : "";
      $("train-diverged").title = snap.diverged ? snap.diverged.message : "";
      $("boundary-figure").hidden = !snap.boundary;
      $("filters-figure").hidden = !snap.filters;
      if (snap.boundary) { drawPoints(snap); renderLegend(); }
      drawFilters(snap);
      drawCurve($("loss-chart"), [{ points: snap.losses, color: "#1f77b4" }], { log: true, x: t("step"), y: t("loss") });
      drawCurve($("accuracy-chart"), [{ points: snap.accuracies, color: "#2ca02c" }], { fixed: [0, 1], percent: true, x: t("step"), y: t("accuracy") });
      var series = snap.layers.map(function (layer, i) {
        return { name: layer.title, color: rgb(COLORS[i % 10]), points: snap.norms.map(function (p) { return [p[0], p[1][layer.name]]; }) };
      });
      drawCurve($("norm-chart"), series, { log: true, x: t("step"), y: "‖dW‖" });
      $("norm-legend").innerHTML = "";
      series.forEach(function (s) {
        var span = document.createElement("span"); span.style.color = s.color; span.textContent = "■ " + s.name;
        $("norm-legend").appendChild(span);
      });
      drawNetwork(snap);
      drawInspect(snap.inspect, snap);
    }

    // -- the decision boundary, with axes in the data's own units ------------------------------------
    function drawEmpty() {  // no job yet: the square, its axes and any drawn points
      train.latest = null;
      $("boundary-figure").hidden = data.kind === "mnist";
      $("filters-figure").hidden = true;
      drawPoints(null);
      renderLegend();
    }
    function drawPoints(snap) {
      var canvas = $("boundary"), ctx = canvas.getContext("2d"), P = PLOT;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      var b = snap && snap.boundary;
      if (b) {
        var n = b.size, off = document.createElement("canvas"); off.width = n; off.height = n;
        var img = off.getContext("2d").createImageData(n, n);
        for (var i = 0; i < n * n; i++) {  // the class colour, paler where the network is unsure
          var c = COLORS[b.classes[i] % 10], strength = 0.25 + 0.45 * Math.max(0, (b.confidence[i] - 0.5) * 2);
          img.data.set([255 - (255 - c[0]) * strength, 255 - (255 - c[1]) * strength, 255 - (255 - c[2]) * strength, 255], 4 * i);
        }
        off.getContext("2d").putImageData(img, 0, 0);
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(off, P.left, P.top, P.size, P.size);
      } else {
        ctx.fillStyle = "#fafafa"; ctx.fillRect(P.left, P.top, P.size, P.size);
      }
      ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(P.left + 0.5, P.top + 0.5, P.size, P.size);
      var center = b ? b.center : [0, 0], scale = b ? b.scale : [1, 1];
      var columns = (snap && snap.columns) || (data.points && data.points.columns) || ["x1", "x2"];
      ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
      [0, 1].forEach(function (axis) {  // ticks at round numbers of the data's own units
        var lo = center[axis] - scale[axis] * EXTENT, hi = center[axis] + scale[axis] * EXTENT;
        niceTicks(lo, hi, 5).forEach(function (v) {
          var f = (v - lo) / (hi - lo);
          if (axis === 0) {
            var x = P.left + f * P.size;
            ctx.fillRect(x, P.top + P.size, 1, 4);
            ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.fillText(tickText(v), x, P.top + P.size + 6);
          } else {
            var y = P.top + (1 - f) * P.size;
            ctx.fillRect(P.left - 4, y, 4, 1);
            ctx.textAlign = "right"; ctx.textBaseline = "middle"; ctx.fillText(tickText(v), P.left - 6, y);
          }
        });
      });
      ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.fillText(columns[0], P.left + P.size / 2, P.top + P.size + 22);
      ctx.save(); ctx.translate(11, P.top + P.size / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "middle"; ctx.fillText(columns[1], 0, 0); ctx.restore();
      var points = b ? snap.points : (data.points ? { x: data.points.x, t: data.points.t } : null);
      if (!points) return;
      var unit = P.size / (2 * EXTENT);  // the points are in the square (drawn points were drawn there)
      points.x.forEach(function (p, j) {
        ctx.beginPath();
        ctx.arc(P.left + (p[0] + EXTENT) * unit, P.top + (EXTENT - p[1]) * unit, 3, 0, 2 * Math.PI);
        ctx.fillStyle = rgb(COLORS[points.t[j] % 10]);
        var wrong = points.predicted && points.predicted[j] !== points.t[j];  // a point the network gets wrong: ringed
        ctx.fill(); ctx.strokeStyle = wrong ? "#000" : "#fff"; ctx.lineWidth = wrong ? 1.6 : 0.8; ctx.stroke();
      });
    }
    function drawFilters(snap) {
      var box = $("filters");
      if (!snap.filters) { box.innerHTML = ""; return; }
      if (box.children.length !== snap.filters.length) {
        box.innerHTML = "";
        snap.filters.forEach(function (_, k) {
          var c = document.createElement("canvas"); c.width = 28; c.height = 28; c.title = t("filter_of", { k: k + 1 }); box.appendChild(c);
        });
      }
      snap.filters.forEach(function (w, k) {
        var ctx = box.children[k].getContext("2d"), img = ctx.createImageData(28, 28);
        var m = 1e-9; w.forEach(function (v) { m = Math.max(m, Math.abs(v)); });
        w.forEach(function (v, i) { var c = layerpropStepper.heatColor(v / m); img.data.set([c[0], c[1], c[2], 255], 4 * i); });
        ctx.putImageData(img, 0, 0);
      });
    }

    // -- curves, with labelled axes -------------------------------------------------------------
    function drawCurve(canvas, series, opts) {
      var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
      var L = 62, R = 12, T = 8, B = 30, w = W - L - R, h = H - T - B;
      ctx.clearRect(0, 0, W, H);
      var xs = [], ys = [];
      series.forEach(function (s) { s.points.forEach(function (p) { if (isFinite(p[1]) && (!opts.log || p[1] > 0)) { xs.push(p[0]); ys.push(opts.log ? Math.log10(p[1]) : p[1]); } }); });
      ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1; ctx.strokeRect(L + 0.5, T + 0.5, w, h);
      ctx.fillStyle = "#555"; ctx.font = "10px sans-serif";
      ctx.textAlign = "center"; ctx.textBaseline = "bottom"; ctx.fillText(opts.x, L + w / 2, H - 1);
      ctx.save(); ctx.translate(9, T + h / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "middle"; ctx.fillText(opts.y, 0, 0); ctx.restore();
      if (!xs.length) return;
      var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
      var y0 = opts.fixed ? opts.fixed[0] : Math.min.apply(null, ys), y1 = opts.fixed ? opts.fixed[1] : Math.max.apply(null, ys);
      if (x1 === x0) x1 = x0 + 1;
      if (y1 === y0) { y1 += 0.5; y0 -= 0.5; }
      var X = function (v) { return L + (v - x0) / (x1 - x0) * w; }, Y = function (v) { return T + (1 - (v - y0) / (y1 - y0)) * h; };
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      var yTicks = opts.log ? [y0, (y0 + y1) / 2, y1] : niceTicks(y0, y1, 4);
      yTicks.forEach(function (v) {
        var label = opts.log ? Number(Math.pow(10, v).toPrecision(2)).toString() : (opts.percent ? Math.round(v * 100) + " %" : tickText(v));
        ctx.fillRect(L - 3, Y(v), 3, 1); ctx.fillText(label, L - 5, Y(v));
      });
      ctx.textAlign = "center"; ctx.textBaseline = "top";
      niceTicks(x0, x1, 4).forEach(function (v) { ctx.fillRect(X(v), T + h, 1, 3); ctx.fillText(tickText(v), X(v), T + h + 4); });
      series.forEach(function (s) {
        ctx.beginPath(); ctx.strokeStyle = s.color; ctx.lineWidth = 1.4;
        var first = true;
        s.points.forEach(function (p) {
          var y = opts.log ? (p[1] > 0 ? Math.log10(p[1]) : null) : p[1];
          if (y === null || !isFinite(y)) return;
          if (first) { ctx.moveTo(X(p[0]), Y(y)); first = false; } else ctx.lineTo(X(p[0]), Y(y));
        });
        ctx.stroke();
      });
    }

    // -- the network: layers in order, their parameters above them ---------------------------------
    function drawNetwork(snap) {
      var svg = $("network"), ns = "http://www.w3.org/2000/svg";
      var key = JSON.stringify([snap.network, snap.titles, snap.layers.map(function (l) { return l.params; }), snap.inspect.key]);
      if (svg.getAttribute("data-key") === key) return;  // the same network as drawn: nothing to redo
      svg.setAttribute("data-key", key);
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var names = snap.network, step = 150;
      svg.setAttribute("width", String(names.length * step + 20));
      var paramsOf = {};
      snap.layers.forEach(function (layer) { paramsOf[layer.name] = layer; });
      var el = function (tag, attrs, text) {
        var e = document.createElementNS(ns, tag);
        Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
        if (text !== undefined) e.textContent = text;
        return e;
      };
      names.forEach(function (name, i) {
        var x = 10 + i * step, title = snap.titles[name] || name;
        var g = el("g", { "class": "layer", "data-layer": name });
        g.appendChild(el("rect", { x: x, y: 60, width: step - 24, height: 30, rx: 6 }));
        g.appendChild(el("text", { x: x + (step - 24) / 2, y: 80, "text-anchor": "middle", "font-size": 12 }, title));
        g.appendChild(el("title", {}, title));
        svg.appendChild(g);
        if (i < names.length - 1) {  // the edge carrying this layer's output: click to see it
          var act = el("g", { "class": "act" + (name === snap.inspect.key ? " selected" : ""), "data-key": name });
          act.appendChild(el("rect", { x: x + step - 26, y: 66, width: 28, height: 18, fill: "transparent" }));
          act.appendChild(el("line", { x1: x + step - 24, x2: x + step, y1: 75, y2: 75 }));
          act.appendChild(el("title", {}, t("output_of", { layer: title })));
          act.addEventListener("click", function () { host.send({ cmd: "inspect", key: name }); });
          svg.appendChild(act);
        }
        var layer = paramsOf[name];
        if (!layer) return;
        Object.keys(layer.keys).forEach(function (k, j) {
          var full = layer.keys[k];
          var p = el("g", { "class": "param" + (full === snap.inspect.key ? " selected" : ""), "data-key": full });
          p.appendChild(el("line", { x1: x + j * 48 + 22, x2: x + (step - 24) / 2, y1: 44, y2: 60, stroke: "#c9a45c" }));
          p.appendChild(el("rect", { x: x + j * 48, y: 10, width: 44, height: 34, rx: 3 }));
          p.appendChild(el("text", { x: x + j * 48 + 22, y: 24, "text-anchor": "middle", "font-size": 11 }, full));
          p.appendChild(el("text", { "class": "shape", x: x + j * 48 + 22, y: 38, "text-anchor": "middle", "font-size": 9 }, layer.params[k].join("×")));
          p.addEventListener("click", function () { host.send({ cmd: "inspect", key: full }); });
          svg.appendChild(p);
        });
      });
    }

    // -- the inspected tensor and its gradient, as labelled heatmaps with a colour scale -------------
    function drawHeat(figure, heat, caption, axes) {
      var canvas = figure.querySelector("canvas.heat"), scale = figure.querySelector("canvas.scale");
      var ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      figure.querySelector(".caption").textContent = caption;
      figure.querySelector(".axes").textContent = heat ? axes : "";
      var sctx = scale.getContext("2d");
      sctx.clearRect(0, 0, scale.width, scale.height);
      if (!heat) return;
      var m = heat.scale || 1;  // the cells come as value / scale, in [−1, 1]
      var cw = canvas.width / heat.cols, ch = canvas.height / heat.rows;
      for (var i = 0; i < heat.data.length; i++) {
        ctx.fillStyle = rgb(layerpropStepper.heatColor(heat.data[i]));
        ctx.fillRect((i % heat.cols) * cw, Math.floor(i / heat.cols) * ch, Math.ceil(cw), Math.ceil(ch));
      }
      var bar = { left: 6, right: scale.width - 6, top: 2, height: 10 };  // the colour scale: −m … 0 … +m
      for (var x = bar.left; x < bar.right; x++) {
        sctx.fillStyle = rgb(layerpropStepper.heatColor(((x - bar.left) / (bar.right - bar.left - 1)) * 2 - 1));
        sctx.fillRect(x, bar.top, 1, bar.height);
      }
      sctx.strokeStyle = "#999"; sctx.strokeRect(bar.left + 0.5, bar.top + 0.5, bar.right - bar.left - 1, bar.height);
      sctx.fillStyle = "#444"; sctx.font = "10px sans-serif"; sctx.textBaseline = "top";
      sctx.textAlign = "left"; sctx.fillText(fmt(-m), bar.left, bar.top + bar.height + 2);
      sctx.textAlign = "center"; sctx.fillText("0", (bar.left + bar.right) / 2, bar.top + bar.height + 2);
      sctx.textAlign = "right"; sctx.fillText(fmt(m), bar.right, bar.top + bar.height + 2);
    }
    function drawInspect(info, snap) {
      var stats = function (h) { return h ? t("stats", { min: fmt(h.min), max: fmt(h.max), mean: fmt(h.mean), std: fmt(h.std) }) : "–"; };
      var title = snap.titles[info.key] || info.key;
      $("inspect").textContent = title + "  " + t("shape") + " (" + info.shape.join(" × ") + ")\n" +
        t("value") + ": " + stats(info.value) + "\n" + t("gradient") + ": " + stats(info.grad);
      $("inspect").setAttribute("data-key", info.key);
      var rows = info.shape.length > 1 ? info.shape[0] : 1, cols = info.shape.length > 1 ? info.shape[info.shape.length - 1] : info.shape[0];
      var axes = t("axes_" + info.kind, { rows: rows, cols: cols });
      if (info.value && (info.value.rows !== rows || info.value.cols !== cols)) axes += " · " + t("subsampled", { rows: info.value.rows, cols: info.value.cols });
      drawHeat($("heat-value-figure"), info.value, t("heat_value", { name: info.key }), axes);
      drawHeat($("heat-grad-figure"), info.grad, t("heat_grad", { name: info.key }), axes);
    }
    function changed() { if (host.changed) host.changed(); }

    setData("moons", null);
    return {
      train: train,
      receive: receive,
      /* the job can be reached; with a snapshot, the job already running there is shown (a widget whose
         Python side made it) instead of a new one */
      connected: function (snapshot) {
        connected = true;
        if (snapshot && snapshot.step !== undefined) { ticket = snapshot.ticket; train.job = "open"; receive({ type: "snapshot", snapshot: snapshot }); }
        else createJob(startWhenReady);
      },
      disconnected: function () { connected = false; train.job = "none"; },
      /* the state a link restores: the data (a toy set's name, or the points), the network, the
         optimizer, its rates and the seed */
      state: function () {
        var state = { data: data.kind, hidden: hidden(), activation: $("activation").value, optimizer: $("optimizer").value,
          lr: parseFloat($("lr").value), batch: parseInt($("batch").value, 10), speed: parseInt($("speed").value, 10),
          seed: parseInt($("seed").value, 10) };
        if (data.points) state.points = data.points;
        return state;
      },
      load: function (state) {
        state = state || {};
        if (state.hidden) $("hidden").value = state.hidden.join(", ");
        ["activation", "optimizer", "lr", "batch", "speed", "seed"].forEach(function (id) {
          if (state[id] !== undefined && state[id] !== null && state[id] === state[id]) $(id).value = String(state[id]);
        });
        var kind = state.data || "moons";
        if (TOY.indexOf(kind) < 0 && kind !== "mnist" && kind !== "csv" && kind !== "draw") kind = "moons";
        setData(kind, (kind === "csv" || kind === "draw") ? (state.points || null) : null);
        if (connected) createJob(false); else ready();
      },
      relabel: function () {
        if (train.latest) draw(train.latest); else drawEmpty();
        if (errorShown) showError(errorShown);
        setData(data.kind, data.points);
        ready();
      }
    };
  }

  return { mount: mount, COLORS: COLORS };
})();
