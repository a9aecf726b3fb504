/* layerprop lab: the graph page as a view, mounted into the lab's page (lab.js) or a notebook
   widget (widget.js) — one copy of the script for both.

   layerpropGraphView.mount(root, host) builds nothing itself: root holds graph.html. The host
   gives what differs between the page and a widget:
     host.call(name, body) → Promise of the answer to "graph" / "check" (layerprop.lab.graphs),
                             rejected with {en, ko} (the message in both languages)
     host.t(key, args), host.lang()   the words of the page (i18n.js) in the reader's language
     host.changed()                   the state changed (the page writes it into its link)
     host.shown(result)               a new drawing is on screen
     host.stepped(step)               the stepper shows another step (optional)
     host.keys                        the element whose keys step and zoom (document, or the widget)
     host.elementId                   a unique id for the drawing (several widgets share a notebook)
   The view answers load(state), state(), relabel() (the language changed), show(result) (an answer
   that came from elsewhere, e.g. the widget's Python side) and visible() (it was just shown). */
var layerpropGraphView = (function () {
  "use strict";

  function fmtError(host, error) {
    if (error && (error.en || error.ko)) return (host.lang() === "ko" && error.ko) || error.en;
    return String((error && error.message) || error);
  }

  function mount(root, host) {
    var $ = function (id) { return root.querySelector("#" + id); };
    var stepper = layerpropStepper;
    var zoom = new stepper.Zoom($("drawing"));
    var view = { result: null, steps: null, step: 0, version: 0, check: null, error: null };
    var source = { preset: "apple-orange" };  // what the graph comes from: {preset} or {expr}
    var values = {};
    var busy = false, pending = false, wantedStep = null, laidOut = 0;

    function numbersOnly(given) {  // an expression's inputs are numbers: a preset's tensors do not carry over
      var kept = {};
      Object.keys(given || {}).forEach(function (name) { if (typeof given[name] === "number" && isFinite(given[name])) kept[name] = given[name]; });
      return kept;
    }
    function request() {
      var body = { values: values, element_id: host.elementId || "lab-graph" };
      if (source.expr) body.expr = source.expr; else body.preset = source.preset;
      // a preset's graph drawn again (new values) also names its expression: the same graph as shown
      if (!source.expr && view.result && view.result.preset === source.preset && view.result.expr) body.expr = view.result.expr;
      var width = $("drawing").clientWidth;
      if (width > 0) { body.width = width - 4; laidOut = width; }
      return body;
    }
    function showError(error) {
      view.error = error || null;
      var box = $("graph-error");
      box.textContent = error ? fmtError(host, error) : "";
      box.hidden = !error;
    }
    function recompute() {
      if (busy) { pending = true; return; }
      busy = true;
      host.call("graph", request()).then(function (result) {
        showError(null);
        show(result);
      }).catch(function (error) {
        showError(error);
      }).then(function () {
        busy = false;
        if (pending) { pending = false; recompute(); }
      });
    }

    function show(result) {
      var keep = view.result && view.steps && view.step !== (view.steps.en || []).length - 1 ? view.step : null;
      if (wantedStep !== null) { keep = wantedStep; wantedStep = null; }
      view.result = result;
      if (result.preset) source = { preset: result.preset }; else if (result.expr) source = { expr: result.expr };
      if (!result.expr) $("expr").value = "";  // the network preset is layers, not an expression
      else if (document.activeElement !== $("expr")) $("expr").value = result.expr;
      $("preset").value = result.preset || "";
      var kept = {};
      result.inputs.forEach(function (input) { kept[input.name] = input.name in values ? values[input.name] : input.value; });
      values = kept;
      $("drawing").innerHTML = result.svg;
      zoom.apply();
      renderInputs(false);
      renderOutputs();
      renderSums();
      renderRules();
      view.check = null;
      renderCheck();
      view.steps = result.steps;
      showStep(keep === null ? result.steps.en.length - 1 : keep);
      view.version += 1;
      root.setAttribute("data-graph-version", String(view.version));
      if (host.shown) host.shown(result);
    }

    function renderInputs(relabel) {
      var box = $("inputs");
      var inputs = view.result.inputs;
      var names = inputs.map(function (i) { return i.name; }).join(",");
      if (box.getAttribute("data-names") !== names || relabel) {
        box.setAttribute("data-names", names);
        var longest = Math.max.apply(null, inputs.map(function (i) { return i.name.length; }).concat([2]));
        box.style.setProperty("--name-width", Math.min(longest, 16) + 1 + "ch");  // one column of names for every row
        box.innerHTML = "";
        inputs.forEach(function (input) { box.appendChild(inputRow(input)); });
      }
      inputs.forEach(function (input) {
        var row = rowOf(input.name);
        if (!row) return;
        row.querySelector(".grad").textContent = input.name + ".grad = " + input.grad;
        row.querySelector(".grad").setAttribute("data-value", input.grad);
      });
    }
    function rowOf(name) { return $("inputs").querySelector('.input-row[data-name="' + CSS.escape(name) + '"]'); }
    function inputRow(input) {
      var row = document.createElement("div");
      row.className = "input-row" + (input.tensor ? " tensor" : "");
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
        grid.style.gridTemplateColumns = "repeat(" + cols + ", minmax(0, 1fr))";
        var store = function () {
          var rows = [];
          if (shape.length === 1) rows = flat.slice(); else for (var r = 0; r < shape[0]; r++) rows.push(flat.slice(r * cols, (r + 1) * cols));
          values[input.name] = rows; changed(); recompute();
        };
        var choose = function (k) {
          chosen = k; tensorSlider.value = flat[k];
          Array.prototype.forEach.call(grid.children, function (cell, j) { cell.classList.toggle("chosen", j === k); });
        };
        flat.forEach(function (v, k) {
          var cell = document.createElement("input");
          cell.type = "number"; cell.step = "any"; cell.className = "cell"; cell.value = Math.round(v * 1e4) / 1e4;
          cell.title = input.name + "[" + k + "] = " + v;
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
        slider.type = "range"; slider.className = "slider"; slider.setAttribute("aria-label", input.name);
        slider.min = Math.min(input.min, values[input.name]); slider.max = Math.max(input.max, values[input.name]);
        slider.step = input.step; slider.value = values[input.name];
        var field = document.createElement("input");
        field.type = "number"; field.className = "field"; field.step = "any"; field.value = values[input.name];
        field.setAttribute("aria-label", input.name);
        slider.addEventListener("input", function () {
          values[input.name] = parseFloat(slider.value); field.value = slider.value; changed(); recompute();
        });
        field.addEventListener("change", function () {
          var v = parseFloat(field.value);
          if (!isFinite(v)) return;
          values[input.name] = v;
          if (v < parseFloat(slider.min)) slider.min = v;
          if (v > parseFloat(slider.max)) slider.max = v;
          slider.value = v; changed(); recompute();
        });
        row.appendChild(slider); row.appendChild(field);
      }
      var grad = document.createElement("span"); grad.className = "grad"; row.appendChild(grad);
      var check = document.createElement("span"); check.className = "check"; row.appendChild(check);
      return row;
    }
    function renderOutputs() {
      $("outputs").textContent = view.result.outputs.map(function (o) { return o.name + " = " + o.value; }).join("\n");
    }
    function renderSums() {
      var sums = view.result.branch_sums;
      $("branch-sums").textContent = sums.length ? sums.map(function (s) { return s.text; }).join("\n") : host.t("no_branch");
    }
    function renderRules() {
      var table = $("rules");
      table.innerHTML = "";
      Object.keys(view.result.rules).forEach(function (id) {
        var rule = view.result.rules[id];
        var tr = document.createElement("tr");
        tr.setAttribute("data-node", id);
        [[rule.label, ""], [rule.forward[host.lang()], "f"], [rule.backward[host.lang()], "b"]].forEach(function (cell) {
          var td = document.createElement("td"); td.textContent = cell[0]; td.className = cell[1]; tr.appendChild(td);
        });
        table.appendChild(tr);
      });
    }
    function renderCheck() {  // one line for the whole check, and a mark at each input
      var result = view.check;
      Array.prototype.forEach.call($("inputs").querySelectorAll(".input-row .check"), function (el) {
        el.textContent = ""; el.className = "check"; el.removeAttribute("data-ok");
      });
      $("check-results").textContent = "";
      $("check-results").className = "";
      if (!result) return;
      var worst = 0, bad = 0;
      result.inputs.forEach(function (row) {
        var e = row.rel_error === null ? NaN : row.rel_error;
        worst = isFinite(e) ? Math.max(worst, e) : NaN;
        if (!row.ok) bad += 1;
        var el = rowOf(row.name);
        el = el && el.querySelector(".check");
        if (!el) return;
        el.textContent = host.t(row.ok ? "check_ok" : "check_bad", { e: isFinite(e) ? e.toExponential(1) : "NaN", numeric: row.numeric });
        el.className = "check " + (row.ok ? "ok" : "bad");
        el.setAttribute("data-ok", String(row.ok));
      });
      var words = bad ? host.t("check_summary_bad", { bad: bad, n: result.inputs.length })
        : host.t("check_summary_ok", { n: result.inputs.length, e: isFinite(worst) ? worst.toExponential(1) : "NaN" });
      $("check-results").textContent = words;
      $("check-results").className = bad ? "bad" : "ok";
    }

    function showStep(k) {
      var steps = view.steps && (view.steps[host.lang()] || view.steps.en);
      if (!steps) return;
      var shown = stepper.reveal($("drawing"), steps, k);
      view.step = shown.index;
      stepper.describe({ status: $("status"), heading: $("step-heading"), rule: $("step-rule"), numbers: $("step-numbers"), verdict: $("step-verdict") },
        shown.step, view.step);
      $("counter").textContent = host.t("step_of", { i: view.step, n: steps.length - 1 });
      $("prev").disabled = $("first").disabled = view.step === 0;
      $("next").disabled = $("last").disabled = view.step === steps.length - 1;
      if (host.stepped) host.stepped(shown.step);
      changed();
    }
    function changed() { if (host.changed) host.changed(); }

    $("first").addEventListener("click", function () { showStep(0); });
    $("prev").addEventListener("click", function () { showStep(view.step - 1); });
    $("next").addEventListener("click", function () { showStep(view.step + 1); });
    $("last").addEventListener("click", function () { showStep(1e9); });
    $("zoom-in").addEventListener("click", function () { zoom.by(1.25); });
    $("zoom-out").addEventListener("click", function () { zoom.by(0.8); });
    $("fit").addEventListener("click", function () { zoom.fit(); });
    host.keys.addEventListener("keydown", function (event) {
      if (root.offsetParent === null || /INPUT|TEXTAREA|SELECT/.test(event.target.tagName)) return;
      if (event.key === "+" || event.key === "=") { zoom.by(1.25); return; }
      if (event.key === "-") { zoom.by(0.8); return; }
      var count = view.steps ? (view.steps.en || []).length : 0;
      var target = stepper.keyStep(event, view.step, count);
      if (target !== null) { event.preventDefault(); showStep(target); }
    });
    var resizing = null;
    window.addEventListener("resize", function () {  // a new width: lay the drawing out again to fit it
      clearTimeout(resizing);
      resizing = setTimeout(function () { if (view.result && Math.abs($("drawing").clientWidth - laidOut) > 30) recompute(); }, 250);
    });

    $("preset").addEventListener("change", function () {
      if (!$("preset").value) return;
      source = { preset: $("preset").value };
      values = {};
      wantedStep = null;
      changed();
      recompute();
    });
    function drawExpression() {
      source = { expr: $("expr").value };
      $("preset").value = "";
      values = numbersOnly(values);
      changed();
      recompute();
    }
    $("draw").addEventListener("click", drawExpression);
    $("expr").addEventListener("keydown", function (event) { if (event.key === "Enter") drawExpression(); });
    $("check").addEventListener("click", function () {
      host.call("check", request()).then(function (result) {
        showError(null);
        view.check = result;
        renderCheck();
      }).catch(showError);
    });

    return {
      view: view,
      show: show,
      showStep: showStep,
      recompute: recompute,
      /* the state a link restores: {preset} or {expr}, the inputs' values, the step shown */
      state: function () {
        var state = source.expr ? { expr: source.expr } : { preset: source.preset };
        state.values = values;
        if (view.steps && view.step !== view.steps.en.length - 1) state.step = view.step;
        return state;
      },
      load: function (state) {
        state = state || {};
        source = state.expr ? { expr: state.expr } : { preset: state.preset || "apple-orange" };
        values = state.values || {};
        wantedStep = typeof state.step === "number" ? state.step : null;
        $("preset").value = source.preset || "";
        if (source.expr) $("expr").value = source.expr;
        recompute();
      },
      relabel: function () {
        if (view.result) { renderRules(); renderSums(); showStep(view.step); renderInputs(true); renderCheck(); }
        if (view.error) showError(view.error);
      },
      visible: function () { if (view.result && Math.abs($("drawing").clientWidth - laidOut) > 30) recompute(); }
    };
  }

  return { mount: mount, fmtError: fmtError };
})();
