"""The learnable per-channel activations prelu, srelu and apl: values against exact
references (ULP), gradients against finite differences and torch, parameter shapes and
axes, layouts, thread-count independence, the dtype / error contract and aliasing."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pytest

import fastact
from conftest import assert_ulp, same_bits

FLOATS = [np.dtype(np.float32), np.dtype(np.float64)]


# ------------------------------------------------------------------ the three activations
def on_axis(p, ndim, axis, rows=0):
    """A per-channel parameter (C,) (or (S, C) with rows=1) shaped to broadcast along axis."""
    p = np.asarray(p, np.float64)
    if p.ndim == rows:                      # shared
        return p.reshape(p.shape + (1,) * ndim)
    shape = [1] * ndim
    shape[axis] = p.shape[-1]
    return p.reshape(p.shape[:rows] + tuple(shape))


def prelu_ref(x, params, axis):
    (w,) = params
    w = on_axis(w, x.ndim, axis)
    return np.where(x > 0, x, w * x)


def srelu_ref(x, params, axis):
    tl, al, tr, ar = (on_axis(p, x.ndim, axis) for p in params)
    return np.where(x <= tl, tl + al * (x - tl), np.where(x >= tr, tr + ar * (x - tr), x))


def apl_ref(x, params, axis):
    a, b = (on_axis(p, x.ndim, axis, rows=1) for p in params)
    return np.maximum(0, x) + (a * np.maximum(0, b - x[None])).sum(axis=0)


class Act:
    def __init__(self, name, ref, make):
        self.name, self.ref, self.make = name, ref, make
        self.fn = getattr(fastact, name)
        self.fn_ = getattr(fastact, name + "_")
        self.bwd = getattr(fastact, name + "_backward")
        self.bwd_ = getattr(fastact, name + "_backward_")

    def __repr__(self):
        return self.name


def prelu_params(rng, C, shared=False):
    return [rng.uniform(-0.5, 0.8) if shared else rng.uniform(-0.5, 0.8, C)]


def srelu_params(rng, C, shared=False):
    n = () if shared else (C,)
    tl = rng.uniform(-1.5, -0.2, n)
    return [tl, rng.uniform(0.05, 0.6, n), tl + rng.uniform(0.5, 2.5, n), rng.uniform(0.2, 1.8, n)]


def apl_params(rng, C, shared=False, S=3):
    n = (S,) if shared else (S, C)
    return [rng.uniform(-0.6, 0.9, n), rng.uniform(-1.5, 1.5, n)]


ACTS = [Act("prelu", prelu_ref, prelu_params), Act("srelu", srelu_ref, srelu_params),
        Act("apl", apl_ref, apl_params)]
ACT_IDS = [a.name for a in ACTS]


def grads_ref(act, g, x, params, axis, eps=1e-6):
    """Central differences of sum(g * f) with respect to x (elementwise) and every
    parameter element (float64)."""
    # x: elementwise, so one perturbation of the whole array gives every derivative
    gx = g * (act.ref(x + eps, params, axis) - act.ref(x - eps, params, axis)) / (2 * eps)
    gps = []
    for k, p in enumerate(params):
        p = np.asarray(p, np.float64)
        gp = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            plus = [np.array(q, np.float64, copy=True) for q in params]
            minus = [np.array(q, np.float64, copy=True) for q in params]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            gp[idx] = np.sum(g * (act.ref(x, plus, axis) - act.ref(x, minus, axis))) / (2 * eps)
        gps.append(gp)
    return gx, gps


def away_from_kinks(act, x, params, axis, margin=1e-3):
    """x moved off every kink (finite differences are meaningless there)."""
    kinks = [np.zeros(1)]
    if act.name == "srelu":
        kinks += [on_axis(params[0], x.ndim, axis), on_axis(params[2], x.ndim, axis)]
    elif act.name == "apl":
        b = on_axis(params[1], x.ndim, axis, rows=1)
        kinks += list(b)
    for k in kinks:
        near = np.abs(x - k) < margin
        x = np.where(near, x + 4 * margin, x)
    return x


# ------------------------------------------------------------------------ accuracy (ULP)
def exact_value(name, x, params):
    """The exact value at float inputs (Fractions), as hi + lo doubles."""
    X = Fraction(float(x))
    if name == "prelu":
        (w,) = params
        v = X if X > 0 else Fraction(float(w)) * X
    elif name == "srelu":
        tl, al, tr, ar = (Fraction(float(p)) for p in params)
        v = tl + al * (X - tl) if X <= tl else (tr + ar * (X - tr) if X >= tr else X)
    else:
        a, b = params
        v = max(Fraction(0), X) + sum(Fraction(float(ai)) * max(Fraction(0), Fraction(float(bi)) - X)
                                      for ai, bi in zip(a, b))
    hi = float(v)
    return hi, float(v - Fraction(hi))


def exact_dx(name, g, x, params):
    """g * f'(x) exactly (the conventions at the kinks of the docs)."""
    X, G = Fraction(float(x)), Fraction(float(g))
    if name == "prelu":
        d = Fraction(1) if X > 0 else Fraction(float(params[0]))
    elif name == "srelu":
        tl, al, tr, ar = (Fraction(float(p)) for p in params)
        d = al if X <= tl else (ar if X >= tr else Fraction(1))
    else:
        a, b = params
        d = Fraction(int(X > 0)) - sum(Fraction(float(ai)) for ai, bi in zip(a, b) if Fraction(float(bi)) > X)
    v = G * d
    hi = float(v)
    return hi, float(v - Fraction(hi))


def accuracy_params(name, dtype, C):
    """Parameters in dtype (so the reference sees what the kernel sees), C channels,
    chosen so that t + a*(x - t) and the apl sums cancel in places."""
    rng = np.random.default_rng(11)
    if name == "prelu":
        params = [rng.uniform(-2, 2, C)]
    elif name == "srelu":
        tl = rng.uniform(-3, -0.1, C)
        params = [tl, rng.uniform(-1.5, 1.5, C), tl + rng.uniform(0.1, 5, C), rng.uniform(-1.5, 1.5, C)]
        params[1][0], params[3][0] = 0.9999999, 1.0000001           # lines near the identity
    else:
        params = [rng.uniform(-1.5, 1.5, (3, C)), rng.uniform(-3, 3, (3, C))]
        params[0][:, 0] = [1.0, -1.0, 0.5]                              # terms that cancel
        params[1][:, 0] = [0.7, 0.7, -0.2]
    return [np.asarray(p).astype(dtype) for p in params]


@functools.lru_cache(maxsize=None)
def accuracy_case(name, dtype_name):
    """(x (C, m), g, params, fwd hi/lo, dx hi/lo): random and log-spaced x plus every
    parameter's kink and its float neighbours, per channel."""
    dtype = np.dtype(dtype_name)
    C, m = 4, 700
    params = accuracy_params(name, dtype, C)
    rng = np.random.default_rng(5)
    x = np.empty((C, m), dtype)
    for c in range(C):
        pts = [rng.uniform(-6, 6, 300), np.geomspace(1e-30, 1e6, 100), -np.geomspace(1e-30, 1e6, 100)]
        kinks = [0.0]
        if name == "srelu":
            kinks += [float(params[0][c]), float(params[2][c])]
        elif name == "apl":
            kinks += [float(v) for v in params[1][:, c]]
        for k in kinks:
            kk = dtype.type(k)
            around = [kk]
            for _ in range(8):
                around += [np.nextafter(around[-1], dtype.type(np.inf))]
            below = [kk]
            for _ in range(8):
                below += [np.nextafter(below[-1], dtype.type(-np.inf))]
            pts.append(np.array(around + below, np.float64))
            pts.append(k + np.linspace(-1e-3, 1e-3, 11))
        col = np.concatenate(pts).astype(dtype)
        x[c] = np.resize(col, m)
    g = (rng.uniform(0.5, 2, (C, m)) * rng.choice([-1, 1], (C, m))).astype(dtype)
    fh, fl, dh, dl = (np.empty((C, m)) for _ in range(4))
    for c in range(C):
        pc = [p[..., c] for p in params]
        for i in range(m):
            fh[c, i], fl[c, i] = exact_value(name, x[c, i], pc)
            dh[c, i], dl[c, i] = exact_dx(name, g[c, i], x[c, i], pc)
    return x, g, params, fh, fl, dh, dl


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", ACT_IDS)
def test_values_and_grad_x_within_4_ulp(name, dtype, kernel_variant):
    x, g, params, fh, fl, dh, dl = accuracy_case(name, dtype.name)
    act = ACTS[ACT_IDS.index(name)]
    y = act.fn(x, *params, axis=0)
    assert_ulp(y.ravel(), x.ravel(), None, fh.ravel(), fl.ravel(), dtype, f"{name} {dtype} forward")
    gx = act.bwd(g, x, *params, axis=0)[0]
    assert_ulp(gx.ravel(), x.ravel(), g.ravel(), dh.ravel(), dl.ravel(), dtype, f"{name} {dtype} grad_x")
    # channels last takes the other loop (parameters varying along it): the same bits
    yt = act.fn(np.ascontiguousarray(x.T), *params, axis=1)
    assert same_bits(yt, y.T)
    assert same_bits(act.bwd(np.ascontiguousarray(g.T), np.ascontiguousarray(x.T), *params, axis=-1)[0], gx.T)


# ------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("shared", [False, True], ids=["per-channel", "shared"])
@pytest.mark.parametrize("shape, axis", [((7,), 0), ((5, 3), 1), ((3, 4, 5), 1), ((2, 3, 4, 5), -3),
                                         ((4, 2, 3), -1), ((3, 4, 2, 2), 0)], ids=str)
@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_gradients_match_finite_differences(act, shape, axis, shared):
    rng = np.random.default_rng(len(shape) * 10 + axis)
    C = shape[axis]
    params = act.make(rng, C, shared)
    x = away_from_kinks(act, rng.uniform(-3, 3, shape), params, axis)
    g = rng.uniform(-2, 2, shape)
    got = act.bwd(g, x, *params, axis=axis)
    want_x, want_p = grads_ref(act, g, x, params, axis)
    np.testing.assert_allclose(got[0], want_x, rtol=1e-7, atol=1e-8)
    assert len(got) == 1 + len(params)
    for gp, wp, p in zip(got[1:], want_p, params):
        assert gp.shape == np.shape(p) and gp.dtype == np.float64
        np.testing.assert_allclose(gp, wp, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape, axis", [((6, 5, 7, 3), 1), ((6, 5), 1), ((9,), 0), ((4, 3, 5), -1),
                                         ((), 1), ((8,), 1)], ids=str)
def test_prelu_matches_torch(shape, axis, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    x.ravel()[:3] = [0.0, -0.0, np.nan][:x.size]
    g = rng.standard_normal(shape).astype(dtype)
    channel = len(shape) >= 2 or axis < len(shape)
    w = (rng.uniform(-0.5, 0.8, shape[axis]) if channel else rng.uniform(-0.5, 0.8, 1)).astype(dtype)
    move = (lambda a: np.moveaxis(a, axis, 1)) if len(shape) >= 2 else (lambda a: a)
    if len(shape) == 1 and channel:       # torch has no channel axis on 1-d inputs: add one
        move = lambda a: a[None, :]
    xt = torch.tensor(move(x), requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.prelu(xt, wt)
    yt.backward(torch.tensor(move(g)))
    y = fastact.prelu(x, w, axis=axis)
    gx, gw = fastact.prelu_backward(g, x, w, axis=axis)
    assert same_bits(move(y), yt.detach().numpy())
    assert same_bits(move(gx), xt.grad.numpy())           # also at 0, -0 and NaN
    want = wt.grad.numpy()
    assert np.isnan(gw).any() == np.isnan(want).any()
    np.testing.assert_allclose(gw, want, rtol=4 * np.finfo(dtype).eps * np.sqrt(x.size), atol=0)


def test_prelu_torch_size_one_weight_and_0d():
    torch = pytest.importorskip("torch")
    x = np.array([[-2.0, 3.0, -1.0]])
    for w in (0.25, np.array(0.25), np.array([0.25]), np.array([[0.25]])):
        want = torch.nn.functional.prelu(torch.tensor(x), torch.tensor([0.25], dtype=torch.float64)).numpy()
        assert same_bits(fastact.prelu(x, w), want)
        gw = fastact.prelu_backward(np.ones_like(x), x, w)[1]
        assert gw.shape == np.shape(w) and gw == -3.0
    assert fastact.prelu(np.float64(-2.0), 0.5) == -1.0
    with pytest.raises(ValueError, match=r"weight has shape \(3,\).*no channel axis"):
        fastact.prelu(np.array([-2.0, 3.0, -1.0]), [0.1, 0.2, 0.3])


# --------------------------------------------------------- parameter-gradient reductions
def test_weight_gradient_of_1e7_float32_elements_is_accurate():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 2, 500_000), dtype=np.float32)
    g = rng.standard_normal((10, 2, 500_000), dtype=np.float32) + np.float32(0.1)
    _, gw = fastact.prelu_backward(g, x, np.float32(0.25))          # one shared weight
    prod = np.where(x > 0, 0.0, g.astype(np.float64) * x.astype(np.float64))   # exact products
    want = math.fsum(prod.ravel().tolist())
    assert gw.dtype == np.float32 and gw.shape == ()
    assert gw == np.float32(want) or abs(float(gw) - want) <= float(np.spacing(np.float32(want)))
    _, gwc = fastact.prelu_backward(g, x, np.full(2, 0.25, np.float32))
    want_c = prod.sum(axis=(0, 2))                                  # pairwise in float64
    assert np.all(np.abs(gwc.astype(np.float64) - want_c) <= np.spacing(np.abs(want_c).astype(np.float32)))


@pytest.mark.parametrize("shape, axis", [((3, 5, 70_001), 1), ((40_000, 7), 1), ((300_000,), 0),
                                         ((2, 150_000, 1), 1)], ids=str)
@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_results_are_bitwise_the_same_for_every_thread_count(act, shape, axis, restore_threads):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    params = [np.asarray(p, np.float32) for p in act.make(rng, shape[axis])]
    results = []
    for n in (1, 2, 3):
        fastact.set_num_threads(n)
        results.append((act.fn(x, *params, axis=axis), *act.bwd(g, x, *params, axis=axis)))
    for other in results[1:]:
        assert all(same_bits(a, b) for a, b in zip(results[0], other))


# ------------------------------------------------------------------------------ layouts
def layouts(a):
    """(name, view with a's values): C, Fortran, negative strides, non-mergeable."""
    yield "C", a.copy()
    yield "F", np.asfortranarray(a)
    rev = np.empty_like(a)[::-1, ..., ::-1]
    rev[...] = a
    yield "reversed", rev
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
    view = big[(slice(1, None, 2),) * a.ndim]
    view[...] = a
    yield "strided", view
    perm = np.empty(a.shape[::-1], a.dtype).transpose()     # axes in reverse memory order
    perm[...] = a
    if a.ndim >= 3:
        mixed = np.empty((a.shape[0], a.shape[2], a.shape[1]) + a.shape[3:], a.dtype).swapaxes(1, 2)
        mixed[...] = a
        yield "non-mergeable", mixed
    yield "transposed", perm


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_every_layout_gives_the_contiguous_bits(act, axis):
    rng = np.random.default_rng(4)
    shape = (4, 5, 6)
    x0 = rng.standard_normal(shape)
    g0 = rng.standard_normal(shape)
    params = act.make(rng, shape[axis])
    want_y = act.fn(x0, *params, axis=axis)
    want_b = act.bwd(g0, x0, *params, axis=axis)
    for (name, x), (_, g) in zip(layouts(x0), layouts(g0)):
        assert same_bits(act.fn(x, *params, axis=axis), want_y), name
        out = np.full_like(x, 7.0)
        assert act.fn(x, *params, axis=axis, out=out) is out and same_bits(out, want_y), name
        got = act.bwd(g, x, *params, axis=axis)
        assert all(same_bits(a, b) for a, b in zip(got, want_b)), name
        x_before = x.copy()
        assert act.fn_(x, *params, axis=axis) is x and same_bits(x, want_y), name
        x[...] = x_before
        got_ = act.bwd_(g, x, *params, axis=axis)
        assert got_[0] is g and same_bits(g, want_b[0]), name
        assert all(same_bits(a, b) for a, b in zip(got_[1:], want_b[1:])), name


def test_views_never_touch_memory_outside():
    x0 = np.random.default_rng(1).standard_normal((4, 3, 5))
    parent = np.full((8, 3, 10), -7777.25)
    view = parent[::2, :, 1::2]
    view[...] = x0
    outside = parent.copy()
    fastact.prelu_(view, [0.1, 0.2, 0.3])
    mask = np.ones(parent.shape, bool)
    mask[::2, :, 1::2] = False
    assert same_bits(parent[mask], outside[mask])
    assert same_bits(view, fastact.prelu(x0, [0.1, 0.2, 0.3]))


@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_aliasing_out_and_grad(act):
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((3, 4, 5))
    params = act.make(rng, 4)
    want = act.fn(x0, *params)
    x = x0.copy()
    assert act.fn(x, *params, out=x) is x and same_bits(x, want)            # out is x
    buf = np.concatenate([x0.ravel(), np.zeros(7)])
    xv, ov = buf[:60].reshape(3, 4, 5), buf[7:67].reshape(3, 4, 5)        # partial overlap
    assert same_bits(act.fn(xv, *params, out=ov), want)
    g0 = rng.standard_normal((3, 4, 5))
    want_b = act.bwd(g0, x0, *params)
    g = g0.copy()
    got = act.bwd(g, x0, *params, out=g)                                    # out is grad
    assert got[0] is g and all(same_bits(a, b) for a, b in zip(got, want_b))
    same = x0.copy()
    want_same = act.bwd(x0.copy(), x0.copy(), *params)
    got = act.bwd_(same, same, *params)                                     # grad is x
    assert all(same_bits(a, b) for a, b in zip(got, want_same))
    buf = np.concatenate([g0.ravel(), np.zeros(9)])
    gv, xv = buf[9:69].reshape(3, 4, 5), buf[:60].reshape(3, 4, 5)
    gv_vals, xv_vals = gv.copy(), xv.copy()
    want_o = act.bwd(gv_vals, xv_vals, *params)
    got = act.bwd_(gv, xv, *params)                                         # grad overlaps x
    assert all(same_bits(a, b) for a, b in zip(got, want_o))


# ------------------------------------------------------------------- dtypes and shapes
@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_dtypes(act):
    rng = np.random.default_rng(8)
    x = rng.uniform(-3, 3, (3, 4, 2))
    params = act.make(rng, 4)
    for dt in FLOATS:
        xd = x.astype(dt)
        y = act.fn(xd, *params)
        assert y.dtype == dt
        grads = act.bwd(xd, xd, *params)
        assert all(r.dtype == dt for r in grads)
        assert [r.shape for r in grads[1:]] == [np.shape(p) for p in params]
    x16 = x.astype(np.float16)
    assert same_bits(act.fn(x16, *params), act.fn(x16.astype(np.float32), *params).astype(np.float16))
    got = act.bwd(x16, x16, *params)
    want = act.bwd(x16.astype(np.float32), x16.astype(np.float32), *params)
    assert all(same_bits(a, b.astype(np.float16)) for a, b in zip(got, want))
    xi = np.arange(-12, 12).reshape(2, 4, 3)
    assert same_bits(act.fn(xi, *params), act.fn(xi.astype(np.float64), *params))
    pint = [np.round(np.asarray(p) * 4).astype(np.int64) for p in params]
    if act.name == "srelu":
        pint[2] = pint[0] + 3
    assert same_bits(act.fn(x, *pint), act.fn(x, *[p.astype(np.float64) for p in pint]))
    for bad in (x.astype(np.complex128), x.astype(object), x.astype(np.longdouble)):
        with pytest.raises(TypeError, match="x has dtype"):
            act.fn(bad, *params)
    with pytest.raises(TypeError, match="dtype complex"):
        act.fn(x, *[np.asarray(p).astype(np.complex128) for p in params])


@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_0d_and_empty(act):
    rng = np.random.default_rng(12)
    params = act.make(rng, 1, shared=True)
    for x in (np.float64(-1.5), np.array(2.0)):
        y = act.fn(x, *params)
        assert y.shape == () and same_bits(y, act.fn(np.reshape(x, 1), *params)[0])
        np.testing.assert_allclose(y, act.ref(np.asarray(x), params, 0).reshape(()), rtol=1e-15)
        grads = act.bwd(np.array(1.0), x, *params)
        assert grads[0].shape == () and [r.shape for r in grads[1:]] == [np.shape(p) for p in params]
    for shape in ((0,), (2, 0, 3), (0, 4)):
        x = np.zeros(shape)
        C = shape[1] if len(shape) > 1 else 1
        p = act.make(rng, C) if len(shape) > 1 else params
        assert act.fn(x, *p).shape == shape
        grads = act.bwd(x, x, *p)
        assert grads[0].shape == shape
        assert all(np.all(r == 0) and r.shape == np.shape(q) for r, q in zip(grads[1:], p))


# --------------------------------------------------------------------------- errors
def all_forms(act, x, g, params, **kw):
    return [lambda: act.fn(x, *params, **kw), lambda: act.fn_(x, *params, **kw),
            lambda: act.bwd(g, x, *params, **kw), lambda: act.bwd_(g, x, *params, **kw)]


def assert_raises_untouched(act, x, g, params, exc, match, **kw):
    x0, g0 = x.copy(), g.copy()
    p0 = [np.array(p, copy=True) for p in params]
    for call in all_forms(act, x, g, params, **kw):
        with pytest.raises(exc, match=match):
            call()
        assert same_bits(x, x0) and same_bits(g, g0)
        assert all(same_bits(np.asarray(p), q) for p, q in zip(params, p0))


@pytest.mark.parametrize("act", ACTS, ids=ACT_IDS)
def test_errors_leave_everything_untouched(act):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 4))
    g = rng.standard_normal((2, 3, 4))
    params = act.make(rng, 3)
    assert_raises_untouched(act, x, g, params, TypeError, "axis must be an int", axis=1.0)
    assert_raises_untouched(act, x, g, params, TypeError, "axis must be an int", axis=True)
    assert_raises_untouched(act, x, g, params, np.exceptions.AxisError, "out of bounds", axis=3)
    assert_raises_untouched(act, x, g, params, ValueError, "out of bounds", axis=-4)
    wrong = act.make(rng, 4)
    name = {"prelu": "weight", "srelu": "t_left", "apl": "a"}[act.name]
    assert_raises_untouched(act, x, g, wrong, ValueError,
                            rf"{name} has shape \((3, )?4,?\); expected .*channel axis 1 of length 3")
    assert_raises_untouched(act, x, g, params, ValueError, r"x has shape \(2, 3, 4\).*axis 2 of length 4", axis=2)
    out = np.zeros((2, 3, 4))
    for bad_out, exc in ((np.zeros((2, 3, 5)), ValueError), (np.zeros((2, 3, 4), np.float32), TypeError),
                         ([0.0], TypeError)):
        with pytest.raises(exc):
            act.fn(x, *params, out=bad_out)
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        act.fn_(ro, *params)
    with pytest.raises(TypeError, match="float32 or float64"):
        act.fn_(x.astype(np.int64), *params)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        act.fn_(x.tolist(), *params)
    with pytest.raises(ValueError, match="grad has shape"):
        act.bwd(g[:1], x, *params)
    assert same_bits(out, np.zeros((2, 3, 4)))


def test_srelu_requires_t_left_below_t_right():
    x = np.zeros((2, 3))
    for tl, tr in ((1.0, 0.0), ([0.0, 2.0, 0.0], [1.0, 1.0, 1.0]), (np.nan, 1.0)):
        assert_raises_untouched(ACTS[1], x.copy(), x.copy(), [tl, 0.5, tr, 0.5], ValueError,
                                "t_left <= t_right")
    assert same_bits(fastact.srelu(np.array([1.0, 2.0, 3.0]), 2.0, 0.5, 2.0, 3.0),
                     np.array([1.5, 2.0, 5.0]))                    # t_left == t_right


def test_apl_parameter_shapes():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    a, b = np.array([0.5, -0.2]), np.array([0.0, 1.0])
    y = fastact.apl(x, a, b)
    assert same_bits(y, fastact.apl(x, np.tile(a[:, None], 3), np.tile(b[:, None], 3)))
    grads = fastact.apl_backward(np.ones_like(x), x, a, np.tile(b[:, None], 3))
    assert grads[1].shape == (2,) and grads[2].shape == (2, 3)
    with pytest.raises(ValueError, match=r"b has shape \(3,\); expected .*S = 2 \(as a\)"):
        fastact.apl(x, a, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"a has shape \(2, 4\)"):
        fastact.apl(x, np.zeros((2, 4)), np.zeros((2, 4)))
    assert same_bits(fastact.apl(x, np.zeros(0), np.zeros(0)), np.maximum(x, 0))   # S = 0: relu


def test_the_docs_example_runs():
    from pathlib import Path
    import re
    text = (Path(__file__).resolve().parent.parent / "docs" / "learnable_activations.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(example, "learnable_activations.md", "exec"), {})
