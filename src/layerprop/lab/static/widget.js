/* layerprop lab inside a notebook: the graph and train views as an anywidget (Jupyter, JupyterLab,
   VS Code, Colab — no server of our own: the kernel answers). layerprop.lab.assets.widget_module()
   puts the views' scripts (stepper.js, i18n.js, graph.js, train.js) and their markup
   (LAYERPROP_VIEWS) before this file, so the views are the page's own.

   The widget's model (layerprop.lab.widgets) holds the state: "view" ("graph" or "train"), "lang",
   for the graph the request and the answer ("expression"/"preset", "values", "result", "step"), for
   the train view "page_state" and the latest "snapshot". Requests go to the kernel as custom
   messages {kind: "call", id, name, body} (answered {kind: "reply", id, result | error}) and
   {kind: "train", message} (answered {kind: "train", message}). */
var layerpropWidgetCount = 0;

function layerpropRender(model, el) {
  var kind = model.get("view");
  var root = document.createElement("div");
  root.className = "lp-lab lp-widget";
  root.tabIndex = 0;  // the stepper's keys work while the widget has the focus
  root.innerHTML = LAYERPROP_VIEWS[kind];
  el.appendChild(root);
  var lang = function () { return model.get("lang") === "ko" ? "ko" : "en"; };
  labTranslate(root, lang());
  layerpropWidgetCount += 1;
  var calls = {}, serial = 0, inFlight = 0, view = null;
  function call(name, body) {
    serial += 1;
    var id = serial;
    inFlight += 1;
    return new Promise(function (resolve, reject) {
      calls[id] = { resolve: resolve, reject: reject };
      model.send({ kind: "call", id: id, name: name, body: body });
    });
  }
  function onMessage(msg) {
    if (msg.kind === "reply" && calls[msg.id]) {
      var pending = calls[msg.id];
      delete calls[msg.id];
      inFlight -= 1;
      if (msg.error) pending.reject(msg.error); else pending.resolve(msg.result == null ? model.get("result") : msg.result);
    } else if (msg.kind === "train" && view && view.receive) {
      view.receive(msg.message);
    }
  }
  model.on("msg:custom", onMessage);
  var host = {
    call: call,
    t: function (key, args, language) { return labText(language || lang(), key, args); },
    lang: lang,
    keys: root,
    elementId: "lp-graph-" + layerpropWidgetCount + "-" + Math.random().toString(36).slice(2, 8),
    limits: function () { return model.get("limits") || {}; },
    changed: function () {
      if (kind === "graph" && view && view.view.steps && model.get("step") !== view.view.step) { model.set("step", view.view.step); model.save_changes(); }
    },
    send: function (message) { model.send({ kind: "train", message: message }); }
  };
  var onResult = null, onSnapshot = null, onLang = null;
  if (kind === "graph") {
    view = layerpropGraphView.mount(root, host);
    onResult = function () { if (!inFlight && model.get("result")) view.show(model.get("result")); };  // changed from Python
    model.on("change:result", onResult);
    var state = { values: model.get("values") || {}, step: model.get("step") };
    if (model.get("expression")) state.expr = model.get("expression"); else state.preset = model.get("preset") || "apple-orange";
    if (model.get("result")) view.show(model.get("result"));
    view.load(state);  // again, laid out to the widget's width
  } else {
    view = layerpropTrainView.mount(root, host);
    onSnapshot = function () { var snap = model.get("snapshot"); if (snap && snap.step !== undefined) view.receive({ type: "snapshot", snapshot: snap }); };
    model.on("change:snapshot", onSnapshot);
    view.load(model.get("page_state") || {});
    view.connected(model.get("snapshot"));
  }
  onLang = function () { labTranslate(root, lang()); view.relabel(); };
  model.on("change:lang", onLang);
  return function () {  // the widget's view is removed
    model.off("msg:custom", onMessage);
    if (onResult) model.off("change:result", onResult);
    if (onSnapshot) model.off("change:snapshot", onSnapshot);
    model.off("change:lang", onLang);
  };
}

export default { render: function (context) { return layerpropRender(context.model, context.el); } };
