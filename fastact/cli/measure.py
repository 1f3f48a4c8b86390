"""How ``fastact check`` measures: the test grids, errors in ULP of an exact value under
the README's bound and allowances, and finite differences.

The bound is 4 ULP of the exact value. Allowances: a value below the smallest normal
may be off by up to the smallest normal; within 1.0 of an interior zero of the
derivative, a backward may be off by 8 eps |grad| more; a float64 result checked against
a reference that is only float64 gets 2 ULP more (the reference's own rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ULP_BOUND = 4.0
SAME_PRECISION_EXTRA = 2.0     # a float64 result against a reference that is only float64
INTERIOR_ZERO_ALLOWANCE = 8.0  # eps near an interior zero of the derivative
FD_TOLERANCE = 1e-6
DTYPES = (np.float32, np.float64)


@dataclass
class Result:
    label: str                   # activation (with its variant)
    form: str                    # "forward", "backward x", "backward y", "in place", "finite diff"
    dtype: str = ""
    error: float = 0.0           # max ULP (finite diff: max relative error)
    passed: bool = True
    points: int = 0
    worst: str = ""              # where the worst error is
    note: str = ""
    relative: bool = False       # error is a relative error, not ULP


# ---------------------------------------------------------------------------- grid
def grid(dtype) -> np.ndarray:
    """About 5,000 points of `dtype`: special values, every binade of both signs, a
    dense grid over [-12, 12] and random normal values."""
    info = np.finfo(dtype)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, float(info.max),
               -float(info.max), float(info.smallest_normal), -float(info.smallest_normal),
               float(info.smallest_subnormal), -float(info.smallest_subnormal)]
    lo, hi = math.log2(float(info.smallest_subnormal)), math.log2(float(info.max)) - 1e-9
    magnitudes = np.exp2(np.linspace(lo, hi, 1500))
    dense = np.linspace(-12, 12, 2401)           # step 0.01: hits every kink of the built-ins
    rng = np.random.default_rng(7)
    values = np.concatenate([special, magnitudes, -magnitudes, dense,
                             rng.standard_normal(500) * 4])
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def dense_grid() -> np.ndarray:
    """Finite-difference points (float64): off the round numbers where kinks sit."""
    return np.linspace(-8, 8, 1601) + 0.000123


# ----------------------------------------------------------------------- ULP errors
def ulp_of(exact, dtype) -> np.ndarray:
    """The ULP of `dtype` at the exact (wide) value: 2^(e - p) for |exact| in
    [2^e, 2^(e+1)), never below the smallest subnormal."""
    info = np.finfo(dtype)
    magnitude = np.abs(exact).astype(np.longdouble)
    _, exponent = np.frexp(np.where(magnitude == 0, info.smallest_subnormal, magnitude))
    exponent = np.maximum(exponent.astype(np.int64) - 1, info.minexp)
    return np.ldexp(np.longdouble(1), exponent - info.nmant)


def ulp_errors(got, exact, dtype) -> np.ndarray:
    """|got - exact| in ULP of `dtype` at `exact`; 0 where both are NaN or both the same
    infinity (or exact overflows `dtype` and got is that infinity); inf where they
    disagree on NaN or infinity."""
    got = np.asarray(got).astype(np.longdouble)
    exact = np.asarray(exact).astype(np.longdouble)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = exact.astype(dtype).astype(np.longdouble)
        err = np.abs(got - exact) / ulp_of(exact, dtype)
    both_nan = np.isnan(got) & np.isnan(exact)
    same_inf = np.isinf(got) & (got == rounded)
    err = np.where(both_nan | same_inf, 0, err)
    mismatch = (np.isnan(got) != np.isnan(exact)) | (np.isinf(got) != np.isinf(rounded))
    return np.where(mismatch & ~both_nan, np.inf, err)


def interior_zeros(reference_derivative) -> np.ndarray:
    """Where the derivative changes sign on [-12, 12] (silu' near -1.28, ...)."""
    x = np.linspace(-12, 12, 24001)
    with np.errstate(all="ignore"):
        d = np.asarray(reference_derivative(x), dtype=np.float64)
    change = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    return x[change]


def assess(label, form, dtype, x, got, exact, extra=0.0, zeros=(), slack=None,
           grad=1.0) -> Result:
    """One Result: the max ULP error over the points outside the allowances, and
    whether every point is within the bound or its allowance. `slack`: an absolute
    error allowed on top of the bound, per point (the axis-wise backwards); `grad`: the
    upstream gradient, which scales the interior-zero allowance."""
    err = ulp_errors(got, exact, dtype)
    ex = np.asarray(exact).astype(np.longdouble)
    info = np.finfo(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(np.asarray(got).astype(np.longdouble) - ex)
        allowed = np.zeros(err.shape, dtype=bool)
        allowed |= (np.abs(ex) < info.smallest_normal) & (abs_err <= info.smallest_normal)
        xs = np.asarray(x, dtype=np.float64)
        for z in zeros:
            near = np.abs(xs - z) <= 1.0
            allowed |= near & (abs_err <= (ULP_BOUND + extra) * ulp_of(ex, dtype)
                               + INTERIOR_ZERO_ALLOWANCE * float(info.eps)
                               * np.abs(np.asarray(grad, dtype=np.longdouble)))
        within_slack = (abs_err <= (ULP_BOUND + extra) * ulp_of(ex, dtype) + slack
                        if slack is not None else np.zeros(err.shape, dtype=bool))
    counted = np.ravel(np.where(allowed, 0, err))
    bound = ULP_BOUND + extra
    i = int(np.argmax(counted)) if counted.size else 0
    worst = ""
    if counted.size and counted[i] > 0:
        where_ = f"x={float(np.ravel(x)[i]):.9g}" if np.size(x) == counted.size else f"element {i}"
        worst = (f"{where_}: got {float(np.ravel(got)[i]):.17g}, "
                 f"expected {float(np.ravel(ex)[i]):.17g}")
    max_err = float(counted.max()) if counted.size else 0.0
    passed = bool(np.all((np.ravel(err) <= bound) | np.ravel(allowed | within_slack)))
    note = f"bound {bound:g}" + (" (float64 reference)" if extra else "")
    if max_err > bound and passed:
        note += f"; over {bound:g} only where a row sum cancels (within 8 eps of it)"
    return Result(label, form, np.dtype(dtype).name, max_err, passed, int(np.size(err)),
                  worst, note)


# ---------------------------------------------------------------- finite differences
def fd_derivative(f, x, h):
    """Fourth-order central difference of f at x with step h (arrays)."""
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


def unconverged(f, x, h, got):
    """Points where the difference with step h and with h/2 disagree: a kink of f or
    of f' within 4h, where a finite difference says nothing about the derivative."""
    coarse, fine = fd_derivative(f, x, h), fd_derivative(f, x, h / 2)
    return fine, ~(np.abs(coarse - fine) <= FD_TOLERANCE / 4 * (1 + np.abs(got)))


def assess_fd(label, fd, got, skipped) -> Result:
    ok = np.isfinite(fd) & ~skipped
    rel = np.abs(fd[ok] - got[ok]) / (1 + np.abs(got[ok]))
    worst_err = float(rel.max()) if rel.size else 0.0
    passed = bool(rel.size) and worst_err <= FD_TOLERANCE and bool(np.all(np.isfinite(got[ok])))
    note = f"tol {FD_TOLERANCE:g}, {int(ok.sum())} points" + (
        f", {int(skipped.sum())} near kinks skipped" if skipped.any() else "")
    return Result(label, "finite diff", "float64", worst_err, passed, int(ok.sum()), "", note,
                  relative=True)
