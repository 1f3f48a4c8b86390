"""PyTorch (float64) as an outside oracle, mainly for the conventions at the kinks.

Forward and autograd backward of torch.nn.functional are compared at default and
non-default hyper-parameters on [-10, 10], the kinks, their float neighbours and
+-0.  Tolerance: 8 ULP + 16 eps * max(1, |x|) absolute, since torch's own float64
formulas cancel in places (gelu = x/2 (1 + erf), sigmoid' = y (1 - y), tanh' = 1 - y^2);
a wrong convention at a kink is an O(1) difference.  See the notes below for the
few places where the contract knowingly differs from torch.
"""

import numpy as np
import pytest

from conftest import CASES, Api, case_params

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH = {
    "identity": lambda t: t.clone(),
    "sigmoid": lambda t: torch.sigmoid(t),
    "tanh": lambda t: torch.tanh(t),
    "relu": lambda t: F.relu(t),
    "leaky_relu": lambda t, negative_slope: F.leaky_relu(t, negative_slope),
    "elu": lambda t, alpha: F.elu(t, alpha),
    "selu": lambda t: F.selu(t),
    "celu": lambda t, alpha: F.celu(t, alpha),
    "softplus": lambda t, beta, threshold: F.softplus(t, beta, threshold),
    "silu": lambda t: F.silu(t),
    "swish": lambda t, beta: t * torch.sigmoid(beta * t),
    "gelu": lambda t, approximate: F.gelu(t, approximate=approximate),
    "mish": lambda t: F.mish(t),
    "softsign": lambda t: F.softsign(t),
    "relu6": lambda t: F.relu6(t),
    "hardtanh": lambda t, min_val, max_val: F.hardtanh(t, min_val, max_val),
    "hardsigmoid": lambda t: F.hardsigmoid(t),
    "hardswish": lambda t: F.hardswish(t),
    "logsigmoid": lambda t: F.logsigmoid(t),
    "tanhshrink": lambda t: F.tanhshrink(t),
    "softshrink": lambda t, lambd: F.softshrink(t, lambd),
    "hardshrink": lambda t, lambd: F.hardshrink(t, lambd),
    "threshold": lambda t, threshold, value: F.threshold(t, threshold, value),
}
NOT_IN_TORCH = {"binary_step", "bent_identity"}

# Where the contract and torch 2.x knowingly differ (checked against the reference
# in test_accuracy instead):
# * hardsigmoid' in float64: torch uses float32(1/6) = 0.1666666716..., so its
#   backward is compared with a relative tolerance of 1e-7 only.
# * softplus backward from y where beta*x <= threshold < beta*y: y has crossed the
#   threshold (information lost in y), torch differentiates at x.
TORCH_SKIP_POINTS = {}
LOOSE_BACKWARD = {"hardsigmoid": 1e-7}
TORCH_CASES = [c for c in CASES if c.act.name not in NOT_IN_TORCH]


def test_torch_table_covers_the_catalog():
    names = {c.act.name for c in CASES}
    assert names - NOT_IN_TORCH - set(TORCH) == set()


def torch_forward_backward(case, x, g):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TORCH[case.act.name](t, **case.kwargs)
    y.backward(torch.tensor(g, dtype=torch.float64))
    return y.detach().numpy(), t.grad.numpy()


def kink_points(case):
    k = np.array(case.kinks(), dtype=np.float64)
    return np.concatenate([k, np.nextafter(k, np.inf), np.nextafter(k, -np.inf),
                           k + 1e-9, k - 1e-9, [0.0, -0.0]])


def assert_close(got, want, x, what, rtol=0.0, skip=()):
    eps = np.finfo(np.float64).eps
    tol = 8 * np.spacing(np.abs(want)) + 16 * eps * np.maximum(1.0, np.abs(x)) + rtol * np.abs(want)
    bad = ~(np.abs(got - want) <= tol) & ~(np.isnan(got) & np.isnan(want)) & ~np.isin(x, skip)
    bad = np.flatnonzero(bad)
    assert bad.size == 0, f"{what}: {bad.size} differ from torch; " + "; ".join(
        f"x={x[i]!r}: fastact {got[i]!r}, torch {want[i]!r}" for i in bad[:5])


@pytest.mark.parametrize("case", case_params(TORCH_CASES))
def test_matches_torch(case):
    api = Api(case)
    x = np.concatenate([np.linspace(-10, 10, 2001), kink_points(case)])
    g = np.random.default_rng(2).uniform(0.5, 2.0, x.size)
    ty, tdx = torch_forward_backward(case, x, g)
    skip = TORCH_SKIP_POINTS.get(case.act.name, ())
    rtol = LOOSE_BACKWARD.get(case.act.name, 0.0)
    assert_close(api.forward(x), ty, x, f"{case.id} forward")
    assert_close(api.backward(g, x), tdx, x, f"{case.id} backward(x)", rtol, skip)
    if api.has_y:
        y = api.forward(x)
        if case.act.name == "softplus":
            p = case.numeric
            skip = x[(p["beta"] * x <= p["threshold"]) & (p["beta"] * y > p["threshold"])]
        assert_close(api.backward(g, y=y), tdx, x, f"{case.id} backward(y)", rtol, skip)


@pytest.mark.parametrize("case", case_params([c for c in TORCH_CASES if c.kinks()]))
def test_kink_conventions_match_torch(case):
    api = Api(case)
    x = kink_points(case)
    g = np.ones_like(x)
    ty, tdx = torch_forward_backward(case, x, g)
    skip = TORCH_SKIP_POINTS.get(case.act.name, ())
    rtol = LOOSE_BACKWARD.get(case.act.name, 0.0)
    assert_close(api.backward(g, x), tdx, x, f"{case.id} f' at kinks", rtol, skip)
    if api.has_y and case.act.name != "softplus":  # softplus: see the notes above
        assert_close(api.backward(g, y=ty), tdx, x, f"{case.id} f' from y at kinks", rtol, skip)
