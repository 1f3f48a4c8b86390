"""What the subcommands share: choosing activations by name, calling any of them on an
example array, and the user-error type."""

from __future__ import annotations

import difflib
import inspect

import numpy as np

import fastact


class UsageError(Exception):
    """A mistake of the user: reported as one line, exit status 2."""


# Hyper-parameters that have no default (threshold's) get these values in examples.
EXAMPLE_PARAMS = {"threshold": {"threshold": 0.5, "value": -1.0}}


def select(names, kinds=None) -> list:
    """The ActivationInfo of each name (all registered ones, optionally of `kinds` only,
    if `names` is empty). An unknown name is a UsageError that suggests close ones."""
    registered = fastact.available()
    if not names:
        return [fastact.get(n) for n in registered
                if kinds is None or fastact.get(n).kind in kinds]
    chosen = []
    for name in names:
        if name not in registered:
            from fastact.registry import REGISTRY
            why = REGISTRY.why_unavailable(name)      # a plugin that failed says why
            close = difflib.get_close_matches(name, registered, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"unknown activation {name!r}" + (f" ({why})" if why else hint)
                             + " ('fastact list' shows them all)")
        if name not in (info.name for info in chosen):
            chosen.append(fastact.get(name))
    return chosen


def default_params(info) -> dict:
    """The hyper-parameters an example call passes: the defaults, with the ones that
    have none filled from EXAMPLE_PARAMS. Layout arguments (axis, seed, ...) of the
    non-elementwise activations are left to their defaults."""
    params = {k: v for k, v in info.params.items()
              if v is not inspect.Parameter.empty}
    params.update(EXAMPLE_PARAMS.get(info.name, {}))
    if info.kind != "elementwise":
        params = {}
    return params


def variant_params(info) -> list:
    """[(label, params)]: gelu once per `approximate` choice, every other one once."""
    params = default_params(info)
    if info.builtin and "approximate" in params:
        return [(f"{info.name}(approximate={c!r})", dict(params, approximate=c))
                for c in ("none", "tanh")]
    return [(info.name, params)]


# ---------------------------------------------------------------- non-elementwise calls
# The built-in per-channel, random and axis-wise activations take more than x. These are
# example arguments for x of shape (N, C), channels (and the reduced axis) along axis 1,
# C even; the same values drive `check`, `bench` and `plot`.

def layer_arguments(name, channels, dtype):
    """(extra positional arguments, keyword arguments) of NAME(x, ...) for x of shape
    (N, channels)."""
    c = np.arange(channels, dtype=np.float64)
    f = lambda v: np.ascontiguousarray(v, dtype=dtype)  # noqa: E731
    if name == "prelu":
        return (f(0.1 + 0.3 * (c % 3) / 2),), {}
    if name == "srelu":
        return (f(-1.0 - 0.5 * (c % 2)), f(np.full(channels, 0.2)),
                f(1.5 + 0.5 * (c % 2)), f(np.full(channels, 0.5))), {}
    if name == "apl":
        return (f([0.5, -0.25]), f([-1.0, 1.0])), {}
    if name == "maxout":
        return (2,), {}
    if name in ("softmax", "log_softmax", "glu"):
        return (), {"axis": 1}
    if name == "rrelu":
        return (), {}
    return (), {}


def call_forward(info, x, params=None):
    """info's forward of x (shape (N, C) for the non-elementwise ones)."""
    if info.kind == "elementwise":
        return info.forward(x, **(default_params(info) if params is None else params))
    args, kwargs = layer_arguments(info.name, x.shape[-1], x.dtype)
    return info.forward(x, *args, **kwargs)


def call_backward(info, grad, x, params=None):
    """The gradient with respect to x of sum(grad * forward(x)): the first element of
    what the backward returns where it returns parameter gradients too. (With grad = 1
    it is not a derivative for the axis-wise ones: softmax's rows sum to 1, so it is 0.)"""
    if info.kind == "elementwise":
        return info.backward(grad, x, **(default_params(info) if params is None else params))
    args, kwargs = layer_arguments(info.name, x.shape[-1], x.dtype)
    result = info.backward(grad, x, *args, **kwargs)
    return result[0] if isinstance(result, tuple) else result
