"""Verify activations against a float64 (or wider) reference and their backward passes
by finite differences; exit status 1 if any check fails.

For every activation (default: all registered, plugins included), in float32 and
float64:

* forward, backward from x and, where it exists, backward from y (grad random in
  [1/4, 2) of both signs, so grad * f'(x) and its rounding are checked): the
  maximum error in ULP of the reference's value over a grid of about 5,000 points
  (every sign and binade from the smallest subnormal to the largest float, a dense
  grid over [-12, 12], random points) and the special values +-0, +-inf, NaN. The
  bound is the README's contract: 4 ULP, where a value below the smallest normal may be
  off by up to the smallest normal, and within 1.0 of an interior zero of the
  derivative the backward may be off by 8 eps |grad| more. A float64 result checked
  against a reference that is only float64 gets 2 ULP more (the reference's own
  rounding). fastact/cli/measure.py has the measures.
* the in-place forms give the same bits as the out-of-place ones;
* the float64 backward against central finite differences (fourth order) of the
  reference forward, away from kinks, relative error below 1e-6.

The per-channel, random and axis-wise built-ins (prelu, srelu, apl, rrelu in
evaluation, softmax, log_softmax, maxout, glu) are checked on a (24, 8) array with the
example parameters of fastact/cli/common.py: forward and the gradient with respect to x
in ULP (an axis-wise backward may be off by 8 eps of its row's sum where an element
cancels), and 16 directional finite differences.

References: fastact's own built-ins are written again in fastact/cli/references.py
(long double where NumPy has it); a plugin's come from its registration
(``numpy_forward``/``numpy_derivative`` or ``reference=``/``reference_derivative=``).
Without a reference, float32 is checked against the activation's own float64 results
and float64 by finite differences only.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from fastact.cli import references
from fastact.cli.measure import (DTYPES, INTERIOR_ZERO_ALLOWANCE, SAME_PRECISION_EXTRA,
                                 ULP_BOUND, Result, assess, assess_fd, dense_grid, grid,
                                 interior_zeros, unconverged)
from fastact.cli.common import (UsageError, call_backward, call_forward, layer_arguments,
                                select, variant_params)

@dataclass
class Report:
    results: list = field(default_factory=list)

    def add(self, *results):
        self.results.extend(results)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


# ----------------------------------------------------------------- elementwise checks
def reference_of(info, params, dtype):
    """(forward, derivative, derivative_from_y, extended): info's reference functions
    called with its hyper-parameters rounded to `dtype` (the kernels' convention), each
    taking and returning arrays, NaN for NaN; None where there is none."""
    params = {k: float(dtype(v)) if isinstance(v, float) else v for k, v in params.items()}
    if info.builtin:
        ref = references.elementwise(info.name, params)
        functions, widen, extended = tuple(ref), references.widen, references.EXTENDED
    else:
        functions = (info.reference, info.reference_derivative, None)
        widen, extended = (lambda v: np.asarray(v, dtype=np.float64)), False
        functions = tuple(None if f is None else (lambda f: lambda v: f(v, **params))(f)
                          for f in functions)

    def wrapped(f):
        if f is None:
            return None
        return lambda v: np.where(np.isnan(v), np.nan, np.asarray(f(widen(v))))
    return (*(wrapped(f) for f in functions), extended)


def upstream_gradient(x) -> np.ndarray:
    """The grad a backward check passes: random magnitudes in [1/4, 2) of both signs
    (so the check covers grad * f'(x) and its one rounding), 1 at the special values."""
    rng = np.random.default_rng(17)
    g = rng.uniform(0.25, 2, x.shape) * rng.choice([-1, 1], x.shape)
    g[:13] = 1
    return g.astype(x.dtype)


def check_elementwise(info, label, params) -> list:
    results = []
    for dtype in DTYPES:
        fwd_ref, d_ref, dy_ref, extended = reference_of(info, params, dtype)
        zeros = interior_zeros(d_ref) if d_ref is not None else ()
        x = grid(dtype)
        g = upstream_gradient(x)
        extra = 0.0 if extended or dtype is np.float32 else SAME_PRECISION_EXTRA
        with np.errstate(all="ignore"):
            y = info.forward(x, **params)
            dx = info.backward(g, x, **params)
            own = (None, None)
            if dtype is np.float32 and (fwd_ref is None or d_ref is None):
                x64, g64 = x.astype(np.float64), g.astype(np.float64)
                own = (info.forward(x64, **params), info.backward(g64, x64, **params))
            grad_times = lambda f: None if f is None else (  # noqa: E731
                lambda v: np.asarray(g, dtype=np.longdouble) * f(v))
            for form, got, ref, own_value in (("forward", y, fwd_ref, own[0]),
                                              ("backward x", dx, grad_times(d_ref), own[1])):
                if ref is not None:
                    exact = ref(x)
                elif own_value is not None:
                    exact = own_value
                else:
                    results.append(Result(label, form, np.dtype(dtype).name, math.nan, True,
                                          note="no reference: finite differences only"))
                    continue
                r = assess(label, form, dtype, x, got, exact, extra,
                           zeros if form != "forward" else (), grad=g)
                if ref is None:
                    r.note += " (against its own float64)"
                elif info.implementation == "numpy functions":
                    r.note += " (NumPy functions: the reference is their float64 result)"
                results.append(r)
            if info.backward_from_y:
                results.append(check_from_y(info, label, params, dtype, x, y, g, dy_ref,
                                            d_ref, extra, zeros))
            results.append(check_in_place(info, label, params, dtype, x, y, g, dx))
    results.append(check_fd_elementwise(info, label, params,
                                        reference_of(info, params, np.float64)[0]))
    return results


def check_from_y(info, label, params, dtype, x, y, g, dy_ref, d_ref, extra, zeros):
    got = info.backward(g, y=y, **params)
    if dy_ref is not None:
        exact = np.asarray(g, dtype=np.longdouble) * dy_ref(y)
        return assess(label, "backward y", dtype, x, got, exact, extra, zeros, grad=g)
    # a plugin: no reference in y. Where the derivative is well conditioned, the y form
    # must agree with the reference derivative in x to a relative 2^-(p/2).
    g64 = g.astype(np.float64)
    exact = g64 * d_ref(x) if d_ref is not None else info.backward(
        g64, x.astype(np.float64), **params)
    exact = np.asarray(exact, dtype=np.float64)
    ok = np.isfinite(exact) & (np.abs(exact) > 1e-3) & np.isfinite(x)
    rel = np.abs(got[ok] - exact[ok]) / np.abs(exact[ok])
    tol = 2.0 ** -(np.finfo(dtype).nmant / 2)
    worst = float(rel.max()) if rel.size else 0.0
    return Result(label, "backward y", np.dtype(dtype).name, worst, worst <= tol,
                  int(ok.sum()), "", f"relative to the derivative in x, tol {tol:.1e}",
                  relative=True)


def check_in_place(info, label, params, dtype, x, y, g, dx) -> Result:
    """NAME_ and NAME_backward_ write the same bits as NAME and NAME_backward."""
    problems = []
    if info.forward_ is not None:
        a = x.copy()
        info.forward_(a, **params)
        if not np.array_equal(a, y, equal_nan=True):
            problems.append("NAME_ differs from NAME")
    if info.backward_ is not None:
        written = g.copy()
        info.backward_(written, x, **params)
        if not np.array_equal(written, dx, equal_nan=True):
            problems.append("NAME_backward_ differs from NAME_backward")
    note = "; ".join(p.replace("NAME", info.name) for p in problems) or (
        "same bits" if info.forward_ is not None else "no in-place forms")
    return Result(label, "in place", np.dtype(dtype).name, 0.0, not problems, x.size, "", note)


def check_fd_elementwise(info, label, params, fwd_ref) -> Result:
    x = dense_grid()
    h = 2.0 ** -12 * np.maximum(1, np.abs(x))
    f = fwd_ref or (lambda v: info.forward(np.asarray(v, dtype=np.float64), **params))
    f64 = lambda v: np.asarray(f(v), dtype=np.longdouble)  # noqa: E731
    with np.errstate(all="ignore"):
        got = info.backward(np.ones_like(x), x, **params).astype(np.longdouble)
        fd, kinks = unconverged(f64, x, h, got)
    return assess_fd(label, fd.astype(np.float64), got.astype(np.float64), kinks)


# -------------------------------------------------------------- other kinds of activation
def layer_input(dtype, rows=24, channels=8):
    """x of shape (rows, channels) with a row of large values (softmax's stability)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((rows, channels)) * 3
    x[0] += 1e4
    x[1] = np.linspace(-40, 40, channels)
    return x.astype(dtype)


def check_layer(info) -> list:
    label = info.name
    ref = references.LAYER.get(info.name) if info.builtin else None
    results = []
    for dtype in DTYPES:
        x = layer_input(dtype)
        g = np.random.default_rng(3).uniform(-2, 2, x.shape if info.name not in ("maxout", "glu")
                                             else call_forward(info, x).shape).astype(dtype)
        try:
            with np.errstate(all="ignore"):
                y, dx = call_forward(info, x), call_backward(info, g, x)
        except Exception as exc:  # noqa: BLE001 (a plugin's signature we cannot guess)
            if info.builtin:
                raise
            return [Result(label, "skipped", error=math.nan,
                           note=f"cannot call it with a (24, 8) array and no other "
                                f"arguments ({type(exc).__name__}: {exc})".splitlines()[0])]
        extra = 0.0 if references.EXTENDED or dtype is np.float32 else SAME_PRECISION_EXTRA
        if ref is None:
            if dtype is np.float64:
                continue
            x64, g64 = x.astype(np.float64), g.astype(np.float64)
            own = call_forward(info, x64), call_backward(info, g64, x64)
            for form, got, exact in (("forward", y, own[0]), ("backward x", dx, own[1])):
                r = assess(label, form, dtype, x, got, exact)
                r.note += " (against its own float64)"
                results.append(r)
            continue
        args, _ = layer_arguments(info.name, x.shape[1], np.float64)
        wide_args = [references.widen(a) if isinstance(a, np.ndarray) else a for a in args]
        xw, gw = references.widen(x), references.widen(g)
        fwd, vjp = ref
        results.append(assess(label, "forward", dtype, np.zeros(0), y,
                              fwd(xw, *wide_args), extra))
        exact = vjp(gw, xw, *wide_args)
        results.append(assess(label, "backward x", dtype, x, dx, exact, extra,
                              slack=row_sum_slack(exact, gw, dtype, info.kind)))
    results.append(check_fd_layer(info, ref))
    return results


def row_sum_slack(exact, g, dtype, kind):
    """The axis-wise backwards subtract a row sum (softmax: y (g - sum g y)): where an
    element cancels, it may be off by 8 eps times the row's sum of |g| times its largest
    result (what rounding the sum once costs). The maximum shown still counts these
    elements. None for the other kinds."""
    if kind != "along an axis":
        return None
    ex = np.abs(np.asarray(exact, dtype=np.longdouble))
    row_scale = np.abs(g).sum(axis=1, keepdims=True) * ex.max(axis=1, keepdims=True)
    return INTERIOR_ZERO_ALLOWANCE * float(np.finfo(dtype).eps) * row_scale


def check_fd_layer(info, ref, directions=16) -> Result:
    """Directional finite differences: d/dt sum(g * f(x + t v)) at t = 0 against
    sum(backward(g, x) * v), float64, for `directions` random v."""
    x = layer_input(np.float64)
    rng = np.random.default_rng(5)
    g = rng.uniform(-2, 2, call_forward(info, x).shape)
    args, _ = layer_arguments(info.name, x.shape[1], np.float64)
    if ref is not None:             # x + t v formed in the wide type, not rounded to float64
        wide_args = [references.widen(a) if isinstance(a, np.ndarray) else a for a in args]
        x = references.widen(x)
        f = lambda xs: ref[0](xs, *wide_args)  # noqa: E731
    else:
        f = lambda xs: call_forward(info, np.asarray(xs, dtype=np.float64))  # noqa: E731
    grad_x = call_backward(info, g, np.asarray(x, dtype=np.float64))
    fds, gots, skipped = [], [], []
    for _ in range(directions):
        v = rng.standard_normal(x.shape).astype(x.dtype)
        phi = lambda ts: np.array([np.sum(references.widen(g) * f(x + t * v))  # noqa: E731
                                   for t in np.ravel(ts)])
        got = np.array([np.sum(grad_x * v)])
        fd, skip = unconverged(phi, np.zeros(1), 2.0 ** -14, got)
        fds.append(fd[0]), gots.append(got[0]), skipped.append(skip[0])
    return assess_fd(info.name, np.array(fds, dtype=np.float64), np.array(gots),
                     np.array(skipped))


# ---------------------------------------------------------------------------- command
def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="activations to check (default: all)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a hyper-parameter value for the named activations (repeatable)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also show where each worst error is")


def parse_params(items) -> dict:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"--param takes KEY=VALUE, got {item!r}")
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value                 # gelu's approximate=tanh
    return params


def cases(infos, overrides):
    """(info, label, params) of each check: gelu once per approximation."""
    for info in infos:
        if info.kind != "elementwise":
            if overrides:
                raise UsageError(f"--param applies to elementwise activations; {info.name} "
                                 f"is {info.kind}")
            yield info, info.name, None
            continue
        unknown = set(overrides) - set(info.params)
        if unknown:
            raise UsageError(f"{info.name} has no hyper-parameter {', '.join(sorted(unknown))} "
                             f"(it has: {', '.join(info.params) or 'none'})")
        for label, params in variant_params(info):
            if overrides:
                params = dict(params, **overrides)
                label = info.name + "(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"
            missing = [k for k in info.params if k not in params]
            if missing:
                yield info, label, Result(
                    label, "skipped", error=math.nan, note=f"no default for {', '.join(missing)}: give "
                    f"--param {missing[0]}=VALUE with the name")
                continue
            yield info, label, params


def check_one(info, label, params) -> list:
    """The results of one case; an exception from the activation is a failure of it
    (a plugin's bug), reported rather than raised."""
    if isinstance(params, Result):          # skipped
        return [params]
    try:
        if info.kind == "elementwise":
            return check_elementwise(info, label, params)
        return check_layer(info)
    except Exception as exc:  # noqa: BLE001
        return [Result(label, "error", passed=False,
                       note=f"raised {type(exc).__name__}: {exc}".splitlines()[0])]


def format_value(r: Result) -> str:
    if r.form == "in place":
        return "same" if r.passed else "differs"
    if math.isnan(r.error):
        return "-"
    if r.relative:
        return f"{r.error:.1e}"
    return "inf" if math.isinf(r.error) else f"{r.error:.2f}"


def print_report(report: Report, verbose: bool, out=None):
    out = out or sys.stdout
    width = max([len("activation")] + [len(r.label) for r in report.results]) + 2
    print(f"{'activation':<{width}}{'form':<13}{'float32':>9}{'float64':>9}   result", file=out)
    rows = {}
    for r in report.results:
        rows.setdefault((r.label, r.form), []).append(r)
    last_label = None
    for (label, form), rs in rows.items():
        by_dtype = {r.dtype: r for r in rs}
        cells = [format_value(by_dtype[d]) if d in by_dtype else "" for d in ("float32", "float64")]
        if form == "finite diff":
            cells = ["", format_value(rs[0])]
        ok = all(r.passed for r in rs)
        notes = "; ".join(dict.fromkeys(r.note for r in rs if r.note))
        shown = label if label != last_label else ""
        last_label = label
        show_note = (verbose or not ok or form in ("finite diff", "skipped")
                     or any(r.error > ULP_BOUND for r in rs))
        verdict = "FAIL" if not ok else "-" if form == "skipped" else "ok"
        print(f"{shown:<{width}}{form:<13}{cells[0]:>9}{cells[1]:>9}   {verdict}"
              f"{'  ' + notes if notes and show_note else ''}", file=out)
        for r in rs:
            if r.worst and (verbose or not r.passed):
                print(f"{'':<{width + 13}}{r.dtype}: {r.worst}", file=out)
    failed = sorted({r.label for r in report.results if not r.passed})
    skipped = {r.label for r in report.results if r.form == "skipped"}
    labels = [k for k in dict.fromkeys(r.label for r in report.results) if k not in skipped]
    print(file=out)
    print(f"{len(labels) - len(failed)} of {len(labels)} passed" +
          (f"; FAILED: {', '.join(failed)}" if failed else "") +
          (f"; {len(skipped)} skipped: {', '.join(sorted(skipped))}" if skipped else "") +
          f" (errors in ULP of the exact value, bound {ULP_BOUND:g}; finite diff: relative "
          f"error; references: fastact's own in {np.dtype(references.WIDE).name}, a plugin's "
          f"in float64)", file=out)


def run(args) -> int:
    overrides = parse_params(args.param)
    if overrides and not args.names:
        raise UsageError("--param needs the activation NAMEs it applies to")
    report = Report()
    for info, label, params in list(cases(select(args.names), overrides)):
        report.add(*check_one(info, label, params))
    print_report(report, args.verbose)
    return 0 if report.passed else 1
