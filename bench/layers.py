#!/usr/bin/env python
"""Benchmark the learnable, random and axis-wise activations against PyTorch and NumPy.

    python bench/layers.py [--threads 1,2] [--dtypes float32,float64] [--names softmax,...]
                           [--quick] [--json out.json]

Run by ``bench/bench.py`` after the elementwise tables (unless ``--no-layers``), and on
its own. Every competitor writes into a preallocated output (``out=``, or the peer's
``out``/``grad_input`` overload) so that no allocation is timed, except where the
table marks the peer's time with ``*`` (it has no such overload). The shapes are those
of the issue and of typical layers: softmax over rows of 1024 and of 32 (a vocabulary
and an attention head), PReLU over a (64, 64, 32, 32) activation map, ...
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import fastact, measure, set_threads, torch  # noqa: E402  (bench/bench.py)


@dataclass
class Op:
    """One timed operation: its label, input shape and the calls of each competitor,
    made by `make(dtype)` -> {competitor: (callable, note)}."""
    name: str
    label: str
    shape: tuple
    make: object


def _rng_arrays(shape, dtype, *, scale=3.0, count=2, seed=12345):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * scale).astype(dtype) for _ in range(count)]


def _t(a):
    return torch.from_numpy(a) if torch is not None else None


# ---------------------------------------------------------------- softmax, log_softmax

def _numpy_softmax(x, out, log=False):
    m = x.max(-1, keepdims=True)
    np.subtract(x, m, out=out)
    if log:
        out -= np.log(np.exp(out).sum(-1, keepdims=True))
    else:
        np.exp(out, out=out)
        out /= out.sum(-1, keepdims=True)


def softmax_family(name, direction, shape):
    log = name == "log_softmax"

    def make(dtype):
        x, g = _rng_arrays(shape, dtype)
        out = np.empty_like(x)
        fa_forward, fa_backward = getattr(fastact, name), getattr(fastact, name + "_backward")
        y = fa_forward(x)
        calls = {}
        if direction == "fwd":
            calls["fastact"] = (partial(fa_forward, x, out=out), "")
            calls["numpy"] = (partial(_numpy_softmax, x, out, log), "")
            if torch is not None:
                op = torch.ops.aten._log_softmax if log else torch.ops.aten._softmax
                calls["torch"] = (partial(op.out, _t(x), -1, False, out=_t(out)), "")
        else:
            calls["fastact"] = (partial(fa_backward, g, y=y, out=out), "")
            if torch is not None:
                tdt = torch.float32 if dtype == np.float32 else torch.float64
                if log:
                    op = partial(torch.ops.aten._log_softmax_backward_data.out, out=_t(out))
                else:
                    op = partial(torch.ops.aten._softmax_backward_data.out, grad_input=_t(out))
                calls["torch"] = (partial(op, _t(g), _t(y), -1, tdt), "")
        return calls
    rows = shape[-1]
    return Op(name, f"{name} {direction} (rows of {rows})", shape, make)


# ---------------------------------------------------------------- prelu

def prelu_op(direction, shape=(64, 64, 32, 32)):
    def make(dtype):
        x, g = _rng_arrays(shape, dtype)
        w = np.linspace(0.05, 0.3, shape[1]).astype(dtype)
        out = np.empty_like(x)
        calls = {}
        tw = _t(w).view(1, -1, *([1] * (len(shape) - 2))) if torch is not None else None
        if direction == "fwd":
            calls["fastact"] = (partial(fastact.prelu, x, w, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten._prelu_kernel, _t(x), tw), "*")
        else:
            calls["fastact"] = (partial(fastact.prelu_backward, g, x, w, out=out), "")
            if torch is not None:
                reduce_axes = (0, *range(2, len(shape)))

                def torch_backward(tg=_t(g), tx=_t(x)):
                    gx, gw = torch.ops.aten._prelu_kernel_backward(tg, tx, tw)
                    return gx, gw.sum(reduce_axes)
                calls["torch"] = (torch_backward, "*")
        return calls
    return Op("prelu", f"prelu {direction} (per channel, axis 1)", shape, make)


# ---------------------------------------------------------------- glu, maxout, rrelu

def glu_op(direction, shape=(1024, 2048)):
    def make(dtype):
        x, g = _rng_arrays(shape, dtype)
        half = (*shape[:-1], shape[-1] // 2)
        calls = {}
        if direction == "fwd":
            out = np.empty(half, dtype)
            calls["fastact"] = (partial(fastact.glu, x, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten.glu.out, _t(x), -1, out=_t(out)), "")
        else:
            g = g[..., : shape[-1] // 2].copy()
            out = np.empty_like(x)
            calls["fastact"] = (partial(fastact.glu_backward, g, x, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten.glu_backward.grad_input, _t(g), _t(x),
                                          -1, grad_input=_t(out)), "")
        return calls
    return Op("glu", f"glu {direction} (halves of {shape[-1] // 2})", shape, make)


def maxout_op(direction, shape=(1024, 1024), pieces=4):
    def make(dtype):
        (x,) = _rng_arrays(shape, dtype, count=1)
        reduced = (shape[0], shape[1] // pieces)
        calls = {}
        if direction == "fwd":
            out = np.empty(reduced, dtype)
            calls["fastact"] = (partial(fastact.maxout, x, pieces, out=out), "")
            calls["numpy"] = (partial(np.max, x.reshape(shape[0], -1, pieces), axis=-1, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.amax, _t(x).view(shape[0], -1, pieces), -1,
                                          out=_t(out)), "")
        else:
            (g,) = _rng_arrays(reduced, dtype, count=1, seed=7)
            out = np.empty_like(x)
            calls["fastact"] = (partial(fastact.maxout_backward, g, x, pieces, out=out), "")
        return calls
    return Op("maxout", f"maxout {direction} (groups of {pieces})", shape, make)


def rrelu_op(shape=(1 << 20,)):
    def make(dtype):
        (x,) = _rng_arrays(shape, dtype, count=1)
        out, slopes = np.empty_like(x), np.empty_like(x)
        calls = {"fastact": (partial(fastact.rrelu, x, training=True, seed=1, out=out,
                                     slopes=slopes), "")}
        if torch is not None:
            calls["torch"] = (partial(torch.ops.aten.rrelu_with_noise.out, _t(x), _t(slopes),
                                      1 / 8, 1 / 3, True, out=_t(out)), "")
        return calls
    return Op("rrelu", "rrelu fwd (training, slopes drawn)", shape, make)


def all_ops():
    return [
        softmax_family("softmax", "fwd", (1024, 1024)),
        softmax_family("softmax", "fwd", (32768, 32)),
        softmax_family("softmax", "bwd y", (1024, 1024)),
        softmax_family("softmax", "bwd y", (32768, 32)),
        softmax_family("log_softmax", "fwd", (1024, 1024)),
        softmax_family("log_softmax", "fwd", (32768, 32)),
        softmax_family("log_softmax", "bwd y", (1024, 1024)),
        prelu_op("fwd"), prelu_op("bwd"),
        glu_op("fwd"), glu_op("bwd"),
        maxout_op("fwd"), maxout_op("bwd"),
        rrelu_op(),
    ]


# ---------------------------------------------------------------- running, reporting

def run(threads=(1, 2), dtypes=("float32", "float64"), names=None, target=0.1):
    results = []
    policy = (target, 5, 2000)
    for op in all_ops():
        if names and op.name not in names:
            continue
        for dtype in dtypes:
            calls = op.make(np.dtype(dtype))
            for n in threads:
                set_threads(n)
                for competitor, (fn, note) in calls.items():
                    if competitor == "numpy" and n != threads[0]:
                        continue                  # NumPy does not thread: measured once
                    sec, fastest, runs = measure(fn, lambda: None, policy)
                    results.append(dict(op=op.label, name=op.name, shape=list(op.shape),
                                        dtype=dtype, threads=n, competitor=competitor,
                                        median_s=sec, min_s=fastest, runs=runs, note=note))
    return results


def table(results):
    """Markdown: one row per (op, dtype, threads), ms per call and fastact's ratio."""
    lines = ["| operation | shape | dtype | threads | fastact ms | torch ms | numpy ms | fastact / torch |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    keys = []
    for r in results:
        key = (r["op"], tuple(r["shape"]), r["dtype"], r["threads"])
        if key not in keys:
            keys.append(key)
    numpy_ms = {(r["op"], r["dtype"]): r for r in results if r["competitor"] == "numpy"}
    for op, shape, dtype, n in keys:
        got = {r["competitor"]: r for r in results
               if (r["op"], tuple(r["shape"]), r["dtype"], r["threads"]) == (op, shape, dtype, n)}
        got.setdefault("numpy", numpy_ms.get((op, dtype)))

        def cell(c):
            r = got.get(c)
            return f"{r['median_s'] * 1e3:.3f}{r['note']}" if r else "-"
        ratio = (f"{got['fastact']['median_s'] / got['torch']['median_s']:.2f}"
                 if got.get("fastact") and got.get("torch") else "-")
        lines.append(f"| {op} | {'x'.join(map(str, shape))} | {dtype} | {n} | {cell('fastact')} "
                     f"| {cell('torch')} | {cell('numpy')} | {ratio} |")
    lines.append("\n`*`: the peer allocates its result (it has no out= overload). "
                 "Medians of repeated calls; ratio < 1: fastact is faster.")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--names", default="")
    ap.add_argument("--quick", action="store_true", help="1 thread, float32, shorter runs")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if fastact is None:
        sys.exit("bench/layers.py times fastact against its peers: build fastact first")
    threads = (1,) if args.quick else tuple(int(t) for t in args.threads.split(","))
    dtypes = ("float32",) if args.quick else tuple(args.dtypes.split(","))
    names = set(filter(None, args.names.split(",")))
    results = run(threads, dtypes, names, target=0.03 if args.quick else 0.1)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
