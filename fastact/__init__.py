"""fastact: neural-network activation functions and their gradients on NumPy arrays.

Every activation NAME comes in four forms (see README.md, "The contract"):

    NAME(x, *, out=None, **params)                     forward, new array or out
    NAME_(x, **params)                                 forward, in place
    NAME_backward(grad, x=None, *, y=None, out=None, **params)   grad * f'(x)
    NAME_backward_(grad, x=None, *, y=None, **params)  the same, written into grad

The learnable, random and axis-wise activations (prelu, srelu, apl, rrelu, softmax,
log_softmax, maxout, glu) have their own signatures: see LAYER_ACTIVATIONS and docs/.

The kernels are compiled Cython: vectorized, OpenMP-parallel, GIL released.

Plugins add activations (docs/plugins.md): ``available()`` lists every registered name,
``get(name)`` describes one, and a plugin's activation is ``fastact.NAME`` like a
built-in. Plugins load on first use of the registry, not at import.
"""

from fastact._api import *  # noqa: F403  (the activations and the thread settings)
from fastact._api import __all__ as _api_all
from fastact._catalog import ACTIVATIONS, LAYER_ACTIVATIONS
from fastact._config import compile_args, get_include, show_config
from fastact._variants import import_kernels
from fastact.hookspecs import hookimpl
from fastact.registry import (ActivationInfo, PluginWarning, available, get, plugins,
                              register_plugin, unregister_plugin)

__version__ = "0.1.0"
__all__ = ["ACTIVATIONS", "LAYER_ACTIVATIONS", "ActivationInfo", "PluginWarning", "available",
           "compile_args", "get", "get_include", "hookimpl", "import_kernels", "plugins",
           "register_plugin",
           "show_config", "unregister_plugin", *_api_all]


def __getattr__(name):
    """fastact.NAME (and NAME_, NAME_backward, NAME_backward_) of a plugin activation."""
    from fastact.registry import SUBMODULES
    if not name.startswith("_") and name not in SUBMODULES:
        from fastact.registry import REGISTRY
        func = REGISTRY.form(name)
        if func is not None:
            return func
        why = REGISTRY.why_unavailable(name)
        if why:
            raise AttributeError(f"module 'fastact' has no attribute {name!r}: {why}")
    raise AttributeError(f"module 'fastact' has no attribute {name!r}")


def __dir__():
    from fastact.registry import REGISTRY
    REGISTRY.ensure_loaded()
    with REGISTRY.lock:
        plugin_forms = {f for a in REGISTRY.activations.values() for f in a.forms()}
    return sorted(set(globals()) | plugin_forms)
