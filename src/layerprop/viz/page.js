/* layerprop step-through page: reveals forward values, then gradients, node by node.
   Reads the steps from <script id="layerprop-steps" type="application/json">.
   Keys: ArrowRight / ArrowLeft (also Home / End); buttons #next and #prev.
   State for scripts and tests: #layerprop-page[data-step], #status[data-step][data-phase],
   text elements with classes "value visible" / "grad visible". */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var data = JSON.parse(document.getElementById("layerprop-steps").textContent);
  var steps = data.steps;
  var current = 0;
  var page = document.getElementById("layerprop-page");
  var status = document.getElementById("status");
  var counter = document.getElementById("counter");
  var heading = document.getElementById("step-heading");
  var rule = document.getElementById("step-rule");
  var numbers = document.getElementById("step-numbers");
  var verdict = document.getElementById("step-verdict");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var edges = Array.prototype.slice.call(document.querySelectorAll(".edge"));
  var nodes = Array.prototype.slice.call(document.querySelectorAll(".node"));
  var branchSums = Array.prototype.slice.call(document.querySelectorAll(".branch-sum"));
  var drawing = document.querySelector(".drawing svg");
  var zoom = 1;
  function setZoom(z) {  /* large graphs: zoom and scroll instead of shrinking the text */
    zoom = Math.max(0.25, Math.min(4, z));
    if (!drawing) return;
    if (!drawing.dataset.width) { drawing.dataset.width = drawing.getAttribute("width"); drawing.dataset.height = drawing.getAttribute("height"); }
    drawing.setAttribute("width", String(Math.round(drawing.dataset.width * zoom)));
    drawing.setAttribute("height", String(Math.round(drawing.dataset.height * zoom)));
  }
  ["zoom-in", "zoom-out"].forEach(function (id) {
    var button = document.getElementById(id);
    if (button) button.addEventListener("click", function () { setZoom(zoom * (id === "zoom-in" ? 1.25 : 0.8)); });
  });

  function show(k) {
    current = Math.max(0, Math.min(steps.length - 1, k));
    var values = {}, grads = {}, i, j;
    for (i = 0; i <= current; i++) {
      for (j = 0; j < steps[i].values.length; j++) values[steps[i].values[j]] = true;
      for (j = 0; j < steps[i].grads.length; j++) grads[steps[i].grads[j]] = true;
    }
    var step = steps[current];
    edges.forEach(function (edge) {
      var id = edge.getAttribute("data-edge");
      var value = edge.querySelector(".value"), grad = edge.querySelector(".grad");
      if (value) value.classList.toggle("visible", !!values[id]);
      if (grad) grad.classList.toggle("visible", !!grads[id]);
      edge.classList.toggle("has-value", !!values[id]);
      edge.classList.toggle("has-grad", !!grads[id]);
      var active = step.node !== null &&
        (edge.getAttribute("data-source") === step.node || edge.getAttribute("data-target") === step.node);
      edge.classList.toggle("active", active);
    });
    var sums = {};
    for (i = 0; i <= current; i++) (steps[i].sums || []).forEach(function (id) { sums[id] = true; });
    branchSums.forEach(function (text) {
      text.classList.toggle("visible", !!sums[text.getAttribute("data-node")]);
    });
    nodes.forEach(function (node) {
      node.classList.toggle("current", node.getAttribute("data-node") === step.node);
    });
    page.setAttribute("data-step", String(current));
    page.setAttribute("data-phase", step.phase);
    status.setAttribute("data-step", String(current));
    status.setAttribute("data-phase", step.phase);
    counter.textContent = "Step " + current + " / " + (steps.length - 1);
    heading.textContent = step.heading;
    rule.textContent = step.rule;
    numbers.textContent = step.numbers;
    if (verdict) {
      verdict.textContent = step.verdict || "";
      verdict.className = step.verdict ? (step.verdict.indexOf("✗") >= 0 ? "wrong" : "right") : "";
    }
    prev.disabled = current === 0;
    next.disabled = current === steps.length - 1;
  }

  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "+" || event.key === "=") { setZoom(zoom * 1.25); return; }
    if (event.key === "-") { setZoom(zoom * 0.8); return; }
    var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: steps.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      show(moves[event.key]);
    }
  });
  window.layerprop = { show: show, steps: steps, get step() { return current; } };
  show(0);
})();
