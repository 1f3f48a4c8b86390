"""The API contract: dtype rules, argument errors (with their messages), nothing
modified on error, out=, and hyper-parameter validation."""

import numpy as np
import pytest

from conftest import CASES, OMIT, Api, case_params, dtype_params, same_bits, sample_inputs
from fastact._catalog import REQUIRED

DEFAULTS = [c for c in CASES if c.default]
PARAMETRIC = [c for c in DEFAULTS if c.act.numeric_params]


def result_dtype(*arrays):
    """np.result_type, float16 kept, integer/bool -> float64."""
    rt = np.result_type(*arrays)
    return np.dtype(np.float64) if rt.kind in "biu" else rt


def assert_every_form_raises(api, exc, match=None, dtype=np.float64):
    """forward, forward_, backward(x), backward_(x) and the y forms all raise, and
    leave every array they were given untouched."""
    x = sample_inputs(api.case, dtype, n=16)
    g = np.linspace(0.5, 2.0, x.size).astype(dtype)
    calls = [("forward", lambda: api.forward(x)), ("forward_", lambda: api.forward_(x)),
             ("backward", lambda: api.backward(g, x)), ("backward_", lambda: api.backward_(g, x))]
    if api.has_y:
        calls += [("backward(y)", lambda: api.backward(g, y=x)),
                  ("backward_(y)", lambda: api.backward_(g, y=x))]
    x0, g0 = x.copy(), g.copy()
    for name, call in calls:
        with pytest.raises(exc, match=match):
            call()
        assert same_bits(x, x0) and same_bits(g, g0), f"{name} modified its input on error"


# ---------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params(CASES))
def test_forward_returns_a_new_array_of_the_same_dtype(case, dtype):
    api = Api(case)
    x = sample_inputs(case, dtype)
    x0 = x.copy()
    y = api.forward(x)
    assert type(y) is np.ndarray and y.dtype == dtype and y.shape == x.shape
    assert not np.shares_memory(x, y)
    assert same_bits(x, x0)


@pytest.mark.parametrize("case", case_params(CASES))
def test_float16_is_computed_in_float32(case):
    api = Api(case)
    x = sample_inputs(case, np.float16)
    g = np.linspace(-2, 2, x.size).astype(np.float16)
    x32, g32 = x.astype(np.float32), g.astype(np.float32)
    assert same_bits(api.forward(x), api.forward(x32).astype(np.float16))
    assert same_bits(api.backward(g, x), api.backward(g32, x32).astype(np.float16))
    if api.has_y:
        y = api.forward(x)
        assert same_bits(api.backward(g, y=y), api.backward(g32, y=y.astype(np.float32))
                         .astype(np.float16))


@pytest.mark.parametrize("itype", [np.int8, np.int32, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_integer_and_bool_inputs_are_computed_in_float64(case, itype):
    api = Api(case)
    x = np.array([0, 1, 2, 3, 6, 7, 100] if itype in (np.uint8,) else
                 [True, False, True] if itype is np.bool_ else [-100, -3, -1, 0, 1, 3, 6, 7],
                 dtype=itype)
    assert same_bits(api.forward(x), api.forward(x.astype(np.float64)))
    assert same_bits(api.backward(x, x), api.backward(x.astype(float), x.astype(float)))


@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_array_likes_and_scalars(case):
    api = Api(case)
    for arg in (1.5, 3, np.float64(-0.25)):
        y = api.forward(arg)
        assert type(y) is np.ndarray and y.ndim == 0 and y.dtype == np.float64
        assert same_bits(y, api.forward(np.array(float(arg))))
    y32 = api.forward(np.float32(0.75))
    assert type(y32) is np.ndarray and y32.ndim == 0 and y32.dtype == np.float32
    nested = [[0.5, -1.0], [2.0, 7.0]]
    assert same_bits(api.forward(nested), api.forward(np.array(nested)))
    assert same_bits(api.backward([1.0, 2.0], [0.5, -3.0]),
                     api.backward(np.array([1.0, 2.0]), np.array([0.5, -3.0])))


MIXED = [(np.float32, np.float64), (np.float64, np.float32), (np.float16, np.float32),
         (np.float16, np.float16), (np.int64, np.float32), (np.float32, np.bool_),
         (np.int8, np.float16), (np.int32, np.int32)]


@pytest.mark.parametrize("gt, xt", MIXED, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_backward_result_dtype_of_mixed_inputs(case, gt, xt):
    api = Api(case)
    g = np.array([1, 0, 2, 1, 3], dtype=gt)
    x = np.array([-2, 0, 1, 3, 5], dtype=xt)
    rt = result_dtype(g, x)
    ct = np.float32 if rt == np.float16 else rt
    want = api.backward(g.astype(ct), x.astype(ct)).astype(rt)
    assert same_bits(api.backward(g, x), want)
    if api.has_y:
        want = api.backward(g.astype(ct), y=x.astype(ct)).astype(rt)
        assert same_bits(api.backward(g, y=x), want)


BAD_DTYPES = [(np.array([1 + 2j, 0.5]), "complex"), (np.array([1 + 2j], np.complex64), "complex"),
              (np.array([1.0, None], dtype=object), "object"), (np.array(["a", "b"]), r"<U1|str")]


@pytest.mark.parametrize("bad, name", BAD_DTYPES, ids=["c128", "c64", "object", "str"])
@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_unsupported_dtypes_raise_type_error_naming_the_dtype(case, bad, name):
    api = Api(case)
    ok = np.ones(bad.shape)
    b0 = bad.copy()
    for call in (lambda: api.forward(bad), lambda: api.forward_(bad),
                 lambda: api.backward(bad, ok), lambda: api.backward(ok, bad),
                 lambda: api.backward_(bad, ok), lambda: api.backward_(ok, bad)):
        with pytest.raises(TypeError, match=name):
            call()
    assert np.array_equal(bad, b0) and (ok == 1).all()


@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_in_place_forms_accept_only_writeable_float_ndarrays(case):
    api = Api(case)
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(TypeError):
        api.forward_([0.5, -1.0, 2.0])
    with pytest.raises(TypeError):
        api.backward_([1.0, 1.0, 1.0], x)
    for dt in (np.int64, np.int32, np.float16, np.bool_):
        bad = np.array([1, 0, 1], dtype=dt)
        b0 = bad.copy()
        with pytest.raises(TypeError, match=np.dtype(dt).name):
            api.forward_(bad)
        with pytest.raises(TypeError, match=np.dtype(dt).name):
            api.backward_(bad, x)
        assert same_bits(bad, b0)
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"(?i)read-?only"):
        api.forward_(ro)
    with pytest.raises(ValueError, match=r"(?i)read-?only"):
        api.backward_(ro, x)
    assert same_bits(ro, x)


@pytest.mark.parametrize("xt", [np.float64, np.float32, np.float16, np.int64, np.bool_])
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_in_place_backward_converts_x_and_y_to_the_grad_dtype(case, dtype, xt):
    api = Api(case)
    x = np.array([-4.1, -0.3, 0.0, 0.7, 2.2, 6.6]).astype(xt)
    g = np.linspace(-1.5, 1.5, 6).astype(dtype)
    want = api.backward(g, x.astype(dtype))
    got = g.copy()
    assert api.backward_(got, x) is got and same_bits(got, want)
    if api.has_y:
        want, got = api.backward(g, y=x.astype(dtype)), g.copy()
        assert api.backward_(got, y=x) is got and same_bits(got, want)


# ---------------------------------------------------------------- shape / x, y
@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_mismatched_shapes_raise_value_error(case):
    api = Api(case)
    for gs, xs in [((5,), (4,)), ((5, 1), (5,)), ((1,), (5,)), ((2, 3), (3, 2)), ((), (3,))]:
        g, x = np.ones(gs), np.full(xs, 0.5)
        g0 = g.copy()
        with pytest.raises(ValueError, match="shape"):
            api.backward(g, x)
        with pytest.raises(ValueError, match="shape"):
            api.backward_(g, x)
        if api.has_y:
            with pytest.raises(ValueError, match="shape"):
                api.backward_(g, y=x)
        assert same_bits(g, g0)


@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_backward_needs_exactly_one_of_x_and_y(case):
    api = Api(case)
    g, x = np.ones(3), np.array([0.5, -1.0, 2.0])
    g0 = g.copy()
    for call in (lambda: api.backward(g), lambda: api.backward_(g),
                 lambda: api.backward(g, x, y=x), lambda: api.backward_(g, x, y=x)):
        with pytest.raises(TypeError, match=r"\bx\b.*\by\b"):
            call()
    if not api.has_y:
        for call in (lambda: api.backward(g, y=x), lambda: api.backward_(g, y=x)):
            with pytest.raises(TypeError, match=r"(?i)\bno\b.*backward.*output"):
                call()
    assert same_bits(g, g0)


# ------------------------------------------------------------------------- out=
@pytest.mark.parametrize("dtype", dtype_params() + [pytest.param(np.dtype(np.float16), id="f16")])
@pytest.mark.parametrize("case", case_params(CASES))
def test_out_is_filled_and_returned(case, dtype):
    api = Api(case)
    x = sample_inputs(case, dtype)
    g = np.linspace(-2, 2, x.size).astype(dtype)
    for want, call in [(api.forward(x), lambda o: api.forward(x, out=o)),
                       (api.backward(g, x), lambda o: api.backward(g, x, out=o))] + (
            [(api.backward(g, y=x), lambda o: api.backward(g, y=x, out=o))] if api.has_y else []):
        out = np.full_like(x, 7)
        assert call(out) is out
        assert same_bits(out, want)
    alias = x.copy()
    assert api.forward(alias, out=alias) is alias and same_bits(alias, api.forward(x))


@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_bad_out_raises_and_is_untouched(case):
    api = Api(case)
    x64, x32, xi = np.linspace(-3, 3, 6), np.linspace(-3, 3, 6, dtype=np.float32), np.arange(6)
    ro = np.zeros(6)
    ro.flags.writeable = False
    checks = [(x64, np.zeros(6, np.float32), TypeError, "dtype"),
              (x32, np.zeros(6), TypeError, "dtype"), (xi, np.zeros(6, np.int64), TypeError, "dtype"),
              (xi, np.zeros(6, np.float32), TypeError, "dtype"),
              (x32.astype(np.float16), np.zeros(6, np.float32), TypeError, "dtype"),
              (x64, [0.0] * 6, TypeError, "ndarray"), (x64, np.zeros(5), ValueError, "shape"),
              (x64, np.zeros((6, 1)), ValueError, "shape"), (x64, ro, ValueError, "(?i)read-?only")]
    for x, out, exc, match in checks:
        before = np.array(out, copy=True)
        for call in (lambda: api.forward(x, out=out), lambda: api.backward(x, x, out=out)):
            with pytest.raises(exc, match=match):
                call()
        assert np.array_equal(np.asarray(out), before)
    out = np.full(5, 3.0)
    with pytest.raises(ValueError):
        api.backward(np.ones(5), np.ones(4), out=out)  # bad x: out untouched
    assert (out == 3.0).all()


# ------------------------------------------------------------ hyper-parameters
NOT_NUMBERS = ["0.5", None, [0.5], object()]
VIOLATIONS = {"hardtanh": dict(min_val=2.0, max_val=1.0)}


@pytest.mark.parametrize("case", case_params(PARAMETRIC))
def test_non_number_hyper_parameters_raise_type_error(case):
    for p in case.act.numeric_params:
        for bad in NOT_NUMBERS:
            assert_every_form_raises(Api(case).replace(**{p.name: bad}), TypeError, p.name)


@pytest.mark.parametrize("case", case_params(PARAMETRIC))
def test_checked_hyper_parameters_raise_value_error(case):
    for p in case.act.numeric_params:
        bad = {"nonzero": [0.0, -0.0], "nonnegative": [-0.5, -1e-300], "": []}[p.check]
        for v in bad:
            assert_every_form_raises(Api(case).replace(**{p.name: v}), ValueError, p.name)


@pytest.mark.parametrize("case", case_params([c for c in DEFAULTS if c.act.constraint]))
def test_constraint_violation_raises_value_error(case):
    assert case.act.name in VIOLATIONS, f"add a violating example for {case.act.name}"
    bad = VIOLATIONS[case.act.name]
    assert not eval(case.act.constraint, {}, {**case.numeric, **bad})
    assert_every_form_raises(Api(case).replace(**bad), ValueError, "|".join(bad))
    equal = {k: 0.5 for k in bad}  # the boundary is allowed for "<="-type constraints
    if eval(case.act.constraint, {}, {**case.numeric, **equal}):
        Api(case).replace(**equal).forward(np.ones(2))


@pytest.mark.parametrize("case", case_params([c for c in DEFAULTS if any(
    p.default is REQUIRED for p in c.act.params)]))
def test_missing_required_hyper_parameter_raises_type_error(case):
    for p in case.act.params:
        if p.default is REQUIRED:
            assert_every_form_raises(Api(case).replace(**{p.name: OMIT}), TypeError, p.name)


@pytest.mark.parametrize("case", case_params([c for c in DEFAULTS if c.act.variants]))
def test_choice_not_in_choices_raises_value_error(case):
    for p in case.act.params:
        if p.choices:
            for bad in ("exact", "TANH", ""):
                assert_every_form_raises(Api(case).replace(**{p.name: bad}), ValueError, p.name)


@pytest.mark.parametrize("case", case_params(DEFAULTS))
def test_hyper_parameters_are_keyword_only_and_names_checked(case):
    api = Api(case)
    x = np.array([0.5, -1.0])
    if case.act.numeric_params:
        with pytest.raises(TypeError):
            api.fn("")(x, *case.numeric.values())
    assert_every_form_raises(api.replace(no_such_param=1.0), TypeError)


@pytest.mark.parametrize("case", case_params(PARAMETRIC))
def test_numeric_hyper_parameters_accept_ints_and_numpy_scalars(case):
    api = Api(case)
    x = sample_inputs(case, np.float64)
    want = api.forward(x)
    for conv in (np.float64, lambda v: int(v) if float(v).is_integer() else v):
        assert same_bits(api.replace(**{k: conv(v) for k, v in case.numeric.items()}).forward(x),
                         want)
