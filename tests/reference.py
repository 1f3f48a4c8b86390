"""Independent high-precision references for every activation in the catalog.

Everything here is computed with mpmath at ``DPS`` significant digits (more where a
formula cancels), from formulas written for the reference and not taken from the
kernels.  ``REFERENCES`` is keyed by catalog name; an activation with ``variants``
(gelu) maps each choice value to its own ``Ref``.

Conventions follow the catalog's ``derivative`` strings (PyTorch's at the kinks).
Infinite inputs are replaced by ``+-HUGE`` (far beyond every float), so the rounded
reference is the mathematical limit.

``cases()`` lists the (activation, hyper-parameters) pairs the suite exercises: the
defaults of every catalog entry (each gelu variant), plus ``EXTRA_PARAMS``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from mpmath import mp, mpf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fastact._catalog import ACTIVATIONS, REQUIRED  # noqa: E402  (plain file, no build needed)

DPS = 50
HUGE = mpf("1e400")  # stands in for infinity

with mp.workdps(DPS):  # an mpf keeps the precision it was made with: not 15 digits
    SELU_SCALE = mpf("1.0507009873554804934193349852946")
    SELU_ALPHA = mpf("1.6732632423543772848170429916717")
    GELU_TANH_C = mpf("0.044715")
SILU_DZERO = -1.2784645427610738  # silu'(x) = 0


# --------------------------------------------------------------------------- helpers
def sigmoid(z):
    return 1 / (1 + mp.exp(-z))


def erfc(z):
    """mpmath's erfc overflows internally for |z| > ~1e154: use the asymptotic series."""
    if abs(z) < 1e6:
        return mp.erfc(z)
    a = abs(z)
    tail = mp.exp(-a * a) / (a * mp.sqrt(mp.pi)) * (1 - 1 / (2 * a * a) + mpf(3) / (4 * a ** 4))
    return tail if z > 0 else 2 - tail


def Phi(x):  # standard normal CDF, no cancellation for x << 0
    return erfc(-x / mp.sqrt(2)) / 2


def phi(x):
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def step(cond, a, b):
    return a if cond else b


@dataclass(frozen=True)
class Ref:
    """f(x, **p), f'(x, **p), f' as a function of y = f(x) (or None), and the
    points where f or f' is not smooth (``kinks(**p)``).  ``extra_dps(x)`` adds
    working precision where the formula cancels; ``dzeros(**p)`` are the interior
    zeros of f' (tested densely; near them f' is a cancelling sum and an absolute
    error of a few eps * |grad| is allowed)."""
    forward: Callable
    dx: Callable
    dy: Optional[Callable] = None
    kinks: Callable = lambda **p: ()
    extra_dps: Callable = lambda x: 0
    dzeros: Callable = lambda **p: ()


def _tanhshrink_dps(x):
    # x - tanh(x) ~ x^3/3: cancellation of ~2*|log10 x| digits for small x
    return 0 if x == 0 or abs(x) >= 1 else int(-2 * mp.log10(abs(x))) + 5


def _gelu_tanh_u2(x):
    """2u, u = sqrt(2/pi)(x + c x^3); 1 + tanh(u) = 2 sigmoid(2u) avoids cancellation."""
    return 2 * mp.sqrt(2 / mp.pi) * (x + GELU_TANH_C * x ** 3)


def _gelu_tanh_dx(x):
    u2 = _gelu_tanh_u2(x)
    du2 = 2 * mp.sqrt(2 / mp.pi) * (1 + 3 * GELU_TANH_C * x * x)
    return sigmoid(u2) + x * sigmoid(u2) * sigmoid(-u2) * du2


def _mish_dx(x):
    sp = mp.log1p(mp.exp(x))
    return mp.tanh(sp) + x * sigmoid(x) * mp.sech(sp) ** 2  # sech^2, not 1 - tanh^2


def _softplus(x, beta, threshold):
    return x if beta * x > threshold else mp.log1p(mp.exp(beta * x)) / beta


def _clip(x, lo, hi):
    return min(max(x, lo), hi)


REFERENCES = {
    "identity": Ref(lambda x: x, lambda x: mpf(1), lambda y: mpf(1)),
    "binary_step": Ref(lambda x: mpf(step(x > 0, 1, 0)), lambda x: mpf(0),
                       kinks=lambda: (0.0,)),
    "sigmoid": Ref(sigmoid, lambda x: sigmoid(x) * sigmoid(-x), lambda y: y * (1 - y)),
    "tanh": Ref(mp.tanh, lambda x: mp.sech(x) ** 2, lambda y: 1 - y * y),
    "relu": Ref(lambda x: step(x > 0, x, mpf(0)), lambda x: mpf(step(x > 0, 1, 0)),
                lambda y: mpf(step(y > 0, 1, 0)), kinks=lambda: (0.0,)),
    "leaky_relu": Ref(
        lambda x, negative_slope: step(x > 0, x, negative_slope * x),
        lambda x, negative_slope: step(x > 0, mpf(1), negative_slope),
        lambda y, negative_slope: step(y > 0, mpf(1), negative_slope),
        kinks=lambda negative_slope: (0.0,)),
    "elu": Ref(
        lambda x, alpha: step(x > 0, x, alpha * mp.expm1(x)),
        lambda x, alpha: step(x > 0, mpf(1), alpha * mp.exp(x)),
        lambda y, alpha: step(y > 0, mpf(1), y + alpha),
        kinks=lambda alpha: (0.0,)),
    "selu": Ref(
        lambda x: SELU_SCALE * step(x > 0, x, SELU_ALPHA * mp.expm1(x)),
        lambda x: SELU_SCALE * step(x > 0, mpf(1), SELU_ALPHA * mp.exp(x)),
        lambda y: step(y > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA),
        kinks=lambda: (0.0,)),
    "celu": Ref(
        lambda x, alpha: step(x > 0, x, alpha * mp.expm1(x / alpha)),
        lambda x, alpha: step(x > 0, mpf(1), mp.exp(x / alpha)),
        lambda y, alpha: step(y > 0, mpf(1), y / alpha + 1),
        kinks=lambda alpha: (0.0,)),
    "softplus": Ref(
        _softplus,
        lambda x, beta, threshold: step(beta * x > threshold, mpf(1), sigmoid(beta * x)),
        lambda y, beta, threshold: step(beta * y > threshold, mpf(1), -mp.expm1(-beta * y)),
        kinks=lambda beta, threshold: (threshold / beta,)),
    "silu": Ref(lambda x: x * sigmoid(x), lambda x: sigmoid(x) * (1 + x * sigmoid(-x)),
                dzeros=lambda: (SILU_DZERO,)),
    "swish": Ref(
        lambda x, beta: x * sigmoid(beta * x),
        lambda x, beta: sigmoid(beta * x) + beta * x * sigmoid(beta * x) * sigmoid(-beta * x),
        dzeros=lambda beta: (SILU_DZERO / beta,)),
    "gelu": {
        "none": Ref(lambda x: x * Phi(x), lambda x: Phi(x) + x * phi(x),
                    dzeros=lambda: (-0.7517915246935645,)),
        "tanh": Ref(lambda x: x * sigmoid(_gelu_tanh_u2(x)), _gelu_tanh_dx,
                    dzeros=lambda: (-0.7524614220710163,)),
    },
    "mish": Ref(lambda x: x * mp.tanh(mp.log1p(mp.exp(x))), _mish_dx,
                dzeros=lambda: (-1.1924312145154952,)),
    "bent_identity": Ref(
        lambda x: x * x / (2 * (mp.sqrt(x * x + 1) + 1)) + x,  # no cancellation near 0
        lambda x: x / (2 * mp.sqrt(x * x + 1)) + 1),
    "softsign": Ref(lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2,
                    kinks=lambda: (0.0,)),  # f'' jumps at 0
    "relu6": Ref(lambda x: _clip(x, mpf(0), mpf(6)), lambda x: mpf(step(0 < x < 6, 1, 0)),
                 lambda y: mpf(step(0 < y < 6, 1, 0)), kinks=lambda: (0.0, 6.0)),
    "hardtanh": Ref(
        lambda x, min_val, max_val: _clip(x, min_val, max_val),
        lambda x, min_val, max_val: mpf(step(min_val < x < max_val, 1, 0)),
        lambda y, min_val, max_val: mpf(step(min_val < y < max_val, 1, 0)),
        kinks=lambda min_val, max_val: (min_val, max_val)),
    "hardsigmoid": Ref(lambda x: _clip(x / 6 + mpf(1) / 2, mpf(0), mpf(1)),
                       lambda x: step(-3 < x < 3, mpf(1) / 6, mpf(0)),
                       kinks=lambda: (-3.0, 3.0)),
    "hardswish": Ref(lambda x: x * _clip(x + 3, mpf(0), mpf(6)) / 6,
                     lambda x: mpf(0) if x <= -3 else (x / 3 + mpf(1) / 2 if x < 3 else mpf(1)),
                     kinks=lambda: (-3.0, 3.0), dzeros=lambda: (-1.5,)),
    "logsigmoid": Ref(lambda x: -mp.log1p(mp.exp(-x)), lambda x: sigmoid(-x)),
    "tanhshrink": Ref(lambda x: x - mp.tanh(x), lambda x: mp.tanh(x) ** 2,
                      extra_dps=_tanhshrink_dps),
    "softshrink": Ref(
        lambda x, lambd: x - lambd if x > lambd else (x + lambd if x < -lambd else mpf(0)),
        lambda x, lambd: mpf(step(abs(x) > lambd, 1, 0)),
        kinks=lambda lambd: (-lambd, lambd)),
    "hardshrink": Ref(
        lambda x, lambd: step(abs(x) > lambd, x, mpf(0)),
        lambda x, lambd: mpf(step(abs(x) > lambd, 1, 0)),
        kinks=lambda lambd: (-lambd, lambd)),
    "threshold": Ref(
        lambda x, threshold, value: step(x > threshold, x, value),
        lambda x, threshold, value: mpf(step(x > threshold, 1, 0)),
        kinks=lambda threshold, value: (threshold,)),
}

# Values for hyper-parameters the catalog marks REQUIRED (no default).
REQUIRED_VALUES = {("threshold", "threshold"): 0.1, ("threshold", "value"): 20.0}

# Non-default hyper-parameters exercised for each parametric activation.  The
# softplus betas are powers of two, so beta * x > threshold is decided exactly in
# every dtype (the kernel compares the rounded product).
EXTRA_PARAMS = {
    "leaky_relu": [dict(negative_slope=0.2)],
    "elu": [dict(alpha=0.5), dict(alpha=2.0)],
    "celu": [dict(alpha=0.5), dict(alpha=3.0)],
    "softplus": [dict(beta=2.0, threshold=10.0), dict(beta=0.5)],
    "swish": [dict(beta=1.5)],
    "hardtanh": [dict(min_val=-2.0, max_val=3.0)],
    "softshrink": [dict(lambd=1.0)],
    "hardshrink": [dict(lambd=1.0)],
    "threshold": [dict(threshold=0.5, value=-2.0)],
}


class MissingReference(AssertionError):
    pass


@dataclass(frozen=True)
class Case:
    act: object              # catalog Activation
    params: tuple            # ((name, value), ...): every keyword passed to fastact
    default: bool = True     # the catalog's defaults (or a variant choice)

    @property
    def kwargs(self):
        return dict(self.params)

    @property
    def numeric(self):
        """The numeric hyper-parameters (what the kernels and references take)."""
        return {p.name: self.kwargs[p.name] for p in self.act.numeric_params}

    @property
    def id(self):
        inner = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{self.act.name}[{inner}]" if inner else self.act.name

    @property
    def ref(self) -> Ref:
        entry = REFERENCES.get(self.act.name)
        if entry is None:
            raise MissingReference(f"no reference for catalog activation {self.act.name!r} "
                                   f"in tests/reference.py")
        if self.act.variants:
            choice = next(v for k, v in self.params if k in
                          {p.name for p in self.act.params if p.choices})
            if not isinstance(entry, dict) or choice not in entry:
                raise MissingReference(f"no reference for {self.act.name} variant {choice!r}")
            return entry[choice]
        return entry

    def kinks(self, params=None):
        return tuple(float(k) for k in self.ref.kinks(**(params or self.numeric)))

    def dzeros(self, params=None):
        return tuple(float(k) for k in self.ref.dzeros(**(params or self.numeric)))


def cases():
    out = []
    for act in ACTIVATIONS:
        base = {}
        for p in act.params:
            if p.default is REQUIRED:
                base[p.name] = REQUIRED_VALUES.get((act.name, p.name), REQUIRED)
            else:
                base[p.name] = p.default
        choice = next((p for p in act.params if p.choices), None)
        variants = [{choice.name: c} for c in choice.choices] if choice else [{}]
        for v in variants:
            out.append(Case(act, tuple({**base, **v}.items())))
        for v in EXTRA_PARAMS.get(act.name, []):
            out.append(Case(act, tuple({**base, **v}.items()), default=False))
    return out


CASES = cases()
DEFAULT_CASES = [c for c in CASES if c.default]


# ------------------------------------------------------------------- evaluation
def _to_mpf(v):
    v = float(v)
    if v != v:
        return None
    if v in (float("inf"), float("-inf")):
        return HUGE if v > 0 else -HUGE
    return mpf(v)


def split(v):
    """mpf -> (hi, lo) float64 double-double (hi = inf beyond the float64 range)."""
    hi = float(v)
    if hi in (float("inf"), float("-inf")):
        return hi, 0.0
    return hi, float(v - mpf(hi))


def evaluate(fn, xs, params, extra_dps=lambda x: 0, scale=None):
    """[scale_i *] fn(x_i, **params) for each float x_i, as double-double arrays.

    ``params`` are floats (already rounded to the dtype under test); ``scale`` (the
    upstream gradient) multiplies exactly.  NaN inputs give NaN."""
    import numpy as np
    p = {k: mpf(float(v)) for k, v in params.items()}
    hi = np.empty(len(xs))
    lo = np.empty(len(xs))
    for i, x in enumerate(xs):
        xm = _to_mpf(x)
        if xm is None:
            hi[i], lo[i] = np.nan, 0.0
            continue
        with mp.workdps(DPS + extra_dps(xm)):
            v = fn(xm, **p)
            if scale is not None:
                v = v * mpf(float(scale[i]))
            hi[i], lo[i] = split(v)
    return hi, lo
