"""Backward kernels against central finite differences of the forward kernels
(float64, smooth regions only): independent of the reference formulas.

Five-point stencil with h = 1e-3 (truncation ~h^4 f^(5)/30 ~ 1e-13, rounding
~eps |f| / h ~ 1e-13 |f|); points within 10 h of a kink are dropped.
Tolerance: |fd - backward| <= 1e-8 * (1 + |f(x)|) * |grad|.
"""

import numpy as np
import pytest

from conftest import CASES, Y_CASES, Api

H = 1e-3


def smooth_points(case, lo=-8.0, hi=8.0, n=321):
    x = np.concatenate([np.linspace(lo, hi, n),
                        np.random.default_rng(3).uniform(lo, hi, 200)])
    for k in case.kinks():
        x = x[np.abs(x - k) > 10 * H * max(1.0, abs(k))]
    return x


def finite_difference(f, x):
    h = H * np.maximum(1.0, np.abs(x))
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


FORMS = [pytest.param(c, "x", id=f"{c.id}-x") for c in CASES] + [
    pytest.param(c, "y", id=f"{c.id}-y") for c in Y_CASES]


@pytest.mark.parametrize("case, form", FORMS)
def test_backward_matches_finite_differences(case, form):
    api = Api(case)
    x = smooth_points(case)
    g = np.random.default_rng(5).uniform(0.5, 2.0, x.size)
    y = api.forward(x)
    fd = g * finite_difference(api.forward, x)
    got = api.backward(g, x) if form == "x" else api.backward(g, y=y)
    err = np.abs(got - fd)
    tol = 1e-8 * (1 + np.abs(y)) * g
    bad = np.flatnonzero(~(err <= tol))
    assert bad.size == 0, (
        f"{case.id} backward({form}) differs from finite differences at {bad.size} points; "
        + "; ".join(f"x={x[i]!r}: got {got[i] / g[i]!r}, fd {fd[i] / g[i]!r}" for i in bad[:5]))
