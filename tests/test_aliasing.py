"""out= and in-place targets that overlap their inputs, and bad out= arrays.

The contract (README, "Any layout"; docs/axis_activations.md, "Memory layout"): out may
alias x exactly, and an out that overlaps an input partially is handled through a
temporary. So every overlap below (out shifted one element ahead of or behind x, out
reversed over x, interleaved strided views, out the transpose of x; out over grad or x
in the backward; grad over x in the in-place backward; out over the weights of prelu,
srelu and apl) must give the bits of the same call on separate memory, and write
nothing outside out. rrelu's slopes must share no memory with its output (documented:
an error). An out of the wrong dtype or shape, read-only, a broadcast (zero-stride)
view or not an ndarray raises a TypeError/ValueError naming the function and changes
nothing. Every activation (CASES), float32 and float64, small arrays and arrays past
the parallel grain (> 2**17 elements).
"""

import numpy as np
import pytest

import fastact
from conftest import CASES, Api, case_params, dtype_params, same_bits

SIZES = {"small": 6, "large": 364}  # square side: 36 and 132496 (> 2**17) elements


def overlapping(buf, src_shape, dst_shape, kind):
    """Two views of ``buf`` (shapes src_shape, dst_shape) that overlap as ``kind`` says."""
    ns, nd = int(np.prod(src_shape)), int(np.prod(dst_shape))
    src, dst = {
        "out one ahead": lambda: (buf[:ns], buf[1:1 + nd]),
        "out one behind": lambda: (buf[1:1 + ns], buf[:nd]),
        "out reversed": lambda: (buf[:ns], buf[:nd][::-1]),
        "interleaved": lambda: (buf[0:2 * ns:2], buf[1:2 * nd + 1:2]),
        "strided, shifted": lambda: (buf[0:2 * ns:2], buf[2:2 * nd + 2:2]),
        "transposed": lambda: (buf[:ns], buf[:nd].reshape(dst_shape[::-1]).T),
    }[kind]()
    src, dst = src.reshape(src_shape), dst.reshape(dst_shape)
    assert np.shares_memory(src, buf) and np.shares_memory(dst, buf)
    return src, dst


KINDS = ["out one ahead", "out one behind", "out reversed", "interleaved", "strided, shifted",
         "transposed"]


def data(shape, dtype, seed):
    """Normals with special values (0, -0, +-inf, NaN, a subnormal) every 17 elements."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, shape)
    x.flat[::17] = np.resize([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, 40.0], x.size)[::17]
    return x.astype(dtype)


def check_overlap(call, inputs, out_shape, kind, want, dtype, place=0):
    """Put ``inputs[place]`` and out in one buffer overlapping as ``kind``, the other
    inputs in their own memory; the call must return out holding ``want``, and the
    buffer outside out must keep its values."""
    src_shape = inputs[place].shape
    buf = np.full(2 * max(np.prod(src_shape), np.prod(out_shape)) + 4, -7.5, dtype)
    src, out = overlapping(buf, src_shape, out_shape, kind)
    src[...] = inputs[place]
    args = list(inputs)
    args[place] = src
    outside = np.ones(buf.shape, bool)
    overlapping(outside, src_shape, out_shape, kind)[1][...] = False
    before = buf[outside].copy()
    got = call(*args, out=out)
    got = got[0] if isinstance(got, tuple) else got
    assert got is out and same_bits(out, want), kind
    assert same_bits(buf[outside], before), f"{kind}: wrote outside out"


def check_in_place_overlap(backward_, backward, x, g, kind):
    """backward_(grad, x) with grad and x overlapping as ``kind`` (grad written last, so
    x holds what is left of its values): the bits of backward on copies, nothing else
    written."""
    buf = np.full(2 * x.size + 4, -7.5, x.dtype)
    xv, gv = overlapping(buf, x.shape, g.shape, kind)
    xv[...] = x
    gv[...] = g
    want = backward(gv.copy(), xv.copy())
    want = want if isinstance(want, tuple) else (want,)
    outside = np.ones(buf.shape, bool)
    overlapping(outside, x.shape, g.shape, kind)[1][...] = False
    before = buf[outside].copy()
    got = backward_(gv, xv)
    got = got if isinstance(got, tuple) else (got,)
    assert got[0] is gv and all(same_bits(a, b) for a, b in zip(got, want)), kind
    assert same_bits(buf[outside], before), f"{kind}: wrote outside grad"


def test_gelu_backward_in_place_with_grad_the_reverse_of_x():
    """A regression test: grad and x the same memory in opposite orders. float64 gelu once
    gave other bits here (an ulp at a few points): the aliased strided operands took the
    kernel's scalar loop, which GCC had contracted differently from the vector body."""
    buf = np.random.default_rng(0).normal(0, 3, 40000)
    x, g = buf, buf[::-1]
    want = fastact.gelu_backward(g.copy(), x.copy())
    fastact.gelu_backward_(g, x)
    assert same_bits(g, want)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params(CASES))
def test_elementwise_out_overlapping_an_input(case, dtype, size):
    api, m = Api(case), SIZES[size]
    shape = (m, m)
    x, g = data(shape, dtype, 1), data(shape, dtype, 2)
    y, dx = api.forward(x), api.backward(g, x)
    for kind in KINDS:
        check_overlap(lambda a, out: api.forward(a, out=out), [x], shape, kind, y, dtype)
        check_overlap(lambda a, b, out: api.backward(a, b, out=out), [g, x], shape, kind, dx,
                      dtype, place=1)                                         # out over x
        check_overlap(lambda a, b, out: api.backward(a, b, out=out), [g, x], shape, kind, dx,
                      dtype, place=0)                                         # out over grad
        if api.has_y:
            check_overlap(lambda a, b, out: api.backward(a, y=b, out=out), [g, y], shape, kind,
                          api.backward(g, y=y), dtype, place=1)
        check_in_place_overlap(api.backward_, api.backward, x, g, kind)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_out_overlapping_an_input(name, dtype, size):
    f, b, b_ = (getattr(fastact, name + s) for s in ("", "_backward", "_backward_"))
    m = SIZES[size]
    x, g = data((m, m), dtype, 3), data((m, m), dtype, 4)
    for axis in (-1, 0):
        y, dx = f(x, axis=axis), b(g, x, axis=axis)
        dy = b(g, y=y, axis=axis)
        for kind in KINDS:
            check_overlap(lambda a, out: f(a, axis=axis, out=out), [x], x.shape, kind, y, dtype)
            check_overlap(lambda a, c, out: b(a, c, axis=axis, out=out), [g, x], x.shape, kind,
                          dx, dtype, place=1)
            check_overlap(lambda a, c, out: b(a, y=c, axis=axis, out=out), [g, y], x.shape, kind,
                          dy, dtype, place=1)
            check_in_place_overlap(lambda a, c: b_(a, c, axis=axis),
                                   lambda a, c: b(a, c, axis=axis), x, g, kind)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtype_params())
def test_maxout_and_glu_out_overlapping_an_input(dtype, size):
    m = SIZES[size]
    x, g = data((m, m), dtype, 5), data((m, m // 2), dtype, 6)
    for axis, half in ((-1, (m, m // 2)), (0, (m // 2, m))):
        gh = g if axis == -1 else g.T.copy()
        for kind in KINDS:
            for name, args in (("maxout", (2,)), ("glu", ())):
                f, b = getattr(fastact, name), getattr(fastact, name + "_backward")
                check_overlap(lambda a, out: f(a, *args, axis=axis, out=out), [x], half, kind,
                              f(x, *args, axis=axis), dtype)
                want = b(gh, x, *args, axis=axis)
                for place in (0, 1):  # out (x's shape) over grad, over x
                    check_overlap(lambda a, c, out: b(a, c, *args, axis=axis, out=out), [gh, x],
                                  x.shape, kind, want, dtype, place=place)


CHANNEL_PARAMS = {"prelu": lambda C: [np.linspace(-0.5, 0.5, C)],
                  "srelu": lambda C: [np.full(C, -1.0), np.linspace(0.1, 0.3, C), np.ones(C),
                                      np.linspace(0.5, 1.5, C)],
                  "apl": lambda C: [np.linspace(-0.5, 0.5, 2 * C).reshape(2, C),
                                    np.linspace(-1.0, 1.0, 2 * C).reshape(2, C)]}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("name", sorted(CHANNEL_PARAMS))
def test_channel_activations_out_overlapping_x_grad_or_weights(name, dtype, size):
    f, b, b_ = (getattr(fastact, name + s) for s in ("", "_backward", "_backward_"))
    m = SIZES[size]
    x, g = data((m, m), dtype, 7), data((m, m), dtype, 8)
    params = [p.astype(dtype) for p in CHANNEL_PARAMS[name](m)]
    y, grads = f(x, *params), b(g, x, *params)
    for kind in KINDS:
        check_overlap(lambda a, out: f(a, *params, out=out), [x], x.shape, kind, y, dtype)
        for place in (0, 1):
            check_overlap(lambda a, c, out: b(a, c, *params, out=out), [g, x], x.shape, kind,
                          grads[0], dtype, place=place)
        check_in_place_overlap(lambda a, c: b_(a, c, *params), lambda a, c: b(a, c, *params),
                               x, g, kind)
    for i, p in enumerate(params):  # out (or the in-place grad) covering a parameter's memory
        for start in (0, x.size - p.size // 2):
            buf = np.zeros(x.size + p.size, dtype)
            out, pv = buf[:x.size].reshape(x.shape), buf[start:start + p.size].reshape(p.shape)
            pv[...] = p
            args = params[:i] + [pv] + params[i + 1:]
            assert f(x, *args, out=out) is out and same_bits(out, y), (i, start)
            pv[...] = p
            got = b(g, x, *args, out=out)
            assert got[0] is out and same_bits(out, grads[0])
            assert all(same_bits(r, w) for r, w in zip(got[1:], grads[1:]))
            out[...] = g  # in place: grad covers part of the parameter (written last)
            pv[...] = p
            want = b(out.copy(), x, *params)
            got = b_(out, x, *args)
            assert got[0] is out and all(same_bits(r, w) for r, w in zip(got, want))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtype_params())
def test_rrelu_out_overlapping_x_and_slopes_sharing_memory_with_out(dtype, size):
    m = SIZES[size]
    x = data((m, m), dtype, 9)
    y, s = fastact.rrelu(x, training=True, seed=11)
    for kind in KINDS:
        check_overlap(lambda a, out: fastact.rrelu(a, training=True, seed=11, out=out), [x],
                      x.shape, kind, y, dtype)
        buf = np.zeros(2 * x.size + 4, dtype)
        out, slopes = overlapping(buf, x.shape, x.shape, kind)
        before = buf.copy()
        with pytest.raises(ValueError, match="rrelu"):
            fastact.rrelu(x, training=True, seed=11, out=out, slopes=slopes)
        assert same_bits(buf, before), kind


# ------------------------------------------------------------------- bad out=
def bad_outs(shape, dtype):
    other = np.float32 if dtype == np.float64 else np.float64
    ro = np.zeros(shape, dtype)
    ro.flags.writeable = False
    base = np.zeros(shape[1:], dtype)
    zero_stride = np.lib.stride_tricks.as_strided(base, shape=shape, strides=(0,) + base.strides)
    return [(np.zeros(shape, other), TypeError, "dtype"),
            (np.zeros(shape, dtype).astype(np.dtype(dtype).newbyteorder()), TypeError, "dtype"),
            (np.zeros(shape[::-1] + (1,), dtype), ValueError, "shape"),
            (np.zeros(shape[0] * shape[1] + 1, dtype)[1:].reshape(shape[::-1]).T[:-1], ValueError,
             "shape"),
            (ro, ValueError, "read-only"),
            (np.broadcast_to(np.zeros(shape[1:], dtype), shape), ValueError, "read-only|stride"),
            (zero_stride, ValueError, "zero stride"),
            (np.zeros(shape, dtype).tolist(), TypeError, "ndarray")]


def assert_bad_outs_rejected(name, call, shape, dtype, *inputs):
    for out, exc, match in bad_outs(shape, dtype):
        arrays = [a for a in (out, *inputs) if isinstance(a, np.ndarray)]
        before = [np.array(a, copy=True) for a in arrays]
        with pytest.raises(exc, match=match) as info:
            call(out)
        assert name in str(info.value)
        assert all(same_bits(a, b) for a, b in zip(arrays, before)), (name, str(info.value))


@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params(CASES))
def test_elementwise_bad_out_raises_and_changes_nothing(case, dtype):
    api, name = Api(case), case.act.name
    x, g = data((5, 7), dtype, 10), data((5, 7), dtype, 11)
    assert_bad_outs_rejected(name, lambda o: api.forward(x, out=o), x.shape, dtype, x)
    assert_bad_outs_rejected(name + "_backward", lambda o: api.backward(g, x, out=o), x.shape,
                             dtype, g, x)


LAYER_OUT_CALLS = {  # name -> (x, g) -> (call with out, out shape)
    "softmax": lambda x, g: (lambda o: fastact.softmax(x, out=o), x.shape),
    "log_softmax_backward": lambda x, g: (lambda o: fastact.log_softmax_backward(g, x, out=o), x.shape),
    "maxout": lambda x, g: (lambda o: fastact.maxout(x[:4], 2, axis=0, out=o), (2, 7)),
    "maxout_backward": lambda x, g: (lambda o: fastact.maxout_backward(g[:1], x, 5, axis=0, out=o), x.shape),
    "glu": lambda x, g: (lambda o: fastact.glu(x[:4], axis=0, out=o), (2, 7)),
    "prelu": lambda x, g: (lambda o: fastact.prelu(x, np.full(7, 0.25), out=o), x.shape),
    "srelu_backward": lambda x, g: (lambda o: fastact.srelu_backward(g, x, -1.0, 0.1, 1.0, 0.5, out=o), x.shape),
    "apl": lambda x, g: (lambda o: fastact.apl(x, [0.2], [0.0], out=o), x.shape),
    "rrelu": lambda x, g: (lambda o: fastact.rrelu(x, training=True, seed=3, out=o), x.shape),
    "rrelu_backward": lambda x, g: (lambda o: fastact.rrelu_backward(g, x, out=o), x.shape),
}


@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("name", sorted(LAYER_OUT_CALLS))
def test_layer_bad_out_raises_and_changes_nothing(name, dtype):
    x, g = data((5, 7), dtype, 12), data((5, 7), dtype, 13)
    call, shape = LAYER_OUT_CALLS[name](x, g)
    assert_bad_outs_rejected(name, call, shape, dtype, x, g)
