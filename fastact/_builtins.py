"""fastact's own activations, registered through the same hook as any plugin.

Their descriptions come from the catalog (fastact/_catalog.py), their functions from the
compiled module fastact._api.
"""

import inspect

from fastact import _api
from fastact._catalog import ACTIVATIONS, LAYER_ACTIVATIONS
from fastact.hookspecs import hookimpl

NOT_HYPER = ("out", "slopes")   # keyword arguments of the forms that are not hyper-parameters


def forms(name, in_place=True):
    get = lambda suffix: getattr(_api, name + suffix)  # noqa: E731
    return (get(""), get("_") if in_place else None, get("_backward"),
            get("_backward_") if in_place else None)


def keyword_defaults(func) -> dict:
    return {p.name: p.default for p in inspect.signature(func).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in NOT_HYPER}


@hookimpl
def register_activations(register):
    for act in ACTIVATIONS:
        register(act.name, functions=forms(act.name), params=keyword_defaults(getattr(_api, act.name)),
                 backward_from_y=act.backward_from_y,
                 formula=act.formula, derivative=act.derivative, output_range=act.output_range,
                 monotonic=act.monotonic, zero_centred=act.zero_centred, smooth=act.smooth,
                 saturating=act.saturating, doc=act.notes)
    for act in LAYER_ACTIVATIONS:
        register(act.name, kind=act.kind, functions=forms(act.name, act.in_place),
                 params=keyword_defaults(getattr(_api, act.name)), signature=act.signature,
                 backward_from_y=act.backward_from_y,
                 formula=act.formula, derivative=act.derivative, output_range=act.output_range,
                 monotonic=act.monotonic, zero_centred=act.zero_centred, smooth=act.smooth,
                 saturating=act.saturating, doc=act.source)
