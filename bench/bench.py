#!/usr/bin/env python
"""Benchmark fastact against NumPy/SciPy, PyTorch (CPU) and the memory floor.

    python bench/bench.py [--sizes 14,20,24] [--threads 1,2] [--dtypes float32,float64]
                          [--names relu,gelu,...] [--directions fwd,bwd_x,bwd_y]
                          [--peers numpy,torch,floor] [--repeat N] [--target S]
                          [--json out.json] [--quick] [--absolute]

Every activation of ``fastact._catalog`` is timed in three directions: ``fwd`` (the
in-place ``NAME_(x)``), ``bwd_x`` (``NAME_backward_(grad, x)``, writing into grad) and,
where the catalog has it, ``bwd_y`` (``NAME_backward_(grad, y=y)``). Each peer does
the same work in place or with ``out=`` so that no allocation is timed. Before every
timed call the buffer the call overwrites is restored from a pristine copy (untimed),
so every call sees the same realistic input. See bench/README.md for the columns.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import time
import types
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree's (in-place) build

try:
    import fastact
    if not hasattr(fastact, "set_num_threads"):  # a bare namespace package: no build
        raise ImportError(f"no compiled fastact API in {ROOT / 'fastact'}")
    FASTACT_ERROR = None
except Exception as exc:  # not built yet: time the peers alone, from the sources
    fastact = None
    FASTACT_ERROR = f"{type(exc).__name__}: {exc}"
    sys.modules.pop("fastact", None)
    stub = types.ModuleType("fastact")
    stub.__path__ = [str(ROOT / "fastact")]
    sys.modules["fastact"] = stub

from fastact._catalog import ACTIVATIONS, BY_NAME, LAYER_BY_NAME, REQUIRED  # noqa: E402
from fastact._peers import numpy_peer  # noqa: E402
from fastact.cli import timing  # noqa: E402  (the timing core, shared with `fastact bench`)
from fastact.cli.timing import (  # noqa: E402,F401  (measure: also for plot.py and mlp.py)
    DIR_LABEL, DIRECTIONS, measure, torch_peer, torch_table)

try:  # optional peer; imported after fastact so fastact's OpenMP runtime loads first
    import torch
except ImportError:
    torch = None

# Values for parameters the catalog gives no default (threshold's).
BENCH_PARAMS = {"threshold": {"threshold": 0.0, "value": -1.0}}

# Per size exponent: (seconds of timed calls to aim for, minimum runs, maximum runs).
# Full-run budget: ~10 minutes on 2 cores; --quick scales the targets down.
POLICY = {14: (0.10, 20, 200_000), 20: (0.10, 5, 10_000), 24: (0.0, 3, 3)}
DEFAULT_POLICY = (0.10, 3, 10_000)


# ------------------------------------------------------------------------------- cases

class Case:
    """One (activation, variant) with the keyword arguments fastact gets."""

    def __init__(self, act, kernel, params):
        self.act, self.kernel, self.params = act, kernel, params
        self.name = act.name
        variant = params.get("approximate")
        self.label = f"{act.name}({variant})" if variant not in (None, "none") else act.name
        self.numeric = {k: v for k, v in params.items() if k != "approximate"}

    def directions(self):
        return DIRECTIONS if self.act.backward_from_y else DIRECTIONS[:2]


def make_cases(names):
    cases = []
    for act in ACTIVATIONS:
        if names and act.name not in names and not set(act.kernel_names) & names:
            continue
        base = {}
        for p in act.params:
            if p.choices:
                continue
            value = BENCH_PARAMS.get(act.name, {}).get(p.name, p.default)
            base[p.name] = 0.5 if value is REQUIRED else value
        if act.variants:
            for choice, kernel in act.variants.items():
                if not names or act.name in names or kernel in names:
                    cases.append(Case(act, kernel, dict(base, approximate=choice)))
        else:
            cases.append(Case(act, act.name, base))
    return cases


# ------------------------------------------------------------------------ competitors
# Each builder takes (case, direction, bufs) and returns (callable, note) or None when
# the competitor has no form of that operation. bufs: w (the buffer the call
# overwrites: x for fwd, grad for bwd), x, y (inputs), and t_* their torch views.

def fastact_call(case, direction, b):
    if fastact is None:
        return None
    fn = getattr(fastact, case.name + ("_" if direction == "fwd" else "_backward_"), None)
    if fn is None:
        return None
    if direction == "fwd":
        return partial(fn, b["w"], **case.params), ""
    if direction == "bwd_x":
        return partial(fn, b["w"], b["x"], **case.params), ""
    return partial(fn, b["w"], y=b["y"], **case.params), ""


def numpy_call(case, direction, b):
    return timing.numpy_call(numpy_peer(case.name, **case.params), direction, b)


def floor_call(direction, b):
    """The memory floor: one NumPy pass with the same streams as the operation."""
    if direction == "fwd":
        return partial(np.multiply, b["w"], 1, out=b["w"])        # x *= 1
    return partial(np.multiply, b["w"], b["x"], out=b["w"])        # g *= x


TORCH_TABLE = torch_table(torch)  # the torch peers: fastact/cli/timing.py


def torch_call(case, direction, b):
    return torch_peer(TORCH_TABLE, case.kernel, direction, b, case.numeric)


# ----------------------------------------------------------------------------- timing
# measure, the buffers and the machine description live in fastact/cli/timing.py

def set_threads(n):
    timing.set_threads(n, fastact, torch)


def make_buffers(size, dtype, seed=12345):
    return timing.make_buffers(size, dtype, torch, seed)


def set_y(b, case):
    """y = f(x) for the backward from y (computed by fastact, else by the NumPy peer)."""
    if fastact is not None and hasattr(fastact, case.name):
        forward = partial(getattr(fastact, case.name), **case.params)
        timing.fill_y(b, lambda x, y: forward(x, out=y))
    else:
        timing.fill_y(b, numpy_peer(case.name, **case.params).forward)


def each_direction(cases, wanted, b):
    """(case, direction) for every wanted direction of every case, with y prepared in b
    for a backward from y."""
    for case in cases:
        for d in case.directions():
            if d in wanted:
                if d == "bwd_y":
                    set_y(b, case)
                yield case, d


def run(args):
    cases = make_cases(set(args.names))
    results = []
    gc.disable()
    start = time.perf_counter()
    for dtype in args.dtypes:
        for exp in args.sizes:
            n = 1 << exp
            policy = POLICY.get(exp, DEFAULT_POLICY)
            policy = (policy[0] * args.target_scale, *policy[1:])
            b = make_buffers(n, dtype)
            restore = timing.restorers(b)

            def record(case, direction, competitor, threads, made):
                if made is None:
                    return
                fn, note = made
                kind = "fwd" if direction == "fwd" else "bwd"
                t0 = time.perf_counter()
                sec, fastest, runs = measure(fn, restore[kind], policy, args.repeat)
                wall = time.perf_counter() - t0
                results.append(dict(
                    name=case.name if case else None, label=case.label if case else None,
                    kernel=case.kernel if case else None, params=case.params if case else None,
                    direction=direction, dtype=dtype, log2_size=exp, size=n, threads=threads,
                    competitor=competitor, ns_per_elem=sec * 1e9 / n, median_s=sec,
                    min_s=fastest, runs=runs, wall_s=wall, note=note))
                progress(f"{dtype} 2^{exp} t{threads} {competitor:7s} "
                         f"{case.label if case else '':16s} {direction:5s} "
                         f"{sec * 1e9 / n:8.3f} ns/el ({runs} runs)")

            # single-threaded peers (NumPy ufuncs do not thread): measured once
            if "numpy" in args.peers:
                for case, d in each_direction(cases, args.directions, b):
                    record(case, d, "numpy", 1, numpy_call(case, d, b))
            if "floor" in args.peers:
                for d in ("fwd", "bwd_x"):
                    record(None, d, "floor", 1, (floor_call(d, b), ""))
            for threads in args.threads:
                set_threads(threads)
                # one competitor at a time, so one runtime's spinning threads do not
                # steal the cores of the other's measurements
                for competitor, call in (("fastact", fastact_call), ("torch", torch_call)):
                    if competitor != "fastact" and competitor not in args.peers:
                        continue
                    for case, d in each_direction(cases, args.directions, b):
                        record(case, d, competitor, threads, call(case, d, b))
    gc.enable()
    return results, time.perf_counter() - start


def progress(msg):
    timing.status(msg)


# ---------------------------------------------------------------------------- reports

def machine_info():
    return timing.machine_info(fastact, torch, FASTACT_ERROR)


print_machine = timing.print_machine


def _fmt(v, width, digits=2):
    if v is None:
        return "-".rjust(width)
    return f"{v:{width}.{digits}f}" if v < 100 else f"{v:{width}.0f}"


def print_tables(results, args, out):
    ns = {}
    for r in results:
        ns[(r["kernel"], r["label"], r["direction"], r["dtype"], r["log2_size"],
            r["threads"], r["competitor"])] = (r["ns_per_elem"], r["note"])
    labels = []
    for r in results:
        if r["label"] is not None and (r["label"], r["kernel"]) not in labels:
            labels.append((r["label"], r["kernel"]))
    cols = ("fastact", "numpy", "torch", "floor")
    cw = 7
    block = 3 + cw * 4 + 3
    for dtype in args.dtypes:
        for threads in args.threads:
            def get(label, kernel, d, exp, comp, thr=threads):
                key_thr = 1 if comp in ("numpy", "floor") else thr
                k = (None if comp == "floor" else kernel, None if comp == "floor" else label,
                     "fwd" if comp == "floor" and d == "fwd" else
                     ("bwd_x" if comp == "floor" else d), dtype, exp, key_thr, comp)
                return ns.get(k, (None, ""))

            print(f"\n{dtype}, {threads} thread{'s' if threads > 1 else ''} -- fastact "
                  "ns/element, then fastact time / peer time (< 1: fastact faster; "
                  "numpy and floor are single-threaded)", file=out)
            head1 = " " * 21 + "".join(f"| {'2^%d' % e:^{block - 2}}" for e in args.sizes)
            head2 = f"{'activation':15s} {'dir':5s}" + "".join(
                "| " + "".join(f"{c:>{cw}s}" for c in ("ns/el", "/numpy", "/torch", "/floor"))
                + "   " for _ in args.sizes)
            print(head1, file=out)
            print(head2, file=out)
            print("-" * len(head2), file=out)
            ratios = {(e, c): [] for e in args.sizes for c in cols[1:]}
            for label, kernel in labels:
                first = True
                for d in DIRECTIONS:
                    if d not in args.directions:
                        continue
                    row = f"{label if first else '':15s} {DIR_LABEL[d]:5s}"
                    cells = []
                    any_value = False
                    for exp in args.sizes:
                        fa, _ = get(label, kernel, d, exp, "fastact")
                        cell = _fmt(fa, cw, 3)
                        for c in cols[1:]:
                            v, note = get(label, kernel, d, exp, c)
                            any_value |= v is not None and c != "floor"
                            if fa is not None and v is not None:
                                ratios[(exp, c)].append(fa / v)
                                cell += _fmt(fa / v, cw - 1) + (note or " ")
                            else:
                                cell += ("-" if v is None else "n/a").rjust(cw - 1) + " "
                        any_value |= fa is not None
                        cells.append(cell)
                    if any_value:
                        print(row + "".join(f"| {c}   " for c in cells), file=out)
                        first = False
            gm = f"{'geometric mean':21s}"
            for exp in args.sizes:
                gm += "| " + " " * cw + "".join(
                    _fmt(math.exp(statistics.fmean(map(math.log, ratios[(exp, c)])))
                         if ratios[(exp, c)] else None, cw - 1) + " " for c in cols[1:]) + "   "
            print("-" * len(head2), file=out)
            print(gm, file=out)
            fl = f"{'floor ns/el fwd,bwd':21s}"
            for exp in args.sizes:
                f1, _ = get(None, None, "fwd", exp, "floor")
                f2, _ = get(None, None, "bwd_x", exp, "floor")
                fl += "| " + f"{_fmt(f1, cw, 3)}{_fmt(f2, cw, 3)}".ljust(block - 2)
            print(fl, file=out)
    if any(r["note"] == "*" for r in results):
        print("\n* the peer has no out=/grad_input form: its time includes allocating the "
              "output", file=out)
    if not args.absolute:
        return
    for dtype in args.dtypes:
        for threads in args.threads:
            print(f"\n{dtype}, {threads} thread(s) -- ns/element of every competitor", file=out)
            head = f"{'activation':15s} {'dir':5s}" + "".join(
                f"| 2^{e:<2d}" + "".join(f"{c[:6]:>{cw}s}" for c in cols[:3]) + " "
                for e in args.sizes)
            print(head, file=out)
            for label, kernel in labels:
                first = True
                for d in DIRECTIONS:
                    got = [[get(label, kernel, d, exp, c, threads)[0] for c in cols[:3]]
                           for exp in args.sizes]
                    if d not in args.directions or all(v is None for g in got for v in g):
                        continue
                    print(f"{label if first else '':15s} {DIR_LABEL[d]:5s}" + "".join(
                        "|     " + "".join(_fmt(v, cw, 3) for v in g) + " " for g in got),
                        file=out)
                    first = False


# ------------------------------------------------------------------------------- main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    csv = lambda s: [v for v in s.split(",") if v]  # noqa: E731
    ap.add_argument("--sizes", type=lambda s: [int(v) for v in csv(s)], default=[14, 20, 24],
                    help="log2 of the element counts (default 14,20,24)")
    ap.add_argument("--threads", type=lambda s: [int(v) for v in csv(s)], default=[1, 2])
    ap.add_argument("--dtypes", type=csv, default=["float32", "float64"])
    ap.add_argument("--names", type=csv, default=[],
                    help="activations (catalog or kernel names, e.g. gelu_tanh); default all")
    ap.add_argument("--directions", type=csv, default=list(DIRECTIONS),
                    help="fwd,bwd_x,bwd_y (default all)")
    ap.add_argument("--peers", type=csv, default=["numpy", "torch", "floor"])
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed runs per measurement (default: automatic, see README)")
    ap.add_argument("--target", dest="target_scale", type=float, default=1.0,
                    help="scale the automatic per-measurement time target")
    ap.add_argument("--json", help="write all raw figures to this file")
    ap.add_argument("--absolute", action="store_true",
                    help="also print ns/element of every competitor")
    ap.add_argument("--quick", action="store_true",
                    help="2^20 elements, 1 thread, fewer runs (about a minute)")
    ap.add_argument("--no-layers", dest="layers", action="store_false",
                    help="skip the learnable, random and axis-wise activations (bench/layers.py)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.threads = [20], [1]
        args.target_scale *= 0.2
    kernels = {k for a in ACTIVATIONS for k in a.kernel_names}
    unknown = set(args.names) - set(BY_NAME) - kernels - set(LAYER_BY_NAME)
    if unknown:
        ap.error(f"unknown activation(s): {', '.join(sorted(unknown))}")
    for d in args.directions:
        if d not in DIRECTIONS:
            ap.error(f"unknown direction {d!r}")
    if "torch" in args.peers and torch is None:
        args.peers.remove("torch")
    return args


def main(argv=None):
    args = parse_args(argv)
    if fastact is None:
        args.absolute = True  # no ratios to show: show what the peers took
    info = machine_info()
    print_machine(info, sys.stdout)
    print(f"  sizes 2^{', 2^'.join(map(str, args.sizes))}; threads {args.threads}; "
          f"peers {', '.join(args.peers)}; inputs standard normal x 3 (seed 12345)")
    elementwise = not args.names or set(args.names) - set(LAYER_BY_NAME)
    results, elapsed = run(args) if elementwise else ([], 0.0)
    progress("")
    if results:
        print_tables(results, args, sys.stdout)
    layer_names = set(args.names) & set(LAYER_BY_NAME)
    if fastact is not None and args.layers and (layer_names or not args.names):
        import layers  # bench/layers.py
        start = time.perf_counter()
        layer_results = layers.run(args.threads, args.dtypes, layer_names,
                                   target=0.1 * args.target_scale)
        elapsed += time.perf_counter() - start
        print("\n## Learnable, random and axis-wise activations (bench/layers.py)\n")
        print(layers.table(layer_results))
        results += layer_results
    print(f"\n{len(results)} measurements in {elapsed:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "config": {k: v for k, v in vars(args).items()},
                       "elapsed_s": elapsed, "results": results}, f, indent=1)
        print(f"raw figures written to {args.json}")


if __name__ == "__main__":
    main()
