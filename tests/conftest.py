"""Shared fixtures: the catalog-driven cases, a thin wrapper over the public API,
the accuracy grids, cached mpmath references and the ULP checker."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest

import fastact
from reference import CASES, evaluate

FLOATS = (np.float32, np.float64)
CASE_IDS = {c.id: c for c in CASES}
Y_CASES = [c for c in CASES if c.act.backward_from_y]
ULP_SUMMARY = {}  # label -> (max ULP, max incl. exempt points, failures); printed at the end


@pytest.fixture(params=fastact._api.runnable_variants())
def kernel_variant(request):
    """Run a test under each instruction-set variant of the kernels this CPU can execute."""
    previous = fastact._api.kernels.VARIANT
    fastact._api.use_kernels(request.param)
    yield request.param
    fastact._api.use_kernels(previous)


def case_params(cases):
    return [pytest.param(c, id=c.id) for c in cases]


def dtype_params():
    return [pytest.param(np.dtype(d), id=np.dtype(d).name) for d in FLOATS]


# ------------------------------------------------------------------ API wrapper
OMIT = object()


class Api:
    """The four public functions of one case, with its hyper-parameters bound."""

    def __init__(self, case):
        self.case = case
        self.name = case.act.name
        self.kw = case.kwargs
        self.has_y = case.act.backward_from_y

    def replace(self, **changes):
        """A copy with hyper-parameters changed (``OMIT`` drops one)."""
        new = copy.copy(self)
        new.kw = {k: v for k, v in {**self.kw, **changes}.items() if v is not OMIT}
        return new

    def fn(self, suffix):
        return getattr(fastact, self.name + suffix)

    def forward(self, x, **kw):
        return self.fn("")(x, **{**self.kw, **kw})

    def forward_(self, x, **kw):
        return self.fn("_")(x, **{**self.kw, **kw})

    def backward(self, g, x=None, **kw):
        return self.fn("_backward")(g, x, **{**self.kw, **kw})

    def backward_(self, g, x=None, **kw):
        return self.fn("_backward_")(g, x, **{**self.kw, **kw})


@pytest.fixture
def restore_threads():
    n = fastact.get_num_threads()
    yield
    fastact.set_num_threads(n)


def same_bits(a, b):
    """Equal dtype, shape and bits, except that NaNs compare equal whatever their
    payload or sign bit."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return a.tobytes() == b.tobytes()
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all()) and a[~nan].tobytes() == b[~nan].tobytes()


def sample_inputs(case, dtype, n=64, lo=-8.0, hi=8.0, seed=0):
    """A modest array of ordinary values plus the case's kinks (for contract tests)."""
    rng = np.random.default_rng(seed)
    kinks = np.array(case.kinks(), dtype=np.float64)
    x = np.concatenate([rng.uniform(lo, hi, n - len(kinks) - 2), kinks, [0.0, 1.0]])
    return x.astype(dtype)


# ------------------------------------------------------------------------ grids
def rounded_params(case, dtype):
    """The kernels use the hyper-parameters rounded to the array's dtype, so the
    reference for a float32 kernel is the exact function of float32(param)."""
    return {k: float(dtype.type(v)) for k, v in case.numeric.items()}


def special_values(dtype):
    fi = np.finfo(dtype)
    pos = [0.0, 1e-30, 1e-10, 1e-5, 0.5, 1.0, 2.0, 3.0, 6.0, 10.0, 20.0, 40.0, 88.0, 104.0,
           710.0, 745.0, 1e30, float(fi.max), float(fi.smallest_normal),
           float(fi.smallest_subnormal), np.inf]
    return np.array(pos + [-v for v in pos], dtype=dtype)


@functools.lru_cache(maxsize=None)
def accuracy_grid(case_id, dtype_name):
    """Log-spaced magnitudes over the whole finite range (both signs), a dense linear
    grid over the interesting range, seeded random points, special values, and the
    case's kinks with their float neighbours and a fine grid around the zeros of f'."""
    case, dtype = CASE_IDS[case_id], np.dtype(dtype_name)
    fi = np.finfo(dtype)
    wide = 40.0 if dtype == np.float64 else 20.0
    with np.errstate(over="ignore"):
        mags = np.geomspace(float(fi.smallest_subnormal), float(fi.max), 800)
    rng = np.random.default_rng(1234)
    params = rounded_params(case, dtype)
    pts = list(case.kinks(params))
    near = [np.linspace(z - 1e-3, z + 1e-3, 41) for z in case.dzeros(params)]
    x = np.concatenate([mags, -mags, np.linspace(-wide, wide, 4001),
                        rng.uniform(-wide, wide, 1000), *near]).astype(dtype)
    kinks = np.array(pts, dtype=dtype)
    x = np.concatenate([x, special_values(dtype), kinks, np.nextafter(kinks, dtype.type(np.inf)),
                        np.nextafter(kinks, dtype.type(-np.inf))])
    x = np.unique(x)
    return np.concatenate([x, np.array([-0.0], dtype)])


def upstream_grad(n, dtype, seed=7):
    """Deterministic upstream gradients in +-[0.5, 2), exactly representable."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    return g.astype(dtype)


@functools.lru_cache(maxsize=None)
def reference_table(case_id, dtype_name, form):
    """(inputs, grad or None, ref_hi, ref_lo) for form 'forward', 'x' or 'y'."""
    case, dtype = CASE_IDS[case_id], np.dtype(dtype_name)
    ref, params = case.ref, rounded_params(case, dtype)
    if form == "forward":
        x = accuracy_grid(case_id, dtype_name)
        return (x, None, *evaluate(ref.forward, x, params, ref.extra_dps))
    if form == "x":
        x = accuracy_grid(case_id, dtype_name)
        g = upstream_grad(len(x), dtype)
        return (x, g, *evaluate(ref.dx, x, params, ref.extra_dps, scale=g))
    # y form: every output value the forward reference produces on the grid, rounded
    _, _, hi, _ = reference_table(case_id, dtype_name, "forward")
    with np.errstate(over="ignore"):
        y = np.unique(hi.astype(dtype))
    g = upstream_grad(len(y), dtype, seed=8)
    return (y, g, *evaluate(ref.dy, y, params, scale=g))


# ------------------------------------------------------------------ ULP checker
def ulp_errors(result, hi, lo, dtype):
    """Error of ``result`` in ULPs of ``dtype`` at the reference value (hi + lo).

    ULP = 2**(e - p) for |ref| in [2**(e-1), 2**e), p the precision of the dtype;
    below the smallest normal it is the smallest subnormal.  If the reference
    overflows the dtype, an infinity of the right sign is exact and a finite result
    is measured in ULPs of the largest float.  Returns (err_ulp, abs_err, ulp)."""
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    r = np.asarray(result, dtype=np.float64)
    with np.errstate(all="ignore"):
        rd = hi.astype(dtype).astype(np.float64)  # the reference rounded to the dtype
        _, e = np.frexp(np.abs(hi))
        ulp = np.where(np.abs(hi) < float(fi.smallest_normal), float(fi.smallest_subnormal),
                       np.ldexp(1.0, e - (fi.nmant + 1)))
        diff = np.abs((r - hi) - lo)
        over = np.isinf(rd)
        ulp = np.where(over, np.ldexp(1.0, fi.maxexp - fi.nmant - 1), ulp)  # ulp of max
        diff = np.where(over & (r == rd), 0.0, diff)       # inf - inf would be NaN
        diff = np.where(np.isnan(diff), np.inf, diff)         # NaN result, or inf vs finite
        diff = np.where(np.isnan(r) & np.isnan(hi), 0.0, diff)
        return diff / ulp, diff, ulp


def assert_ulp(result, x, grad, hi, lo, dtype, label, max_ulp=4.0, slack=None, where=None):
    """Every result within ``max_ulp`` ULPs, except that a reference below the
    smallest normal may be missed by up to the smallest normal, and that where
    ``where`` is true an absolute error of ``slack * eps * |grad|`` is allowed on top."""
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    label = f"{label} [{fastact._api.kernels.VARIANT}]"
    err, diff, ulp = ulp_errors(result, hi, lo, dtype)
    ok = err <= max_ulp
    ok |= (np.abs(hi) < float(fi.smallest_normal)) & (diff <= float(fi.smallest_normal))
    if slack is not None:
        allowed = max_ulp * ulp + slack * float(fi.eps) * np.abs(grad.astype(np.float64))
        ok |= where & (diff <= allowed)
    # worst: over all points; strict: over the points not passed by an exemption
    worst = float(err.max()) if err.size else 0.0
    strict = np.where(err <= max_ulp, err, np.where(ok, 0.0, err))
    ULP_SUMMARY[label] = (float(strict.max()) if err.size else 0.0, worst, int((~ok).sum()))
    if ok.all():
        return
    bad = np.flatnonzero(~ok)
    order = bad[np.argsort(-np.nan_to_num(err[bad], nan=np.inf, posinf=np.inf))][:6]
    lines = [f"  x={x[i]!r} grad={None if grad is None else grad[i]!r} got={result[i]!r} "
             f"want={hi[i] + lo[i]!r} ({err[i]:.3g} ULP)" for i in order]
    pytest.fail(f"{label}: {len(bad)}/{len(x)} outside tolerance; max error "
                f"{ULP_SUMMARY[label][0]:.4g} ULP ({worst:.4g} incl. exempt points)\n"
                + "\n".join(lines), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if not ULP_SUMMARY:
        return
    tr = terminalreporter
    tr.section("max ULP error per activation / dtype / form")
    tr.write_line(f"{'':<58} {'max ULP':>10} {'incl. exempt':>13}")
    for label, (strict, worst, nbad) in sorted(ULP_SUMMARY.items()):
        tr.write_line(f"{label:<58} {strict:10.3g} {worst:13.3g}"
                      + (f"   FAIL ({nbad} points)" if nbad else ""))


# ------------------------------------------------------------------ plugins
@pytest.fixture
def fresh_registry(monkeypatch):
    """An empty, not yet loaded registry in place of fastact's, for in-process plugin
    tests; fastact's module attributes are restored afterwards."""
    import fastact.registry as registry
    saved = dict(vars(fastact))
    fresh = registry.Registry()
    monkeypatch.setattr(registry, "REGISTRY", fresh)
    yield fresh
    module = vars(fastact)
    for key in set(module) - set(saved):
        del module[key]
    module.update(saved)
