"""Property-based fuzzing (hypothesis) of every activation in every API form.

Each example draws an activation (the catalog's ``CASES``, and the layer functions
softmax, log_softmax, maxout, glu, prelu, srelu, apl, rrelu), a dtype (native, converted
or rejected), a shape (0-d, empty, 1-3-D, sometimes ~70000 elements so the kernels split
across threads), a memory layout (negative steps, strided slices, transposes, a byte
buffer viewed at an odd offset, non-native byte order) and values mixing normals with
NaN, +-inf, +-0, subnormals and the float extremes. Properties, from the README's
contract: no crash; every layout gives the bits of a contiguous, aligned, native copy;
the in-place forms and ``out=`` give the out-of-place bits and return the array passed;
result dtypes follow the dtype rules; NaN/inf/finite as an independent reference says
(mpmath via tests/reference.py, NumPy for the layer functions); errors are TypeError or
ValueError naming the function, raised before anything is written.

Examples are derandomized (reproducible in CI) and budgeted to keep the file under ~30 s.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fastact
from conftest import CASES, Api, rounded_params, same_bits
from reference import evaluate


def fuzz(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
CONVERTED = [np.float16, np.int8, np.int32, np.int64, np.uint8, np.uint64, np.bool_]
REJECTED = [np.complex64, np.complex128, object, np.longdouble, np.str_]
LAYOUTS = ["C", "F", "reversed", "strided", "transposed", "unaligned", "byteswapped"]
LARGE_SHAPES = [(70001,), (3, 23339), (263, 5, 53)]
shapes = st.one_of(*[st.lists(st.integers(0, 7), max_size=3).map(tuple)] * 4,
                   st.sampled_from(LARGE_SHAPES))


# ------------------------------------------------------------------ drawing arrays
@st.composite
def values(draw, dtype, shape):
    """Normals at a drawn scale, a drawn fraction of them replaced by special values."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = np.array(rng.standard_normal(shape) * draw(st.sampled_from([1.0, 4.0, 40.0, 1e4])))
    if dtype.kind == "f":
        fi = np.finfo(dtype)
        pool = [np.nan, np.inf, -np.inf, 0.0, -0.0, fi.max, -fi.max, fi.smallest_normal,
                -fi.smallest_normal, fi.smallest_subnormal, -fi.smallest_subnormal, 1e-30]
        mask = rng.random(shape) < draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
        x[mask] = rng.choice(np.array(pool, float), int(mask.sum()))
    elif dtype.kind in "iub":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        x = np.rint(x) if info is None else np.clip(np.rint(x * 20), info.min, info.max)
    with np.errstate(all="ignore"):
        return np.array(x).astype(dtype)


def layout(a, kind, seed=0):
    """A new array holding a's values in the memory layout ``kind``."""
    if kind == "C":
        return a.copy()
    if kind == "F":
        return np.array(a, order="F")
    if kind == "reversed":
        flip = tuple(slice(None, None, -1) for _ in a.shape) + (Ellipsis,)
        return a[flip].copy()[flip]
    if kind == "strided":
        view = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)[
            tuple(slice(1, None, 2) for _ in a.shape) + (Ellipsis,)]
        view[...] = a
        return view
    if kind == "transposed":
        perm = np.random.default_rng(seed).permutation(a.ndim)
        return a.transpose(perm).copy().transpose(np.argsort(perm))
    if kind == "unaligned":
        buf = np.zeros(a.nbytes + a.itemsize + 1, np.uint8)
        view = buf[1:1 + a.nbytes].view(a.dtype).reshape(a.shape)
        view[...] = a
        return view
    assert kind == "byteswapped"
    return a.astype(a.dtype.newbyteorder())


def native(a):
    """A contiguous, aligned, native-byte-order copy."""
    return np.array(a, order="C", dtype=a.dtype.newbyteorder("="))


def root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def raises_cleanly(name, call, *arrays):
    """Run ``call``; if it raises it must be a TypeError/ValueError naming ``name`` and
    leave the memory of every array untouched. Returns the result or the exception."""
    arrays = [a for a in arrays if isinstance(a, np.ndarray)]
    before = [root(a).tobytes() for a in arrays]
    try:
        return call()
    except (TypeError, ValueError) as e:
        assert name in str(e), f"error without the function's name: {e!r}"
        assert all(root(a).tobytes() == b for a, b in zip(arrays, before)), f"modified: {e}"
        return e


def must_raise(exc, name, call, *arrays):
    got = raises_cleanly(name, call, *arrays)
    assert isinstance(got, exc), f"{name}: expected {exc}, got {got!r}"


def in_place(name, fn, target, want):
    """An in-place call on ``target``: the native float dtypes are written and returned,
    others (non-native byte order) are a TypeError that writes nothing."""
    if target.dtype.isnative and target.dtype in (F32, F64):
        got = fn(target)
        got = got[0] if isinstance(got, tuple) else got
        assert got is target and same_bits(native(target), want), name
    else:
        must_raise(TypeError, name, lambda: fn(target), target)


def with_out(name, fn, want, kind):
    """``fn(out=o)`` for an ``o`` in layout ``kind`` returns o holding ``want``."""
    o = layout(np.zeros(want.shape, want.dtype), kind)
    if o.dtype.isnative:
        got = fn(o)
        got = got[0] if isinstance(got, tuple) else got
        assert got is o and same_bits(native(o), want), name
    else:
        must_raise(TypeError, name, lambda: fn(o), o)


# --------------------------------------------------- independent finite/NaN check
def sample(a, k=24):
    flat = np.asarray(a).ravel()
    return np.unique(np.linspace(0, flat.size - 1, min(flat.size, k)).astype(int))


def assert_classes_as_reference(got, ref_hi, dtype, label):
    """NaN where the reference is NaN; finite where it is well inside the range; inf
    where it is far beyond (the rounding boundary itself is not checked)."""
    fmax = float(np.finfo(dtype).max)
    got = np.asarray(got, np.float64)
    with np.errstate(invalid="ignore"):
        nan, big, small = np.isnan(ref_hi), np.abs(ref_hi) > 2 * fmax, np.abs(ref_hi) < fmax / 2
    assert (np.isnan(got) == nan).all(), (label, got, ref_hi)
    assert np.isinf(got[big]).all() and np.isfinite(got[small]).all(), (label, got, ref_hi)


def check_against_reference(case, x, g, y, dx):
    dtype, idx = x.dtype, sample(x)
    if not idx.size:
        return
    xs, gs = x.ravel()[idx], g.ravel()[idx]
    ref, params = case.ref, rounded_params(case, dtype)
    hi, _ = evaluate(ref.forward, xs, params, ref.extra_dps)
    assert_classes_as_reference(y.ravel()[idx], hi, dtype, f"{case.id} forward")
    fin = np.isfinite(gs)  # inf * f'(x -> inf) has no clear reference
    hi, _ = evaluate(ref.dx, xs[fin], params, ref.extra_dps, scale=gs[fin])
    assert_classes_as_reference(dx.ravel()[idx][fin], hi, dtype, f"{case.id} backward")


# ----------------------------------------------------------------- elementwise
@fuzz(250)
@given(data=st.data())
def test_elementwise_every_form_every_layout_gives_the_contiguous_bits(data):
    case = data.draw(st.sampled_from(CASES), "case")
    api, name = Api(case), case.act.name
    dtype = data.draw(st.sampled_from([F32, F64]))
    shape = data.draw(shapes, "shape")
    x0, g0 = data.draw(values(dtype, shape)), data.draw(values(dtype, shape))
    lx, lg, lo = (data.draw(st.sampled_from(LAYOUTS)) for _ in range(3))
    y, dx = api.forward(x0), api.backward(g0, x0)
    assert y.dtype == dtype and y.shape == shape and dx.dtype == dtype and dx.shape == shape
    x, g = layout(x0, lx, 1), layout(g0, lg, 2)
    snapshot = root(x).tobytes(), root(g).tobytes()
    assert same_bits(api.forward(x), y) and same_bits(api.backward(g, x), dx)
    assert (root(x).tobytes(), root(g).tobytes()) == snapshot, "out-of-place wrote its input"
    with_out(name, lambda o: api.forward(x, out=o), y, lo)
    with_out(name + "_backward", lambda o: api.backward(g, x, out=o), dx, lo)
    in_place(name + "_", api.forward_, layout(x0, lx, 1), y)
    in_place(name + "_backward_", lambda t: api.backward_(t, x), layout(g0, lg, 2), dx)
    if api.has_y:
        dy, yv = api.backward(g0, y=y), layout(y, lo, 3)
        assert same_bits(api.backward(g, y=yv), dy)
        in_place(name + "_backward_", lambda t: api.backward_(t, y=yv), layout(g0, lg), dy)
    check_against_reference(case, x0, g0, y, dx)


def result_dtype(*arrays):
    rt = np.result_type(*arrays)
    return F64 if rt.kind in "biu" else rt


@fuzz(100)
@given(data=st.data())
def test_converted_dtypes_compute_in_float32_or_float64(data):
    case = data.draw(st.sampled_from(CASES), "case")
    api, name = Api(case), case.act.name
    xt, gt = data.draw(st.sampled_from(CONVERTED)), data.draw(st.sampled_from(CONVERTED + [F32, F64]))
    shape = data.draw(shapes, "shape")
    x = layout(data.draw(values(xt, shape)), data.draw(st.sampled_from(LAYOUTS)))
    g = layout(data.draw(values(gt, shape)), data.draw(st.sampled_from(LAYOUTS)))
    for (rt, want, call) in [
            (result_dtype(x), lambda c: api.forward(x.astype(c)), lambda **o: api.forward(x, **o)),
            (result_dtype(g, x), lambda c: api.backward(g.astype(c), x.astype(c)),
             lambda **o: api.backward(g, x, **o))]:
        compute = F32 if rt == np.float16 else rt
        expected = want(compute).astype(rt)
        assert same_bits(call(), expected)
        out = np.full(shape, 7, rt)
        assert call(out=out) is out and same_bits(out, expected)
    must_raise(TypeError, name + "_", lambda: api.forward_(x), x)
    must_raise(TypeError, name + "_backward_", lambda: api.backward_(x, g), x, g)


@fuzz(40)
@given(data=st.data())
def test_rejected_dtypes_raise_type_error_and_write_nothing(data):
    case = data.draw(st.sampled_from(CASES), "case")
    api, name = Api(case), case.act.name
    shape = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=2).map(tuple))
    bad = np.ones(shape).astype(data.draw(st.sampled_from(REJECTED)))
    ok, out = np.ones(shape), np.zeros(shape)
    calls = {name: lambda: api.forward(bad, out=out), name + "_": lambda: api.forward_(bad),
             name + "_backward": lambda: api.backward(ok, bad, out=out),
             name + "_backward_": lambda: api.backward_(ok, bad)}
    calls.update({name: call(bad, ok, out) for name, call in LAYER_CALLS.items()})
    which = data.draw(st.sampled_from(sorted(calls)))
    must_raise(TypeError, which, calls[which], bad, ok, out)


LAYER_CALLS = {  # name -> (bad, ok, out) -> a call of that name with ``bad`` somewhere
    "softmax": lambda b, o, out: lambda: fastact.softmax(b, axis=-1, out=out),
    "log_softmax_": lambda b, o, out: lambda: fastact.log_softmax_(b, axis=-1),
    "softmax_backward": lambda b, o, out: lambda: fastact.softmax_backward(o, b, axis=-1),
    "log_softmax_backward_": lambda b, o, out: lambda: fastact.log_softmax_backward_(o, y=b, axis=-1),
    "maxout": lambda b, o, out: lambda: fastact.maxout(b, 1, axis=-1),
    "maxout_backward": lambda b, o, out: lambda: fastact.maxout_backward(o, b, 1, axis=-1),
    "glu": lambda b, o, out: lambda: fastact.glu(b, axis=-1),
    "prelu": lambda b, o, out: lambda: fastact.prelu(b, 0.25, axis=-1),
    "srelu_": lambda b, o, out: lambda: fastact.srelu_(b, -1.0, 0.1, 1.0, 0.5, axis=-1),
    "apl_backward": lambda b, o, out: lambda: fastact.apl_backward(o, b, [0.2], [0.0], axis=-1),
    "rrelu": lambda b, o, out: lambda: fastact.rrelu(b, training=True, seed=1),
    "rrelu_backward": lambda b, o, out: lambda: fastact.rrelu_backward(o, slopes=b),
}


NOT_NUMBERS = [None, "0.5", [0.5], object(), 1j]
param_values = st.one_of(st.floats(width=64), st.integers(-10 ** 6, 10 ** 6),
                         st.sampled_from([0.0, -0.0, 1e-300, -1e-300, np.float32(0.5),
                                          np.int64(-3), np.nan, np.inf, -np.inf] + NOT_NUMBERS))


def expected_param_error(case, name, v):
    """The error the contract requires for hyper-parameter ``name`` = v (None: must
    work; "either": the contract is silent, e.g. NaN or inf)."""
    p = next(p for p in case.act.params if p.name == name)
    if p.choices:
        return None if v in p.choices else ValueError if isinstance(v, str) else (TypeError, ValueError)
    if not isinstance(v, (int, float, np.number)) or isinstance(v, complex):
        return TypeError
    v = float(v)
    if (p.check == "nonzero" and v == 0) or (p.check == "nonnegative" and v < 0):
        return ValueError
    kw = {**case.numeric, name: v}
    if case.act.constraint and not eval(case.act.constraint, {}, kw):
        return ValueError
    return None if np.isfinite(v) else "either"


@fuzz(80)
@given(data=st.data())
def test_hyper_parameters_valid_or_rejected_as_the_contract_says(data):
    case = data.draw(st.sampled_from([c for c in CASES if c.act.params]), "case")
    p = data.draw(st.sampled_from(case.act.params))
    v = data.draw(st.sampled_from(list(p.choices) + ["exact", None, 1.0]) if p.choices
                  else param_values, "value")
    api, name = Api(case).replace(**{p.name: v}), case.act.name
    dtype = data.draw(st.sampled_from([F32, F64]))
    x, g = data.draw(values(dtype, (33,))), data.draw(values(dtype, (33,)))
    expect = expected_param_error(case, p.name, v)
    got = raises_cleanly(name, lambda: api.forward(x), x)
    if expect not in (None, "either"):
        assert isinstance(got, expect), (case.id, p.name, v, got)
        for suffix, call in [("_", lambda: api.forward_(x)), ("_backward", lambda: api.backward(g, x)),
                             ("_backward_", lambda: api.backward_(g, x))]:
            must_raise(expect, name + suffix, call, x, g)
        return
    assert expect == "either" or not isinstance(got, Exception), (case.id, p.name, v, got)
    if not isinstance(got, Exception):
        in_place(name + "_", api.forward_, x.copy(), got)
        in_place(name + "_backward_", lambda t: api.backward_(t, x), g.copy(), api.backward(g, x))


def test_hyper_parameter_too_large_for_a_float_is_a_value_error_naming_the_function():
    for huge in (10 ** 400, -(10 ** 5000)):       # the second has more digits than str() allows
        with pytest.raises(ValueError, match="elu: alpha is too large for a float64"):
            fastact.elu(np.ones(3), alpha=huge)
    with pytest.raises(ValueError, match="rrelu: upper is too large"):
        fastact.rrelu(np.ones(3), upper=10 ** 400, training=True)


# ------------------------------------------------------------- layer functions
def forms(name):
    return [getattr(fastact, name + s, None) for s in ("", "_", "_backward", "_backward_")]


@st.composite
def layer_shape_and_axis(draw):
    shape = draw(shapes)
    axis = draw(st.integers(-len(shape), len(shape) - 1)) if shape else draw(st.sampled_from([0, -1]))
    return shape, axis, (shape[axis] if shape else 1)


def draw_layer_case(data, names):
    """(name, dtype, shape, axis, its length, x, three layouts) for a layer-function test."""
    name = data.draw(st.sampled_from(names))
    dtype = data.draw(st.sampled_from([F32, F64]))
    shape, axis, n = data.draw(layer_shape_and_axis())
    x0 = data.draw(values(dtype, shape))
    return name, dtype, shape, axis, n, x0, tuple(data.draw(st.sampled_from(LAYOUTS)) for _ in range(3))


def rows(a, axis):
    """(..., n): the rows along ``axis`` as the last axis (a 0-d array is one row of 1)."""
    return np.moveaxis(a, axis, -1) if a.ndim else a.reshape(1)


@fuzz(100)
@given(data=st.data())
def test_softmax_family_every_form_every_layout(data):
    name, dtype, shape, axis, _, x0, (lx, lg, lo) = draw_layer_case(data, ["softmax", "log_softmax"])
    f, f_, b, b_ = forms(name)
    g0 = data.draw(values(dtype, shape))
    y, dx = f(x0, axis=axis), b(g0, x0, axis=axis)
    dy = b(g0, y=y, axis=axis)
    assert y.dtype == dx.dtype == dy.dtype == dtype and y.shape == dx.shape == shape
    x, g, yv = layout(x0, lx, 1), layout(g0, lg, 2), layout(y, lo, 3)
    assert same_bits(f(x, axis=axis), y) and same_bits(b(g, x, axis=axis), dx)
    assert same_bits(b(g, y=yv, axis=axis), dy)
    with_out(name, lambda o: f(x, axis=axis, out=o), y, lo)
    with_out(name + "_backward", lambda o: b(g, y=yv, axis=axis, out=o), dy, lx)
    in_place(name + "_", lambda t: f_(t, axis=axis), layout(x0, lx, 1), y)
    in_place(name + "_backward_", lambda t: b_(t, x, axis=axis), layout(g0, lg, 2), dx)
    in_place(name + "_backward_", lambda t: b_(t, y=yv, axis=axis), layout(g0, lg, 2), dy)
    xr = rows(x0, axis)  # the documented NaN rows (as torch), in NumPy
    nan_row = np.isnan(xr).any(-1) | np.isposinf(xr).any(-1) | np.isneginf(xr).all(-1)
    yr = rows(y, axis)
    assert (np.isnan(yr).all(-1) == nan_row).all() and not np.isnan(yr[~nan_row]).any()
    bad_axis = data.draw(st.sampled_from([len(shape) + 1, -len(shape) - 2, 0.0, None]))
    exc = ValueError if isinstance(bad_axis, int) else TypeError
    xn = native(x0)
    must_raise(exc, name + "_", lambda: f_(xn, axis=bad_axis), xn)
    must_raise(exc, name + "_backward", lambda: b(g, x, axis=bad_axis, out=xn), xn, g)


@fuzz(100)
@given(data=st.data())
def test_maxout_and_glu_every_layout_and_as_numpy(data):
    name, dtype, shape, axis, n, x0, (lx, lg, lo) = draw_layer_case(data, ["maxout", "glu"])
    f, _, b, _ = forms(name)
    x = layout(x0, lx, 1)
    if name == "maxout":
        args = (data.draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0] or [1, 2, 3])),)
    elif n % 2:
        return must_raise(ValueError, "glu", lambda: f(x, axis=axis), x)
    else:
        args = ()
    y = f(x0, *args, axis=axis)
    g0 = data.draw(values(dtype, y.shape))
    dx = b(g0, x0, *args, axis=axis)
    assert y.dtype == dx.dtype == dtype and dx.shape == shape
    g = layout(g0, lg, 2)
    assert same_bits(f(x, *args, axis=axis), y) and same_bits(b(g, x, *args, axis=axis), dx)
    with_out(name, lambda o: f(x, *args, axis=axis, out=o), y, lo)
    with_out(name + "_backward", lambda o: b(g, x, *args, axis=axis, out=o), dx, lo)
    xr, yr, gr, dr = rows(x0, axis), rows(y, axis), rows(g0, axis), rows(dx, axis)
    if name == "maxout":  # a selection: NumPy's grouped max; the gradient lands once per group
        groups = xr.shape[:-1] + (xr.shape[-1] // args[0], args[0])
        assert np.array_equal(yr, xr.reshape(groups).max(-1), equal_nan=True)
        routed = dr.reshape(groups)
        assert np.array_equal(routed.sum(-1), gr, equal_nan=True)
        assert ((routed != 0).sum(-1) <= 1).all()
    else:  # a * sigmoid(b): NaN from NaN halves, finite from finite ones
        a, bb = np.split(xr, 2, axis=-1)
        assert (np.isnan(yr)[np.isnan(a) | np.isnan(bb)]).all()
        assert np.isfinite(yr[np.isfinite(a) & np.isfinite(bb)]).all()


def channel_params(name, rng, dtype, C, shared, S):
    n = () if shared else (C,)
    if name == "prelu":
        return [rng.uniform(-1, 1, n)]
    if name == "srelu":
        tl = rng.uniform(-2, 0, n)
        return [tl, rng.uniform(-1, 2, n), tl + rng.uniform(0, 3, n), rng.uniform(-1, 2, n)]
    return [rng.uniform(-1, 1, (S,) + n), rng.uniform(-2, 2, (S,) + n)]


@fuzz(100)
@given(data=st.data())
def test_channel_activations_every_form_every_layout(data):
    name = data.draw(st.sampled_from(["prelu", "srelu", "apl"]))
    f, f_, b, b_ = forms(name)
    dtype = data.draw(st.sampled_from([F32, F64]))
    shape = data.draw(shapes, "shape")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1)) if len(shape) >= 2 else 1
    C = shape[axis] if len(shape) >= 2 else 1
    shared = len(shape) < 2 or data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    params = channel_params(name, rng, dtype, C, shared, data.draw(st.integers(0, 3)))
    x0, g0 = data.draw(values(dtype, shape)), data.draw(values(dtype, shape))
    lx, lg, lo = (data.draw(st.sampled_from(LAYOUTS)) for _ in range(3))
    x, g = layout(x0, lx, 1), layout(g0, lg, 2)
    if not shared and data.draw(st.booleans()):  # a parameter of the wrong length
        bad = [np.ones(p.shape[:-1] + (C + 1,)) for p in params]
        for fn, args, written in [(name, (x,), None), (name + "_", (x,), lx),
                                  (name + "_backward", (g, x), None),
                                  (name + "_backward_", (g, x), lg)]:
            # an in-place form may first refuse to write a non-native array: also right
            exc = (ValueError, TypeError) if written == "byteswapped" else ValueError
            must_raise(exc, fn, lambda: getattr(fastact, fn)(*args, *bad, axis=axis), x, g)
    y, grads = f(x0, *params, axis=axis), b(g0, x0, *params, axis=axis)
    assert y.dtype == grads[0].dtype == dtype and len(grads) == 1 + len(params)
    assert [r.shape for r in grads] == [shape] + [np.shape(p) for p in params]
    assert same_bits(f(x, *params, axis=axis), y)
    assert all(same_bits(r, w) for r, w in zip(b(g, x, *params, axis=axis), grads))
    with_out(name, lambda o: f(x, *params, axis=axis, out=o), y, lo)
    with_out(name + "_backward", lambda o: b(g, x, *params, axis=axis, out=o), grads[0], lo)
    in_place(name + "_", lambda t: f_(t, *params, axis=axis), layout(x0, lx, 1), y)
    t = layout(g0, lg, 2)
    in_place(name + "_backward_", lambda t: b_(t, x, *params, axis=axis), t, grads[0])
    if t.dtype.isnative:
        assert all(same_bits(r, w) for r, w in zip(b_(layout(g0, lg), x, *params, axis=axis)[1:],
                                                   grads[1:]))
    if name == "prelu":  # exact in the dtype: NumPy gives the same values
        w = np.asarray(params[0], dtype)
        ax = axis % len(shape) if shape else 0
        w = np.moveaxis(np.broadcast_to(w, shape[:ax] + shape[ax + 1:] + (C,)), -1, ax) \
            if not shared else w
        assert np.array_equal(y, np.where(x0 > 0, x0, w * x0), equal_nan=True)
    assert np.isnan(y[np.isnan(x0)]).all()
    assert np.isfinite(y[np.abs(x0) < 1e30]).all()


@fuzz(50)
@given(data=st.data())
def test_rrelu_training_and_evaluation_every_layout(data):
    dtype = data.draw(st.sampled_from([F32, F64]))
    shape = data.draw(shapes, "shape")
    lower, upper = sorted(data.draw(st.floats(-2, 2)) for _ in range(2))
    if data.draw(st.booleans()) and lower < upper:
        lower, upper = upper, lower  # invalid: lower > upper
    seed = data.draw(st.integers(0, 2 ** 64 - 1))
    x0, g0 = data.draw(values(dtype, shape)), data.draw(values(dtype, shape))
    lx, lg, lo = (data.draw(st.sampled_from(LAYOUTS)) for _ in range(3))
    x, g = layout(x0, lx, 1), layout(g0, lg, 2)
    kw = dict(lower=lower, upper=upper)
    if lower > upper:
        return must_raise(ValueError, "rrelu", lambda: fastact.rrelu_(x, **kw), x)
    if not data.draw(st.booleans()):  # evaluation: leaky_relu with the mean slope
        slope = (lower + upper) / 2
        y = fastact.rrelu(x, **kw)
        assert same_bits(y, fastact.leaky_relu(x0, negative_slope=slope))
        assert same_bits(fastact.rrelu_backward(g, x, **kw),
                         fastact.leaky_relu_backward(g0, x0, negative_slope=slope))
        return in_place("rrelu_", lambda t: fastact.rrelu_(t, **kw), layout(x0, lx, 1), y)
    y, s = fastact.rrelu(x0, training=True, seed=seed, **kw)
    assert y.dtype == s.dtype == dtype and s.shape == shape
    y2, s2 = fastact.rrelu(x, training=True, seed=seed, **kw)
    assert same_bits(y2, y) and same_bits(s2, s)
    in_place("rrelu_", lambda t: fastact.rrelu_(t, training=True, seed=seed, **kw), layout(x0, lx, 1), y)
    neg = x0 <= 0
    assert (s[~neg] == 1).all()
    assert ((s[neg] >= dtype.type(lower)) & (s[neg] <= dtype.type(upper))).all()
    with np.errstate(all="ignore"):
        assert np.array_equal(y, s * x0, equal_nan=True)
        want = g0 * s
    sv = layout(s, lo, 3)
    assert same_bits(fastact.rrelu_backward(g, slopes=sv), want)
    in_place("rrelu_backward_", lambda t: fastact.rrelu_backward_(t, slopes=sv), layout(g0, lg), want)
