"""fastact-squareplus: an example compiled fastact plugin.

Adds two activations to fastact (``fastact.squareplus``, ``fastact.isru`` and their
``_``, ``_backward`` and ``_backward_`` forms), with Cython kernels that fastact runs
through the same dispatch as its own (threads, strides, dtype rules, errors):

* ``squareplus(x, b=4) = (x + sqrt(x^2 + b)) / 2``, b > 0 (Barron 2021,
  ``jax.nn.squareplus``): a smooth ReLU built from a square root;
* ``isru(x, alpha=1) = x / sqrt(1 + alpha x^2)``, alpha >= 0 (Carlile et al. 2017,
  the inverse square root unit): a tanh-like saturating function in (-1/sqrt(alpha),
  1/sqrt(alpha)); alpha = 0 is the identity.
"""

import math

import numpy as np

import fastact

# The kernel module is built once per instruction set (setup.py, fastact.build);
# import_kernels picks the best one this CPU runs, never above fastact's own choice.
_kernels = fastact.import_kernels("fastact_squareplus._kernels")
KERNELS = _kernels.KERNELS

__version__ = "0.1.0"


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def check_squareplus(b):
    """b must be finite and > 0."""
    b = _real("b", b)
    if not (b > 0 and math.isfinite(b)):
        raise ValueError(f"b must be finite and > 0, got {b!r}")


def check_isru(alpha):
    """alpha must be finite and >= 0."""
    alpha = _real("alpha", alpha)
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}")


# float64 NumPy references (fastact.get(name).reference), written independently of the
# kernels' formulas; accurate to a few ULP away from overflow of x^2.
def squareplus_reference(x, b=4.0):
    x = np.asarray(x, dtype=np.float64)
    s = np.hypot(x, np.sqrt(b))
    with np.errstate(all="ignore"):
        return np.where(x < 0, 0.5 * b / (s - x), 0.5 * x + 0.5 * s)   # no overflow at the largest x


def squareplus_reference_derivative(x, b=4.0):
    x = np.asarray(x, dtype=np.float64)
    s = np.hypot(x, np.sqrt(b))
    with np.errstate(all="ignore"):
        d = np.where(x < 0, 0.5 * b / (s * (s - x)), 0.5 * (1 + x / s))
    return np.where(x == np.inf, 1.0, d)


def isru_reference(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        r = x / np.hypot(1.0, np.sqrt(alpha) * x)
        sat = np.isinf(x) & (alpha > 0)
        return np.where(sat, np.sign(x) / np.sqrt(alpha), r)


def isru_reference_derivative(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.hypot(1.0, np.sqrt(alpha) * x) ** -3.0


@fastact.hookimpl
def register_activations(register):
    register(
        "squareplus", kernels=KERNELS, params={"b": 4.0}, check=check_squareplus,
        formula="(x + sqrt(x^2 + b)) / 2",
        derivative="(1 + x / sqrt(x^2 + b)) / 2 = y^2 / (y^2 + b/4)",
        output_range="(0, inf)", monotonic=True, zero_centred=False, smooth=True,
        saturating="left",
        reference=squareplus_reference, reference_derivative=squareplus_reference_derivative,
        doc="Squareplus (Barron 2021): a smooth ReLU made of a square root; b > 0 sets "
            "the curvature near 0 (f(0) = sqrt(b)/2).")
    register(
        "isru", kernels=KERNELS, params={"alpha": 1.0}, check=check_isru,
        formula="x / sqrt(1 + alpha x^2)",
        derivative="(1 + alpha x^2)^(-3/2) = (1 - alpha y^2)^(3/2)",
        output_range="(-1/sqrt(alpha), 1/sqrt(alpha))", monotonic=True, zero_centred=True,
        smooth=True, saturating="both",
        reference=isru_reference, reference_derivative=isru_reference_derivative,
        doc="Inverse square root unit (Carlile et al. 2017); alpha >= 0 (alpha = 0: the "
            "identity).")
