"""The examination of one layer: what the doctor runs, in order.

1. **Build** the layer from its class when needed (:func:`~.interface.obtain`).
2. **Forward** on copies of the inputs: an exception is ``forward-error``; a changed input
   ``mutates-input``; ``None`` ``no-output``.
3. **Backward** with ``dout`` a fixed random array of the output's shape (a loss: ``1``): an
   exception is ``backward-error``; a changed ``dout`` ``mutates-dout``; a gradient missing
   ``missing-gradient``, of another shape than its input or parameter ``wrong-shape``.
4. **Gradients** against central differences of L = Σ forward(…) · dout
   (:func:`layerprop.gradcheck.numerical_slopes`, h = 1e-4, float64): a relative error above
   :data:`TOLERANCE` is ``wrong-gradient``, with the worst element and both values there.
   Where the left and right slopes differ (a kink, such as Relu's 0, in inputs given to the
   doctor), the element is not judged (a note).
5. **State**: after forward(a) then forward(b), backward must give the gradient at b; and a
   second backward with the same dout must give the same gradients: otherwise ``stale-state``.
6. **Large inputs** (×1000): inf or NaN out of forward — or out of backward where forward is finite
   — is ``unstable`` (a NaN is never the value of a finite formula; an inf counts for a loss only,
   whose value is finite: an ``exp`` layer may overflow honestly).
7. **Notes**: warnings, a float32 input giving float64 out, a loss's backward ignoring ``dout``,
   backward returning ``dout`` itself.

Nothing the learner's code does escapes as an exception: each failure becomes a problem.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..backend import sum_to
from ..gradcheck import GRADIENT_FLOOR, compare_gradients, numerical_slopes
from ..layers.interface import parameter_arrays, parameter_gradient
from .hints import describe_exception
from .interface import LEARNER_ERRORS, CannotCall, as_float, candidate_inputs, layer_name, obtain, other_inputs, plan
from .messages import Text, check_language, say
from .report import GradientRow, LayerReport, Note, Problem, index_text, number

#: a relative error above this is a wrong gradient: float64 central differences reach ~1e-8 here, and
#: the book's log(y + 1e-7) moves a loss's gradient by ~1e-7 / y (2e-5 at a probability of 0.005)
TOLERANCE = 1e-4
#: the tolerance when the layer computes in less than float64 (a difference quotient has few digits left)
LOW_PRECISION_TOLERANCE = 1e-2
#: one-sided slopes that differ by more than this (relative to the gradient's scale) mark a kink
KINK_JUMP = 1e-2
#: how much larger the inputs of the stability check are
LARGE = 1000.0
#: the step of the difference quotients
H = 1e-4


class _Stop(Exception):
    """The examination cannot go on (the problem is already in the report)."""


def _copies(values):
    return [np.array(v, copy=True) for v in values]


def _fresh(dout):
    """A copy of ``dout`` for one backward call (a loss's scalar 1 stays a Python number, as in the book)."""
    return float(dout) if np.ndim(dout) == 0 else np.array(dout, copy=True)


def _differs(before, after) -> np.ndarray:
    """Elementwise 'changed' (NaN stays NaN counts as unchanged)."""
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape or before.dtype.kind not in "biuf":
        return np.zeros(before.shape, dtype=bool)
    return ~((before == after) | (np.isnan(before) & np.isnan(after)) if before.dtype.kind == "f" else before == after)


def _change_fields(name, before, after) -> dict | None:
    changed = _differs(before, after)
    if not changed.any():
        return None
    index = tuple(int(i) for i in np.argwhere(changed)[0]) if changed.ndim else ()
    return {
        "name": name,
        "count": int(changed.sum()),
        "size": int(changed.size),
        "index": index_text(index),
        "before": number(np.asarray(before)[index]),
        "after": number(np.asarray(after)[index]),
    }


def _warning_text(caught) -> Text | None:
    if not caught:
        return None
    first = caught[0]
    return Text(f"{first.category.__name__}: {first.message}", f"{first.category.__name__}: {first.message}")


def _bad_values(array) -> str | None:
    """'nan', 'inf' or 'nan and inf' when ``array`` holds them, else None."""
    try:
        a = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    kinds = [word for word, test in (("nan", np.isnan), ("inf", np.isinf)) if test(a).any()]
    return " and ".join(kinds) or None


def _hint(caught) -> Text:
    """The hint for an overflow, a log of 0, a division by zero or an invalid operation."""
    messages = " ".join(str(w.message) for w in caught)
    if "overflow" in messages and "exp" in messages:
        return say("hint/exp")
    if "log" in messages:
        return say("hint/log")
    if "divide" in messages:
        return say("hint/divide")
    if "invalid" in messages:
        return say("hint/invalid")
    return Text("", "")


class Examination:
    """One run of the doctor over one layer (see the module docstring for the order)."""

    def __init__(self, subject, inputs=(), constants=(), *, receives=None, lang="en", seed=0, name=None):
        self.subject = subject
        self.given = list(inputs)
        self.constants = list(constants)
        self.receives = receives
        self.rng = np.random.default_rng(seed)
        self.report = LayerReport(name or layer_name(subject), lang=check_language(lang))
        self.layer = None
        self.plan = None
        self.noted = set()

    # -- findings --------------------------------------------------------------------------------
    def problem(self, code, text: Text, **fields) -> Problem:
        found = Problem.of(code, text, **fields)
        self.report.problems.append(found)
        return found

    def note(self, code, text: Text, where=None):
        key = (code, where, text.en)
        if key not in self.noted:
            self.noted.add(key)
            self.report.notes.append(Note.of(code, text, where=where))

    def note_warnings(self, stage, caught):
        text = _warning_text(caught)
        if text is not None:
            self.note(
                "warning",
                say(
                    "warning",
                    stage=say(f"stage/{stage}"),
                    category=Text(caught[0].category.__name__, caught[0].category.__name__),
                    message=Text(str(caught[0].message), str(caught[0].message)),
                ),
            )

    # -- calling the learner's code ----------------------------------------------------------------
    def call(self, stage, method, *args, large=False):
        """``method(*args)`` with warnings recorded; an exception becomes ``<stage>-error`` and stops."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = method(*args)
            except LEARNER_ERRORS as exc:
                error = describe_exception(exc, self.layer)
                if large:
                    self.problem("forward-error", say("forward-error/large", error=error, scale=number(LARGE)))
                else:
                    self.problem(f"{stage}-error", say(f"{stage}-error", error=error))
                raise _Stop from None
        return result, list(caught)

    def forward(self, values, stage="forward", large=False):
        """forward on copies of ``values``; returns (output, the copies, warnings)."""
        copies = _copies(values)
        out, caught = self.call("forward", self.layer.forward, *copies, large=large)
        return out, copies, caught

    def backward(self, dout):
        args = (dout,) if self.plan.backward_takes_dout else ()
        return self.call("backward", self.layer.backward, *args)

    # -- the steps -------------------------------------------------------------------------------
    def run(self) -> LayerReport:
        try:
            self.layer, built = obtain(self.subject, self.given, self.rng)
        except CannotCall as cannot:
            self.problem(cannot.code, cannot.text)
            return self.report
        try:
            self.plan = plan(self.layer, self.given, self.constants, self.receives)
            self.report.called = (built + ": " if built else "") + self.plan.called()
            self.choose_inputs()
            self.report.inputs = self.plan.describe_inputs()
            out, dout, grads = self.first_pass()
            tolerance = self.tolerance(out)
            if self.deterministic(dout):
                good = self.gradients(dout, grads, tolerance)
                if good:
                    self.state(dout, tolerance)
            self.large_inputs(dout)
            self.dtype_notes()
            if self.plan.loss:
                self.dout_note(grads)
        except _Stop:
            pass
        return self.report

    def choose_inputs(self):
        plan_ = self.plan
        if self.given or self.constants:
            plan_.chosen = False
            given = self.given + self.constants
            plan_.inputs = [
                as_float(v) if i < plan_.data_count else np.array(v, copy=True) for i, v in enumerate(given)
            ]
            return
        candidates = candidate_inputs(plan_, self.layer, self.rng)
        for values in candidates:  # the first set where forward is finite (signed, else positive)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    out = self.layer.forward(*_copies(values))
                except LEARNER_ERRORS:
                    out = None
            if out is not None and _bad_values(out) is None:
                plan_.inputs = values
                return
        plan_.inputs = candidates[0]

    def first_pass(self):
        plan_ = self.plan
        out, copies, caught = self.forward(plan_.inputs)
        self.note_warnings("forward", caught)
        self.check_mutation("forward", copies)
        self.check_output(out)
        bad = _bad_values(out)
        if bad:
            self.problem(
                "unstable", say("unstable/ordinary", bad=bad, inputs=plan_.describe_inputs(), hint=_hint(caught))
            )
            raise _Stop
        dout = self.dout_for(out)
        given = _fresh(dout)
        result, caught = self.backward(given)
        self.note_warnings("backward", caught)
        change = _change_fields("dout", dout, given) if np.ndim(dout) else None
        if change:
            self.problem(
                "mutates-dout", say("mutates-dout", **{k: v for k, v in change.items() if k != "name"}), where="dout"
            )
        self.check_mutation("backward", copies)
        grads = self.read_gradients(result, given)
        return out, dout, grads

    def check_mutation(self, stage, copies):
        for name, before, after in zip(self.plan.names, self.plan.inputs, copies):
            change = _change_fields(name, before, after)
            if change and not any(p.code == "mutates-input" and p.where == name for p in self.report.problems):
                self.problem("mutates-input", say("mutates-input", stage=say(f"stage/{stage}"), **change), where=name)

    def check_output(self, out):
        if out is None:
            self.problem("no-output", say("no-output/none"))
            raise _Stop
        try:
            kind = np.asarray(out).dtype.kind
        except LEARNER_ERRORS:
            kind = "O"
        if isinstance(out, (tuple, list, dict, set, str)) or kind not in "biuf":
            kind = type(out).__name__
            what = say("got/type-of", type=kind, n=len(out)) if hasattr(out, "__len__") else say("got/type", type=kind)
            self.problem("no-output", say("no-output/other", what=what))
            raise _Stop

    def dout_for(self, out):
        """The dout backward gets: 1 for a loss's scalar, else a fixed random array of the output's shape."""
        if self.plan.loss and np.ndim(out) == 0:
            return 1.0
        return self.rng.standard_normal(np.shape(out))

    def returned(self, result) -> list:
        """backward's result as one entry per data input (a loss's (dx, dt): dx)."""
        count = self.plan.data_count
        values = list(result) if isinstance(result, (tuple, list)) else [result]
        if isinstance(result, (tuple, list)) and len(values) == len(self.plan.names) > count:
            values = values[:count]  # (dx, dt) from a loss: the targets' gradient is not used
        return values

    def as_graph_uses(self, g, shape):
        """A graph node's gradient summed to its input's shape (the graph does it: broadcasting)."""
        if self.plan.sums_broadcast and isinstance(g, np.ndarray) and g.shape != tuple(shape):
            try:
                return sum_to(g, shape)
            except ValueError:
                return g
        return g

    def read_gradients(self, result, dout) -> dict:
        """{name: gradient} for the inputs and parameters whose gradient backward gave in the right shape."""
        plan_ = self.plan
        count, expected = plan_.data_count, plan_.expected()
        if result is None:
            self.problem("missing-gradient", say("missing-gradient/none", expected=expected))
            raise _Stop
        values = self.returned(result)
        if len(values) != count:
            key = "missing-gradient" if len(values) < count else "wrong-shape"
            got = say("got/values", n=len(values)) if isinstance(result, (tuple, list)) else say("got/one")
            self.problem(key, say(f"{key}/count", got=got, count=count, expected=expected))
            values = values[:count] + [None] * (count - len(values))
        grads = {}
        for i in plan_.grad_indices:
            name, x, g = plan_.names[i], plan_.inputs[i], values[i]
            if g is None:
                if not any(p.code == "missing-gradient" for p in self.report.problems):
                    self.problem(
                        "missing-gradient", say("missing-gradient/input", name=name, expected=expected), where=name
                    )
                continue
            if g is dout:
                self.note("returns-dout", say("returns-dout", name=name), where=name)
            g = self.as_graph_uses(g, np.shape(x))
            if self.shape_ok(name, g, np.shape(x)):
                grads[name] = g
        for key, param in plan_.params.items():
            g = parameter_gradient(self.layer, key)
            if g is None:
                where = f"self.d{key}" if not hasattr(self.layer, "grads") else f"grads[{key!r}]"
                self.problem("missing-gradient", say("missing-gradient/param", where=where, key=key), where=key)
            elif self.shape_ok(key, g, np.shape(param)):
                grads[key] = np.array(g, dtype=np.float64, copy=True)
        return grads

    def shape_ok(self, name, g, shape) -> bool:
        try:
            array = np.asarray(g)
        except LEARNER_ERRORS:
            array = np.asarray(None)
        if array.dtype.kind not in "biuf":
            self.problem(
                "wrong-shape", say("wrong-shape", name=name, got=type(g).__name__, expected=tuple(shape)), where=name
            )
            return False
        if array.shape != tuple(shape):
            self.problem(
                "wrong-shape", say("wrong-shape", name=name, got=array.shape, expected=tuple(shape)), where=name
            )
            return False
        return True

    def tolerance(self, out) -> float:
        dtype = np.asarray(out).dtype
        return TOLERANCE if dtype.kind != "f" or dtype.itemsize >= 8 else LOW_PRECISION_TOLERANCE

    # -- numerical gradients ---------------------------------------------------------------------
    def objective(self, values, dout) -> float:
        """L = Σ forward(values) · dout, quietly (its warnings were noted by the first pass)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, _, _ = self.forward(values)
        return float(np.sum(np.asarray(out, dtype=np.float64) * dout))

    def deterministic(self, dout) -> bool:
        if self.objective(self.plan.inputs, dout) == self.objective(self.plan.inputs, dout):
            return True
        self.note("not-deterministic", say("not-deterministic"))
        return False

    def numerical(self, values, dout) -> dict:
        """{name: (central, left, right)} at ``values`` for every input with a gradient and every parameter."""
        values = _copies(values)
        slopes = {}
        for i in self.plan.grad_indices:
            name = self.plan.names[i]

            def f(_, i=i):
                return self.objective(values, dout)

            slopes[name] = numerical_slopes(f, values[i], H)
        params = parameter_arrays(self.layer)
        for key in self.plan.params:
            param = params.get(key)
            if param is None or param.dtype.kind != "f" or not param.flags.writeable:
                continue
            slopes[key] = numerical_slopes(lambda _: self.objective(values, dout), param, H)
        return slopes

    def compare(self, name, analytic, slopes) -> tuple:
        """(:class:`GradientRow`, number of kink elements) of ``analytic`` against the slopes."""
        central, left, right = slopes
        analytic = np.asarray(analytic, dtype=np.float64)
        scale = max(float(np.max(np.abs(central))) if central.size else 0.0, GRADIENT_FLOOR)
        kink = np.abs(right - left) > KINK_JUMP * np.maximum(np.maximum(np.abs(left), np.abs(right)), scale)
        numeric = central.copy()
        if kink.any():
            low, high = np.minimum(left, right), np.maximum(left, right)
            fair = kink & (analytic >= low - KINK_JUMP * scale) & (analytic <= high + KINK_JUMP * scale)
            numeric[fair] = analytic[fair]  # any value between the one-sided slopes is a fair gradient
        comparison = compare_gradients(name, analytic, numeric)
        worst = comparison.worst
        row = GradientRow(
            name,
            tuple(analytic.shape),
            comparison.rel_error,
            worst,
            float(analytic[worst]) if analytic.size else 0.0,
            float(central[worst]) if central.size else 0.0,
            int(kink.sum()),
        )
        return row, kink, left, right

    def gradients(self, dout, grads, tolerance) -> bool:
        """wrong-gradient per input and parameter; True when every gradient could be judged right."""
        slopes = self.numerical(self.plan.inputs, dout)
        good = len(grads) == len(self.plan.grad_names) + len(self.plan.params) and not self.report.problems
        for name, analytic in grads.items():
            if name not in slopes:
                continue
            row, kink, left, right = self.compare(name, analytic, slopes[name])
            self.report.gradients.append(row)
            if kink.any():
                index = tuple(int(i) for i in np.argwhere(kink)[0]) if kink.ndim else ()
                value = self.value_of(name)[index]
                self.note(
                    "kink",
                    say(
                        "kink",
                        count=int(kink.sum()),
                        name=name,
                        index=index_text(index),
                        value=number(value),
                        left=number(left[index]),
                        right=number(right[index]),
                    ),
                    where=name,
                )
            if row.rel_error > tolerance:
                good = False
                self.gradient_problem("wrong-gradient", "wrong-gradient", row)
        return good

    def gradient_problem(self, code, key, row: GradientRow):
        """A problem about one gradient: message ``key`` filled from ``row``, which also gives the fields."""
        text = say(
            key,
            name=row.name,
            rel=number(row.rel_error),
            index=index_text(row.worst),
            analytic=number(row.analytic),
            numerical=number(row.numerical),
        )
        self.problem(
            code,
            text,
            where=row.name,
            index=row.worst,
            analytic=row.analytic,
            numerical=row.numerical,
            rel_error=row.rel_error,
        )

    def value_of(self, name):
        if name in self.plan.grad_names:
            return np.asarray(self.plan.inputs[self.plan.names.index(name)])
        return np.asarray(parameter_arrays(self.layer)[name])

    def state(self, dout, tolerance):
        """stale-state: backward twice after one forward gives the same gradients; after forward(x),
        forward(other), backward gives the gradient at the other input."""
        plan_ = self.plan
        other = other_inputs(plan_, plan_.inputs, self.rng)
        other_out, _, _ = self.forward(other)
        if np.shape(other_out) != np.shape(dout) and np.ndim(dout):
            return
        once = self.gradients_after(other, dout)
        again = self.gradients_after(None, dout)
        for name, analytic in once.items():
            second = again.get(name)
            if second is None or np.shape(second) != np.shape(analytic):
                continue
            if not np.allclose(second, analytic, rtol=tolerance, atol=GRADIENT_FLOOR):
                index = tuple(
                    int(i) for i in np.unravel_index(np.argmax(np.abs(second - analytic)), np.shape(analytic))
                )
                self.problem(
                    "stale-state",
                    say(
                        "stale-state/twice",
                        name=name,
                        index=index_text(index),
                        first=number(np.asarray(analytic)[index]),
                        second=number(np.asarray(second)[index]),
                    ),
                    where=name,
                )
                return
        slopes = self.numerical(other, dout)
        first = self.gradients_after(plan_.inputs, dout)
        self.forward(plan_.inputs)
        self.forward(other)
        after_two = self.gradients_after(None, dout)
        for name, analytic in after_two.items():
            if name not in slopes:
                continue
            row, _, _, _ = self.compare(name, analytic, slopes[name])
            if row.rel_error <= tolerance:
                continue
            at_first = first.get(name)
            stayed = (
                at_first is not None and np.shape(at_first) == np.shape(analytic) and np.allclose(analytic, at_first)
            )
            self.gradient_problem("stale-state", "stale-state/first" if stayed else "stale-state/other", row)
            return

    def gradients_after(self, values, dout) -> dict:
        """{name: gradient} from backward(dout), after a forward at ``values`` (None: no new forward)."""
        if values is not None:
            self.forward(values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result, _ = self.backward(_fresh(dout))
        values_ = self.returned(result)
        grads = {}
        for i in self.plan.grad_indices:
            g = values_[i] if i < len(values_) else None
            if g is not None:
                shape = np.shape(self.plan.inputs[i])
                grads[self.plan.names[i]] = np.array(self.as_graph_uses(g, shape), dtype=np.float64)
        for key in self.plan.params:
            g = parameter_gradient(self.layer, key)
            if g is not None:
                grads[key] = np.array(g, dtype=np.float64, copy=True)
        return grads

    # -- large inputs, dtypes, dout ------------------------------------------------------------------
    def large_inputs(self, dout):
        plan_ = self.plan
        if any(p.code in ("forward-error", "backward-error", "no-output") for p in self.report.problems):
            return
        if not plan_.grad_indices:
            return
        big = [np.asarray(v) * LARGE if i in plan_.grad_indices else v for i, v in enumerate(plan_.inputs)]
        names = ", ".join(plan_.grad_names)
        scale = number(LARGE * max(float(np.max(np.abs(plan_.inputs[i]), initial=0.0)) for i in plan_.grad_indices))
        out, _, caught = self.forward(big, large=True)
        bad = _bad_values(out)
        if bad == "inf" and not plan_.loss:
            bad = None  # exp(1000) is inf: an honest overflow, not a mistake
        if bad:
            self.problem("unstable", say("unstable/forward", bad=bad, inputs=names, scale=scale, hint=_hint(caught)))
            return
        if np.shape(out) != np.shape(dout) and np.ndim(dout):
            return
        with warnings.catch_warnings(record=True) as back_caught:
            warnings.simplefilter("always")
            try:
                result = self.layer.backward(*((_fresh(dout),) if plan_.backward_takes_dout else ()))
            except LEARNER_ERRORS:
                result = None
        values = self.returned(result)
        for i in plan_.grad_indices:
            name, g = plan_.names[i], values[i] if i < len(values) else None
            bad = _bad_values(g) if g is not None else None
            if bad and "nan" in bad:
                self.problem(
                    "unstable",
                    say(
                        "unstable/backward",
                        bad="nan",
                        name=name,
                        inputs=names,
                        scale=scale,
                        hint=_hint(caught + list(back_caught)),
                    ),
                    where=name,
                )
                return
        self.note_warnings("large", caught)

    def dtype_notes(self):
        plan_ = self.plan
        if any(np.asarray(p).dtype == np.float64 for p in plan_.params.values()):
            return  # float64 parameters make a float64 output, rightly
        single = [np.asarray(v, dtype=np.float32) if np.asarray(v).dtype.kind == "f" else v for v in plan_.inputs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = self.layer.forward(*_copies(single))
                dtype = np.asarray(out).dtype
                if dtype == np.float64:
                    self.note("dtype-change", say("dtype-change", what=say("what/output")))
                    return
                dout = self.dout_for(out)
                result = self.layer.backward(
                    *((np.asarray(dout, dtype=np.float32),) if plan_.backward_takes_dout else ())
                )
            except LEARNER_ERRORS:
                return
        values = self.returned(result)
        if any(np.asarray(g).dtype == np.float64 for g in values if g is not None):
            self.note("dtype-change", say("dtype-change", what=say("what/gradient")))

    def dout_note(self, grads):
        """A loss's backward(2) should be twice backward(1); the book's ignores dout (a note)."""
        name = self.plan.grad_names[0]
        if name not in grads or not self.plan.backward_takes_dout:
            return
        self.forward(self.plan.inputs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = self.layer.backward(2.0)
            except LEARNER_ERRORS:
                return
        doubled = result[0] if isinstance(result, (tuple, list)) else result
        if doubled is not None and np.shape(doubled) == np.shape(grads[name]) and np.allclose(doubled, grads[name]):
            self.note("ignores-dout", say("ignores-dout"))


def check_layer(layer_or_class, *inputs, lang: str = "en", seed: int = 0) -> LayerReport:
    """Examine a learner's layer (a class or an instance) and report what is wrong with it.

    ``inputs`` are the values to call ``forward`` with (default: chosen by the doctor, see
    :mod:`layerprop.doctor.interface`). ``lang`` ('en' or 'ko') is the language of ``print(report)``;
    every message is there in both. Never raises because of the layer: every failure of the
    learner's code is a problem in the report (see :mod:`layerprop.doctor`).
    """
    check_language(lang)
    return Examination(layer_or_class, inputs, lang=lang, seed=seed).run()
