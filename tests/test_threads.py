"""Thread-count API, and results that depend neither on the number of threads nor on
the array size (parallel chunk boundaries), bit for bit."""

import numpy as np
import pytest

import fastact
from conftest import CASES, Api, case_params, dtype_params

N_PARALLEL = 1 << 18
N_LARGE = 1 << 20
PATTERN = 1009  # prime: the pattern is misaligned with every chunk boundary


def mixed_values(n, dtype, seed=11):
    """Ordinary values, tails, tiny, huge and special values (no NaN: compared with
    array_equal on the bits anyway)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-30, 30, n)
    x[::7] = rng.uniform(-3, 3, x[::7].size)
    x[::13] = np.exp(rng.uniform(-700, 700, x[::13].size)) * rng.choice([-1, 1], x[::13].size)
    x[:8] = [0.0, -0.0, np.inf, -np.inf, 3.0, -3.0, 6.0, 1e-30]
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def all_forms(api, x, g):
    out = {"forward": api.forward(x), "backward(x)": api.backward(g, x)}
    if api.has_y:
        out["backward(y)"] = api.backward(g, y=out["forward"])
    return out


def assert_same_bits(a, b, what):
    for form in a:
        assert a[form].dtype == b[form].dtype
        ua = a[form].view(f"u{a[form].itemsize}")
        ub = b[form].view(f"u{b[form].itemsize}")
        both_nan = np.isnan(a[form]) & np.isnan(b[form])  # NaN payloads are not compared
        diff = np.flatnonzero((ua != ub) & ~both_nan)
        assert diff.size == 0, (f"{what}, {form}: {diff.size} elements differ, first at "
                                f"{diff[0]}: {a[form][diff[0]]!r} vs {b[form][diff[0]]!r}")


def test_get_set_num_threads(restore_threads):
    """A build without OpenMP runs serially and says so: get_num_threads() is then 1."""
    n = fastact.get_num_threads()
    assert isinstance(n, int) and n >= 1
    for k in (1, 2, 3):
        fastact.set_num_threads(k)
        assert fastact.get_num_threads() == (k if fastact._api.kernels.OPENMP else 1)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (-8, ValueError),
                                      (1.5, TypeError), ("2", TypeError), (None, TypeError)])
def test_set_num_threads_rejects(bad, exc, restore_threads):
    before = fastact.get_num_threads()
    with pytest.raises(exc):
        fastact.set_num_threads(bad)
    assert fastact.get_num_threads() == before


def test_show_config(capsys):
    fastact.show_config()
    text = capsys.readouterr().out
    assert "openmp" in text.lower(), text
    assert "thread" in text.lower(), text
    assert str(fastact.get_num_threads()) in text, text


@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params(CASES))
def test_one_and_two_threads_give_the_same_bits(case, dtype, restore_threads):
    api = Api(case)
    x = mixed_values(N_PARALLEL, dtype)
    g = mixed_values(N_PARALLEL, dtype, seed=12) / 16
    fastact.set_num_threads(1)
    one = all_forms(api, x, g)
    fastact.set_num_threads(2)
    two = all_forms(api, x, g)
    assert_same_bits(one, two, f"{case.id} {dtype}: 1 vs 2 threads")


@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", case_params([c for c in CASES if c.default]))
def test_large_array_matches_small_pieces(case, dtype, restore_threads):
    api = Api(case)
    fastact.set_num_threads(2)
    small_x = mixed_values(PATTERN, dtype)
    small_g = mixed_values(PATTERN, dtype, seed=12) / 16
    reps = -(-N_LARGE // PATTERN)
    small = all_forms(api, small_x, small_g)
    large = all_forms(api, np.tile(small_x, reps), np.tile(small_g, reps))
    assert_same_bits({k: np.tile(v, reps) for k, v in small.items()}, large,
                     f"{case.id} {dtype}: 2^20 elements vs {PATTERN}")
