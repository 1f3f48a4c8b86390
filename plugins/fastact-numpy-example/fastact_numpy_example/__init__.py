"""An example fastact plugin in pure NumPy: two activations fastact does not have.

* ``gaussian(x) = exp(-x^2)`` (the Gaussian activation of the classic surveys);
* ``snake(x, a=1) = x + sin(a x)^2 / a`` (Ziyin, Hartwig and Ueda 2020, "Neural
  Networks Fail to Learn Periodic Functions and How to Fix It").

fastact finds this module through the ``fastact`` entry-point group (pyproject.toml)
and calls ``register_activations`` the first time its registry is used. Each activation
is given as NumPy functions ``f(x, **params)`` and ``f'(x, **params)``; fastact wraps
them into ``NAME``, ``NAME_``, ``NAME_backward`` and ``NAME_backward_`` with its
argument checks and dtype rules. The functions receive a read-only float32 or float64
array and return an array of its shape; they compute in float64 (fastact rounds the
result to the caller's dtype) and never emit floating-point warnings.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

import fastact

__version__ = "0.1.0"

_SPLITTER = 134217729.0      # 2**27 + 1: Veltkamp's split of a double into two halves


def _split(v):
    """v = hi + lo exactly, each with at most 26 significant bits (|v| < 2**996)."""
    c = _SPLITTER * v
    hi = c - (c - v)
    return hi, v - hi


def _two_product(a, b):
    """(p, e) with p = fl(a * b) and p + e = a * b exactly (Dekker). e is 0 where the
    split cannot be done (|a| or |b| beyond 2**996, or p not finite)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, np.where(np.isfinite(e), e, 0.0)


# ---------------------------------------------------------------- gaussian
_GAUSS_CLIP = 40.0           # exp(-40^2) is 0 in float64; clipping keeps x^2 finite


def gaussian(x):
    """exp(-x^2), accurate to about one ULP: x^2 is formed exactly as p + e and
    exp(-(p + e)) = exp(-p) * (1 - e) (|e| < 2e-13). 0 at +-inf, NaN for NaN."""
    with np.errstate(all="ignore"):
        xc = np.clip(np.asarray(x, dtype=np.float64), -_GAUSS_CLIP, _GAUSS_CLIP)
        p, e = _two_product(xc, xc)
        g = np.exp(-p)
        return g - g * e


def gaussian_derivative(x):
    """-2 x exp(-x^2); -0/+0 (its limit) at +inf/-inf, NaN for NaN."""
    with np.errstate(all="ignore"):
        xc = np.clip(np.asarray(x, dtype=np.float64), -_GAUSS_CLIP, _GAUSS_CLIP)
        return (-2.0 * xc) * gaussian(xc)


# ------------------------------------------------------------------- snake
def check_snake(a=1.0):
    """snake's hyper-parameter: a finite, nonzero real number."""
    if isinstance(a, bool) or not isinstance(a, numbers.Real):
        raise TypeError(f"a must be a real number, got {type(a).__name__}")
    if not math.isfinite(a) or a == 0:
        raise ValueError(f"a must be finite and nonzero, got {a!r}")


def _sin_cos_ax(x, a):
    """(x as float64, fl(a x), sin(a x), cos(a x)), the last two of the exact product:
    a x = t + e, sin(t + e) = sin t cos e + cos t sin e (and likewise cos)."""
    x = np.asarray(x, dtype=np.float64)
    t, e = _two_product(np.float64(a), x)
    s, c = np.sin(t), np.cos(t)
    se, ce = np.sin(e), np.cos(e)
    return x, t, s * ce + c * se, c * ce - s * se


def snake(x, a=1.0):
    """x + sin(a x)^2 / a, computed as x + sin(a x) * (sin(a x) / a) (no underflow of
    sin^2 for tiny a x). +-inf at +-inf; where a x overflows the periodic term is below
    half an ULP of x, so the result is x. NaN for NaN."""
    with np.errstate(all="ignore"):
        x, t, s, _ = _sin_cos_ax(x, a)
        return np.where(np.isinf(t), x, x + s * (s / a))


def snake_derivative(x, a=1.0):
    """1 + sin(2 a x), computed as (sin(a x) + cos(a x))^2 (the same value, without the
    cancellation of 1 + sin near its zeros). NaN at +-inf (no limit) and for NaN."""
    with np.errstate(all="ignore"):
        _, _, s, c = _sin_cos_ax(x, a)
        r = s + c
        return r * r


@fastact.hookimpl
def register_activations(register):
    register(
        "gaussian", numpy_forward=gaussian, numpy_derivative=gaussian_derivative,
        formula="exp(-x^2)", derivative="-2 x exp(-x^2)", output_range="(0, 1]",
        monotonic=False, zero_centred=False, smooth=True, saturating="both",
        doc="The Gaussian activation of the classic surveys of activation functions "
            "(a radial basis function of x); not invertible, so no backward from y.")
    register(
        "snake", numpy_forward=snake, numpy_derivative=snake_derivative,
        params={"a": 1.0}, check=check_snake,
        formula="x + sin(a x)^2 / a", derivative="1 + sin(2 a x)",
        output_range="(-inf, inf)", monotonic=True, zero_centred=True, smooth=True,
        doc="Ziyin, Hartwig and Ueda (2020), 'Neural Networks Fail to Learn Periodic "
            "Functions and How to Fix It'; a (the frequency) must be finite and "
            "nonzero. Not invertible in closed form, so no backward from y.")
