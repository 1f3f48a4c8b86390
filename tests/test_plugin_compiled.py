"""The compiled example plugin, plugins/fastact-squareplus: built and pip-installed into
a private directory once per module, found through its entry point by a fresh
registry, and held to the built-ins' contract and accuracy.

Accuracy: every form within 4 ULP (conftest.assert_ulp, with its allowance below the
smallest normal) of mpmath at 50 digits, on log-spaced magnitudes over the whole
finite range (both signs), a dense linear grid, random points and the special values,
for the default and non-default hyper-parameters (rounded to the dtype, as the
kernels use them). The forward is also held to 2.5 ULP. The plugin is built once per
instruction set (fastact.build); every variant this CPU runs is held to the same bound,
and the one loaded follows fastact's own (FASTACT_KERNELS).
"""

import importlib
import shutil
import sys
import sysconfig
import types

import numpy as np
import pytest
from mpmath import mp, mpf

import fastact
import test_contract as contract
from conftest import Api, assert_ulp, same_bits, special_values, upstream_grad
from plugin_env import install_plugins, run_python
from reference import evaluate

DIST = "fastact-squareplus"
NAMES = ("squareplus", "isru")
FORWARD_MAX_ULP = 2.5


def _compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


pytestmark = pytest.mark.skipif(_compiler() is None,
                                reason="no C compiler: the plugin cannot be built")


@pytest.fixture(scope="module", autouse=True)
def plugin(tmp_path_factory):
    """The plugin installed with pip into a temporary directory on sys.path, and a
    fresh (not yet loaded) registry that finds it; everything restored afterwards."""
    import fastact.registry as registry
    target = install_plugins(tmp_path_factory.mktemp("plugins"), DIST)
    saved = dict(vars(fastact))
    with pytest.MonkeyPatch.context() as mp_:
        mp_.syspath_prepend(str(target))
        mp_.setenv("FASTACT_LOAD_PLUGINS", DIST)
        mp_.setattr(registry, "REGISTRY", registry.Registry())
        importlib.invalidate_caches()
        yield target
    module = vars(fastact)
    for key in set(module) - set(saved):
        del module[key]
    module.update(saved)
    for mod in [m for m in sys.modules if m.startswith("fastact_squareplus")]:
        del sys.modules[mod]


# ------------------------------------------------------------------ references
def sp_f(x, b):
    s = mp.sqrt(x * x + b)
    return (x + s) / 2 if x >= 0 else b / (2 * (s - x))


def sp_dx(x, b):
    s = mp.sqrt(x * x + b)
    return (1 + x / s) / 2 if x >= 0 else b / (2 * s * (s - x))


def sp_dy(y, b):
    return 4 * y * y / (4 * y * y + b)


def isru_f(x, alpha):
    return x / mp.sqrt(1 + alpha * x * x)


def isru_dx(x, alpha):
    return (1 + alpha * x * x) ** mpf(-1.5)


def isru_dy(y, alpha):
    v = 1 - alpha * y * y
    return v * mp.sqrt(v) if v > 0 else mpf(0)   # y outside the range: 0 (documented)


REFS = {"squareplus": (sp_f, sp_dx, sp_dy), "isru": (isru_f, isru_dx, isru_dy)}
PARAMS = {"squareplus": [dict(b=4.0), dict(b=0.5), dict(b=1e-3), dict(b=100.0), dict(b=1e30)],
          "isru": [dict(alpha=1.0), dict(alpha=0.0), dict(alpha=3.0), dict(alpha=1e-3),
                   dict(alpha=1e20)]}
CASES = [pytest.param(n, p, id=f"{n}[{','.join(f'{k}={v}' for k, v in p.items())}]")
         for n in NAMES for p in PARAMS[n]]
DTYPES = [pytest.param(np.dtype(d), id=np.dtype(d).name) for d in (np.float32, np.float64)]


def case(name, **params):
    """A case object conftest.Api and test_contract's helpers accept."""
    act = types.SimpleNamespace(name=name, backward_from_y=True)
    return types.SimpleNamespace(act=act, kwargs=params or dict(fastact.get(name).params),
                                 id=name, kinks=lambda params=None: ())


def api(name, **params):
    return Api(case(name, **params))


def grid(dtype):
    fi = np.finfo(dtype)
    with np.errstate(over="ignore"):
        mags = np.geomspace(float(fi.smallest_subnormal), float(fi.max), 700)
    rng = np.random.default_rng(1234)
    x = np.concatenate([mags, -mags, np.linspace(-30, 30, 1201), rng.uniform(-60, 60, 500),
                        special_values(dtype)]).astype(dtype)
    return np.concatenate([np.unique(x), np.array([-0.0], dtype)])


# -------------------------------------------------------------------- discovery
def test_found_through_the_entry_point(plugin):
    assert {"squareplus", "isru"} <= set(fastact.available())
    assert set(fastact.available("elementwise")) >= {"squareplus", "isru"}
    records = {r.name: r for r in fastact.plugins()}
    assert records["squareplus"].distribution == DIST and records["squareplus"].error is None
    assert records["squareplus"].activations == ["squareplus", "isru"]
    for name, params in (("squareplus", {"b": 4.0}), ("isru", {"alpha": 1.0})):
        info = fastact.get(name)
        assert DIST in info.source and info.distribution == DIST and not info.builtin
        assert info.implementation == "compiled kernels" and info.backward_from_y
        assert info.params == params and info.monotonic and info.smooth
        for form, func in info.forms().items():
            assert getattr(fastact, form) is func
        assert fastact.squareplus is fastact.get("squareplus").forward
    assert fastact.get("squareplus").output_range == "(0, inf)"
    assert fastact.get("isru").zero_centred and not fastact.get("squareplus").zero_centred
    assert str(plugin) in sys.modules["fastact_squareplus"].__file__


def test_numpy_references_agree_with_the_kernels():
    x = np.concatenate([np.linspace(-50, 50, 1001), [-1e200, -1e10, 1e10, 1e200]])
    for name in NAMES:
        info = fastact.get(name)
        for p in PARAMS[name][:3]:
            np.testing.assert_allclose(info.forward(x, **p), info.reference(x, **p),
                                       rtol=1e-14, atol=1e-300)
            np.testing.assert_allclose(info.backward(np.ones_like(x), x, **p),
                                       info.reference_derivative(x, **p), rtol=1e-14,
                                       atol=1e-300)


# --------------------------------------------------------------------- accuracy
@pytest.fixture(scope="module")
def tables():
    return {}


def reference(tables, name, params, dtype, form):
    key = (name, tuple(params.items()), dtype.name, form)
    if key not in tables:
        p = {k: float(dtype.type(v)) for k, v in params.items()}   # rounded like the kernels
        f, dx, dy = REFS[name]
        x = grid(dtype)
        if form == "forward":
            tables[key] = (x, None, *evaluate(f, x, p))
        elif form == "x":
            g = upstream_grad(len(x), dtype)
            tables[key] = (x, g, *evaluate(dx, x, p, scale=g))
        else:  # every value the forward reference takes on the grid, rounded
            hi = reference(tables, name, params, dtype, "forward")[2]
            with np.errstate(over="ignore"):
                y = np.unique(hi.astype(dtype))
            g = upstream_grad(len(y), dtype, seed=8)
            tables[key] = (y, g, *evaluate(dy, y, p, scale=g))
    return tables[key]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, params", CASES)
def test_accuracy_in_ulps(tables, name, params, dtype):
    a = api(name, **params)
    label = f"plugin {name}{params} {dtype.name}"
    x, _, hi, lo = reference(tables, name, params, dtype, "forward")
    y = a.forward(x)
    assert y.dtype == dtype
    assert_ulp(y, x, None, hi, lo, dtype, label + " forward", max_ulp=FORWARD_MAX_ULP)
    x, g, hi, lo = reference(tables, name, params, dtype, "x")
    assert_ulp(a.backward(g, x), x, g, hi, lo, dtype, label + " backward(x)")
    yy, g, hi, lo = reference(tables, name, params, dtype, "y")
    assert_ulp(a.backward(g, y=yy), yy, g, hi, lo, dtype, label + " backward(y)")


@pytest.mark.parametrize("dtype", DTYPES)
def test_limits_and_special_values(dtype):
    big = np.finfo(dtype).max
    x = np.array([-np.inf, np.inf, -big, big, 0.0, -0.0, np.nan], dtype)
    one = np.ones_like(x)
    sp, dsp = fastact.squareplus(x), fastact.squareplus_backward(one, x)
    assert sp[0] == 0 and sp[1] == np.inf and sp[2] > 0 and sp[3] == big
    assert sp[4] == 1 and sp[5] == 1 and np.isnan(sp[6])              # sqrt(4) / 2
    assert dsp[0] == 0 and dsp[1] == 1 and dsp[3] == 1 and dsp[4] == 0.5 and np.isnan(dsp[6])
    for alpha in (1.0, 4.0):
        r = fastact.isru(x, alpha=alpha)
        lim = dtype.type(1 / np.sqrt(alpha))
        assert r[0] == -lim and r[1] == lim and r[2] == -lim and r[3] == lim
        assert r[4] == 0 and np.signbit(r[5]) and np.isnan(r[6])
        d = fastact.isru_backward(one, x, alpha=alpha)
        assert d[0] == 0 and d[1] == 0 and d[4] == 1 and np.isnan(d[6])
    assert same_bits(fastact.isru(x, alpha=0), x)                   # the identity
    assert same_bits(fastact.isru_backward(one, x, alpha=0)[:6], one[:6])
    # NaN in grad or y propagates; y outside isru's range gives 0, squareplus' y=0 too
    assert np.isnan(fastact.squareplus_backward(np.full(3, np.nan, dtype), x[3:6])).all()
    assert np.isnan(fastact.isru_backward(one[:2], y=np.array([np.nan, 0.5], dtype))[0])
    assert (fastact.isru_backward(one[:3], y=np.array([1.0, 2.0, -np.inf], dtype)) == 0).all()
    assert fastact.squareplus_backward(one[:1], y=np.zeros(1, dtype))[0] == 0
    assert fastact.squareplus_backward(one[:1], y=np.full(1, np.inf, dtype))[0] == 1


# ------------------------------------------------- instruction-set variants
def built_variants(target):
    return [v for v in fastact._api.VARIANTS
            if list((target / "fastact_squareplus").glob(f"_kernels_{v}.*"))]


def test_built_for_every_variant_the_compiler_knows(plugin):
    built = built_variants(plugin)
    assert built[0] == "baseline"
    if fastact._api.cpu_variants()[-1] != "baseline":   # an x86-64 CPU of level v3 or v4
        assert "avx2" in built


def test_plugin_variant_follows_fastacts(plugin):
    """In a fresh interpreter, the plugin's kernel module is the variant fastact uses
    (FASTACT_KERNELS lowers both), and no higher variant is even imported."""
    built = built_variants(plugin)
    for wanted in (None, *fastact._api.runnable_variants()):
        proc = run_python("""
            import sys
            import fastact
            fastact.squareplus(1.0)                      # loads the plugin
            mods = sorted(m for m in sys.modules if m.startswith("fastact_squareplus._kernels"))
            print(fastact._api.kernels.VARIANT, sys.modules["fastact_squareplus"]._kernels.VARIANT,
                  *mods)
            """, extra_path=[plugin], FASTACT_KERNELS=wanted, FASTACT_LOAD_PLUGINS=DIST)
        assert proc.returncode == 0, proc.stderr
        fastacts, plugins, *mods = proc.stdout.split()
        assert fastacts == (wanted or fastact._api.runnable_variants()[-1])
        expect = [v for v in built if fastact._api.VARIANTS.index(v)
                  <= fastact._api.VARIANTS.index(fastacts)][-1]
        assert plugins == expect and mods == [f"fastact_squareplus._kernels_{expect}"]


def test_missing_variants_give_a_clear_import_error(plugin, tmp_path):
    """A plugin installation with only a variant above fastact's: ImportError naming what
    was looked for and what is built; fastact reports the plugin as failed, works on."""
    if "avx512" not in built_variants(plugin) or "avx512" not in fastact._api.runnable_variants():
        pytest.skip("needs the avx512 variant built and runnable")
    partial = tmp_path / "partial"
    shutil.copytree(plugin, partial)
    for v in ("baseline", "avx2"):
        for f in (partial / "fastact_squareplus").glob(f"_kernels_{v}.*"):
            f.unlink()
    proc = run_python("""
        import warnings
        import fastact
        try:
            fastact.import_kernels("fastact_squareplus._kernels")
        except ImportError as e:
            print("ImportError:", e)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            print("available:", "squareplus" in fastact.available(), len(w))
        print("relu:", fastact.relu(-1.0))
        """, extra_path=[partial], FASTACT_KERNELS="avx2", FASTACT_LOAD_PLUGINS=DIST)
    assert proc.returncode == 0, proc.stderr
    assert "ImportError: fastact.import_kernels: no variant of 'fastact_squareplus._kernels'" in proc.stdout
    assert "_kernels_avx2, fastact_squareplus._kernels_baseline" in proc.stdout
    assert "built: avx512" in proc.stdout and "FASTACT_KERNELS" in proc.stdout
    assert "available: False 1" in proc.stdout and "relu: 0.0" in proc.stdout


@pytest.fixture(params=list(fastact._api.runnable_variants()))
def variant(request, plugin, monkeypatch):
    """fastact switched to one kernel variant and the plugin loaded afresh with it (a
    new registry, the package re-imported: it asks import_kernels again)."""
    import fastact.registry as registry
    before = fastact._api.kernels.VARIANT
    fastact._api.use_kernels(request.param)
    monkeypatch.setattr(registry, "REGISTRY", registry.Registry())
    monkeypatch.delitem(sys.modules, "fastact_squareplus", raising=False)
    try:
        fastact.get("squareplus")
        yield request.param
    finally:
        fastact._api.use_kernels(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_variant_within_the_accuracy_bound(tables, variant, dtype, plugin):
    """All forms of all cases within the bound of test_accuracy_in_ulps, with the
    plugin's kernels of each variant; results the same across variants to that bound."""
    loaded = sys.modules["fastact_squareplus"]._kernels
    expect = [v for v in built_variants(plugin) if fastact._api.VARIANTS.index(v)
              <= fastact._api.VARIANTS.index(variant)][-1]
    assert loaded.VARIANT == expect and loaded.__name__.endswith(expect)
    for name, params in [c.values for c in CASES]:
        a = api(name, **params)
        label = f"plugin {name}{params} {dtype.name} [plugin {loaded.VARIANT}]"
        x, _, hi, lo = reference(tables, name, params, dtype, "forward")
        y = a.forward(x)
        assert_ulp(y, x, None, hi, lo, dtype, label + " forward", max_ulp=FORWARD_MAX_ULP)
        x, g, hi, lo = reference(tables, name, params, dtype, "x")
        assert_ulp(a.backward(g, x), x, g, hi, lo, dtype, label + " backward(x)")
        yy, g, hi, lo = reference(tables, name, params, dtype, "y")
        assert_ulp(a.backward(g, y=yy), yy, g, hi, lo, dtype, label + " backward(y)")


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("name, params", [c for c in CASES if c.values[1] not in (
    dict(b=1e30), dict(alpha=1e20))])
def test_backward_matches_finite_differences(name, params):
    a = api(name, **params)
    x = np.concatenate([np.linspace(-8, 8, 321), np.random.default_rng(3).uniform(-8, 8, 200)])
    g = np.random.default_rng(5).uniform(0.5, 2.0, x.size)
    h = 1e-3 * np.maximum(1.0, np.abs(x))
    f = a.forward
    fd = g * (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)
    y = f(x)
    tol = 1e-8 * (1 + np.abs(y)) * g
    for got in (a.backward(g, x), a.backward(g, y=y)):
        assert np.all(np.abs(got - fd) <= tol), np.max(np.abs(got - fd) / tol)


# --------------------------------------------------------------------- threads
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_one_and_two_threads_give_the_same_bits(name, dtype, restore_threads):
    from test_threads import mixed_values
    a = api(name)
    n = 3 * 16384 + 1001                       # > 2 grains: split across two threads
    x, g = mixed_values(n, dtype), mixed_values(n, dtype, seed=12) / 16
    runs = []
    for threads in (1, 2):
        fastact.set_num_threads(threads)
        y = a.forward(x)
        inplace = x.copy()
        a.forward_(inplace)
        runs.append([y, inplace, a.backward(g, x), a.backward(g, y=y)])
    for one, two in zip(*runs):
        assert same_bits(one, two)
    assert same_bits(runs[0][0], runs[0][1])
    # every element as computed alone (chunk boundaries change nothing)
    assert same_bits(runs[1][0][::997], np.array([a.forward(v) for v in x[::997]]))


# -------------------------------------------------------------------- contract
NAME_PARAMS = [pytest.param(n, id=n) for n in NAMES]


@pytest.mark.parametrize("dtype", DTYPES + [pytest.param(np.dtype(np.float16), id="f16")])
@pytest.mark.parametrize("name", NAMES)
def test_four_forms_out_and_y(name, dtype):
    a = api(name)
    x = np.linspace(-6, 6, 37).astype(dtype)
    g = np.linspace(-2, 2, 37).astype(dtype)
    x0, g0 = x.copy(), g.copy()
    y = a.forward(x)
    assert type(y) is np.ndarray and y.dtype == dtype and not np.shares_memory(x, y)
    dx, dy = a.backward(g, x), a.backward(g, y=y)
    assert dx.dtype == dtype and dy.dtype == dtype
    assert same_bits(x, x0) and same_bits(g, g0)
    for want, call in [(y, lambda o: a.forward(x, out=o)), (dx, lambda o: a.backward(g, x, out=o)),
                       (dy, lambda o: a.backward(g, y=y, out=o))]:
        out = np.full_like(x, 7)
        assert call(out) is out and same_bits(out, want)
    if dtype != np.float16:
        xi = x.copy()
        assert a.forward_(xi) is xi and same_bits(xi, y)
        gi = g.copy()
        assert a.backward_(gi, x) is gi and same_bits(gi, dx)
        gi = g.copy()
        assert a.backward_(gi, y=y) is gi and same_bits(gi, dy)
        alias = x.copy()
        assert a.forward(alias, out=alias) is alias and same_bits(alias, y)
    else:   # float16 is computed in float32
        x32, g32 = x.astype(np.float32), g.astype(np.float32)
        assert same_bits(y, a.forward(x32).astype(np.float16))
        assert same_bits(dx, a.backward(g32, x32).astype(np.float16))


@pytest.mark.parametrize("name", NAMES)
def test_integer_bool_and_mixed_dtypes(name):
    a = api(name)
    for x in (np.array([-100, -3, -1, 0, 1, 3, 7], np.int64), np.array([0, 1, 200], np.uint8),
              np.array([True, False]), np.array([-3, 0, 5], np.int8)):
        assert same_bits(a.forward(x), a.forward(x.astype(np.float64)))
        assert same_bits(a.backward(x, x), a.backward(x.astype(float), x.astype(float)))
    for gt, xt in contract.MIXED:
        g = np.array([1, 0, 2, 1, 3], dtype=gt)
        x = np.array([-2, 0, 1, 3, 5], dtype=xt)
        rt = contract.result_dtype(g, x)
        ct = np.float32 if rt == np.float16 else rt
        assert same_bits(a.backward(g, x), a.backward(g.astype(ct), x.astype(ct)).astype(rt))
        assert same_bits(a.backward(g, y=x), a.backward(g.astype(ct), y=x.astype(ct)).astype(rt))
    assert a.forward(1.5).ndim == 0 and a.forward(np.float32(0.5)).dtype == np.float32
    assert same_bits(a.forward([[0.5, -1.0], [2.0, 7.0]]), a.forward(np.array([[0.5, -1.0], [2.0, 7.0]])))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_strided_negative_and_transposed_views(name, dtype):
    a = api(name)
    base = np.random.default_rng(0).uniform(-10, 10, (24, 34)).astype(dtype)
    gbase = np.random.default_rng(1).uniform(-2, 2, (24, 34)).astype(dtype)
    views = [lambda v: v[::2, ::3], lambda v: v[::-1, ::-2], lambda v: v.T,
             lambda v: v[:, 5], lambda v: v.T[::-3]]
    for view in views:
        x, g = view(base), view(gbase)
        xc, gc = np.ascontiguousarray(x), np.ascontiguousarray(g)
        y = a.forward(x)
        assert same_bits(y, a.forward(xc))
        assert same_bits(a.backward(g, x), a.backward(gc, xc))
        assert same_bits(a.backward(g, y=y), a.backward(gc, y=a.forward(xc)))
        out = np.zeros_like(base)
        assert same_bits(a.forward(x, out=view(out)), a.forward(xc))
        xb = base.copy()
        a.forward_(view(xb))
        assert same_bits(view(xb), a.forward(xc))
        gb = gbase.copy()
        a.backward_(view(gb), x)
        assert same_bits(view(gb), a.backward(gc, xc))


@pytest.mark.parametrize("name", NAMES)
def test_zero_d_and_empty(name):
    a = api(name)
    for dtype in (np.float32, np.float64):
        z = np.array(0.75, dtype)
        y = a.forward(z)
        assert y.shape == () and y.dtype == dtype
        assert same_bits(y, a.forward(np.array([0.75], dtype))[0])
        assert a.backward(z, z).shape == () and a.backward(z, y=y).shape == ()
        zi = z.copy()
        assert a.forward_(zi) is zi and same_bits(zi, y)
        for shape in ((0,), (3, 0), (0, 5)):
            e = np.empty(shape, dtype)
            assert a.forward(e).shape == shape and a.forward(e).dtype == dtype
            assert a.backward(e, e).shape == shape and a.backward(e, y=e).shape == shape
            assert a.forward_(e) is e and a.backward_(e, e) is e


@pytest.mark.parametrize("name", NAMES)
def test_errors_name_the_problem_and_modify_nothing(name):
    a = api(name)
    for bad, what in contract.BAD_DTYPES:
        ok = np.ones(bad.shape)
        for call in (lambda: a.forward(bad), lambda: a.forward_(bad),
                     lambda: a.backward(bad, ok), lambda: a.backward(ok, bad),
                     lambda: a.backward_(ok, bad), lambda: a.backward_(ok, y=bad)):
            with pytest.raises(TypeError, match=what):
                call()
        assert (ok == 1).all()
    x = np.array([0.5, -1.0, 2.0])
    for dt in (np.int64, np.float16, np.bool_):
        bad = np.array([1, 0, 1], dtype=dt)
        with pytest.raises(TypeError, match=np.dtype(dt).name):
            a.forward_(bad)
        with pytest.raises(TypeError, match=np.dtype(dt).name):
            a.backward_(bad, x)
        assert same_bits(bad, np.array([1, 0, 1], dtype=dt))
    ro = x.copy()
    ro.flags.writeable = False
    for call in (lambda: a.forward_(ro), lambda: a.backward_(ro, x), lambda: a.forward(x, out=ro)):
        with pytest.raises(ValueError, match=r"(?i)read-?only"):
            call()
    assert same_bits(ro, x)
    g = np.ones(4)
    for call in (lambda: a.backward(g, x), lambda: a.backward_(g, x),
                 lambda: a.backward_(g, y=x), lambda: a.forward(x, out=np.zeros(4))):
        with pytest.raises(ValueError, match="shape"):
            call()
    g = np.ones(3)
    for call in (lambda: a.backward(g), lambda: a.backward_(g), lambda: a.backward(g, x, y=x),
                 lambda: a.backward_(g, x, y=x)):
        with pytest.raises(TypeError, match=r"\bx\b.*\by\b"):
            call()
    with pytest.raises(TypeError, match="dtype"):
        a.forward(x, out=np.zeros(3, np.float32))
    assert (g == 1).all()


@pytest.mark.parametrize("name, param, bad_values", [
    ("squareplus", "b", [0.0, -0.0, -1.0, -1e-300, np.inf, np.nan]),
    ("isru", "alpha", [-0.5, -1e-300, -np.inf, np.inf, np.nan])])
def test_hyper_parameters_are_checked(name, param, bad_values):
    a = api(name)
    for v in bad_values:
        contract.assert_every_form_raises(a.replace(**{param: v}), ValueError, param)
    for v in contract.NOT_NUMBERS + [True]:
        contract.assert_every_form_raises(a.replace(**{param: v}), TypeError, param)
    contract.assert_every_form_raises(a.replace(no_such_param=1.0), TypeError)
    with pytest.raises(TypeError):
        a.fn("")(np.ones(2), 2.0)                 # keyword-only
    x = np.linspace(-3, 3, 13)
    want = a.replace(**{param: 2.0}).forward(x)
    for v in (2, np.float64(2.0), np.int32(2)):
        assert same_bits(a.replace(**{param: v}).forward(x), want)
