"""NumPy implementations of every catalog activation, used as speed peers.

These are what a competent NumPy user would write: numerically stable formulas,
``out=`` and in-place ufunc calls so that only the temporaries a formula really
needs are allocated. SciPy's ``expit``, ``log_expit`` and ``ndtr`` are used when
SciPy is importable; without it ``expit`` and ``log_expit`` fall back to NumPy
formulas, and exact gelu (which needs an erf ufunc) has no peer.

They are *not* references for the tests (see ``tests/reference.py``): they are
here for ``python -m fastact`` and ``bench/bench.py`` to time fastact against.
NumPy ufuncs run on one thread, so these peers are single-threaded.

API (``params`` are the activation's parameters with catalog defaults applied;
gelu takes ``approximate``)::

    numpy_forward(name, x, out, **params)             # out = f(x); out may be x
    numpy_backward(name, grad, x, out, **params)      # out = grad * f'(x); out may be grad
    numpy_backward_from_y(name, grad, y, out, **params)  # the same from y = f(x)
    has_numpy_peer(name, approximate=None, from_y=False)
    numpy_peer(name, **params)  # -> Peer of the three with params bound, or None
"""

from __future__ import annotations

import math
from collections import namedtuple
from functools import partial

import numpy as np

from ._catalog import BY_NAME

try:
    from scipy.special import expit as _expit, log_expit as _log_expit, ndtr as _ndtr
    HAVE_SCIPY = True
except ImportError:  # pragma: no cover - exercised only without SciPy
    HAVE_SCIPY = False
    _ndtr = None

    def _expit(x, out=None):
        # sigmoid(x) = 1 / (1 + exp(-x)); exp overflows to inf for x << 0, giving 0.
        with np.errstate(over="ignore"):
            out = np.negative(x, out=out)
            np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)

    def _log_expit(x, out=None):
        # log(sigmoid(x)) = -log(1 + exp(-x)), stable through logaddexp.
        out = np.negative(x, out=out)
        np.logaddexp(0, out, out=out)
        return np.negative(out, out=out)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_C = 0.044715
GELU_K = math.sqrt(2.0 / math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

ONE, ZERO = "one", "zero"  # derivatives that need no array: grad passes or vanishes


# --------------------------------------------------------------------------- helpers

def _replace_where(out, x, mask, value):
    """out = value where mask, else x (mask computed by the caller before out changes)."""
    if out is not x:
        np.copyto(out, x)
    np.copyto(out, value, where=mask)
    return out


def _mask(x, lo=None, hi=None):
    """Boolean lo < x < hi (either bound optional)."""
    if lo is not None and hi is not None:
        return np.logical_and(x > lo, x < hi)
    return x > lo if lo is not None else x < hi


def _elu_fwd(x, out, alpha, scale=1.0, input_scale=1.0):
    # scale * (max(x, 0) + alpha * expm1(min(x, 0) * input_scale)): exp never overflows.
    t = np.minimum(x, 0)
    if input_scale != 1.0:
        t *= input_scale
    np.expm1(t, out=t)
    t *= alpha * scale
    np.maximum(x, 0, out=out)
    if scale != 1.0:
        out *= scale
    return np.add(out, t, out=out)


def _elu_d(x, alpha, scale=1.0, input_scale=1.0):
    t = np.minimum(x, 0)
    if input_scale != 1.0:
        t *= input_scale
    np.exp(t, out=t)
    t *= alpha * scale * input_scale
    np.copyto(t, scale, where=x > 0)
    return t


def _elu_dy(y, alpha, scale=1.0, input_scale=1.0):
    t = np.add(y, alpha * scale)
    if input_scale != 1.0:
        t *= input_scale
    np.copyto(t, scale, where=y > 0)
    return t


def _softplus_fwd(x, out, beta, threshold):
    t = np.multiply(x, beta)
    linear = t > threshold            # where the function is x itself
    np.logaddexp(0, t, out=t)         # log(1 + exp(bx)), stable
    t /= beta
    return _replace_where(out, t, linear, x)


def _softplus_d(x, beta, threshold):
    t = np.multiply(x, beta)
    linear = t > threshold
    _expit(t, out=t)
    np.copyto(t, 1, where=linear)
    return t


def _softplus_dy(y, beta, threshold):
    t = np.multiply(y, -beta)
    linear = t < -threshold
    np.expm1(t, out=t)
    np.negative(t, out=t)             # 1 - exp(-beta y)
    np.copyto(t, 1, where=linear)
    return t


def _swish_fwd(x, out, beta=1.0):
    t = np.multiply(x, beta) if beta != 1.0 else x
    t = _expit(t)
    return np.multiply(x, t, out=out)


def _swish_d(x, beta=1.0):
    # s + bx s (1 - s) = s (1 + bx (1 - s)), s = sigmoid(bx)
    bx = np.multiply(x, beta) if beta != 1.0 else x
    s = _expit(bx)
    t = np.subtract(1, s)
    t *= bx
    t += 1
    t *= s
    return t


def _gelu_fwd(x, out):
    return np.multiply(x, _ndtr(x), out=out)


def _gelu_d(x):
    # Phi(x) + x phi(x)
    t = np.square(x)
    t *= -0.5
    np.exp(t, out=t)
    t *= x
    t *= INV_SQRT_2PI
    t += _ndtr(x)
    return t


def _gelu_tanh_inner(x):
    t = np.square(x)
    t *= GELU_C
    t += 1
    t *= x
    t *= GELU_K                        # k (x + c x^3)
    return np.tanh(t, out=t)


def _gelu_tanh_fwd(x, out):
    t = _gelu_tanh_inner(x)
    t += 1
    t *= 0.5
    return np.multiply(x, t, out=out)


def _gelu_tanh_d(x):
    # 0.5 (1 + th) + 0.5 x (1 - th^2) k (1 + 3 c x^2)
    th = _gelu_tanh_inner(x)
    b = np.square(x)
    b *= 3 * GELU_C * GELU_K
    b += GELU_K
    d = np.square(th)
    np.subtract(1, d, out=d)
    d *= b
    d *= x
    d += th
    d += 1
    d *= 0.5
    return d


def _mish_fwd(x, out):
    t = np.logaddexp(0, x)            # softplus
    np.tanh(t, out=t)
    return np.multiply(x, t, out=out)


def _mish_d(x):
    # tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)
    tsp = np.logaddexp(0, x)
    np.tanh(tsp, out=tsp)
    d = np.square(tsp)
    np.subtract(1, d, out=d)
    d *= _expit(x)
    d *= x
    d += tsp
    return d


def _bent_identity_fwd(x, out):
    # (sqrt(x^2 + 1) - 1) / 2 + x, with the first term as x^2 / (2 (sqrt(x^2 + 1) + 1))
    t = np.hypot(x, 1)
    t += 1
    np.divide(x, t, out=t)
    t *= x
    t *= 0.5
    return np.add(t, x, out=out)


def _bent_identity_d(x):
    t = np.hypot(x, 1)
    np.divide(x, t, out=t)
    t *= 0.5
    t += 1
    return t


def _softsign_fwd(x, out):
    t = np.abs(x)
    t += 1
    return np.divide(x, t, out=out)


def _softsign_d(x):
    t = np.abs(x)
    t += 1
    np.reciprocal(t, out=t)
    return np.square(t, out=t)


def _hardsigmoid_fwd(x, out):
    np.multiply(x, 1 / 6, out=out)
    out += 0.5
    return np.clip(out, 0, 1, out=out)


def _hardswish_fwd(x, out):
    t = np.add(x, 3)
    np.clip(t, 0, 6, out=t)
    t *= 1 / 6
    return np.multiply(x, t, out=out)


def _hardswish_d(x):
    # PyTorch 2.x: x/3 + 1/2 strictly inside (-3, 3), 0 at and below -3, 1 at and above 3
    t = np.multiply(x, 1 / 3)
    t += 0.5
    np.copyto(t, 0, where=x <= -3)
    np.copyto(t, 1, where=x >= 3)
    return t


def _tanhshrink_fwd(x, out):
    return np.subtract(x, np.tanh(x), out=out)


def _tanhshrink_d(x):
    t = np.tanh(x)
    return np.square(t, out=t)


def _softshrink_fwd(x, out, lambd):
    # sign(x) * max(|x| - lambd, 0)
    t = np.abs(x)
    t -= lambd
    np.maximum(t, 0, out=t)
    return np.copysign(t, x, out=out)


def _leaky_relu_fwd(x, out, negative_slope):
    if out is not x:
        np.copyto(out, x)
    return np.multiply(out, negative_slope, out=out, where=out <= 0)


def _leaky_relu_d(x, negative_slope):
    one = x.dtype.type(1)
    return np.where(x > 0, one, x.dtype.type(negative_slope))


def _sigmoid_d(x):
    s = _expit(x)
    t = np.subtract(1, s)
    t *= s
    return t


def _sigmoid_dy(y):
    t = np.subtract(1, y)
    t *= y
    return t


def _tanh_d(x):
    t = np.tanh(x)
    np.square(t, out=t)
    return np.subtract(1, t, out=t)


def _tanh_dy(y):
    t = np.square(y)
    return np.subtract(1, t, out=t)


def _logsigmoid_d(x):
    t = np.negative(x)
    return _expit(t, out=t)


def _copy(x, out):
    if out is not x:
        np.copyto(out, x)
    return out


# --------------------------------------------------------------------------- the table
# kernel name -> (forward(x, out, **p), derivative(x, **p), derivative from y or None,
#                 needs SciPy).
# A derivative returns an array (bool or float) that the backward multiplies grad by,
# or ONE / ZERO. "same" as the derivative from y: f'(x) and f'(y) agree as functions.

_PEERS = {
    "identity": (_copy, lambda x: ONE, "same", False),
    "binary_step": (lambda x, out: np.greater(x, 0, out=out), lambda x: ZERO, None, False),
    "sigmoid": (lambda x, out: _expit(x, out=out), _sigmoid_d, _sigmoid_dy, False),
    "tanh": (lambda x, out: np.tanh(x, out=out), _tanh_d, _tanh_dy, False),
    "relu": (lambda x, out: np.maximum(x, 0, out=out), lambda x: x > 0, "same", False),
    "leaky_relu": (_leaky_relu_fwd, _leaky_relu_d, "same", False),
    "elu": (_elu_fwd, _elu_d, _elu_dy, False),
    "selu": (lambda x, out: _elu_fwd(x, out, SELU_ALPHA, SELU_SCALE),
             lambda x: _elu_d(x, SELU_ALPHA, SELU_SCALE),
             lambda y: _elu_dy(y, SELU_ALPHA, SELU_SCALE), False),
    "celu": (lambda x, out, alpha: _elu_fwd(x, out, alpha, 1.0, 1.0 / alpha),
             lambda x, alpha: _elu_d(x, alpha, 1.0, 1.0 / alpha),
             lambda y, alpha: _elu_dy(y, alpha, 1.0, 1.0 / alpha), False),
    "softplus": (_softplus_fwd, _softplus_d, _softplus_dy, False),
    "silu": (_swish_fwd, _swish_d, None, False),
    "swish": (_swish_fwd, _swish_d, None, False),
    "gelu": (_gelu_fwd, _gelu_d, None, True),
    "gelu_tanh": (_gelu_tanh_fwd, _gelu_tanh_d, None, False),
    "mish": (_mish_fwd, _mish_d, None, False),
    "bent_identity": (_bent_identity_fwd, _bent_identity_d, None, False),
    "softsign": (_softsign_fwd, _softsign_d, None, False),
    "relu6": (lambda x, out: np.clip(x, 0, 6, out=out), lambda x: _mask(x, 0, 6), "same", False),
    "hardtanh": (lambda x, out, min_val, max_val: np.clip(x, min_val, max_val, out=out),
                 lambda x, min_val, max_val: _mask(x, min_val, max_val), "same", False),
    "hardsigmoid": (_hardsigmoid_fwd,
                    lambda x: np.multiply(_mask(x, -3, 3), x.dtype.type(1 / 6)), None, False),
    "hardswish": (_hardswish_fwd, _hardswish_d, None, False),
    "logsigmoid": (lambda x, out: _log_expit(x, out=out), _logsigmoid_d, None, False),
    "tanhshrink": (_tanhshrink_fwd, _tanhshrink_d, None, False),
    "softshrink": (_softshrink_fwd, lambda x, lambd: np.abs(x) > lambd, None, False),
    "hardshrink": (lambda x, out, lambd: _replace_where(out, x, np.abs(x) <= lambd, 0),
                   lambda x, lambd: np.abs(x) > lambd, None, False),
    "threshold": (lambda x, out, threshold, value: _replace_where(out, x, x <= threshold, value),
                  lambda x, threshold, value: x > threshold, None, False),
}


Peer = namedtuple("Peer", "forward backward backward_from_y")
Peer.__doc__ = """NumPy peer of one activation with its params bound: ``forward(x, out)``,
``backward(grad, x, out)`` and ``backward_from_y(grad, y, out)`` (None where the
catalog has no backward from y)."""


def _apply(deriv, grad, source, out):
    d = deriv(source)
    if d is ONE:
        return _copy(grad, out)
    if d is ZERO:
        out.fill(0)
        return out
    return np.multiply(grad, d, out=out)


def numpy_peer(name, **params):
    """The :class:`Peer` of activation ``name`` for ``params``, or None if there is none.

    Resolve it once and call its members to time NumPy without the dispatch overhead.
    """
    act = BY_NAME.get(name)
    if act is None:
        return None
    params = dict(params)
    kernel = name
    for p in act.params:
        if p.choices:  # a kernel selector (gelu's approximate), not a numeric parameter
            kernel = act.variants[params.pop(p.name, None) or p.default]
    fwd, deriv, deriv_y, needs_scipy = _PEERS[kernel]
    if needs_scipy and not HAVE_SCIPY:
        return None
    if deriv_y == "same":
        deriv_y = deriv
    return Peer(
        partial(fwd, **params),
        partial(_apply, partial(deriv, **params)),
        deriv_y and partial(_apply, partial(deriv_y, **params)))


def has_numpy_peer(name, approximate=None, from_y=False):
    """Whether a NumPy peer exists for ``name`` (gelu: its ``approximate`` variant)."""
    params = {"approximate": approximate} if name in BY_NAME and BY_NAME[name].variants else {}
    peer = numpy_peer(name, **params)
    return peer is not None and (not from_y or peer.backward_from_y is not None)


def _get(name, params, member):
    fn = getattr(numpy_peer(name, **params) or Peer(None, None, None), member)
    if fn is None:
        raise NotImplementedError(f"no NumPy peer for {name} {params or ''} {member}")
    return fn


def numpy_forward(name, x, out, **params):
    """out = name(x) with NumPy (``out`` may be ``x``); returns ``out``."""
    return _get(name, params, "forward")(x, out)


def numpy_backward(name, grad, x, out, **params):
    """out = grad * name'(x) with NumPy (``out`` may be ``grad``); returns ``out``."""
    return _get(name, params, "backward")(grad, x, out)


def numpy_backward_from_y(name, grad, y, out, **params):
    """out = grad * name'(x) computed from y = name(x), where the catalog allows it."""
    return _get(name, params, "backward_from_y")(grad, y, out)
