"""Edge cases of the learnable (prelu, srelu, apl), random (rrelu) and axis-wise
(softmax, log_softmax, maxout, glu) activations: behaviour the other test files do not
pin down. Bitwise layout independence of every form (in place, backward from x and y,
out=) for the axis family, exact and partial aliasing of every operand pair, read-only
broadcast views as inputs, backward dtype promotion against the elementwise functions,
torch on special-value mixes along every axis, exact (Fraction) parameter gradients of
srelu / apl at the kinks and with equal thresholds, accepted / rejected axis and pieces
types, the GIL being released, and long float32 rows."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

import fastact
from conftest import same_bits

FLOATS = [np.dtype(np.float32), np.dtype(np.float64)]
SOFTMAXES = ["softmax", "log_softmax"]


def fresh_layouts(a):
    """{name: a new array holding a's values}: memory layouts of one logical array.
    Every entry is a fresh buffer (never a view of a), so in-place calls are safe."""
    out = {"C": np.array(a, order="C", copy=True), "F": np.array(a, order="F", copy=True)}
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
    neg = big[tuple(slice(2 * s - 1, None, -2) for s in a.shape)]     # negative, strided
    neg[...] = a
    out["negative strided"] = neg
    perm = tuple(range(1, a.ndim)) + (0,)
    out["permuted"] = np.transpose(a, perm).copy().transpose(np.argsort(perm))
    if a.ndim == 3:                                                    # axes 0, 1 do not merge
        b = np.zeros((a.shape[1], a.shape[0], 3 * a.shape[2]), a.dtype)
        nm = b.transpose(1, 0, 2)[:, :, ::3]
        nm[...] = a
        out["non-mergeable"] = nm
    return out


def all_same(xs, ys):
    xs, ys = list(xs), list(ys)
    return len(xs) == len(ys) and all(same_bits(a, b) for a, b in zip(xs, ys))


# -------------------------------------------------------- axis family: layouts, bitwise
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_axis_family_every_form_and_layout_gives_the_contiguous_bits(dtype):
    """The contract's 'same bits as the contiguous result', for every form (test_axis
    checks the forwards and backward_ from x with a tolerance only)."""
    rng = np.random.default_rng(21)
    x = rng.normal(0, 3, (4, 6, 70)).astype(dtype)
    g = rng.normal(0, 1, x.shape).astype(dtype)
    for axis in (0, 1, 2, -1):
        for f in SOFTMAXES:
            fwd, fwd_ = getattr(fastact, f), getattr(fastact, f + "_")
            bwd, bwd_ = getattr(fastact, f + "_backward"), getattr(fastact, f + "_backward_")
            y = fwd(x, axis=axis)
            want_x, want_y = bwd(g, x, axis=axis), bwd(g, y=y, axis=axis)
            xl, gl, yl = fresh_layouts(x), fresh_layouts(g), fresh_layouts(y)
            for name in xl:
                assert same_bits(fwd(xl[name], axis=axis), y), (f, name, axis)
                out = fresh_layouts(np.zeros_like(x))[name]
                assert fwd(xl[name], axis=axis, out=out) is out and same_bits(out, y), (f, name)
                t = fresh_layouts(x)[name]
                assert fwd_(t, axis=axis) is t and same_bits(t, y), (f, name, axis)
                assert same_bits(bwd(gl[name], xl[name], axis=axis), want_x), (f, name, axis)
                assert same_bits(bwd(gl[name], y=yl[name], axis=axis), want_y), (f, name, axis)
                t = fresh_layouts(g)[name]
                assert bwd_(t, xl[name], axis=axis) is t and same_bits(t, want_x), (f, name)
                t = fresh_layouts(g)[name]
                assert bwd_(t, y=yl[name], axis=axis) is t and same_bits(t, want_y), (f, name)
        h = fastact.glu(x, axis=axis)
        gh = rng.normal(0, 1, h.shape).astype(dtype)
        want_g = fastact.glu_backward(gh, x, axis=axis)
        m = fastact.maxout(x, 2, axis=axis)
        want_m = fastact.maxout_backward(gh, x, 2, axis=axis)
        for name, xv in fresh_layouts(x).items():
            assert same_bits(fastact.glu(xv, axis=axis), h), (name, axis)
            assert same_bits(fastact.glu_backward(fresh_layouts(gh)[name], xv, axis=axis), want_g)
            out = fresh_layouts(np.zeros_like(x))[name]
            assert same_bits(fastact.glu_backward(gh, xv, axis=axis, out=out), want_g)
            assert same_bits(fastact.maxout(xv, 2, axis=axis), m), (name, axis)
            assert same_bits(fastact.maxout_backward(fresh_layouts(gh)[name], xv, 2, axis=axis), want_m)


def test_read_only_broadcast_views_are_valid_inputs():
    """np.broadcast_to views (0 strides, read-only) as x, y, grad: the contiguous bits."""
    rng = np.random.default_rng(22)
    shape = (4, 6, 5)
    for src_shape in [(1, 6, 1), (4, 1, 5), (1, 1, 5), ()]:
        src = rng.normal(0, 2, src_shape)
        xb = np.broadcast_to(src, shape)
        xc = np.ascontiguousarray(xb)
        gb = np.broadcast_to(rng.normal(size=(1, 6, 5)), shape)
        gc = np.ascontiguousarray(gb)
        for axis in range(3):
            for f in SOFTMAXES:
                fwd, bwd = getattr(fastact, f), getattr(fastact, f + "_backward")
                y = fwd(xc, axis=axis)
                assert same_bits(fwd(xb, axis=axis), y)
                assert same_bits(bwd(gb, xb, axis=axis), bwd(gc, xc, axis=axis))
                assert same_bits(bwd(gb, y=np.broadcast_to(y, shape), axis=axis), bwd(gc, y=y, axis=axis))
                t1, t2 = gc.copy(), gc.copy()
                getattr(fastact, f + "_backward_")(t1, xb, axis=axis)
                getattr(fastact, f + "_backward_")(t2, xc, axis=axis)
                assert same_bits(t1, t2)
            if shape[axis] % 2 == 0:
                assert same_bits(fastact.glu(xb, axis=axis), fastact.glu(xc, axis=axis))
                assert same_bits(fastact.maxout(xb, 2, axis=axis), fastact.maxout(xc, 2, axis=axis))
            C = shape[axis]
            for name, params in (("prelu", [np.linspace(-0.3, 0.5, C)]),
                                 ("srelu", [-0.5, np.linspace(0.1, 0.9, C), 0.5, 2.0]),
                                 ("apl", [np.ones((2, C)), np.array([0.0, -1.0])])):
                fn, bw = getattr(fastact, name), getattr(fastact, name + "_backward")
                assert same_bits(fn(xb, *params, axis=axis), fn(xc, *params, axis=axis))
                assert all_same(bw(gb, xb, *params, axis=axis), bw(gc, xc, *params, axis=axis))
        assert all_same(fastact.rrelu(xb, training=True, seed=5), fastact.rrelu(xc, training=True, seed=5))
        for inplace in (lambda: fastact.softmax_(xb), lambda: fastact.prelu_(xb, 0.2),
                        lambda: fastact.rrelu_(xb, training=True, seed=1),
                        lambda: fastact.log_softmax_backward_(gb, xc)):
            with pytest.raises(ValueError, match="read-only"):
                inplace()
        assert same_bits(xb, np.broadcast_to(src, shape))


# ------------------------------------------------------------ axis family: aliasing
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape,axis", [((6, 40), -1), ((6, 40), 0), ((3, 8, 70), 1), ((200,), 0)], ids=str)
def test_axis_family_aliasing(shape, axis, dtype):
    rng = np.random.default_rng(23)
    x0 = rng.normal(0, 3, shape).astype(dtype)
    g0 = rng.normal(0, 1, shape).astype(dtype)
    n = x0.size
    for f in SOFTMAXES:
        fwd, bwd = getattr(fastact, f), getattr(fastact, f + "_backward")
        bwd_ = getattr(fastact, f + "_backward_")
        y0 = fwd(x0, axis=axis)
        want_x, want_y = bwd(g0, x0, axis=axis), bwd(g0, y=y0, axis=axis)
        for shift in (1, 3, -1, -4):                       # out overlaps x partially
            buf = np.zeros(n + 10, dtype)
            xs = buf[5:5 + n].reshape(shape)
            xs[...] = x0
            out = buf[5 + shift:5 + shift + n].reshape(shape)
            assert fwd(xs, axis=axis, out=out) is out and same_bits(out, y0), (f, shift)
        t = x0.copy()                                      # out is x, in the backward
        assert same_bits(bwd(g0, t, axis=axis, out=t), want_x)
        t = y0.copy()                                      # out is y
        assert same_bits(bwd(g0, y=t, axis=axis, out=t), want_y)
        t = g0.copy()                                      # out is grad
        assert same_bits(bwd(t, x0, axis=axis, out=t), want_x)
        want_same = bwd(x0.copy(), x0.copy(), axis=axis)
        t = x0.copy()                                      # grad is x (in place)
        assert bwd_(t, t, axis=axis) is t and same_bits(t, want_same)
        t = x0.copy()                                      # grad, x and out all one array
        assert same_bits(bwd(t, t, axis=axis, out=t), want_same)
        t = y0.copy()                                      # grad is y (in place)
        assert same_bits(bwd_(t, y=t, axis=axis), bwd(y0.copy(), y=y0.copy(), axis=axis))
        buf = np.zeros(n + 3, dtype)                       # grad overlaps x partially (in place)
        gv, xv = buf[3:].reshape(shape), buf[:n].reshape(shape)
        xv[...] = x0
        want = bwd(gv.copy(), xv.copy(), axis=axis)
        bwd_(gv, xv, axis=axis)
        assert same_bits(gv, want)
    if shape[axis] % 2:
        return
    h = fastact.glu(x0, axis=axis)
    gh = rng.normal(0, 1, h.shape).astype(dtype)
    half = [slice(None)] * len(shape)
    for part in (slice(0, shape[axis] // 2), slice(shape[axis] // 2, None)):
        half[axis] = part
        t = x0.copy()                                      # glu's out is one half of x
        o = t[tuple(half)]
        assert fastact.glu(t, axis=axis, out=o) is o and same_bits(o, h)
        t = x0.copy()
        o = t[tuple(half)]
        assert same_bits(fastact.maxout(t, 2, axis=axis, out=o), fastact.maxout(x0, 2, axis=axis))
        t = x0.copy()                                      # grad is a view into out
        gin = t[tuple(half)]
        want = fastact.glu_backward(gin.copy(), x0, axis=axis)
        assert same_bits(fastact.glu_backward(gin, x0, axis=axis, out=t), want)
        t = x0.copy()
        gin = t[tuple(half)]
        want = fastact.maxout_backward(gin.copy(), x0, 2, axis=axis)
        assert same_bits(fastact.maxout_backward(gin, x0, 2, axis=axis, out=t), want)
    t = x0.copy()                                          # out is x (maxout's backward)
    want = fastact.maxout_backward(gh, x0, 2, axis=axis)
    assert same_bits(fastact.maxout_backward(gh, t, 2, axis=axis, out=t), want)


def test_out_is_x_in_non_c_layouts_and_rrelu_in_place_on_a_transposed_view():
    rng = np.random.default_rng(36)
    x0 = rng.normal(0, 2, (5, 7, 6))
    g0 = rng.normal(0, 1, x0.shape)
    for axis in range(3):
        for f in SOFTMAXES:
            fwd, bwd = getattr(fastact, f), getattr(fastact, f + "_backward")
            want, want_b = fwd(x0, axis=axis), bwd(g0, x0, axis=axis)
            for name, x in fresh_layouts(x0).items():
                assert fwd(x, axis=axis, out=x) is x and same_bits(x, want), (f, name, axis)
            for name, x in fresh_layouts(x0).items():
                assert bwd(g0, x, axis=axis, out=x) is x and same_bits(x, want_b), (f, name, axis)
    x = rng.normal(0, 1, (6, 9))
    want_y, want_s = fastact.rrelu(np.ascontiguousarray(x.T), training=True, seed=7)
    xt = x.T
    _, s = fastact.rrelu_(xt, training=True, seed=7)              # C-order index of x.T
    assert same_bits(xt, want_y) and same_bits(s, want_s)
    slopes = np.zeros((9, 12))[:, ::2]                              # non-contiguous slopes
    _, s2 = fastact.rrelu(x.T, training=True, seed=7, slopes=slopes)
    assert s2 is slopes and same_bits(slopes, want_s)


# ------------------------------------------------ channel family: aliasing in layouts
def channel_params(name, rng, C, shared):
    n = () if shared else (C,)
    if name == "prelu":
        return [rng.uniform(-0.5, 0.8, n)]
    if name == "srelu":
        tl = rng.uniform(-1.5, -0.2, n)
        return [tl, rng.uniform(0.05, 0.6, n), tl + rng.uniform(0.5, 2.5, n), rng.uniform(0.2, 1.8, n)]
    return [rng.uniform(-0.6, 0.9, (3,) + n), rng.uniform(-1.5, 1.5, (3,) + n)]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", ["prelu", "srelu", "apl"])
def test_channel_family_aliasing_in_every_layout(name, dtype):
    """out = x in the backward, grad = x = out, in place, per layout, also channels-last
    (inner == 1, parameters varying along the loop) and single-channel shapes."""
    rng = np.random.default_rng(24)
    fn, fn_ = getattr(fastact, name), getattr(fastact, name + "_")
    bw, bw_ = getattr(fastact, name + "_backward"), getattr(fastact, name + "_backward_")
    for shape, axis in [((4, 5, 300), 1), ((300, 5, 1), 1), ((40, 7), 1), ((3, 4, 9), 2), ((7, 1, 1), 1)]:
        for shared in (False, True):
            params = channel_params(name, rng, shape[axis], shared)
            x0 = rng.normal(0, 2, shape).astype(dtype)
            x0.ravel()[::7] = 0
            g0 = rng.normal(0, 1, shape).astype(dtype)
            y0 = fn(x0, *params, axis=axis)
            want = bw(g0, x0, *params, axis=axis)
            want_same = bw(x0, x0, *params, axis=axis)
            for lay in fresh_layouts(x0):
                t = fresh_layouts(x0)[lay]
                assert fn_(t, *params, axis=axis) is t and same_bits(t, y0), (lay, shape)
                t = fresh_layouts(x0)[lay]
                got = bw(g0, t, *params, axis=axis, out=t)                  # out is x
                assert got[0] is t and same_bits(t, want[0]) and all_same(got[1:], want[1:])
                t = fresh_layouts(g0)[lay]
                got = bw_(t, fresh_layouts(x0)[lay], *params, axis=axis)
                assert got[0] is t and all_same(got, want), (lay, shape)
                t = fresh_layouts(x0)[lay]
                assert all_same(bw(t, t, *params, axis=axis, out=t), want_same)   # all one
                t = fresh_layouts(x0)[lay]
                assert all_same(bw_(t, t, *params, axis=axis), want_same), (lay, shape)


# ---------------------------------------------------------------------------- dtypes
def test_backward_dtypes_follow_the_elementwise_promotion():
    """Mixed grad / x dtypes give what the elementwise backward gives (README dtypes)."""
    x = np.random.default_rng(25).normal(size=(3, 4, 6))
    kinds = [np.float16, np.float32, np.float64, np.int32, np.bool_]
    for gd in kinds:
        for xd in kinds:
            g, xx = x.astype(gd), x.astype(xd)
            want = fastact.leaky_relu_backward(g, xx).dtype
            got = [fastact.softmax_backward(g, xx), fastact.log_softmax_backward(g, y=xx),
                   fastact.glu_backward(g[..., :3], xx), fastact.maxout_backward(g[..., :3], xx, 2, axis=-1),
                   fastact.rrelu_backward(g, xx), fastact.rrelu_backward(g, slopes=xx),
                   *fastact.prelu_backward(g, xx, 0.25), *fastact.apl_backward(g, xx, [0.5], [0.0])]
            assert all(r.dtype == want for r in got), (gd, xd, [r.dtype for r in got])


# -------------------------------------------------------------------- torch as oracle
def special_mix(rng, shape, dtype):
    x = rng.normal(0, 1, shape) * rng.choice([1.0, 30.0, 1e3])
    mask = rng.random(shape) < 0.2
    x[mask] = rng.choice([np.inf, -np.inf, np.nan, 1e4, -1e4, 0.0, -0.0, 88.0, -1e30, 1e30], mask.sum())
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_softmax_family_with_special_values_along_every_axis_as_torch(dtype):
    """-inf / +inf / NaN / 1e4 mixes in 1-d to 5-d arrays, every axis, forward and both
    backwards (test_axis has special values in single rows only)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(26)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    btol = dict(rtol=1e-3, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    for shape in [(9,), (3, 7), (2, 3, 4), (2, 1, 3, 1, 4)]:
        for _ in range(2):
            x = special_mix(rng, shape, dtype)
            g = rng.normal(0, 1, shape).astype(dtype)
            for axis in range(-len(shape), len(shape)):
                for f in SOFTMAXES:
                    xt = torch.tensor(x, requires_grad=True)
                    yt = getattr(torch, f)(xt, axis)
                    (gt,) = torch.autograd.grad(yt, xt, torch.tensor(g))
                    y = getattr(fastact, f)(x, axis=axis)
                    np.testing.assert_allclose(y, yt.detach().numpy(), **tol, err_msg=f"{f} {axis}")
                    bwd = getattr(fastact, f + "_backward")
                    np.testing.assert_allclose(bwd(g, x, axis=axis), gt.numpy(), **btol)
                    np.testing.assert_allclose(bwd(g, y=y, axis=axis), gt.numpy(), **btol)


def test_glu_along_every_axis_of_a_5d_array_as_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(27)
    x = rng.normal(0, 3, (2, 4, 2, 6, 4))
    for axis in range(-5, 5):
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.glu(xt, axis)
        g = rng.normal(0, 1, tuple(yt.shape))
        (gt,) = torch.autograd.grad(yt, xt, torch.tensor(g))
        np.testing.assert_allclose(fastact.glu(x, axis=axis), yt.detach().numpy(), rtol=1e-14)
        # torch forms 1 - sigmoid(b), which cancels: compare against the size of the terms
        scale = np.abs(np.concatenate([g, g * np.split(x, 2, axis=axis)[0]], axis=axis))
        assert np.all(np.abs(fastact.glu_backward(g, x, axis=axis) - gt.numpy()) <= 1e-13 * scale + 1e-300)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_prelu_as_torch_on_special_values_5d_and_channels_last(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(28)
    for shape in [(2, 3, 2, 3, 4), (4, 1, 3), (3, 5)]:
        for shared in (True, False):
            C = shape[1]
            x = rng.normal(0, 1, shape).astype(dtype)
            flat = x.reshape(-1)
            flat[::5], flat[1::7], flat[2::11] = 0.0, -0.0, np.nan
            inf = np.zeros(shape, bool)
            inf.reshape(-1)[3::13] = True
            x[inf] = np.where(rng.random(inf.sum()) < 0.5, np.inf, -np.inf)
            w = rng.uniform(-1, 1, 1 if shared else C).astype(dtype)
            g = rng.normal(0, 1, shape).astype(dtype)
            xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
            yt = torch.nn.functional.prelu(xt, wt)
            gxt, gwt = torch.autograd.grad(yt, (xt, wt), torch.tensor(g))
            weight = w[0] if shared else w
            assert same_bits(fastact.prelu(x, weight), yt.detach().numpy())
            gx, gw = fastact.prelu_backward(g, x, weight)
            assert same_bits(gx, gxt.numpy())
            # the weight's gradient, in channels without infinite inputs
            finite_channels = ~np.moveaxis(inf, 1, 0).reshape(C, -1).any(axis=1)
            gwt = gwt.numpy()
            if shared:
                if finite_channels.all():
                    np.testing.assert_allclose(gw, gwt[0], rtol=1e-5, equal_nan=True)
            else:
                np.testing.assert_allclose(gw[finite_channels], gwt[finite_channels], rtol=1e-5,
                                           equal_nan=True)
            if len(shape) >= 3:                                   # channels-last memory
                cl = lambda a: np.moveaxis(np.moveaxis(a, 1, -1).copy(), -1, 1)
                assert same_bits(fastact.prelu(cl(x), weight), yt.detach().numpy())
                assert all_same(fastact.prelu_backward(cl(g), cl(x), weight), (gx, gw))


# ------------------------------------------------- srelu / apl: exact parameter gradients
def srelu_exact(x, g, tl, al, tr, ar):
    """(value, dx, d t_left, d a_left, d t_right, d a_right) with the docs' conventions."""
    X, G = Fraction(float(x)), Fraction(float(g))
    tl, al, tr, ar = (Fraction(float(v)) for v in (tl, al, tr, ar))
    if X <= tl:
        return tl + al * (X - tl), G * al, G * (1 - al), G * (X - tl), 0, 0
    if X >= tr:
        return tr + ar * (X - tr), G * ar, 0, 0, G * (1 - ar), G * (X - tr)
    return X, G, 0, 0, 0, 0


def apl_exact(x, g, a, b):
    X, G = Fraction(float(x)), Fraction(float(g))
    a = [Fraction(float(v)) for v in a]
    b = [Fraction(float(v)) for v in b]
    val = max(Fraction(0), X) + sum(ai * max(Fraction(0), bi - X) for ai, bi in zip(a, b))
    dx = G * ((1 if X > 0 else 0) - sum(ai for ai, bi in zip(a, b) if bi > X))
    da = [G * (bi - X) if bi > X else Fraction(0) for bi in b]
    db = [G * ai if bi > X else Fraction(0) for ai, bi in zip(a, b)]
    return val, dx, da, db


def within_ulps(got, exact, ulps, dtype, slack=Fraction(0)):
    e = float(exact)
    spacing = float(np.spacing(dtype.type(abs(e)))) if e != 0 else float(np.finfo(dtype).smallest_subnormal)
    return abs(Fraction(float(got)) - Fraction(exact)) <= ulps * Fraction(spacing) + slack


def kink_points(rng, dtype, kinks, n_random=16):
    pts = [rng.uniform(-4, 4, n_random)]
    for k in kinks:
        k = dtype.type(k)
        pts.append([k, np.nextafter(k, dtype.type(np.inf)), np.nextafter(k, dtype.type(-np.inf))])
    return np.concatenate(pts).astype(dtype)


def test_srelu_with_equal_thresholds_and_its_parameter_gradients_exactly():
    """float32 (every contribution exact in double): values and grad_x within 4 ULP, each
    parameter gradient within 1 ULP of the exact sum; kinks, t_left == t_right, a = 0,
    a < 0, a > 1."""
    dtype = np.dtype(np.float32)
    rng = np.random.default_rng(29)
    C = 4
    tl = rng.uniform(-2, 1, C).astype(dtype)
    tr = (tl + rng.uniform(0.1, 2, C)).astype(dtype)
    tr[0], tr[1] = tl[0], tl[1]                                 # equal thresholds
    al = rng.uniform(-1.5, 1.5, C).astype(dtype)
    ar = rng.uniform(-1.5, 1.5, C).astype(dtype)
    al[1], ar[2], al[3] = 0, -2, 1.75
    cols = [kink_points(rng, dtype, [tl[c], tr[c], 0.0]) for c in range(C)]
    x = np.repeat(np.stack(cols, axis=1)[None], 2, axis=0)       # (2, m, C): channels last
    g = rng.uniform(-2, 2, x.shape).astype(dtype)
    y = fastact.srelu(x, tl, al, tr, ar, axis=2)
    grads = fastact.srelu_backward(g, x, tl, al, tr, ar, axis=2)
    sums = [[Fraction(0)] * C for _ in range(4)]
    mags = [[Fraction(0)] * C for _ in range(4)]
    for idx in np.ndindex(x.shape):
        c = idx[2]
        v, dx, *dp = srelu_exact(x[idx], g[idx], tl[c], al[c], tr[c], ar[c])
        assert within_ulps(y[idx], v, 4, dtype), (idx, x[idx], y[idx], float(v))
        assert within_ulps(grads[0][idx], dx, 4, dtype), (idx, x[idx])
        for k in range(4):
            sums[k][c] += dp[k]
            mags[k][c] += abs(Fraction(dp[k]))
    for k in range(4):
        for c in range(C):
            assert within_ulps(grads[k + 1][c], sums[k][c], 1, dtype, mags[k][c] * Fraction(1, 2 ** 45)), (k, c)


def test_apl_parameter_gradients_exactly_with_repeated_hinges():
    dtype = np.dtype(np.float32)
    rng = np.random.default_rng(30)
    S, C = 3, 3
    a = rng.uniform(-1.5, 1.5, (S, C)).astype(dtype)
    b = rng.uniform(-2, 2, (S, C)).astype(dtype)
    b[1, 0] = b[0, 0]                                           # two hinges at one place
    a[2, 1] = -a[0, 1]
    cols = [kink_points(rng, dtype, list(b[:, c]) + [0.0]) for c in range(C)]
    x = np.stack(cols, axis=0)[None]                             # (1, C, m)
    g = rng.uniform(-2, 2, x.shape).astype(dtype)
    y = fastact.apl(x, a, b)
    gx, ga, gb = fastact.apl_backward(g, x, a, b)
    sa = [[Fraction(0)] * C for _ in range(S)]
    sb = [[Fraction(0)] * C for _ in range(S)]
    ma = [[Fraction(0)] * C for _ in range(S)]
    mb = [[Fraction(0)] * C for _ in range(S)]
    for idx in np.ndindex(x.shape):
        c = idx[1]
        v, dx, da, db = apl_exact(x[idx], g[idx], a[:, c], b[:, c])
        assert within_ulps(y[idx], v, 4, dtype), (idx, x[idx])
        assert within_ulps(gx[idx], dx, 4, dtype), (idx, x[idx])
        for s in range(S):
            sa[s][c] += da[s]
            sb[s][c] += db[s]
            ma[s][c] += abs(da[s])
            mb[s][c] += abs(db[s])
    for s in range(S):
        for c in range(C):
            assert within_ulps(ga[s, c], sa[s][c], 1, dtype, ma[s][c] * Fraction(1, 2 ** 45))
            assert within_ulps(gb[s, c], sb[s][c], 1, dtype, mb[s][c] * Fraction(1, 2 ** 45))


def test_apl_without_hinges_backward():
    """S = 0 in both forms: relu's backward and empty parameter gradients of their shapes."""
    rng = np.random.default_rng(31)
    x = rng.normal(size=(3, 4))
    x[0, 0] = 0.0
    g = rng.normal(size=(3, 4))
    for a, b in ((np.zeros(0), np.zeros(0)), (np.zeros((0, 4)), np.zeros((0, 4))),
                 (np.zeros(0), np.zeros((0, 4)))):
        gx, ga, gb = fastact.apl_backward(g, x, a, b)
        assert np.array_equal(gx, np.where(x > 0, g, 0.0))        # (-0.0 where g < 0)
        assert ga.shape == a.shape and gb.shape == b.shape
        t = g.copy()
        assert fastact.apl_backward_(t, x, a, b)[0] is t and same_bits(t, gx)


# ---------------------------------------------------------------------- argument types
def test_numpy_integer_axis_and_pieces_are_ints_and_other_types_are_not():
    x = np.random.default_rng(32).normal(size=(2, 6))
    assert same_bits(fastact.softmax(x, axis=np.int64(0)), fastact.softmax(x, axis=0))
    assert same_bits(fastact.glu(x, axis=np.int32(-1)), fastact.glu(x, axis=-1))
    assert same_bits(fastact.maxout(x, np.int8(3), axis=np.uint8(1)), fastact.maxout(x, 3, axis=1))
    assert same_bits(fastact.prelu(x, np.ones(6), axis=np.int64(1)), fastact.prelu(x, np.ones(6)))
    x0 = x.copy()
    for bad in (np.True_, np.array(1), np.float64(1.0), None, "1"):
        for call in (lambda: fastact.softmax_(x, axis=bad), lambda: fastact.glu(x, axis=bad),
                     lambda: fastact.maxout(x, 2, axis=bad), lambda: fastact.prelu_(x, 0.1, axis=bad)):
            with pytest.raises(TypeError, match="axis must be an int"):
                call()
    for bad in (np.True_, np.float32(2.0), np.array(2), "2"):
        with pytest.raises(TypeError, match="pieces must be an int"):
            fastact.maxout(x, bad)
    assert same_bits(x, x0)


def test_read_only_out_is_rejected_and_left_alone():
    x = np.random.default_rng(33).normal(size=(3, 4))
    for call, shape in ((lambda o: fastact.softmax(x, out=o), (3, 4)),
                        (lambda o: fastact.log_softmax_backward(x, y=x, out=o), (3, 4)),
                        (lambda o: fastact.glu(x, out=o), (3, 2)),
                        (lambda o: fastact.maxout_backward(x[:, :2], x, 2, out=o), (3, 4)),
                        (lambda o: fastact.srelu(x, -1, 0.5, 1, 0.5, out=o), (3, 4)),
                        (lambda o: fastact.rrelu(x, training=True, seed=1, out=o), (3, 4))):
        base = np.arange(float(np.prod(shape))).reshape(shape)
        out = base.copy()
        out.flags.writeable = False
        with pytest.raises(ValueError, match="out is read-only"):
            call(out)
        assert same_bits(out, base)


# ------------------------------------------------------------------- long rows, GIL
def test_float32_rows_of_200000_elements_stay_within_4_ulp():
    rng = np.random.default_rng(34)
    for shape, axis in (((2, 200_000), -1), ((200_000, 3), 0)):
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        xl = x.astype(np.longdouble)
        e = np.exp(xl - xl.max(axis=axis, keepdims=True))
        want = e / e.sum(axis=axis, keepdims=True)
        for got, ref in ((fastact.softmax(x, axis=axis), want),
                         (fastact.log_softmax(x, axis=axis), np.log(want))):
            err = np.abs(got.astype(np.longdouble) - ref) / np.spacing(np.abs(ref).astype(np.float32))
            assert err.max() <= 4
        s = fastact.softmax(x, axis=axis).astype(np.float64).sum(axis=axis)
        assert np.all(np.abs(s - 1) <= 1e-6)


def test_the_gil_is_released_during_a_long_kernel(restore_threads):
    """Python code in another thread runs while the kernel computes: the main thread
    keeps iterating through the middle half of the call."""
    fastact.set_num_threads(1)
    x = np.random.default_rng(35).normal(size=(3000, 3000))
    g = np.ones_like(x)
    out = np.empty_like(x)
    for work in (lambda: fastact.softmax(x, axis=0, out=out),
                 lambda: fastact.prelu_backward(g, x, 0.25, out=out)):
        span = {}

        def run():
            span["start"] = time.perf_counter()
            work()                                     # one call: no Python between
            span["stop"] = time.perf_counter()

        stamps = []
        th = threading.Thread(target=run)
        th.start()
        while th.is_alive():
            stamps.append(time.perf_counter())
        th.join()
        lo = span["start"] + 0.25 * (span["stop"] - span["start"])
        hi = span["stop"] - 0.25 * (span["stop"] - span["start"])
        stamps = np.array(stamps)
        assert np.count_nonzero((stamps > lo) & (stamps < hi)) > 100


# ---------------------------------------------- regressions found by review (B1 - B5)
@pytest.mark.parametrize("dtype", FLOATS)
def test_infinite_parameter_gradient_contributions_give_inf_not_nan(dtype):
    """An infinite (or overflowing) contribution to a parameter gradient sums to ±inf."""
    x = np.array([[-np.inf, -1.0]], dtype)
    assert fastact.prelu_backward(np.ones_like(x), x, 0.25, axis=0)[1] == -np.inf
    big = np.array([[1e300, 1e300]])
    assert fastact.prelu_backward(big, np.array([[-1e10, -1e10]]), 0.25, axis=0)[1] == -np.inf
    _, ga, gb = fastact.apl_backward(np.ones_like(x), -x, [1.0], [0.0])    # x = +inf, 1
    assert ga == 0 and gb == 0                  # +inf: every hinge is off
    _, ga, gb = fastact.apl_backward(np.ones_like(x), x, [1.0], [0.0])     # x = -inf, -1
    assert ga == np.inf and gb == 2
    grads = fastact.srelu_backward(np.ones_like(x), x, -0.5, 0.5, 0.5, 2.0)
    assert grads[2] == -np.inf and np.isfinite(grads[1])


def test_nan_input_makes_every_parameter_gradient_nan():
    x = np.array([[np.nan, -1.0]])
    g = np.ones_like(x)
    assert all(np.isnan(v) for v in fastact.srelu_backward(g, x, -0.5, 0.5, 0.5, 2.0)[1:])
    assert all(np.isnan(v) for v in fastact.apl_backward(g, x, [1.0], [0.0])[1:])
    assert np.isnan(fastact.prelu_backward(g, x, 0.25)[1])


@pytest.mark.parametrize("dtype", FLOATS)
def test_flat_srelu_piece_is_its_threshold_at_infinity(dtype):
    x = np.array([[-np.inf, np.inf, np.nan]], dtype)
    y = fastact.srelu(x, -1.0, 0.0, 1.0, 0.0, axis=0)
    assert y[0, 0] == -1 and y[0, 1] == 1 and np.isnan(y[0, 2])


def test_shared_parameters_allocate_nothing_per_channel():
    """Shared parameters on a huge channel axis: no (nparams, C) table or sums (this
    would need 6 GB if they were allocated per channel)."""
    x = np.zeros((0, 1 << 28), np.float32)
    assert fastact.prelu(x, 0.25).shape == x.shape
    a = b = np.zeros(3)
    g, ga, gb = fastact.apl_backward(x, x, a, b)
    assert ga.shape == (3,) and not ga.any()
    x = np.linspace(-2, 2, 3 * 40000).reshape(3, 40000)
    ref = np.where(x > 0, x, 0.25 * x)
    assert same_bits(fastact.prelu(x, 0.25), ref)
    gx, gw = fastact.prelu_backward(np.ones_like(x), x, np.float64(0.25))
    assert gw == pytest.approx(x[x <= 0].sum(), rel=1e-15)


@pytest.mark.parametrize("call", [
    lambda: fastact.softmax(np.ones(3), axis=2 ** 63),
    lambda: fastact.maxout(np.ones((2, 4)), 2 ** 63),
    lambda: fastact.prelu(np.ones((2, 3)), 0.1, axis=2 ** 63),
    lambda: fastact.glu(np.ones((2, 4)), axis=-2 ** 70),
])
def test_huge_axis_or_pieces_is_a_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_written_arrays_with_overlapping_elements_are_rejected():
    """A writeable broadcast view (zero stride) as in-place target, out or slopes."""
    base = np.array([[1.0, 2.0, 3.0, 4.0]])
    x = np.lib.stride_tricks.as_strided(base, shape=(3, 4), strides=(0, 8))
    assert x.flags.writeable
    before = x.copy()
    for call in (lambda: fastact.softmax_(x), lambda: fastact.prelu_(x, 0.25, axis=1),
                 lambda: fastact.leaky_relu_(x), lambda: fastact.relu(np.ones((3, 4)), out=x),
                 lambda: fastact.rrelu(np.ones((3, 4)), training=True, seed=1, slopes=x)):
        with pytest.raises(ValueError, match="zero stride"):
            call()
        assert same_bits(x, before)


def test_no_floating_point_error_escapes_after_writing():
    """Overflow to inf is a result, not an error, even under np.errstate(all='raise')."""
    g = np.ones((1, 2))
    with np.errstate(all="raise"):
        gx, gw = fastact.prelu_backward_(g, np.array([[-1e308, -1e308]]), 0.25)
        assert gw == -np.inf
        y, s = fastact.rrelu(np.full(4, -1.0, np.float16), lower=-1e5, upper=-7e4,
                             training=True, seed=3)
        assert s.dtype == np.float16 and np.isinf(s).all()


@pytest.mark.parametrize("channels", [2, 3, 16, 63])
def test_few_channels_last_are_tiled_into_long_rows(channels, restore_threads):
    """(N, C) with small C runs R rows as one of R*C channels (and the N % R rows left as
    they are): same values, exact parameter gradients, same bits for every thread count
    and layout."""
    import math
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((1000 * channels + 7, channels)) * 3
    g = rng.standard_normal(x.shape)
    w = np.linspace(0.1, 0.4, channels)
    assert same_bits(fastact.prelu(x, w), np.where(x > 0, x, w * x))
    gx, gw = fastact.prelu_backward(g, x, w)
    assert same_bits(gx, np.where(x > 0, g, w * g))
    terms = np.where(x <= 0, g * x, 0.0)          # each rounded once, as in the kernel
    exact = [math.fsum(terms[:, c]) for c in range(channels)]
    bound = 4 * np.finfo(float).eps * np.abs(terms).sum(axis=0)   # a sum of rounded terms
    assert (np.abs(gw - exact) <= bound).all()
    for threads, layout in [(1, np.asfortranarray(x)), (2, x), (3, x[::-1][::-1])]:
        fastact.set_num_threads(threads)
        assert same_bits(fastact.prelu_backward(g, layout, w)[1], gw)


@pytest.mark.parametrize("view", [
    lambda: np.zeros((2, 2, 13))[:, 0:0, ::2][:, :, :6],     # empty, strides that do not merge
    lambda: np.zeros((2, 0, 6)),
    lambda: np.zeros((3, 0))[:, ::-1].T.T,                    # no channels at all
    lambda: np.zeros((0, 6))])
def test_empty_views_of_learnable_activations(view):
    """Empty arrays, also views whose strides would not merge and a channel axis of length
    0, give empty results and zero parameter gradients. (An empty view whose copy still
    did not merge once left the kernel's view uninitialized: SIGFPE, a crash.)"""
    x = view()
    c = x.shape[-1]
    for name, params in (("prelu", (np.full(c, 0.2),)), ("apl", (np.ones((3, c)), np.ones((3, c)))),
                         ("srelu", (np.full(c, -1.0), np.full(c, 0.1), np.ones(c), np.full(c, 0.7)))):
        f, f_, b, b_ = (getattr(fastact, name + s) for s in ("", "_", "_backward", "_backward_"))
        assert f(x, *params, axis=-1).shape == x.shape
        assert f_(x, *params, axis=-1) is x
        for grads in (b(x, x, *params, axis=-1), b_(x.copy(), x, *params, axis=-1)):
            assert grads[0].shape == x.shape
            assert all(gp.shape == np.shape(p) and not gp.any() for gp, p in zip(grads[1:], params))
