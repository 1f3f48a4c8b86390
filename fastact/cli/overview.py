"""``fastact`` (or ``python -m fastact``) with no arguments: what is installed, and a quick
speed check against NumPy.

Times the in-place forward of every activation on 2**20 float32 values, fastact against
the NumPy (or SciPy) way of writing it with ``out=``, measured here and now. For the
full comparison (backward, float64, threads, PyTorch) run ``python bench/bench.py``.
"""

import time

import numpy as np

import fastact
from fastact import _peers
from fastact._catalog import ACTIVATIONS, REQUIRED
from fastact.cli.common import EXAMPLE_PARAMS

SIZE = 1 << 20


def best_time(fn, repeat=7):
    """Best of `repeat` runs, in seconds (the least disturbed by the rest of the machine)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def variants():
    """(label, activation, keyword arguments) for every activation and gelu variant."""
    for act in ACTIVATIONS:
        params = {p.name: p.default for p in act.params
                  if p.default is not REQUIRED and not p.choices}
        params.update(EXAMPLE_PARAMS.get(act.name, {}))
        for choice in act.variants or (None,):
            kwargs = dict(params, **({"approximate": choice} if choice else {}))
            label = act.name + (f"({choice})" if choice else "")
            yield label, act, kwargs


def show_plugins():
    """One line per plugin: where it comes from and what it added, or why it failed."""
    records = fastact.plugins()
    if not records:
        print("plugins                 none (FASTACT_LOAD_PLUGINS selects; docs/plugins.md)")
    for r in records:
        what = ", ".join(r.activations) if r.error is None else f"FAILED: {r.error}"
        print(f"{'plugin':<24}{r.label.removeprefix('plugin ')}: {what}")


def run(args=None) -> int:
    """The overview; `args` is unused (there are no options)."""
    fastact.show_config()
    show_plugins()
    x0 = np.random.default_rng(0).standard_normal(SIZE).astype(np.float32) * 3
    x = x0.copy()
    print(f"\nin-place forward, {SIZE:,} float32 values, ns per element "
          f"(ratio < 1: fastact is faster)\n")
    print(f"{'activation':<20}{'fastact':>10}{'numpy':>10}{'ratio':>8}   formula")
    for label, act, kwargs in variants():
        inplace = getattr(fastact, act.name + "_")
        t_fast = best_time(lambda: (np.copyto(x, x0), inplace(x, **kwargs))) \
            - best_time(lambda: np.copyto(x, x0))
        peer = _peers.numpy_peer(act.name, **kwargs)
        if peer is None:
            numpy_ns, ratio = "-", "-"
        else:
            t_numpy = best_time(lambda: (np.copyto(x, x0), peer.forward(x, x))) \
                - best_time(lambda: np.copyto(x, x0))
            numpy_ns, ratio = f"{t_numpy / SIZE * 1e9:.2f}", f"{t_fast / t_numpy:.2f}"
        print(f"{label:<20}{t_fast / SIZE * 1e9:>10.2f}{numpy_ns:>10}{ratio:>8}   {act.formula[:60]}")
    for name in fastact.available("elementwise"):
        info = fastact.get(name)
        if not info.builtin:
            t_fast = best_time(lambda: (np.copyto(x, x0), info.forward_(x))) \
                - best_time(lambda: np.copyto(x, x0))
            print(f"{name:<20}{t_fast / SIZE * 1e9:>10.2f}{'-':>10}{'-':>8}   {info.formula[:60]}"
                  f"  [{info.plugin}]")

    return 0
