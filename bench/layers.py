#!/usr/bin/env python
"""Benchmark the learnable, random and axis-wise activations against PyTorch and NumPy.

    python bench/layers.py [--threads 1,2] [--dtypes float32,float64] [--names softmax,...]
                           [--quick] [--json out.json]

Run by ``bench/bench.py`` after the elementwise tables (unless ``--no-layers``), and on
its own. Every competitor writes into a preallocated output (``out=``, or the peer's
``out``/``grad_input`` overload) so that no allocation is timed, except where the
table marks the peer's time with ``*`` (it has no such overload). The shapes are those
of the issue and of typical layers: softmax over rows of 1024 and of 32 (a vocabulary
and an attention head), PReLU over a (64, 64, 32, 32) activation map, ... The
operations and their peers are built by fastact/cli/timing.py, which ``fastact bench``
uses too; this script picks the shapes, runs and reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import fastact, set_threads, torch  # noqa: E402  (bench/bench.py)
from fastact.cli.timing import (  # noqa: E402  (the operations, shared with `fastact bench`)
    Op, glu_op, maxout_op, measure, prelu_op, rrelu_op, softmax_family)

__all__ = ["Op", "all_ops", "run", "table", "main"]


def all_ops():
    return [
        softmax_family("softmax", "fwd", (1024, 1024), torch),
        softmax_family("softmax", "fwd", (32768, 32), torch),
        softmax_family("softmax", "bwd y", (1024, 1024), torch),
        softmax_family("softmax", "bwd y", (32768, 32), torch),
        softmax_family("log_softmax", "fwd", (1024, 1024), torch),
        softmax_family("log_softmax", "fwd", (32768, 32), torch),
        softmax_family("log_softmax", "bwd y", (1024, 1024), torch),
        prelu_op("fwd", torch=torch), prelu_op("bwd", torch=torch),
        glu_op("fwd", torch=torch), glu_op("bwd", torch=torch),
        maxout_op("fwd", torch=torch), maxout_op("bwd", torch=torch),
        rrelu_op(torch=torch),
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
