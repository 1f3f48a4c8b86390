"""The axis-wise activations: softmax, log_softmax, maxout, glu (forward and backward).

Accuracy against mpmath (4 ULP; the backward formulas, whose subtraction cancels by
nature, against 4 ULP of the magnitude of their terms), torch as an oracle for the
conventions (NaN/inf rows, glu's halves), finite differences, every axis and memory
layout, in-place forms, the dtype rules, every error with nothing modified, and thread
count independence."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from mpmath import mp, mpf

import fastact
from conftest import assert_ulp, same_bits

FLOATS = [pytest.param(np.dtype(np.float32), id="float32"),
          pytest.param(np.dtype(np.float64), id="float64")]
SOFTMAXES = ["softmax", "log_softmax"]


# ------------------------------------------------------------------ references
def split(values):
    """mpmath values as float64 hi + lo arrays (the conftest ULP checker's reference)."""
    hi = np.array([float(v) for v in values])
    lo = np.array([float(v - mpf(h)) if np.isfinite(h) else 0.0 for v, h in zip(values, hi)])
    return hi, lo


def exact_softmax(row):
    """(softmax, log_softmax) of a row of floats as lists of mpmath values (220 bits:
    x - max is exact for the rows used here)."""
    with mp.workprec(220):
        xs = [mpf(float(v)) for v in row]
        top = max(xs)
        d = [v - top for v in xs]
        e = [mp.exp(v) for v in d]
        # total - 1 apart (log1p), so that a log_softmax near 0 keeps its relative accuracy
        rest = mp.fsum(v for v, z in zip(e, d) if z != 0) + (sum(z == 0 for z in d) - 1)
        log_total = mp.log1p(rest)
        return [v / (1 + rest) for v in e], [v - log_total for v in d]


@functools.lru_cache(maxsize=None)
def accuracy_rows(dtype_name):
    """Rows of 1 to 10^4 elements: ordinary, wide (|x - max| up to ~700 in float64, up to
    2e4 in both), ties at the maximum, -inf entries; with upstream gradients."""
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(11)
    wide = 700.0 if dtype == np.float64 else 80.0
    rows = []
    for n in (1, 2, 3, 5, 16, 17, 31, 64, 65, 100, 257, 1000, 10000):
        rows.append(rng.normal(0, 3, n))
    for n in (7, 40, 300, 2000):
        rows.append(rng.uniform(-wide, wide, n))
        rows.append(rng.uniform(-1e4, 1e4, n))
        rows.append(np.concatenate([[50.0, 50.0], rng.uniform(20, 50, n)]))    # a tie at the max
        rows.append(np.concatenate([[3.0], rng.uniform(-wide, -wide / 2, n)]))  # one dominant
    rows.append(np.array([1.0, -np.inf, 2.0, -np.inf]))
    rows.append(np.array([5.0] * 33))
    out = []
    for i, r in enumerate(rows):
        x = r.astype(dtype)
        g = (rng.uniform(0.5, 2.0, x.size) * rng.choice([-1.0, 1.0], x.size)).astype(dtype)
        sm, lsm = exact_softmax(x)
        out.append((x, g, sm, lsm))
    return out


def scaled_errors(result, hi, lo, scale, dtype):
    """|result - (hi + lo)| in ULPs of `scale` (the magnitude of the terms of a formula
    that cancels)."""
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    diff = np.abs((result.astype(np.float64) - hi) - lo)
    _, e = np.frexp(np.maximum(scale, float(fi.smallest_normal)))
    return diff / np.ldexp(1.0, e - (fi.nmant + 1))


def assert_scaled(result, hi, lo, scale, dtype, label, max_ulp=4.0):
    err = scaled_errors(result, hi, lo, scale, dtype)
    err = np.where(np.isnan(result) & np.isnan(hi), 0.0, err)
    worst = float(np.nanmax(err)) if err.size else 0.0
    from conftest import ULP_SUMMARY
    label = f"{label} [{fastact._api.kernels.VARIANT}] (ULP of the terms)"
    before = ULP_SUMMARY.get(label, (0.0, 0.0, 0))      # one label over several rows: the max
    fails = int((~(err <= max_ulp)).sum())
    ULP_SUMMARY[label] = (max(before[0], worst), max(before[1], worst), before[2] + fails)
    assert (err <= max_ulp).all(), f"{label}: max {worst:.3g} ULP"


# -------------------------------------------------------------- accuracy: softmax
@functools.lru_cache(maxsize=None)
def forward_table(dtype_name):
    """The accuracy rows concatenated, with softmax and log_softmax references (hi, lo)."""
    rows = accuracy_rows(dtype_name)
    x = np.concatenate([r[0] for r in rows])
    return (x, split([v for r in rows for v in r[2]]), split([v for r in rows for v in r[3]]))


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_and_log_softmax_within_4_ulp(dtype, kernel_variant):
    results = {"softmax": [], "log_softmax": []}
    for x, g, sm, lsm in accuracy_rows(dtype.name):
        for name in SOFTMAXES:
            results[name].append(getattr(fastact, name)(x))
        if np.isfinite(x).all():
            # rows sum to 1 within a few ULP (n * 4 ULP of the parts at most, measured less)
            y = results["softmax"][-1]
            assert abs(np.sum(y, dtype=np.float64) - 1) <= 4 * np.finfo(dtype).eps
    x, sm_ref, lsm_ref = forward_table(dtype.name)
    for name, ref in zip(SOFTMAXES, (sm_ref, lsm_ref)):
        assert_ulp(np.concatenate(results[name]), x, None, *ref, dtype, f"{name} {dtype.name}")


@pytest.mark.parametrize("n", [5000, (1 << 18) + 1027])
def test_long_float32_rows_round_once_in_bounded_memory(n, kernel_variant):
    """Rows longer than the stack scratch: up to 2^18 elements a malloced double scratch
    keeps exp(x - m) between the passes; longer rows recompute it in the last pass (memory
    bounded: tests/test_resources.py). Either way each result is rounded once."""
    rng = np.random.default_rng(n)
    x = rng.normal(0, 4, (2, n)).astype(np.float32)
    d = x.astype(np.float64) - x.max(axis=-1, keepdims=True)
    e = np.exp(d)
    total = e.sum(axis=-1, keepdims=True)
    for name, ref in (("softmax", e / total), ("log_softmax", d - np.log(total))):
        y = getattr(fastact, name)(x, axis=-1)
        err = np.abs(y - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        assert err.max() <= 0.75, f"{name}: {err.max():.3f} ULP"
        inplace = x.copy()
        assert same_bits(getattr(fastact, name + "_")(inplace, axis=-1), y)
        strided = np.empty((2, 2 * n), np.float32)[:, ::2]
        strided[...] = x
        assert same_bits(getattr(fastact, name)(strided, axis=-1), y)


@functools.lru_cache(maxsize=None)
def column_table(dtype_name):
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0, 4, (60, 70)), rng.uniform(-1e4, 1e4, (9, 70))])
    x = x.astype(dtype_name)
    refs = [exact_softmax(x[:, j]) for j in range(x.shape[1])]
    return x, [split([v for col in refs for v in col[k]]) for k in (0, 1)]


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_along_columns_within_4_ulp(dtype, kernel_variant):
    """Column mode (the axis is not the last one: vectorized across the columns)."""
    x, refs = column_table(dtype.name)
    for name, ref in zip(SOFTMAXES, refs):
        got = getattr(fastact, name)(x, axis=0)
        assert_ulp(got.T.ravel(), x.T.ravel(), None, *ref, dtype, f"{name} {dtype.name} columns")


def softmax_backward_reference(g, y):
    """(grad hi, grad lo, scale) of softmax at the probabilities y (mpmath values or floats):
    y (g - sum(g y)) and the magnitude of its terms, |y| (|g| + |sum(g y)|)."""
    with mp.workprec(220):
        ys = [mpf(v) if not isinstance(v, mp.mpf) else v for v in map(_mp_or_float, y)]
        gs = [mpf(float(a)) for a in g]
        dot = mp.fsum(a * b for a, b in zip(gs, ys))
        ref = [b * (a - dot) for a, b in zip(gs, ys)]
        scale = np.array([float(abs(b) * (abs(a) + abs(dot))) for a, b in zip(gs, ys)])
    return (*split(ref), scale)


def log_softmax_backward_reference(g, logp):
    """(grad hi, grad lo, scale) of log_softmax at the log-probabilities logp: g - exp(logp) sum(g)
    and |g| + exp(logp) |sum(g)|."""
    with mp.workprec(220):
        gs = [mpf(float(a)) for a in g]
        total = mp.fsum(gs)
        p = [mp.exp(v) for v in map(_mp_or_float, logp)]
        ref = [a - b * total for a, b in zip(gs, p)]
        scale = np.array([float(abs(a) + b * abs(total)) for a, b in zip(gs, p)])
    return (*split(ref), scale)


def _mp_or_float(v):
    return v if isinstance(v, mp.mpf) else mpf(float(v))


@functools.lru_cache(maxsize=None)
def backward_table(dtype_name):
    """Per finite accuracy row: x, g, the forward outputs rounded to the dtype (the y
    given to the from-y forms) and the references for the four backward forms."""
    dtype = np.dtype(dtype_name)
    table = []
    for x, g, sm, lsm in accuracy_rows(dtype_name)[:30]:
        if not np.isfinite(x).all():
            continue
        y = split(sm)[0].astype(dtype)
        ly = split(lsm)[0].astype(dtype)
        table.append((x, g, y, ly, softmax_backward_reference(g, sm),
                      log_softmax_backward_reference(g, lsm),
                      softmax_backward_reference(g, y), log_softmax_backward_reference(g, ly)))
    return table


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_backward_within_4_ulp_of_its_terms(dtype, kernel_variant):
    for x, g, y, ly, sm_x, lsm_x, sm_y, lsm_y in backward_table(dtype.name):
        assert_scaled(fastact.softmax_backward(g, x), *sm_x, dtype, f"softmax_backward(x) {dtype.name}")
        assert_scaled(fastact.log_softmax_backward(g, x), *lsm_x, dtype,
                      f"log_softmax_backward(x) {dtype.name}")
        assert_scaled(fastact.softmax_backward(g, y=y), *sm_y, dtype, f"softmax_backward(y) {dtype.name}")
        assert_scaled(fastact.log_softmax_backward(g, y=ly), *lsm_y, dtype,
                      f"log_softmax_backward(y) {dtype.name}")


# ------------------------------------------------------------------ accuracy: glu
@functools.lru_cache(maxsize=None)
def glu_table(dtype_name):
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(3)
    n = 3000
    a = np.concatenate([rng.normal(0, 3, n), rng.uniform(-1e4, 1e4, n)])
    b = np.concatenate([rng.uniform(-30, 30, n), rng.normal(0, 4, n)])
    a, b = a.astype(dtype), b.astype(dtype)
    g = (rng.uniform(0.5, 2, a.size) * rng.choice([-1.0, 1.0], a.size)).astype(dtype)
    with mp.workprec(200):
        sig = [1 / (1 + mp.exp(-mpf(float(v)))) for v in b]
        fwd = [mpf(float(u)) * s for u, s in zip(a, sig)]
        da = [mpf(float(h)) * s for h, s in zip(g, sig)]
        db = [mpf(float(h)) * mpf(float(u)) * s * (1 - s) for h, u, s in zip(g, a, sig)]
    return a, b, g, split(fwd), split(da), split(db)


@pytest.mark.parametrize("dtype", FLOATS)
def test_glu_within_4_ulp(dtype, kernel_variant):
    a, b, g, fwd, da, db = glu_table(dtype.name)
    x = np.stack([a, b])                      # halves along axis 0
    assert_ulp(fastact.glu(x, axis=0), a, None, *fwd, dtype, f"glu {dtype.name}")
    grad = fastact.glu_backward(g[None, :], x, axis=0)
    assert_ulp(grad[0], a, g, *da, dtype, f"glu_backward (a) {dtype.name}")
    assert_ulp(grad[1], b, g, *db, dtype, f"glu_backward (b) {dtype.name}")
    # the same along the last axis (row mode)
    xr = np.concatenate([a.reshape(-1, 100), b.reshape(-1, 100)], axis=1)
    assert_ulp(fastact.glu(xr).ravel(), a, None, *fwd, dtype, f"glu {dtype.name} rows")


# ---------------------------------------------------------------- torch as oracle
torch_cases = [((7, 33), -1), ((7, 33), 0), ((3, 4, 130), 1), ((2, 3, 4, 5), -3), ((70,), 0)]


@pytest.mark.parametrize("shape,axis", torch_cases)
def test_softmax_family_matches_torch(shape, axis):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(0, 5, shape)
    g = rng.normal(0, 1, shape)
    for name in SOFTMAXES:
        t = torch.tensor(x, requires_grad=True)
        y = getattr(torch, name)(t, axis)
        y.backward(torch.tensor(g))
        fwd = getattr(fastact, name)(x, axis=axis)
        # torch's log_softmax is ~1e-11 relative near 0: compare to the size of its terms
        np.testing.assert_allclose(fwd, y.detach().numpy(), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(getattr(fastact, name + "_backward")(g, x, axis=axis),
                                   t.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(getattr(fastact, name + "_backward")(g, y=fwd, axis=axis),
                                   t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape,axis", [((6, 8), -1), ((6, 8), 0), ((3, 10, 4), 1), ((2, 2, 6, 3), 2)])
def test_glu_matches_torch(shape, axis):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.normal(0, 3, shape)
    t = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.glu(t, axis)
    g = rng.normal(0, 1, tuple(y.shape))
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(fastact.glu(x, axis=axis), y.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(fastact.glu_backward(g, x, axis=axis), t.grad.numpy(), rtol=1e-13,
                               atol=1e-300)


SPECIAL_ROWS = [[1.0, np.inf, 2.0], [np.inf, np.inf], [-np.inf, -np.inf], [1.0, -np.inf, 2.0],
                [1.0, np.nan, 2.0], [np.nan], [np.inf], [-np.inf], [1e4, -1e4, 0.0],
                [-1e4, -1e4 + 1], [3.0, 3.0, 3.0], [0.0], [-0.0, 0.0]]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("row", SPECIAL_ROWS, ids=str)
def test_nan_and_inf_rows_as_torch(row, dtype):
    torch = pytest.importorskip("torch")
    x = np.array(row, dtype=dtype)
    for name in SOFTMAXES:
        want = getattr(torch, name)(torch.tensor(x), -1).numpy()
        got = getattr(fastact, name)(x)
        assert np.array_equal(np.isnan(got), np.isnan(want)), (name, got, want)
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)
        # and along a column, and in the middle of a longer array
        col = getattr(fastact, name)(np.repeat(x[:, None], 3, axis=1), axis=0)
        assert same_bits(col, np.repeat(got[:, None], 3, axis=1)) or np.allclose(
            col, np.repeat(got[:, None], 3, axis=1), rtol=4 * np.finfo(dtype).eps, equal_nan=True)


def test_large_inputs_do_not_overflow():
    for dtype in (np.float32, np.float64):
        x = np.array([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
        y = fastact.softmax(x)
        assert np.isfinite(y).all() and np.allclose(y.sum(-1), 1)
        assert np.isfinite(fastact.log_softmax(x)).all()
        assert fastact.log_softmax(x)[0, 0] == dtype(-np.log1p(np.exp(-1.0)))


def test_log_softmax_keeps_the_dominant_element_accurate():
    """log_softmax = -log1p(sum of the others) there: no rounding of 1 + tiny."""
    x = np.array([0.0, -200.0, -300.0])
    assert fastact.log_softmax(x)[0] == -np.exp(-200.0)
    assert fastact.log_softmax(x.astype(np.float32))[0] == 0      # exp(-200) < 2^-149
    for dtype in (np.float32, np.float64):
        x = np.array([0.0, -2000.0], dtype=dtype)
        assert fastact.log_softmax(x)[0] == 0 and fastact.softmax(x)[0] == 1


# ------------------------------------------------------------------------- maxout
def maxout_reference(x, pieces, axis):
    axis = axis % x.ndim
    shape = list(x.shape)
    shape[axis:axis + 1] = [shape[axis] // pieces, pieces]
    return x.reshape(shape).max(axis=axis + 1)


def maxout_backward_reference(g, x, pieces, axis):
    xm = np.moveaxis(x, axis, -1)
    gm = np.moveaxis(g, axis, -1)
    groups = xm.reshape(xm.shape[:-1] + (xm.shape[-1] // pieces, pieces))
    arg = np.argmax(groups, axis=-1)          # first maximum; the first NaN if any (numpy)
    out = np.zeros_like(groups)
    np.put_along_axis(out, arg[..., None], gm[..., None], axis=-1)
    return np.moveaxis(out.reshape(xm.shape), -1, axis)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,pieces,axis", [((4, 12), 3, 1), ((4, 12), 1, 1), ((4, 12), 12, -1),
                                               ((6, 5), 2, 0), ((2, 6, 70), 3, 1),
                                               ((3, 4, 5, 6), 2, -1), ((3, 4, 5, 6), 2, 1)])
def test_maxout_and_its_backward(shape, pieces, axis, dtype, kernel_variant):
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, shape).astype(dtype)        # many ties
    x.flat[::7] = np.nan
    y = fastact.maxout(x, pieces, axis=axis)
    assert same_bits(y, maxout_reference(x, pieces, axis))
    g = rng.normal(size=y.shape).astype(dtype)
    assert same_bits(fastact.maxout_backward(g, x, pieces, axis=axis),
                     maxout_backward_reference(g, x, pieces, axis))


def test_maxout_propagates_nan_like_torch_max():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, np.nan, 3.0, 4.0], [np.nan, 1.0, 2.0, 5.0]])
    want = torch.tensor(x).reshape(2, 2, 2).max(-1).values.numpy()
    assert same_bits(fastact.maxout(x, 2, axis=1), want)
    assert same_bits(fastact.maxout_backward(np.ones((2, 2)), x, 2, axis=1),
                     np.array([[0, 1, 0, 1], [1, 0, 0, 1.0]]))


# ------------------------------------------------------------- finite differences
def test_gradients_match_finite_differences():
    rng = np.random.default_rng(9)
    x = rng.normal(0, 2, (3, 6))
    h = 1e-6

    def check(f, fb, x, g):
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = h
            num[i] = np.sum(g * (f(x + e) - f(x - e))) / (2 * h)
        np.testing.assert_allclose(fb(g, x), num, rtol=1e-6, atol=1e-8)

    g = rng.normal(size=x.shape)
    for name in SOFTMAXES:
        for axis in (0, 1, -1):
            check(lambda v: getattr(fastact, name)(v, axis=axis),
                  lambda g, v: getattr(fastact, name + "_backward")(g, v, axis=axis), x, g)
    for axis in (0, 1):
        gy = rng.normal(size=fastact.glu(x[:2] if axis == 0 else x, axis=axis).shape)
        xx = x[:2] if axis == 0 else x
        check(lambda v: fastact.glu(v, axis=axis),
              lambda g, v: fastact.glu_backward(g, v, axis=axis), xx, gy)
    xm = rng.permutation(18).reshape(3, 6).astype(float)   # distinct: differentiable
    gm = rng.normal(size=(3, 3))
    check(lambda v: fastact.maxout(v, 2, axis=1),
          lambda g, v: fastact.maxout_backward(g, v, 2, axis=1), xm, gm)


# ------------------------------------------------------------- axes and layouts
def numpy_softmax(x, axis):
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True), z - np.log(e.sum(axis=axis, keepdims=True))


ND_SHAPES = [(9,), (5, 7), (3, 4, 5), (2, 3, 4, 5)]


@pytest.mark.parametrize("shape", ND_SHAPES, ids=str)
def test_every_axis_of_1d_to_4d(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.normal(0, 3, shape)
    g = rng.normal(size=shape)
    for axis in range(-len(shape), len(shape)):
        sm, lsm = numpy_softmax(x, axis)
        np.testing.assert_allclose(fastact.softmax(x, axis=axis), sm, rtol=1e-14)
        np.testing.assert_allclose(fastact.log_softmax(x, axis=axis), lsm, rtol=1e-13, atol=1e-15)
        dot = np.sum(g * sm, axis=axis, keepdims=True)
        np.testing.assert_allclose(fastact.softmax_backward(g, x, axis=axis), sm * (g - dot),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            fastact.log_softmax_backward(g, y=lsm, axis=axis),
            g - np.exp(lsm) * g.sum(axis=axis, keepdims=True), rtol=1e-12, atol=1e-15)
        if shape[axis] % 2 == 0:
            a, b = np.split(x, 2, axis=axis)
            np.testing.assert_allclose(fastact.glu(x, axis=axis), a / (1 + np.exp(-b)), rtol=1e-14)
        for pieces in (1, shape[axis]):
            assert same_bits(fastact.maxout(x, pieces, axis=axis), maxout_reference(x, pieces, axis))


def layouts(shape, dtype, seed=0):
    """{name: array}: views of one logical array (same values) in many memory layouts,
    each a fresh array (call again for another with the same layout)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 3, tuple(2 * s + 1 for s in shape)).astype(dtype)
    sl = tuple(slice(1, 2 * s + 1, 2) for s in shape)
    x = base[sl]
    flipped = np.ascontiguousarray(x[::-1, ..., ::-1])[::-1, ..., ::-1]
    moved = np.ascontiguousarray(np.moveaxis(x, 0, -1))
    interleaved = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    return {"C": np.ascontiguousarray(x), "F": np.asfortranarray(x), "strided": x,
            "negative strides": flipped, "transposed": np.moveaxis(moved, -1, 0),
            "axes swapped": interleaved}


@pytest.mark.parametrize("dtype", FLOATS)
def test_layouts_and_in_place_forms(dtype):
    shape = (4, 5, 6)
    rtol = 8 * np.finfo(dtype).eps
    for name, x in layouts(shape, dtype).items():
        g = layouts(shape, dtype, seed=1)[name]
        for axis in (0, 1, 2, -1):
            for f in SOFTMAXES:
                want = getattr(fastact, f)(np.ascontiguousarray(x), axis=axis)
                np.testing.assert_allclose(getattr(fastact, f)(x, axis=axis), want, rtol=rtol,
                                           err_msg=f"{f} {name}")
                target = layouts(shape, dtype)[name]
                assert getattr(fastact, f + "_")(target, axis=axis) is target
                np.testing.assert_allclose(target, want, rtol=rtol, err_msg=f"{f}_ {name}")
                want = getattr(fastact, f + "_backward")(np.ascontiguousarray(g),
                                                         np.ascontiguousarray(x), axis=axis)
                grad = layouts(shape, dtype, seed=1)[name]
                assert getattr(fastact, f + "_backward_")(grad, x, axis=axis) is grad
                np.testing.assert_allclose(grad, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                           atol=1e-6 if dtype == np.float32 else 1e-14)
            if x.shape[axis] % 2 == 0:
                np.testing.assert_allclose(fastact.glu(x, axis=axis),
                                           fastact.glu(np.ascontiguousarray(x), axis=axis), rtol=rtol)
                gh = np.ones(fastact.glu(x, axis=axis).shape, dtype)
                np.testing.assert_allclose(fastact.glu_backward(gh, x, axis=axis),
                                           fastact.glu_backward(gh, np.ascontiguousarray(x), axis=axis),
                                           rtol=rtol)
            assert same_bits(fastact.maxout(x, x.shape[axis], axis=axis),
                             maxout_reference(x, x.shape[axis], axis))


def test_in_place_on_a_view_whose_axes_do_not_merge():
    base = np.random.default_rng(0).normal(size=(6, 5, 8))
    x = base.transpose(1, 0, 2)[:, :, ::2]            # (5, 6, 4): axes 0, 1 do not merge
    want = fastact.softmax(np.ascontiguousarray(x), axis=2)
    other = base.copy()
    fastact.softmax_(x, axis=2)
    np.testing.assert_allclose(x, want, rtol=1e-15)
    untouched = np.ones(base.shape, bool)
    untouched[:, :, ::2] = False
    assert same_bits(base[untouched], other[untouched])


def test_out_and_aliasing():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(5, 8))
    want = fastact.softmax(x)
    out = np.empty_like(x)
    assert fastact.softmax(x, out=out) is out and same_bits(out, want)
    xs = x.copy()
    assert fastact.softmax(xs, out=xs) is xs and same_bits(xs, want)          # out is x
    xr = x.copy()
    fastact.softmax(xr, out=xr[::-1])                                           # overlapping
    np.testing.assert_allclose(xr[::-1], want, rtol=1e-15)
    big = np.zeros((5, 16))
    fastact.maxout(big[:, :8], 2, axis=1, out=big[:, 4:8])                     # overlapping
    assert same_bits(big[:, 4:8], np.zeros((5, 4)))
    xg = x.copy()
    gg = fastact.glu_backward(np.ones((5, 4)), xg, out=xg)                     # out is x
    assert gg is xg
    np.testing.assert_allclose(xg, fastact.glu_backward(np.ones((5, 4)), x), rtol=1e-15)
    o32 = np.empty((5, 8), np.float32)                                         # cast into out
    with pytest.raises(TypeError, match="dtype"):
        fastact.softmax(x, out=o32)


# ------------------------------------------------------------------ shapes, dtypes
def test_zero_dimensional_arrays_count_as_one_element():
    torch = pytest.importorskip("torch")
    for v in (3.0, -1e4, np.inf, -np.inf, np.nan):
        for axis in (0, -1):
            y = fastact.softmax(np.float64(v), axis=axis)
            assert y.shape == () and same_bits(y, torch.softmax(torch.tensor(v, dtype=torch.float64), axis).numpy())
            assert same_bits(fastact.log_softmax(np.array(v), axis=axis),
                             torch.log_softmax(torch.tensor(v, dtype=torch.float64), axis).numpy())
    x = np.array(2.5)
    assert fastact.softmax_(x) is x and x == 1
    assert fastact.softmax_backward(np.array(2.0), np.array(1.0)) == 0
    assert same_bits(fastact.maxout(np.array(4.0), 1, axis=0), np.array(4.0))
    with pytest.raises(np.exceptions.AxisError):
        fastact.softmax(np.array(1.0), axis=1)
    with pytest.raises(ValueError, match="odd"):
        fastact.glu(np.array(1.0), axis=0)


def test_empty_arrays():
    for shape, axis in [((0, 5), -1), ((5, 0), -1), ((5, 0), 0), ((0,), 0), ((2, 0, 3), 1)]:
        x = np.zeros(shape)
        for f in SOFTMAXES:
            assert getattr(fastact, f)(x, axis=axis).shape == shape
            assert getattr(fastact, f + "_backward")(x, y=x, axis=axis).shape == shape
            assert getattr(fastact, f + "_")(x, axis=axis) is x
        assert fastact.maxout(x, 1, axis=axis).shape == shape
    assert fastact.maxout(np.zeros((2, 0)), 3, axis=1).shape == (2, 0)
    assert fastact.glu(np.zeros((3, 0))).shape == (3, 0)
    assert fastact.glu(np.zeros((0, 4))).shape == (0, 2)
    assert fastact.glu_backward(np.zeros((0, 2)), np.zeros((0, 4))).shape == (0, 4)


def test_dtype_rules():
    x16 = np.linspace(-3, 3, 24).reshape(4, 6).astype(np.float16)
    x32 = x16.astype(np.float32)
    for f in SOFTMAXES:
        fn = getattr(fastact, f)
        assert same_bits(fn(x16), fn(x32).astype(np.float16))
        assert same_bits(getattr(fastact, f + "_backward")(x16, x16),
                         getattr(fastact, f + "_backward")(x32, x32).astype(np.float16))
        for it in (np.int8, np.int64, np.uint8, np.bool_):
            xi = (np.arange(12).reshape(3, 4) % 3).astype(it)
            assert same_bits(fn(xi), fn(xi.astype(np.float64)))
        assert same_bits(fn([[1, 2], [3, 4]]), fn(np.array([[1.0, 2], [3, 4]])))
        for bad in (np.complex128, object, np.longdouble):
            with pytest.raises(TypeError):
                fn(np.ones(4, dtype=bad))
        with pytest.raises(TypeError, match="float32 or float64"):
            getattr(fastact, f + "_")(x16)
        with pytest.raises(TypeError):
            getattr(fastact, f + "_")([1.0, 2.0])
        with pytest.raises(TypeError, match="float32 or float64"):
            getattr(fastact, f + "_backward_")(np.ones(4, np.int64), np.ones(4))
    assert same_bits(fastact.glu(x16), fastact.glu(x32).astype(np.float16))
    assert same_bits(fastact.maxout(x16, 2), fastact.maxout(x32, 2).astype(np.float16))
    assert fastact.glu(np.arange(4)).dtype == np.float64
    assert fastact.softmax_backward(x32, x16.astype(np.float64)).dtype == np.float64
    g = np.ones((4, 6), np.float32)       # in-place backward converts y to grad's dtype
    assert fastact.softmax_backward_(g, y=np.full((4, 6), 1 / 6)).dtype == np.float32


# ------------------------------------------------------------------------ errors
def error_calls(x, g, g_half, g_group):
    """(description, call) for every public axis function with a valid argument set."""
    return [
        ("softmax", lambda **k: fastact.softmax(x, **k)),
        ("softmax_", lambda **k: fastact.softmax_(x, **k)),
        ("softmax_backward", lambda **k: fastact.softmax_backward(g, x, **k)),
        ("softmax_backward_", lambda **k: fastact.softmax_backward_(g, x, **k)),
        ("log_softmax", lambda **k: fastact.log_softmax(x, **k)),
        ("log_softmax_", lambda **k: fastact.log_softmax_(x, **k)),
        ("log_softmax_backward", lambda **k: fastact.log_softmax_backward(g, y=x, **k)),
        ("log_softmax_backward_", lambda **k: fastact.log_softmax_backward_(g, y=x, **k)),
        ("maxout", lambda **k: fastact.maxout(x, 2, **k)),
        ("maxout_backward", lambda **k: fastact.maxout_backward(g_group, x, 2, **k)),
        ("glu", lambda **k: fastact.glu(x, **k)),
        ("glu_backward", lambda **k: fastact.glu_backward(g_half, x, **k)),
    ]


def fresh():
    x = np.linspace(-1, 1, 24).reshape(4, 6)
    return x, x + 0.5, np.ones((4, 3)), np.ones((4, 3))


def assert_raises_untouched(exc, match, call, arrays, **kw):
    before = [a.copy() for a in arrays]
    with pytest.raises(exc, match=match):
        call(**kw)
    for a, b in zip(arrays, before):
        assert same_bits(a, b), "modified on error"


def test_axis_errors_modify_nothing():
    for name, call in error_calls(*fresh()):
        x, g, gh, gg = fresh()
        calls = dict(error_calls(x, g, gh, gg))
        assert_raises_untouched(TypeError, "axis must be an int", calls[name], [x, g], axis=1.0)
        assert_raises_untouched(TypeError, "axis must be an int", calls[name], [x, g], axis=True)
        assert_raises_untouched(np.exceptions.AxisError, "out of bounds", calls[name], [x, g], axis=2)
        assert_raises_untouched(ValueError, "out of bounds", calls[name], [x, g], axis=-3)


def test_out_errors_modify_nothing():
    for name, call in error_calls(*fresh()):
        if name.endswith("_"):
            continue
        x, g, gh, gg = fresh()
        call = dict(error_calls(x, g, gh, gg))[name]
        shape = call().shape
        axis = {"maxout": 1}.get(name.split("_")[0], -1)
        assert_raises_untouched(TypeError, "dtype", call, [x, g], out=np.zeros(shape, np.float32))
        assert_raises_untouched(ValueError, "shape", call, [x, g], out=np.zeros((4, 7)))
        ro = np.zeros(shape)
        ro.flags.writeable = False
        assert_raises_untouched(ValueError, "read-only", call, [x, g, ro], out=ro)
        assert_raises_untouched(TypeError, "ndarray", call, [x, g], out=[0.0] * 24)
        del axis


def test_value_errors_modify_nothing():
    x, g, gh, gg = fresh()
    arrays = [x, g, gh, gg]
    assert_raises_untouched(ValueError, r"pieces=4 does not divide the length 6", fastact.maxout,
                            arrays, x=x, pieces=4)
    assert_raises_untouched(ValueError, r"pieces=4 does not divide the length 6",
                            fastact.maxout_backward, arrays, grad=gg, x=x, pieces=4)
    assert_raises_untouched(ValueError, "pieces must be >= 1", fastact.maxout, arrays, x=x, pieces=0)
    assert_raises_untouched(TypeError, "pieces must be an int", fastact.maxout, arrays, x=x, pieces=2.0)
    x5 = np.ones((4, 5))
    assert_raises_untouched(ValueError, "length 5 along axis -1, which is odd", fastact.glu,
                            [x5], x=x5)
    assert_raises_untouched(ValueError, "odd", fastact.glu_backward, [x5], grad=gh, x=x5)
    # grad of the wrong shape
    assert_raises_untouched(ValueError, "shape", fastact.softmax_backward, arrays, grad=gh, x=x)
    assert_raises_untouched(ValueError, "shape", fastact.softmax_backward_, arrays, grad=gh, x=x)
    assert_raises_untouched(ValueError, "shape", fastact.log_softmax_backward, arrays, grad=x, y=gh)
    assert_raises_untouched(ValueError, r"grad has shape \(4, 6\).*\(4, 3\)", fastact.glu_backward,
                            arrays, grad=x, x=x)
    assert_raises_untouched(ValueError, r"grad has shape \(4, 2\).*\(4, 3\)",
                            fastact.maxout_backward, arrays, grad=np.ones((4, 2)), x=x, pieces=2)
    # exactly one of x and y
    for f in ("softmax_backward", "softmax_backward_", "log_softmax_backward", "log_softmax_backward_"):
        fn = getattr(fastact, f)
        assert_raises_untouched(TypeError, r"exactly one of x .* and y", fn, arrays, grad=g)
        assert_raises_untouched(TypeError, r"exactly one of x .* and y", fn, arrays, grad=g, x=x, y=x)
    # in place: read-only
    ro = x.copy()
    ro.flags.writeable = False
    assert_raises_untouched(ValueError, "read-only", fastact.softmax_, [ro], x=ro)
    assert_raises_untouched(ValueError, "read-only", fastact.log_softmax_backward_, [ro, x], grad=ro, x=x)
    for f in ("maxout_", "glu_", "maxout_backward_", "glu_backward_"):
        assert not hasattr(fastact, f)


# ----------------------------------------------------------------- threads, stubs
@pytest.mark.parametrize("dtype", FLOATS)
def test_results_do_not_depend_on_the_thread_count(dtype, restore_threads):
    rng = np.random.default_rng(8)
    arrays = [(rng.normal(0, 5, (300, 1000)).astype(dtype), -1),
              (rng.normal(0, 5, (40, 50, 60)).astype(dtype), 1),
              (rng.normal(0, 5, (3000, 33)).astype(dtype), -1)]
    for x, axis in arrays:
        g = np.ones_like(x) - x / 10
        gh = g[:, : x.shape[1] // 2] if axis == 1 else g[..., : x.shape[-1] // 2]
        calls = [lambda: fastact.softmax(x, axis=axis), lambda: fastact.log_softmax(x, axis=axis),
                 lambda: fastact.softmax_backward(g, x, axis=axis),
                 lambda: fastact.log_softmax_backward(g, x, axis=axis),
                 lambda: fastact.softmax_backward(g, y=x, axis=axis),
                 lambda: fastact.log_softmax_backward(g, y=x, axis=axis)]
        if x.shape[axis] % 2 == 0:
            calls += [lambda: fastact.glu(x, axis=axis), lambda: fastact.glu_backward(gh, x, axis=axis),
                      lambda: fastact.maxout(x, 2, axis=axis)]
        results = []
        for n in (1, 2, 3):
            fastact.set_num_threads(n)
            results.append([c() for c in calls])
        for other in results[1:]:
            assert all(same_bits(a, b) for a, b in zip(results[0], other))


@pytest.mark.parametrize("dtype", FLOATS)
def test_short_rows_across_threads_and_in_place(dtype, restore_threads):
    """Short rows (computed in column mode across blocks of 64 rows for some ops): the same
    bits for any thread count, in place as out of place, and for a row alone as in a block
    (a partial last block of rows included)."""
    rng = np.random.default_rng(9)
    for shape in [(5001, 32), (20003, 7), (4099, 1), (70, 32)]:
        x = rng.normal(0, 5, shape).astype(dtype)
        g = rng.normal(0, 1, shape).astype(dtype)
        calls = {"softmax": lambda a, b: fastact.softmax(a),
                 "log_softmax": lambda a, b: fastact.log_softmax(a),
                 "softmax_backward": lambda a, b: fastact.softmax_backward(b, a),
                 "log_softmax_backward": lambda a, b: fastact.log_softmax_backward(b, a)}
        for name, call in calls.items():
            results = []
            for n in (1, 2, 3):
                fastact.set_num_threads(n)
                results.append(call(x, g))
            assert all(same_bits(results[0], r) for r in results[1:]), (name, shape)
            for i in (0, shape[0] // 2, shape[0] - 1):          # a row alone
                assert same_bits(call(x[i:i + 1], g[i:i + 1])[0], results[0][i]), (name, shape, i)
            if "backward" in name:
                target = g.copy()
                getattr(fastact, name + "_")(target, x)
            else:
                target = x.copy()
                getattr(fastact, name + "_")(target)
            assert same_bits(target, results[0]), (name, shape, "in place")


def test_public_names_and_stubs():
    names = ["softmax", "softmax_", "softmax_backward", "softmax_backward_", "log_softmax",
             "log_softmax_", "log_softmax_backward", "log_softmax_backward_", "maxout",
             "maxout_backward", "glu", "glu_backward"]
    from pathlib import Path
    stub = (Path(fastact.__file__).parent / "_api.pyi").read_text()
    for n in names:
        assert n in fastact.__all__ and n in fastact._api.__all__ and callable(getattr(fastact, n))
        assert f"def {n}(" in stub


AXIS0_CASES = {
    "softmax": lambda x, g: fastact.softmax(x, axis=0),
    "log_softmax": lambda x, g: fastact.log_softmax(x, axis=0),
    "softmax_backward": lambda x, g: fastact.softmax_backward(g, x, axis=0),
    "log_softmax_backward": lambda x, g: fastact.log_softmax_backward(g, x, axis=0),
    "glu": lambda x, g: fastact.glu(x, axis=0),
    "glu_backward": lambda x, g: fastact.glu_backward(g[:6], x, axis=0),
    "maxout": lambda x, g: fastact.maxout(x, 3, axis=0),
    "maxout_backward": lambda x, g: fastact.maxout_backward(g[:4], x, 3, axis=0),
}


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_column_does_not_depend_on_its_neighbours(dtype, kernel_variant):
    """Along a non-last axis the kernels work on tasks of neighbouring columns, vectorized
    across them; three columns computed on their own (the vector loop's remainder) give
    the bits they get among 70 others. Float64 glu's backward once did not (compiler
    contraction of a sum of two products). (A single column is another algorithm: a
    row, summed in lanes.)"""
    rng = np.random.default_rng(12)
    x = rng.normal(0, 3, (12, 70)).astype(dtype)
    g = rng.normal(0, 1, x.shape).astype(dtype)
    x[0, :6] = [np.nan, np.inf, -np.inf, 0.0, 40.0, -40.0]
    for name, f in AXIS0_CASES.items():
        whole = f(x, g)
        for j in range(x.shape[1] - 2):
            alone = f(x[:, j:j + 3].copy(), g[:, j:j + 3].copy())
            assert same_bits(alone, whole[:, j:j + 3]), f"{name}, columns {j}-{j + 2}"
