"""What ``register(name, ...)`` builds: the description of one activation.

The ``register`` a plugin's hook receives is a Registrar. It checks everything a plugin
says about an activation (name, implementation, hyper-parameters, properties) and turns
it into an ActivationInfo whose four forms are ready to call; a bad description is
recorded as an error for the registry to report (fastact/registry.py), never raised
into the plugin's hook.
"""

from __future__ import annotations

import inspect
import numbers
import keyword
import re
from dataclasses import dataclass, replace
from typing import Callable, Optional

KINDS = ("elementwise", "per-channel", "random", "along an axis")
SUFFIXES = ("", "_", "_backward", "_backward_")


@dataclass(frozen=True)
class ActivationInfo:
    """What fastact knows about one activation (``fastact.get(name)``)."""
    name: str
    kind: str                        # one of KINDS
    forward: Callable                # NAME(x, *, out=None, **params)
    forward_: Optional[Callable]     # NAME_(x, **params): in place (None: no in-place form)
    backward: Callable               # NAME_backward(grad, x=None, *, y=None, out=None, **params)
    backward_: Optional[Callable]    # NAME_backward_(grad, x=None, *, y=None, **params)
    params: dict                     # hyper-parameters and their defaults
    backward_from_y: bool            # the backward accepts y= (the forward's output)
    implementation: str              # "compiled kernels", "numpy functions" or "functions"
    source: str                      # "built-in" or which plugin registered it
    plugin: Optional[str] = None     # the plugin's name (None for built-ins)
    distribution: Optional[str] = None
    signature: str = ""              # the forward call, as the docs write it
    formula: str = ""
    derivative: str = ""
    output_range: str = ""
    monotonic: Optional[bool] = None
    zero_centred: Optional[bool] = None
    smooth: Optional[bool] = None
    saturating: str = ""             # "", "left", "right" or "both"
    reference: Optional[Callable] = None             # float64 NumPy forward, for checks
    reference_derivative: Optional[Callable] = None
    doc: str = ""

    @property
    def builtin(self) -> bool:
        return self.plugin is None

    def forms(self) -> dict:
        """{public name: function} of the forms this activation has."""
        funcs = (self.forward, self.forward_, self.backward, self.backward_)
        return {self.name + s: f for s, f in zip(SUFFIXES, funcs) if f is not None}


@dataclass
class Staged:
    name: str
    info: Optional[ActivationInfo] = None
    error: Optional[str] = None
    override: bool = False


class Registrar:
    """The ``register`` a plugin's hook receives: builds descriptions, never raises for
    a bad one (it is reported when the hook returns)."""

    def __init__(self, registry, record, staged):
        self.registry, self.record, self.staged = registry, record, staged
        self.closed = False          # set when the hook has returned


    def __call__(self, name=None, *args, kernels=None, numpy_forward=None, numpy_derivative=None,
                 numpy_derivative_from_y=None, functions=None, kernel_name=None,
                 params=None, check=None, kind="elementwise", signature="", formula="",
                 derivative="", output_range="", monotonic=None, zero_centred=None,
                 smooth=None, saturating="", reference=None, reference_derivative=None,
                 backward_from_y=None, doc="", override=False, **unknown):
        if self.closed:
            raise RuntimeError(f"fastact: {self.record.label} called register({name!r}) after "
                               f"its register_activations hook returned; register every "
                               f"activation inside the hook")
        entry = Staged(str(name), override=bool(override))
        self.staged.append(entry)
        try:
            if args:
                raise TypeError(f"register takes the name positionally and everything else "
                                f"by keyword; got {len(args)} more positional argument(s)")
            if unknown:
                raise ValueError(f"unknown keyword(s) {', '.join(sorted(unknown))}")
            if backward_from_y is not None and functions is None:
                raise TypeError("backward_from_y= goes with functions= (kernels and NumPy "
                                "functions say it themselves)")
            if numpy_forward is None and (numpy_derivative is not None
                                          or numpy_derivative_from_y is not None):
                raise TypeError("numpy_derivative= and numpy_derivative_from_y= go with "
                                "numpy_forward=")
            if kernel_name is not None and kernels is None:
                raise TypeError("kernel_name= goes with kernels=")
            entry.info = self.describe(
                name, kernels, numpy_forward, numpy_derivative, numpy_derivative_from_y,
                functions, kernel_name, params, check, kind, signature, bool(backward_from_y),
                dict(formula=formula, derivative=derivative, output_range=output_range,
                     monotonic=monotonic, zero_centred=zero_centred, smooth=smooth,
                     saturating=saturating, reference=reference,
                     reference_derivative=reference_derivative, doc=doc))
        except Exception as exc:  # noqa: BLE001 (whatever is wrong, it is this entry's)
            entry.error = (f"malformed description: {exc}" if isinstance(exc, (TypeError, ValueError))
                           else f"malformed description: {type(exc).__name__}: {exc}")

    def describe(self, name, kernels, f, df, dfy, functions, kernel_name, params, check,
                 kind, signature, from_y, text):
        check_name(name)
        given = [k for k, v in (("kernels", kernels), ("numpy_forward", f),
                                ("functions", functions)) if v is not None]
        if len(given) != 1:
            raise TypeError("give exactly one of kernels=, numpy_forward= (with "
                            f"numpy_derivative=) and functions=, got {given or 'none'}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        params = check_params(params)
        if check is not None and not callable(check):
            raise TypeError("check must be callable")
        if check is not None:
            try:
                check(**params)
            except Exception as exc:  # noqa: BLE001
                raise ValueError(f"check refuses the default hyper-parameters {params}: "
                                 f"{type(exc).__name__}: {exc}") from None
        for key in ("monotonic", "zero_centred", "smooth"):
            if text[key] is not None and not isinstance(text[key], bool):
                raise TypeError(f"{key} must be True, False or None")
        if text["saturating"] not in ("", "left", "right", "both"):
            raise ValueError("saturating must be '', 'left', 'right' or 'both'")
        for key in ("reference", "reference_derivative"):
            if text[key] is not None and not callable(text[key]):
                raise TypeError(f"{key} must be callable")
        record = self.record
        base = dict(name=name, kind=kind, params=params, signature=signature,
                    source="built-in" if record.name == "fastact" else record.label,
                    plugin=None if record.name == "fastact" else record.name,
                    distribution=record.distribution, **text)
        if functions is not None:
            return self.from_functions(base, functions, from_y)
        if kind != "elementwise":
            raise ValueError("kernels= and numpy_forward= make elementwise activations; "
                             "give functions= for other kinds")
        from fastact import _api, _wrap
        if kernels is not None:
            if len(params) > _api.MAX_KERNEL_PARAMS:
                raise ValueError(f"compiled kernels take at most {_api.MAX_KERNEL_PARAMS} "
                                 f"hyper-parameters")
            for key, value in params.items():
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise TypeError(f"hyper-parameter {key} of compiled kernels must default "
                                    f"to a real number, got {value!r}")
            impl = _api.KernelActivation(kernels, kernel_name or name)
            implementation = "compiled kernels"
        else:
            if not callable(f) or not callable(df):
                raise TypeError("numpy_forward and numpy_derivative must both be callables")
            if dfy is not None and not callable(dfy):
                raise TypeError("numpy_derivative_from_y must be callable")
            impl = _api.NumpyActivation(f, df, dfy)
            implementation = "numpy functions"
            base["reference"] = base["reference"] or f
            base["reference_derivative"] = base["reference_derivative"] or df
        info = ActivationInfo(forward=None, forward_=None, backward=None, backward_=None,
                              backward_from_y=impl.backward_from_y,
                              implementation=implementation, **base)
        if not signature:
            info = replace(info, signature=f"{name}(x{''.join(f', {p}={d!r}' for p, d in params.items())})")
        forms = _wrap.make_forms(info, impl, check)
        return replace(info, **forms)

    @staticmethod
    def from_functions(base, functions, from_y):
        if not isinstance(functions, (tuple, list)) or len(functions) != 4:
            raise TypeError("functions must be (forward, forward_, backward, backward_); "
                            "the in-place ones may be None")
        fwd, fwd_, bwd, bwd_ = functions
        if not callable(fwd) or not callable(bwd):
            raise TypeError("functions: forward and backward must be callable")
        for f in (fwd_, bwd_):
            if f is not None and not callable(f):
                raise TypeError("functions: forward_ and backward_ must be callable or None")
        if not base["signature"]:
            try:
                base["signature"] = base["name"] + str(inspect.signature(fwd))
            except (TypeError, ValueError):
                pass
        return ActivationInfo(forward=fwd, forward_=fwd_, backward=bwd, backward_=bwd_,
                              backward_from_y=from_y, implementation="functions", **base)


def check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"the name must be a str, got {type(name).__name__}")
    if (not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name)
            or name.endswith("_") or name.endswith("_backward")):
        raise ValueError(f"{name!r} is not a valid activation name (lower-case letters, "
                         f"digits and _, starting with a letter, not ending in _ or "
                         f"_backward: fastact adds those for its forms)")


def check_params(params) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of name: default, got {type(params).__name__}")
    for key in params:
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise ValueError(f"hyper-parameter name {key!r} is not an identifier")
        if key.startswith("_"):
            raise ValueError(f"hyper-parameter name {key!r} starts with _ (reserved)")
        if key in ("x", "y", "grad", "out"):
            raise ValueError(f"hyper-parameter name {key!r} is taken by the forms' arguments")
    return dict(params)
