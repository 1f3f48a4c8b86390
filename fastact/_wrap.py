"""The four public forms of a plugin activation, with real signatures and docstrings.

A plugin gives fastact an implementation (compiled kernels or NumPy functions, see
pyx/plugin_api.pxi) and its hyper-parameters with their defaults; this module makes
``NAME``, ``NAME_``, ``NAME_backward`` and ``NAME_backward_`` with the same signatures
as a built-in's (hyper-parameters keyword-only, ``out=`` and ``y=`` where the built-ins
have them), checking the hyper-parameters before anything is computed.
"""

from __future__ import annotations

import numbers

from fastact import _api      # lazy, lazy_call: Dask arrays go where the built-ins' go

FORMS = ("forward", "forward_", "backward", "backward_")
SUFFIXES = {"forward": "", "forward_": "_", "backward": "_backward", "backward_": "_backward_"}

# The generated functions reach the implementation and the checker through globals named
# _fa_*: activation names start with a letter and hyper-parameter names may not start
# with "_" (registry.check_params), so neither can shadow them.
TEMPLATE = '''
def {name}(x, *, out=None{kw}):
    if _fa_lazy(x):
        return _fa_lazy_call("{name}", (x,), dict(out=out{pass_}))
    return _fa_impl.forward("{name}", x, out, _fa_hyper("{name}"{pass_}))

def {name}_(x{star_kw}):
    if _fa_lazy(x):
        return _fa_lazy_call("{name}_", (x,), dict({pass_kw}))
    return _fa_impl.forward_("{name}_", x, _fa_hyper("{name}_"{pass_}))

def {name}_backward(grad, x=None, *, y=None, out=None{kw}):
    if _fa_lazy(grad) or _fa_lazy(x) or _fa_lazy(y):
        return _fa_lazy_call("{name}_backward", (grad, x), dict(y=y, out=out{pass_}))
    return _fa_impl.backward("{name}_backward", grad, x, y, out,
                             _fa_hyper("{name}_backward"{pass_}))

def {name}_backward_(grad, x=None, *, y=None{kw}):
    if _fa_lazy(grad) or _fa_lazy(x) or _fa_lazy(y):
        return _fa_lazy_call("{name}_backward_", (grad, x), dict(y=y{pass_}))
    return _fa_impl.backward_("{name}_backward_", grad, x, y,
                              _fa_hyper("{name}_backward_"{pass_}))
'''


def hyper_checker(params: dict, check, numeric: bool):
    """The function that checks the hyper-parameters of a call: (func, **values) ->
    a tuple of floats in `params` order (compiled kernels) or the dict (NumPy ones)."""
    names = tuple(params)

    def hyper(func, /, **values):        # positional-only: a hyper-parameter may be "func"
        if numeric:
            for key, value in values.items():
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise TypeError(f"{func}: {key} must be a real number, "
                                    f"got {type(value).__name__}")
        if check is not None:
            try:
                check(**values)
            except (TypeError, ValueError) as exc:
                # the plain type, not type(exc): a subclass's constructor may take
                # other arguments; the plugin's own exception stays as the cause
                plain = ValueError if isinstance(exc, ValueError) else TypeError
                raise plain(f"{func}: {exc}") from exc
        return tuple(float(values[n]) for n in names) if numeric else values

    return hyper


def docstrings(info) -> dict:
    params = "".join(f"\n    {p}={d!r}" for p, d in info.params.items()) or "\n    (none)"
    head = f"{info.name}: {info.formula or 'a plugin activation'} ({info.source})."
    derivative = f"\nDerivative: {info.derivative}." if info.derivative else ""
    return {
        "forward": f"{head}\n\nReturns a new array (or fills out=).\nHyper-parameters:{params}",
        "forward_": f"{head}\n\nComputes in place into x (float32 or float64) and returns x.",
        "backward": f"grad * d{info.name}/dx at x (or from the output y where supported)."
                    f"{derivative}\nReturns a new array (or fills out=).",
        "backward_": f"grad * d{info.name}/dx, written into grad (float32 or float64).",
    }


def make_forms(info, impl, check) -> dict:
    """{form: function} for `info` (an ActivationInfo without functions yet)."""
    names = list(info.params)
    kw = "".join(f", {p}=_fa_default_{p}" for p in names)
    namespace = {"_fa_impl": impl, "_fa_lazy": _api.is_lazy, "_fa_lazy_call": _api.lazy_call,
                 "_fa_hyper": hyper_checker(info.params, check, numeric=hasattr(impl, "capsule"))}
    namespace.update({f"_fa_default_{p}": d for p, d in info.params.items()})
    source = TEMPLATE.format(name=info.name, kw=kw, star_kw=", *" + kw if kw else "",
                             pass_="".join(f", {p}={p}" for p in names),
                             pass_kw=", ".join(f"{p}={p}" for p in names))
    exec(compile(source, f"<fastact plugin activation {info.name}>", "exec"), namespace)
    forms = {}
    docs = docstrings(info)
    for form in FORMS:
        func = namespace[info.name + SUFFIXES[form]]
        func.__module__ = "fastact"
        func.__doc__ = docs[form]
        forms[form] = func
    return forms
