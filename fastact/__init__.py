"""fastact: neural-network activation functions and their gradients on NumPy arrays.

Every activation NAME comes in four forms (see README.md, "The contract"):

    NAME(x, *, out=None, **params)                     forward, new array or out
    NAME_(x, **params)                                 forward, in place
    NAME_backward(grad, x=None, *, y=None, out=None, **params)   grad * f'(x)
    NAME_backward_(grad, x=None, *, y=None, **params)  the same, written into grad

The kernels are compiled Cython: vectorized, OpenMP-parallel, GIL released.
"""

from fastact import _api
from fastact._api import get_num_threads, set_num_threads
from fastact._catalog import ACTIVATIONS
from fastact._config import show_config

__version__ = "0.1.0"


def _export_activations():
    names = []
    for act in ACTIVATIONS:
        for suffix in ("", "_", "_backward", "_backward_"):
            globals()[act.name + suffix] = getattr(_api, act.name + suffix)
            names.append(act.name + suffix)
    return names


__all__ = ["ACTIVATIONS", "get_num_threads", "set_num_threads", "show_config",
           *_export_activations()]
