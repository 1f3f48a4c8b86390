"""References for ``fastact check``: every built-in activation and derivative written
again, independently of the kernels, in NumPy's widest float.

Design
------
* The formulas are the textbook ones (the catalog's ``formula`` and ``derivative``),
  rearranged only where a naive form cancels: ``expm1``/``log1p``, ``sigmoid(-x)``
  instead of ``1 - sigmoid(x)``, ``4e/(1+e)^2`` for ``1 - tanh^2``, a series for
  ``x - tanh(x)`` near 0, and erfc from its power series and continued fraction.
* They run in ``WIDE``: ``np.longdouble`` where it has more bits than a double (x86-64
  Linux: 64-bit significand, about 2^-11 of a float64 ULP), else float64. A float64
  result checked against a float64 reference carries the reference's own rounding too;
  ``fastact check`` widens its bound for that case and says so.
* Infinite inputs become ``+-HUGE`` (1e1000, beyond every float64, when WIDE is wider) so that a
  reference returns the limit, not an ``inf - inf``.

``ELEMENTWISE[name]`` is ``Ref(forward, derivative, derivative_from_y)``, functions of a
WIDE array and the hyper-parameters; gelu's two forms are ``"gelu"`` and ``"gelu_tanh"``.
``LAYER[name]`` is ``(forward, vjp)`` for the per-channel and axis-wise built-ins, on
arrays of shape (N, C) with channels (and the reduced axis) along axis 1.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

WIDE = np.longdouble if np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant else np.float64
EXTENDED = WIDE is not np.float64
HUGE = WIDE("1e1000") if EXTENDED else None   # x^3 stays finite in WIDE

PI = np.arccos(WIDE(-1))
SQRT2 = np.sqrt(WIDE(2))
SQRT_2_OVER_PI = np.sqrt(2 / PI)
SELU_SCALE = WIDE("1.0507009873554804934193349852946")
SELU_ALPHA = WIDE("1.6732632423543772848170429916717")
GELU_C = WIDE("0.044715")


def exact_pair(product_of):
    """(hi, lo) in WIDE with hi + lo = the product of the decimal strings to about
    2^-120 relative: hi rounded, lo the rest."""
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 80
        exact = Decimal(1)
        for text in product_of:
            exact *= Decimal(text)
        hi = WIDE(str(exact))
        rest = exact - Decimal(np.format_float_positional(hi, unique=False, precision=80))
    return hi, WIDE(str(rest))


# y + scale*alpha cancels near y = -scale*alpha: the constant as an exact-enough pair
SELU_SA_HI, SELU_SA_LO = exact_pair(("1.0507009873554804934193349852946",
                                     "1.6732632423543772848170429916717"))


class Ref(NamedTuple):
    forward: Callable
    derivative: Callable
    derivative_from_y: Optional[Callable] = None


def widen(x) -> np.ndarray:
    """x as a WIDE array with +-inf replaced by +-HUGE (when WIDE is wider)."""
    w = np.asarray(x, dtype=WIDE)
    if EXTENDED:
        w = np.where(np.isinf(w), np.copysign(HUGE, w), w)
    return w


# ------------------------------------------------------------------------ helpers
def sigmoid(z):
    """1 / (1 + e^-z) without overflow: e^-|z| only."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softplus0(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|)."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def tanh_deriv(z):
    """1 - tanh(z)^2 = 4e / (1 + e)^2 with e = e^-2|z| (no cancellation)."""
    e = np.exp(-2 * np.abs(z))
    return 4 * e / ((1 + e) * (1 + e))


def erfc(z):
    """erfc in WIDE: 1 - erf by erf's all-positive power series below 0.75 (erfc > 0.28
    there, so the subtraction loses under 2 bits), above it the continued fraction of
    erfc with 400 terms (converged to 1e-20 relative from 0.75 up);
    erfc(-z) = 2 - erfc(z)."""
    a = np.abs(z)
    small = np.minimum(a, 0.75)                # series: sum 2^n a^(2n+1) / (2n+1)!!
    term, total, twice_sq = small.copy(), small.copy(), 2 * small * small
    for n in range(1, 40):
        term = term * twice_sq / (2 * n + 1)
        total = total + term
    series = 1 - 2 / np.sqrt(PI) * np.exp(-small * small) * total
    large = np.maximum(a, 0.75)                # 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
    tail = np.zeros_like(large)
    for k in range(400, 0, -1):
        tail = (WIDE(k) / 2) / (large + tail)
    fraction = np.exp(-large * large) / np.sqrt(PI) / (large + tail)
    positive = np.where(a < 0.75, series, fraction)
    return np.where(z < 0, 2 - positive, positive)


def normal_cdf(x):
    return erfc(-x / SQRT2) / 2


def normal_pdf(x):
    return np.exp(-x * x / 2) / np.sqrt(2 * PI)


def where(cond, a, b):
    return np.where(cond, a, b)


def indicator(cond):
    return np.where(cond, WIDE(1), WIDE(0))


def bernoulli(n):
    """B_0 .. B_n as Fractions (Akiyama-Tanigawa), B_1 = +1/2."""
    from fractions import Fraction
    row, numbers = [], []
    for m in range(n + 1):
        row.append(Fraction(1, m + 1))
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
        numbers.append(row[0])
    return numbers


def tanh_series_minus_first(terms=24):
    """Coefficients c_n of x - tanh(x) = sum c_n x^(2n+1), n >= 1, from
    tanh x = sum_n 2^2n (2^2n - 1) B_2n x^(2n-1) / (2n)!."""
    from math import factorial
    b = bernoulli(2 * terms + 2)
    coefficients = []
    for n in range(2, terms + 2):
        c = -(4 ** n) * (4 ** n - 1) * b[2 * n] / factorial(2 * n)
        coefficients.append(WIDE(c.numerator) / WIDE(c.denominator))
    return coefficients


TANHSHRINK_SERIES = tanh_series_minus_first()


def tanhshrink(x):
    """x - tanh(x): its Taylor series below 0.5 (x^3/3 - 2x^5/15 + ..., 24 terms,
    each term at most a tenth of the one before), where the difference cancels; above,
    the cancellation loses at most 12 long-double ULP."""
    x2, series = x * x, np.zeros_like(x)
    for c in reversed(TANHSHRINK_SERIES):
        series = series * x2 + c
    return where(np.abs(x) < 0.5, x * x2 * series, x - np.tanh(x))


def gelu_tanh_parts(x):
    """(s, u') of 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + c x^3)."""
    u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x)
    return sigmoid(2 * u), SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x)


def mish_parts(x):
    t = np.tanh(softplus0(x))
    return t, tanh_deriv(softplus0(x))


def softplus_fwd(x, beta, threshold):
    z = beta * x
    return where(z > threshold, x, softplus0(z) / beta)


# --------------------------------------------------------------- elementwise table
ELEMENTWISE = {
    "identity": Ref(lambda x: x, lambda x: np.ones_like(x), lambda y: np.ones_like(y)),
    "binary_step": Ref(lambda x: indicator(x > 0), lambda x: np.zeros_like(x)),
    "sigmoid": Ref(sigmoid, lambda x: sigmoid(x) * sigmoid(-x), lambda y: y * (1 - y)),
    "tanh": Ref(np.tanh, tanh_deriv, lambda y: (1 - y) * (1 + y)),
    "relu": Ref(lambda x: np.maximum(x, 0), lambda x: indicator(x > 0),
                lambda y: indicator(y > 0)),
    "leaky_relu": Ref(
        lambda x, negative_slope: where(x > 0, x, negative_slope * x),
        lambda x, negative_slope: where(x > 0, 1, WIDE(negative_slope)),
        lambda y, negative_slope: where(y > 0, 1, WIDE(negative_slope))),
    "elu": Ref(
        lambda x, alpha: where(x > 0, x, alpha * np.expm1(x)),
        lambda x, alpha: where(x > 0, 1, alpha * np.exp(x)),
        lambda y, alpha: where(y > 0, 1, y + alpha)),
    "selu": Ref(
        lambda x: SELU_SCALE * where(x > 0, x, SELU_ALPHA * np.expm1(x)),
        lambda x: SELU_SCALE * where(x > 0, 1, SELU_ALPHA * np.exp(x)),
        lambda y: where(y > 0, SELU_SCALE, (y + SELU_SA_HI) + SELU_SA_LO)),
    "celu": Ref(
        lambda x, alpha: where(x > 0, x, alpha * np.expm1(x / alpha)),
        lambda x, alpha: where(x > 0, 1, np.exp(x / alpha)),
        lambda y, alpha: where(y > 0, 1, y / alpha + 1)),
    "softplus": Ref(
        softplus_fwd,
        lambda x, beta, threshold: where(beta * x > threshold, 1, sigmoid(beta * x)),
        lambda y, beta, threshold: where(beta * y > threshold, 1, -np.expm1(-beta * y))),
    "silu": Ref(lambda x: x * sigmoid(x),
                lambda x: sigmoid(x) * (1 + x * sigmoid(-x))),
    "swish": Ref(
        lambda x, beta: x * sigmoid(beta * x),
        lambda x, beta: sigmoid(beta * x) * (1 + beta * x * sigmoid(-beta * x))),
    "gelu": Ref(lambda x: x * normal_cdf(x), lambda x: normal_cdf(x) + x * normal_pdf(x)),
    "gelu_tanh": Ref(
        lambda x: x * gelu_tanh_parts(x)[0],
        lambda x: (lambda s, du: s + x * 2 * s * (1 - s) * du)(*gelu_tanh_parts(x))),
    "mish": Ref(lambda x: x * mish_parts(x)[0],
                lambda x: (lambda t, dt: t + x * sigmoid(x) * dt)(*mish_parts(x))),
    "bent_identity": Ref(
        lambda x: x * x / (np.hypot(x, 1) + 1) / 2 + x,
        lambda x: x / (2 * np.hypot(x, 1)) + 1),
    "softsign": Ref(lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "relu6": Ref(lambda x: np.clip(x, 0, 6), lambda x: indicator((x > 0) & (x < 6)),
                 lambda y: indicator((y > 0) & (y < 6))),
    "hardtanh": Ref(
        lambda x, min_val, max_val: np.minimum(np.maximum(x, min_val), max_val),
        lambda x, min_val, max_val: indicator((x > min_val) & (x < max_val)),
        lambda y, min_val, max_val: indicator((y > min_val) & (y < max_val))),
    "hardsigmoid": Ref(lambda x: np.clip((x + 3) / 6, 0, 1),     # x + 3: exact near -3
                       lambda x: where((x > -3) & (x < 3), WIDE(1) / 6, 0)),
    "hardswish": Ref(lambda x: x * np.clip(x + 3, 0, 6) / 6,
                     lambda x: where(x <= -3, 0, where(x >= 3, 1, x / 3 + WIDE(1) / 2))),
    "logsigmoid": Ref(lambda x: -softplus0(-x), lambda x: sigmoid(-x)),
    "tanhshrink": Ref(tanhshrink, lambda x: np.tanh(x) ** 2),
    "softshrink": Ref(
        lambda x, lambd: where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0)),
        lambda x, lambd: indicator(np.abs(x) > lambd)),
    "hardshrink": Ref(lambda x, lambd: where(np.abs(x) > lambd, x, 0),
                      lambda x, lambd: indicator(np.abs(x) > lambd)),
    "threshold": Ref(lambda x, threshold, value: where(x > threshold, x, WIDE(value)),
                     lambda x, threshold, value: indicator(x > threshold)),
}


def elementwise(name, params) -> Optional[Ref]:
    """The Ref of a built-in elementwise activation called with `params` (gelu's
    `approximate` picks the form), hyper-parameters bound; None for other names."""
    params = dict(params)
    if name == "gelu" and params.pop("approximate", "none") == "tanh":
        name = "gelu_tanh"
    ref = ELEMENTWISE.get(name)
    if ref is None:
        return None
    bound = {k: WIDE(v) for k, v in params.items()}
    return Ref(*(None if f is None else (lambda f: lambda v: f(v, **bound))(f) for f in ref))


# ------------------------------------------------------------- per-channel, axis-wise
# Each entry: forward(x, *args) and vjp(g, x, *args) -> the gradient with respect to x of
# sum(g * forward(x)); x of shape (N, C), args as fastact.cli.common.layer_arguments.

def softmax(x):
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def log_softmax(x):
    """(x - m) - log(sum exp(x - m)) = (x - m) - log1p(the sum without the max's 1):
    the log of a sum near 1 would lose its small part."""
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    np.put_along_axis(e, x.argmax(axis=1)[:, None], 0, axis=1)   # the max's term is 1
    others = e.sum(axis=1, keepdims=True)
    return (x - m) - np.log1p(others)


def maxout(x, pieces):
    return x.reshape(x.shape[0], -1, pieces).max(axis=2)


def maxout_vjp(g, x, pieces):
    groups = x.reshape(x.shape[0], -1, pieces)
    first = groups.argmax(axis=2)              # the first arg-max takes the gradient
    grad = np.zeros_like(groups)
    np.put_along_axis(grad, first[..., None], g[..., None], axis=2)
    return grad.reshape(x.shape)


def glu_vjp(g, x):
    a, b = np.split(x, 2, axis=1)
    s = sigmoid(b)
    return np.concatenate([g * s, g * a * s * sigmoid(-b)], axis=1)


def srelu(x, t_left, a_left, t_right, a_right):
    return where(x >= t_right, t_right + a_right * (x - t_right),
                 where(x <= t_left, t_left + a_left * (x - t_left), x))


def srelu_slope(x, t_left, a_left, t_right, a_right):
    return where(x >= t_right, a_right, where(x <= t_left, a_left, 1))


def apl(x, a, b):
    return np.maximum(x, 0) + sum(a[s] * np.maximum(b[s] - x, 0) for s in range(len(a)))


def apl_slope(x, a, b):
    return indicator(x > 0) - sum(a[s] * indicator(x < b[s]) for s in range(len(a)))


RRELU_EVAL_SLOPE = (WIDE(1) / 8 + WIDE(1) / 3) / 2

LAYER = {
    "softmax": (softmax, lambda g, x: (lambda y: y * (g - (g * y).sum(axis=1, keepdims=True)))(softmax(x))),
    "log_softmax": (log_softmax, lambda g, x: g - softmax(x) * g.sum(axis=1, keepdims=True)),
    "maxout": (maxout, maxout_vjp),
    "glu": (lambda x: (lambda a, b: a * sigmoid(b))(*np.split(x, 2, axis=1)), glu_vjp),
    "prelu": (lambda x, w: where(x > 0, x, w * x), lambda g, x, w: g * where(x > 0, 1, w)),
    "srelu": (srelu, lambda g, x, *t: g * srelu_slope(x, *t)),
    "apl": (apl, lambda g, x, a, b: g * apl_slope(x, a, b)),
    "rrelu": (lambda x: where(x > 0, x, RRELU_EVAL_SLOPE * x),
              lambda g, x: g * where(x > 0, 1, RRELU_EVAL_SLOPE)),
}
