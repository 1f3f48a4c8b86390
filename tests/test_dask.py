"""fastact on Dask arrays, on the local schedulers (fastact/_dask.py; the distributed
cluster: tests/test_dask_distributed.py).

Every public form takes a dask.array.Array and returns a lazy one, whose chunks compute
to exactly the bits of the NumPy call: elementwise forms on uneven chunks, the axis-wise
ones with their axis (and, for the softmax family, the axes after it) split across
chunks, the learnable ones with their channel axis split. Arguments are checked at the
call; importing or using fastact on NumPy arrays never imports dask."""

import subprocess
import sys

import numpy as np
import pytest

import fastact
from conftest import CASES, Api, case_params, dtype_params, same_bits

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

SCHEDULERS = ["synchronous", "threads"]


def data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, shape)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, 40.0, -40.0]
    x.flat[::97] = np.resize(specials, x.flat[::97].size)    # every 97th element
    return x.astype(dtype)


def lazy(a, chunks):
    return da.from_array(a, chunks=chunks)


def computed(result, scheduler="synchronous"):
    """A lazy result (or tuple of them) computed; checks it was lazy."""
    if isinstance(result, tuple):
        return tuple(computed(r, scheduler) for r in result)
    assert isinstance(result, da.Array), type(result)
    return result.compute(scheduler=scheduler)


def same(got, want):
    if isinstance(want, tuple):
        return len(got) == len(want) and all(map(same, got, want))
    return same_bits(got, want)


def test_importing_and_using_fastact_does_not_import_dask():
    code = ("import sys, numpy as np, fastact; fastact.gelu(np.ones(3)); "
            "fastact.softmax(np.ones((2, 3))); print('dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------- elementwise
@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params(CASES))
def test_elementwise_every_form_bit_for_bit(case, dtype, scheduler):
    api = Api(case)
    x, g = data((70, 33), dtype, 1), data((70, 33), dtype, 2) / 8
    dx, dg = lazy(x, (16, 10)), lazy(g, (25, 7))              # different, uneven chunks
    y = api.forward(x)
    lazy_y = api.forward(dx)
    assert lazy_y.chunks == dx.chunks
    assert same(computed(lazy_y, scheduler), y)
    assert same(computed(api.forward_(dx), scheduler), y)     # a new array; dx unchanged
    assert same(computed(dx), x)
    dx_want = api.backward(g, x)
    assert same(computed(api.backward(dg, dx), scheduler), dx_want)
    assert same(computed(api.backward_(dg, dx), scheduler), dx_want)
    assert same(computed(api.backward(g, dx), scheduler), dx_want)   # NumPy grad, Dask x
    if api.has_y:
        want = api.backward(g, y=y)
        assert same(computed(api.backward(dg, y=lazy_y), scheduler), want)


def test_elementwise_dtype_rules_and_0d():
    for dtype, result in ((np.float16, np.float16), (np.int32, np.float64), (np.bool_, np.float64)):
        x = np.arange(-5, 5).astype(dtype)
        got = computed(fastact.sigmoid(lazy(x, 3)))
        assert got.dtype == result and same(got, fastact.sigmoid(x))
    x0 = np.float32(-1.5) * np.ones((), np.float32)
    assert same(computed(fastact.elu(da.from_array(x0))), fastact.elu(x0))


def test_calls_are_lazy_and_check_their_arguments_at_once():
    def explode(block):
        raise RuntimeError("computed")
    dx = lazy(np.ones((8, 8), np.float32), 4).map_blocks(explode, dtype=np.float32)
    result = fastact.gelu(dx)                                 # nothing computed yet
    with pytest.raises(RuntimeError, match="computed"):
        result.compute(scheduler="synchronous")
    good = lazy(np.ones((8, 8), np.float32), 4)
    with pytest.raises(ValueError, match="elu: alpha"):
        fastact.elu(good, alpha=10 ** 400)
    with pytest.raises(ValueError, match="celu: alpha must be nonzero"):
        fastact.celu(good, alpha=0)
    with pytest.raises(TypeError, match="complex"):
        fastact.gelu(lazy(np.ones(4, np.complex64), 2))
    with pytest.raises(TypeError, match="gelu: out= cannot be filled lazily"):
        fastact.gelu(good, out=np.empty((8, 8), np.float32))
    with pytest.raises(ValueError, match="gelu_backward: grad has shape"):
        fastact.gelu_backward(lazy(np.ones((8, 7), np.float32), 4), good)
    with pytest.raises(TypeError, match="exactly one of x"):
        fastact.sigmoid_backward(good, good, y=good)
    with pytest.raises(TypeError, match="gelu has no backward from the output"):
        fastact.gelu_backward(good, y=good)
    with pytest.raises(ValueError, match=r"x has shape \(8, 8\), channel axis 1"):  # not the probe's
        fastact.prelu(good, np.ones(3), axis=1)


# ---------------------------------------------------------------- along an axis
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_any_axis_any_chunks(name, dtype):
    f, f_, b, b_ = (getattr(fastact, name + s) for s in ("", "_", "_backward", "_backward_"))
    x, g = data((9, 70, 33), dtype, 3), data((9, 70, 33), dtype, 4)
    dx, dg = lazy(x, (4, 16, 10)), lazy(g, (5, 30, 7))
    for axis in (0, 1, 2, -1):
        y = f(x, axis=axis)
        lazy_y = f(dx, axis=axis)
        assert lazy_y.chunks == dx.chunks
        assert same(computed(lazy_y, "threads"), y), axis
        assert same(computed(f_(dx, axis=axis)), y), axis
        assert same(computed(b(dg, dx, axis=axis)), b(g, x, axis=axis)), axis
        assert same(computed(b_(dg, y=lazy_y, axis=axis)), b(g, y=y, axis=axis)), axis
    with pytest.raises(np.exceptions.AxisError, match=f"{name}: axis 3"):
        f(dx, axis=3)


@pytest.mark.parametrize("dtype", dtype_params())
def test_maxout_and_glu(dtype):
    x = data((12, 40, 6), dtype, 5)
    dx = lazy(x, (5, 7, 4))
    for axis, pieces in ((1, 4), (0, 3), (-1, 2)):
        want = fastact.maxout(x, pieces, axis=axis)
        assert same(computed(fastact.maxout(dx, pieces, axis=axis), "threads"), want)
        g = data(want.shape, dtype, 6)
        assert same(computed(fastact.maxout_backward(lazy(g, 3), dx, pieces, axis=axis)),
                    fastact.maxout_backward(g, x, pieces, axis=axis))
        want = fastact.glu(x, axis=axis)
        assert same(computed(fastact.glu(dx, axis=axis)), want)
        g = data(want.shape, dtype, 7)
        assert same(computed(fastact.glu_backward(lazy(g, 3), dx, axis=axis)),
                    fastact.glu_backward(g, x, axis=axis))
    with pytest.raises(ValueError, match="maxout"):
        fastact.maxout(dx, 7, axis=1)
    with pytest.raises(ValueError, match="glu"):
        fastact.glu(lazy(np.ones((3, 5)), 2), axis=1)


# ---------------------------------------------------------------- learnable, random
CHANNEL = {"prelu": lambda c: (np.linspace(0.01, 0.3, c),),
           "srelu": lambda c: (np.linspace(-1, -0.5, c), np.full(c, 0.1),
                               np.linspace(0.5, 2, c), np.full(c, 0.7)),
           "apl": lambda c: (np.linspace(0.1, 0.9, 2 * c).reshape(2, c),
                             np.linspace(-1, 1, 2 * c).reshape(2, c))}


@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("name", sorted(CHANNEL))
def test_learnable_activations_and_their_parameter_gradients(name, dtype):
    f, f_, b, b_ = (getattr(fastact, name + s) for s in ("", "_", "_backward", "_backward_"))
    x, g = data((6, 50, 8), dtype, 8), data((6, 50, 8), dtype, 9)
    params = [p.astype(dtype) for p in CHANNEL[name](50)]
    dx, dg = lazy(x, (4, 16, 5)), lazy(g, (3, 20, 8))
    want = f(x, *params, axis=1)
    assert same(computed(f(dx, *params, axis=1), "threads"), want)
    assert same(computed(f_(dx, *params, axis=1)), want)
    want = b(g, x, *params, axis=1)
    for got in (computed(b(dg, dx, *params, axis=1), "threads"), computed(b_(dg, dx, *params, axis=1))):
        assert same(got[0], want[0])
        for p_got, p_want in zip(got[1:], want[1:]):
            assert p_got.dtype == p_want.dtype and p_got.shape == p_want.shape
            if dtype == np.float32:   # float64 sums rounded once, as the NumPy call does
                assert same(p_got, p_want)
            else:                     # the same sums in another order
                np.testing.assert_allclose(p_got, p_want, rtol=1e-12, atol=1e-300)
    shared = [np.asarray(p).flat[0] for p in params] if name != "apl" else None
    if shared:   # one parameter shared by every channel
        assert same(computed(f(dx, *shared, axis=1)), f(x, *shared, axis=1))


def test_rrelu_evaluation_training_and_backward():
    x, g = data((30, 20), np.float32, 10), data((30, 20), np.float32, 11)
    dx, dg = lazy(x, 7), lazy(g, 9)
    assert same(computed(fastact.rrelu(dx)), fastact.rrelu(x))
    assert same(computed(fastact.rrelu_backward(dg, dx)), fastact.rrelu_backward(g, x))
    _, slopes = fastact.rrelu(x, training=True, seed=4)
    assert same(computed(fastact.rrelu_backward(dg, slopes=lazy(slopes, 6))),
                fastact.rrelu_backward(g, slopes=slopes))
    x3 = data((13, 6, 5), np.float32, 14)
    for seed, kw in ((4, {}), (2 ** 64 - 1, {"lower": 0.05, "upper": 0.5})):
        want = fastact.rrelu(x3, training=True, seed=seed, **kw)   # slopes keyed by C-order index
        for form in (fastact.rrelu, fastact.rrelu_):
            got = form(lazy(x3, (4, 4, 2)), training=True, seed=seed, **kw)
            assert got[0].chunks == got[1].chunks == lazy(x3, (4, 4, 2)).chunks
            assert same(computed(got, "threads"), want)
    y, slopes = fastact.rrelu(lazy(x3, 5), training=True)           # a seed drawn at the call
    assert same(computed(y), computed(y)) and same(computed(slopes), computed(slopes))
    assert same(computed(y), np.where(x3 <= 0, x3 * computed(slopes), x3))
    with pytest.raises(ValueError, match="rrelu"):
        fastact.rrelu(dx, training=True, lower=0.5, upper=0.1)
    with pytest.raises(TypeError, match="slopes= cannot be filled lazily"):
        fastact.rrelu(dx, training=True, slopes=np.empty(x.shape, np.float32))


def test_a_plugin_activation_on_dask_arrays():
    """A plugin's activations take Dask arrays like the built-ins (fastact/_wrap.py)."""
    class Plugin:
        @fastact.hookimpl
        def register_activations(self, register):
            register("dask_scaled_tanh", numpy_forward=lambda x, k: np.tanh(x) * k,
                     numpy_derivative=lambda x, k: k / np.cosh(x) ** 2, params={"k": 2.0})

    fastact.available()
    name = fastact.register_plugin(Plugin(), "dask-test-plugin")
    try:
        x, g = data((40, 30), np.float64, 12), data((40, 30), np.float64, 13)
        dx, dg = lazy(x, (7, 9)), lazy(g, 11)
        f, b = fastact.dask_scaled_tanh, fastact.dask_scaled_tanh_backward
        assert same(computed(f(dx, k=3.0)), f(x, k=3.0))
        assert same(computed(fastact.dask_scaled_tanh_(dx)), f(x))
        assert same(computed(b(dg, dx, k=0.5)), b(g, x, k=0.5))
    finally:
        fastact.unregister_plugin(name)
