/* layerprop's stepper: the one script that replays a drawing's steps, used by the step-through page
   (viz/page.js), the lab's graph page and the notebook widgets (lab/static/graph.js).

   A drawing is the SVG of layerprop.viz.svg: edges <g class="edge" data-edge data-source
   data-target> holding <text class="value"> and <text class="grad">, nodes <g class="node"
   data-node>, branch sums <text class="branch-sum" data-node>. Steps are those of
   layerprop.viz.steps: {phase, node, heading, rule, numbers, values, grads, sums, verdict}.
   Needs layerpropColours (the heat colour map, written by layerprop.viz.heatmap.colours_script). */
var layerpropStepper = (function () {
  "use strict";
  function each(root, selector, action) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), action);
  }

  /* Show step k of steps in the drawing under root: every value, gradient and branch sum revealed
     by steps 0…k, the current node and its edges highlighted. Returns {index, step}. */
  function reveal(root, steps, k) {
    var index = Math.max(0, Math.min(steps.length - 1, k));
    var values = {}, grads = {}, sums = {};
    for (var i = 0; i <= index; i++) {
      steps[i].values.forEach(function (id) { values[id] = true; });
      steps[i].grads.forEach(function (id) { grads[id] = true; });
      (steps[i].sums || []).forEach(function (id) { sums[id] = true; });
    }
    var step = steps[index];
    each(root, ".edge", function (edge) {
      var id = edge.getAttribute("data-edge");
      var value = edge.querySelector(".value"), grad = edge.querySelector(".grad");
      if (value) value.classList.toggle("visible", !!values[id]);
      if (grad) grad.classList.toggle("visible", !!grads[id]);
      edge.classList.toggle("has-value", !!values[id]);
      edge.classList.toggle("has-grad", !!grads[id]);
      edge.classList.toggle("active", step.node !== null &&
        (edge.getAttribute("data-source") === step.node || edge.getAttribute("data-target") === step.node));
    });
    each(root, ".branch-sum", function (text) {
      text.classList.toggle("visible", !!sums[text.getAttribute("data-node")]);
    });
    each(root, ".node", function (node) {
      node.classList.toggle("current", node.getAttribute("data-node") === step.node);
    });
    return { index: index, step: step };
  }

  /* Write a step into its status box: elements {status, heading, rule, numbers, verdict} (any may be missing). */
  function describe(parts, step, index) {
    if (parts.status) {
      parts.status.setAttribute("data-step", String(index));
      parts.status.setAttribute("data-phase", step.phase);
    }
    if (parts.heading) parts.heading.textContent = step.heading;
    if (parts.rule) parts.rule.textContent = step.rule;
    if (parts.numbers) parts.numbers.textContent = step.numbers;
    if (parts.verdict) {  // the doctor's verdict on the step's node, when the drawing was checked
      parts.verdict.textContent = step.verdict || "";
      parts.verdict.className = step.verdict ? (step.verdict.indexOf("✗") >= 0 ? "wrong" : "right") : "";
    }
  }

  /* The step a key moves to from `current` (null for other keys): → ← Home End. */
  function keyStep(event, current, count) {
    if (event.altKey || event.ctrlKey || event.metaKey) return null;
    var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: count - 1 };
    return event.key in moves ? moves[event.key] : null;
  }

  /* Zoom of the drawing in `box` (its <svg> keeps its laid-out size in data-width/-height): the text
     is never shrunk to fit unless asked, the box scrolls. fit() sets the zoom that makes the drawing
     exactly as wide as the box. */
  function Zoom(box) {
    this.box = box;
    this.value = 1;
  }
  Zoom.prototype.svg = function () { return this.box.querySelector("svg"); };
  Zoom.prototype.apply = function () {
    var svg = this.svg();
    if (!svg) return;
    if (!svg.dataset.width) { svg.dataset.width = svg.getAttribute("width"); svg.dataset.height = svg.getAttribute("height"); }
    svg.setAttribute("width", String(Math.round(svg.dataset.width * this.value)));
    svg.setAttribute("height", String(Math.round(svg.dataset.height * this.value)));
    this.box.setAttribute("data-zoom", String(Math.round(this.value * 1000) / 1000));
  };
  Zoom.prototype.set = function (z) { this.value = Math.max(0.25, Math.min(4, z)); this.apply(); };
  Zoom.prototype.by = function (factor) { this.set(this.value * factor); };
  Zoom.prototype.fit = function () {
    var svg = this.svg();
    if (!svg) return;
    this.apply();
    var natural = Number(svg.dataset.width), room = this.box.clientWidth - 2;
    if (natural > 0 && room > 0) this.set(room / natural);
  };

  /* The heat colour of v in [−1, 1] (NaN → 0): [r, g, b] from the stops of layerpropColours.heat. */
  function heatColor(v) {
    var stops = layerpropColours.heat;
    v = isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
    for (var i = 1; i < stops.length; i++) {
      if (v <= stops[i][0] || i === stops.length - 1) {
        var a = stops[i - 1], b = stops[i], f = (v - a[0]) / (b[0] - a[0]);
        return [0, 1, 2].map(function (c) { return Math.floor(a[1][c] + (b[1][c] - a[1][c]) * f + 0.5); });
      }
    }
    return stops[stops.length - 1][1];
  }

  return { reveal: reveal, describe: describe, keyStep: keyStep, Zoom: Zoom, heatColor: heatColor };
})();
