"""fastact: neural-network activation functions and their gradients on NumPy arrays.

Every activation NAME comes in four forms (see README.md, "The contract"):

    NAME(x, *, out=None, **params)                     forward, new array or out
    NAME_(x, **params)                                 forward, in place
    NAME_backward(grad, x=None, *, y=None, out=None, **params)   grad * f'(x)
    NAME_backward_(grad, x=None, *, y=None, **params)  the same, written into grad

The learnable, random and axis-wise activations (prelu, srelu, apl, rrelu, softmax,
log_softmax, maxout, glu) have their own signatures: see LAYER_ACTIVATIONS and docs/.

The kernels are compiled Cython: vectorized, OpenMP-parallel, GIL released.
"""

from fastact._api import *  # noqa: F403  (the activations and the thread settings)
from fastact._api import __all__ as _api_all
from fastact._catalog import ACTIVATIONS, LAYER_ACTIVATIONS
from fastact._config import show_config

__version__ = "0.1.0"
__all__ = ["ACTIVATIONS", "LAYER_ACTIVATIONS", "show_config", *_api_all]
