"""rrelu: evaluation mode is leaky_relu (and torch's rrelu), training draws one slope per
element from a counter-based generator keyed by (seed, C-order index): statistics of the
slopes, independence of threads, layouts and kernel variants, the backward forms and the
argument contract."""

import numpy as np
import pytest

import fastact
from conftest import same_bits

FLOATS = [np.dtype(np.float32), np.dtype(np.float64)]
LOWER, UPPER = 1 / 8, 1 / 3


def slopes_of(n, dtype=np.float64, seed=1, lower=LOWER, upper=UPPER):
    return fastact.rrelu(-np.ones(n, dtype), lower=lower, upper=upper, training=True, seed=seed)[1]


def ks_statistic(sample, lower, upper):
    """Kolmogorov-Smirnov distance between the sample and U(lower, upper)."""
    s = np.sort(np.asarray(sample, np.float64))
    n = s.size
    cdf = np.clip((s - lower) / (upper - lower), 0, 1)
    i = np.arange(1, n + 1)
    return max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n))


# ------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_evaluation_is_leaky_relu_and_torch(dtype):
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.random.default_rng(0).standard_normal(200), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    x = x.astype(dtype)
    for lower, upper in ((LOWER, UPPER), (0.1, 0.3), (-0.5, 2.0), (0.2, 0.2)):
        y = fastact.rrelu(x, lower=lower, upper=upper)
        assert same_bits(y, fastact.leaky_relu(x, negative_slope=(lower + upper) / 2))
        want = torch.nn.functional.rrelu(torch.tensor(x), lower, upper, training=False).numpy()
        assert same_bits(y, want)
        g = np.linspace(-2, 2, x.size).astype(dtype)
        gx = fastact.rrelu_backward(g, x, lower=lower, upper=upper)
        assert same_bits(gx, fastact.leaky_relu_backward(g, x, negative_slope=(lower + upper) / 2))
        g2 = g.copy()
        assert fastact.rrelu_backward_(g2, x, lower=lower, upper=upper) is g2 and same_bits(g2, gx)
    x2 = x.copy()
    assert fastact.rrelu_(x2) is x2 and same_bits(x2, fastact.rrelu(x))


def test_evaluation_mode_defaults_match_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-3, 3, 61)
    assert same_bits(fastact.rrelu(x), torch.nn.functional.rrelu(torch.tensor(x)).numpy())


# ---------------------------------------------------------------------------- training
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_training_forward_and_its_slopes(dtype):
    x = np.concatenate([np.random.default_rng(1).standard_normal(500), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    x = x.astype(dtype)
    y, s = fastact.rrelu(x, training=True, seed=42)
    assert y.dtype == s.dtype == dtype and y.shape == s.shape == x.shape
    neg = x <= 0                                           # torch: x <= 0 gets a slope
    assert np.all(s[~neg] == 1)                            # x > 0 and NaN
    lo, hi = dtype.type(LOWER), dtype.type(UPPER)
    assert np.all((s[neg] >= lo) & (s[neg] <= hi))
    assert same_bits(y, x * s)
    assert same_bits(y[[-5, -4]], x[[-5, -4]])             # 0 and -0 keep their sign
    # the same seed gives the same bits; another seed other slopes
    y2, s2 = fastact.rrelu(x, training=True, seed=42)
    assert same_bits(y, y2) and same_bits(s, s2)
    assert not np.array_equal(s[neg], fastact.rrelu(x, training=True, seed=43)[1][neg])
    # in place, and into given arrays
    xi = x.copy()
    res = fastact.rrelu_(xi, training=True, seed=42)
    assert res[0] is xi and same_bits(xi, y) and same_bits(res[1], s)
    out, sl = np.empty_like(x), np.empty_like(x)
    res = fastact.rrelu(x, training=True, seed=42, out=out, slopes=sl)
    assert res[0] is out and res[1] is sl and same_bits(out, y) and same_bits(sl, s)
    # backward with the slopes: grad * slopes
    g = np.linspace(-2, 2, x.size).astype(dtype)
    assert same_bits(fastact.rrelu_backward(g, slopes=s), g * s)
    g2 = g.copy()
    assert fastact.rrelu_backward_(g2, slopes=s) is g2 and same_bits(g2, g * s)


def test_seed_none_draws_fresh_seeds():
    a, b = slopes_of(1000, seed=None), slopes_of(1000, seed=None)
    assert not np.array_equal(a, b)


def test_slope_statistics():
    n = 1_000_000
    for lower, upper in ((LOWER, UPPER), (-0.5, 2.0)):
        s = slopes_of(n, seed=12345, lower=lower, upper=upper)
        assert ks_statistic(s, lower, upper) < 1.95 / np.sqrt(n)    # KS at the 0.1% level
        width = upper - lower
        assert abs(s.mean() - (lower + upper) / 2) < 5 * width / np.sqrt(12 * n)
        assert abs(s.var() / (width ** 2 / 12) - 1) < 0.01
        u = (s - lower) / width
        assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(n)          # neighbours
        assert abs(np.corrcoef(u[:-2], u[2:])[0, 1]) < 5 / np.sqrt(n)
        v = (slopes_of(n, seed=12346, lower=lower, upper=upper) - lower) / width
        assert abs(np.corrcoef(u, v)[0, 1]) < 5 / np.sqrt(n)                   # seeds s, s + 1
    s32 = slopes_of(n, np.float32, seed=7)
    assert ks_statistic(s32, np.float32(LOWER), np.float32(UPPER)) < 1.95 / np.sqrt(n)


def test_slopes_stay_within_the_bounds_at_the_extremes():
    for dtype in FLOATS:
        huge = 1e300 if dtype == np.float64 else 1e38
        for lower, upper in ((1.0, np.nextafter(1.0, 2.0)), (0.2, 0.2), (-huge, 1.0), (-huge, huge), (0.0, 1.0)):
            s = slopes_of(20_000, dtype, seed=3, lower=lower, upper=upper)
            lo, hi = dtype.type(lower), dtype.type(upper)
            assert s.min() >= lo and s.max() <= hi


def test_slopes_are_the_same_for_threads_layouts_and_variants(kernel_variant, restore_threads):
    rng = np.random.default_rng(2)
    x = -np.abs(rng.standard_normal((60, 70, 40)))          # 168000 elements: several blocks
    x[::7] *= -1
    fastact.set_num_threads(1)
    y1, s1 = fastact.rrelu(x, training=True, seed=99)
    flat = fastact.rrelu(x.ravel(), training=True, seed=99)[1]
    assert same_bits(flat.reshape(x.shape), s1)            # keyed by the C-order index
    for n in (2, 3):
        fastact.set_num_threads(n)
        y, s = fastact.rrelu(x, training=True, seed=99)
        assert same_bits(y, y1) and same_bits(s, s1)
    f = np.asfortranarray(x)
    y, s = fastact.rrelu(f, training=True, seed=99)
    assert same_bits(y, y1) and same_bits(s, s1)
    rev = x[::-1, :, ::-2]
    y, s = fastact.rrelu(rev, training=True, seed=99)
    want = fastact.rrelu(np.ascontiguousarray(rev), training=True, seed=99)
    assert same_bits(y, want[0]) and same_bits(s, want[1])
    fi = f.copy(order="F")
    _, s = fastact.rrelu_(fi, training=True, seed=99)
    assert same_bits(fi, y1) and same_bits(s, s1)
    # a fixed sample: the generator itself never changes between builds or variants
    s = fastact.rrelu(-np.ones(4), training=True, seed=0)[1]
    assert same_bits(s, fastact.rrelu(-np.ones(6), training=True, seed=0)[1][:4])


G = 0x9E3779B97F4A7C15
MASK = 2 ** 64 - 1


def splitmix_finalize(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def documented_slopes(seed, n, lower, upper, dtype):
    """The generator exactly as docs/learnable_activations.md states it (pure Python)."""
    key = splitmix_finalize((seed + G) & MASK)
    out = []
    for i in range(n):
        z = splitmix_finalize((key + (i + 1) * G) & MASK)
        if dtype == np.float32:
            lo, hi = np.float32(lower), np.float32(upper)
            width = float(np.float32(hi - lo))
            out.append(min(np.float32(float(lo) + (width * (z >> 40)) * 2.0 ** -24), hi))
        else:
            out.append(min(lower + ((upper - lower) * (z >> 11)) * 2.0 ** -53, upper))
    return np.array(out, dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_slopes_follow_the_documented_generator_in_every_variant(dtype):
    previous = fastact._api.kernels.VARIANT
    try:
        for variant in fastact._api.runnable_variants():
            fastact._api.use_kernels(variant)
            for seed, (lower, upper) in ((0, (LOWER, UPPER)), (2 ** 64 - 1, (-0.7, 1.9)), (12345, (0.3, 0.3))):
                want = documented_slopes(seed, 300, lower, upper, dtype)
                got = slopes_of(300, dtype, seed=seed, lower=lower, upper=upper)
                assert same_bits(got, want), (variant, seed)
    finally:
        fastact._api.use_kernels(previous)


def test_float16_and_integers():
    x = np.linspace(-2, 2, 17)
    for dt in (np.float16,):
        y, s = fastact.rrelu(x.astype(dt), training=True, seed=5)
        y32, s32 = fastact.rrelu(x.astype(dt).astype(np.float32), training=True, seed=5)
        assert y.dtype == s.dtype == dt
        assert same_bits(y, y32.astype(dt)) and same_bits(s, s32.astype(dt))
    xi = np.arange(-5, 5)
    assert same_bits(fastact.rrelu(xi), fastact.rrelu(xi.astype(float)))
    y, s = fastact.rrelu(xi, training=True, seed=5)
    assert y.dtype == np.float64 and same_bits(s, fastact.rrelu(xi.astype(float), training=True, seed=5)[1])
    assert fastact.rrelu(np.float64(-1.0), training=True, seed=1)[0].shape == ()
    y, s = fastact.rrelu(np.zeros((0, 3)), training=True, seed=1)
    assert y.shape == s.shape == (0, 3)


def test_aliasing():
    x0 = np.linspace(-3, 2, 50)
    want_y, want_s = fastact.rrelu(x0, training=True, seed=8)
    x = x0.copy()
    y, s = fastact.rrelu(x, training=True, seed=8, out=x)
    assert y is x and same_bits(x, want_y) and same_bits(s, want_s)
    buf = np.concatenate([x0, np.zeros(5)])
    y, _ = fastact.rrelu(buf[:50], training=True, seed=8, out=buf[5:55])
    assert same_bits(y, want_y)
    x = x0.copy()
    _, s = fastact.rrelu(x, training=True, seed=8, slopes=x)        # slopes written over x
    assert s is x and same_bits(s, want_s)
    buf = np.empty(50)
    with pytest.raises(ValueError, match="slopes shares memory"):
        fastact.rrelu(x0, training=True, seed=1, out=buf, slopes=buf)
    xi = x0.copy()
    with pytest.raises(ValueError, match="slopes shares memory"):
        fastact.rrelu_(xi, training=True, seed=1, slopes=xi[::-1])
    assert same_bits(xi, x0)


# ------------------------------------------------------------------------------ errors
def test_errors_leave_everything_untouched():
    x = np.linspace(-2, 2, 9)
    g = np.ones(9)
    x0 = x.copy()
    out, sl = np.zeros(9), np.zeros(9)
    bad = [
        (dict(lower=0.5, upper=0.1), ValueError, "lower <= upper"),
        (dict(lower=np.nan), ValueError, "finite"),
        (dict(upper=np.inf), ValueError, "finite"),
        (dict(lower="a"), TypeError, "lower must be a real number"),
        (dict(seed=-1), ValueError, r"seed must be in \[0, 2\*\*64\)"),
        (dict(seed=2 ** 64), ValueError, "seed must be in"),
        (dict(seed=1.5), TypeError, "seed must be an int"),
        (dict(seed=True), TypeError, "seed must be an int"),
        (dict(slopes=np.zeros(8)), ValueError, "slopes has shape"),
        (dict(slopes=np.zeros(9, np.float32)), TypeError, "slopes has dtype"),
        (dict(slopes=[0.0] * 9), TypeError, "slopes must be a numpy.ndarray"),
    ]
    for kw, exc, match in bad:
        for call in (lambda: fastact.rrelu(x, training=True, out=out, **{"slopes": sl, **kw}),
                     lambda: fastact.rrelu_(x, training=True, **{"slopes": sl, **kw})):
            with pytest.raises(exc, match=match):
                call()
            assert same_bits(x, x0) and not out.any() and not sl.any()
    with pytest.raises(ValueError, match="finite in float32"):
        fastact.rrelu(x.astype(np.float32), lower=-1e39, upper=0.0, training=True, seed=1)
    with pytest.raises(ValueError, match="upper - lower overflows"):
        fastact.rrelu(x, lower=-1e308, upper=1e308)
    with pytest.raises(TypeError, match="only filled in training"):
        fastact.rrelu(x, slopes=sl)
    with pytest.raises(ValueError, match="seed must be in"):
        fastact.rrelu(x, seed=-5)
    with pytest.raises(TypeError, match="x has dtype complex"):
        fastact.rrelu(x.astype(complex), training=True, seed=1)
    with pytest.raises(TypeError, match="float32 or float64"):
        fastact.rrelu_(x.astype(np.int32), training=True, seed=1)
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fastact.rrelu_(ro, training=True, seed=1)
    with pytest.raises(ValueError, match="out has shape"):
        fastact.rrelu(x, training=True, seed=1, out=np.zeros(3), slopes=sl)
    assert not sl.any()
    for call in (lambda: fastact.rrelu_backward(g), lambda: fastact.rrelu_backward(g, x, slopes=x),
                 lambda: fastact.rrelu_backward_(g), lambda: fastact.rrelu_backward_(g, x, slopes=x)):
        with pytest.raises(TypeError, match="exactly one of x"):
            call()
    with pytest.raises(ValueError, match="slopes has shape"):
        fastact.rrelu_backward_(g, slopes=np.ones(3))
    with pytest.raises(TypeError, match="slopes has dtype"):
        fastact.rrelu_backward(g, slopes=np.ones(9, complex))
    with pytest.raises(ValueError, match="lower <= upper"):
        fastact.rrelu_backward_(g, x, lower=1.0, upper=0.0)
    assert same_bits(g, np.ones(9))
