/* layerprop step-through page: reveals forward values, then gradients, node by node, with the
   stepper of stepper.js (inlined before this script). Reads the steps from
   <script id="layerprop-steps" type="application/json">.
   Keys: ArrowRight / ArrowLeft (also Home / End), + / − zoom; buttons #next, #prev, #zoom-in,
   #zoom-out and #fit (fit to the window's width).
   State for scripts and tests: #layerprop-page[data-step], #status[data-step][data-phase],
   text elements with classes "value visible" / "grad visible". */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var $ = function (id) { return document.getElementById(id); };
  var steps = JSON.parse($("layerprop-steps").textContent).steps;
  var page = $("layerprop-page");
  var drawing = document.querySelector(".drawing");
  var zoom = new layerpropStepper.Zoom(drawing);
  var parts = { status: $("status"), heading: $("step-heading"), rule: $("step-rule"), numbers: $("step-numbers"), verdict: $("step-verdict") };
  var current = 0;

  function show(k) {
    var shown = layerpropStepper.reveal(drawing, steps, k);
    current = shown.index;
    layerpropStepper.describe(parts, shown.step, current);
    page.setAttribute("data-step", String(current));
    page.setAttribute("data-phase", shown.step.phase);
    $("counter").textContent = "Step " + current + " / " + (steps.length - 1);
    $("prev").disabled = current === 0;
    $("next").disabled = current === steps.length - 1;
  }

  $("prev").addEventListener("click", function () { show(current - 1); });
  $("next").addEventListener("click", function () { show(current + 1); });
  [["zoom-in", function () { zoom.by(1.25); }], ["zoom-out", function () { zoom.by(0.8); }], ["fit", function () { zoom.fit(); }]]
    .forEach(function (pair) { var button = $(pair[0]); if (button) button.addEventListener("click", pair[1]); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "+" || event.key === "=") { zoom.by(1.25); return; }
    if (event.key === "-") { zoom.by(0.8); return; }
    var target = layerpropStepper.keyStep(event, current, steps.length);
    if (target !== null) { event.preventDefault(); show(target); }
  });
  window.layerprop = { show: show, steps: steps, get step() { return current; } };
  show(0);
})();
