#!/usr/bin/env python
"""fastact's gelu on Dask arrays, on a dask.distributed LocalCluster, against NumPy (issue 9).

    python bench/dask_gelu.py [--size-log2 28] [--chunk-log2 22] [--repeat 5] [--seed 0]

A float32 array of 2^size-log2 elements (default 2^28: 1 GiB) and a gradient of the same
size are generated *on the workers* (``da.random.default_rng(seed)``, nothing shipped from
the client) and persisted; then each operation is persisted and waited for, so that
neither generation nor a transfer back to the client is timed, only the map over the
chunks (and the scheduling of it):

* forward:  ``fastact.gelu(dx)``              vs the NumPy gelu mapped over the chunks
* backward: ``fastact.gelu_backward(dg, dx)`` vs the NumPy gelu derivative times dg

The NumPy peer is exact gelu written with NumPy ufuncs, in float32 like fastact:

    gelu(x)  = x * 0.5 * erfc(-x / sqrt(2))
    gelu'(x) = 0.5 * erfc(-x / sqrt(2)) + x * exp(-x^2 / 2) / sqrt(2 pi)

with ``scipy.special.erfc`` when SciPy is importable; else (NumPy has no erf/erfc ufunc)
erfc from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, five-term polynomial times
exp(-x^2)), in NumPy only. The table says which.

Schedulers: the LocalCluster of tests/test_dask_distributed.py (2 worker processes with 1
thread each, loopback only; the nanny gives the workers OMP_NUM_THREADS=1, so fastact
runs 1 thread a task) and, for reference, the local threaded scheduler with 2 threads
(same chunks, data generated in this process).

Chunks: 2^22 elements (16 MiB of float32) by default: 64 chunks at 2^28, 32 tasks a
worker, so the per-task scheduling cost (~1 ms on distributed) is small next to a task's
compute (fastact: a few ms; NumPy: tens of ms), the two workers stay balanced to within
a task, and a task's memory (inputs, output and NumPy's chunk-sized temporaries, ~100
MiB) is far below a worker's limit. dask's own default (128 MiB chunks) would give 8
chunks: 4 a worker, worse balance, for no gain. Smaller sizes keep at least 8 chunks.

Each figure is the median of --repeat timings (wall clock; ns per element = seconds /
elements, not per core); the ratio is NumPy's time over fastact's.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree's (in-place) build

import dask                      # noqa: E402
import dask.array as da          # noqa: E402
import distributed               # noqa: E402

import fastact                   # noqa: E402

try:
    from scipy.special import erfc
    ERFC = "scipy.special.erfc"
except ImportError:              # NumPy only: Abramowitz & Stegun 7.1.26
    ERFC = "NumPy, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)"

    def erfc(z):
        a = np.abs(z)
        t = 1 / (1 + a.dtype.type(0.3275911) * a)
        poly = t * (a.dtype.type(0.254829592) + t * (a.dtype.type(-0.284496736) + t * (
            a.dtype.type(1.421413741) + t * (a.dtype.type(-1.453152027)
                                             + t * a.dtype.type(1.061405429)))))
        np.multiply(a, a, out=a)
        np.negative(a, out=a)
        np.exp(a, out=a)
        poly *= a
        return np.where(z >= 0, poly, 2 - poly)

TIMEOUT = 3600                   # seconds for any one wait: a hang fails, not stalls


# ------------------------------------------------------------------ the NumPy peer
def numpy_gelu(x):
    """x * 0.5 * erfc(-x / sqrt 2), in x's dtype."""
    f = x.dtype.type
    t = erfc(x * f(-1 / math.sqrt(2)))
    t *= f(0.5)
    t *= x
    return t


def numpy_gelu_backward(g, x):
    """g * (0.5 * erfc(-x / sqrt 2) + x * exp(-x^2 / 2) / sqrt(2 pi)), in x's dtype."""
    f = x.dtype.type
    cdf = erfc(x * f(-1 / math.sqrt(2)))
    cdf *= f(0.5)
    pdf = x * x
    pdf *= f(-0.5)
    np.exp(pdf, out=pdf)
    pdf *= f(1 / math.sqrt(2 * math.pi))
    pdf *= x
    cdf += pdf
    cdf *= g
    return cdf


OPS = {  # op -> (fastact lazy, NumPy lazy), each from (dx, dg)
    "forward": (lambda dx, dg: fastact.gelu(dx),
                lambda dx, dg: dx.map_blocks(numpy_gelu, dtype=dx.dtype)),
    "backward": (lambda dx, dg: fastact.gelu_backward(dg, dx),
                 lambda dx, dg: da.map_blocks(numpy_gelu_backward, dg, dx, dtype=dx.dtype)),
}


# ------------------------------------------------------------------ timing
def inputs(n, chunk, seed):
    rng = da.random.default_rng(seed)
    dx = rng.standard_normal(n, chunks=chunk, dtype=np.float32)
    dg = rng.standard_normal(n, chunks=chunk, dtype=np.float32)
    return dx, dg


def timed_distributed(client, lazy):
    t0 = time.perf_counter()
    done = client.persist(lazy)
    distributed.wait(done, timeout=TIMEOUT)
    seconds = time.perf_counter() - t0
    assert all(f.status == "finished" for f in distributed.futures_of(done))
    del done
    return seconds


def timed_threads(lazy):
    t0 = time.perf_counter()
    (done,) = dask.persist(lazy, scheduler="threads", num_workers=2)
    seconds = time.perf_counter() - t0
    del done
    return seconds


def measure(run, dx, dg, repeat):
    """{op: (fastact seconds, NumPy seconds)}, medians; the two alternate in each round."""
    times = {op: ([], []) for op in OPS}
    for _ in range(repeat):
        for op, (fa, npy) in OPS.items():
            times[op][0].append(run(fa(dx, dg)))
            times[op][1].append(run(npy(dx, dg)))
    return {op: (statistics.median(a), statistics.median(b)) for op, (a, b) in times.items()}


def worker_threads(client):
    return sorted(set(client.run(fastact.get_num_threads).values()))


def max_difference(dx, dg, scheduler):
    """Max |fastact - NumPy| over the first chunk (untimed; a check that both compute gelu)."""
    x, g = dask.compute(dx.blocks[0], dg.blocks[0], scheduler=scheduler)
    return (float(np.max(np.abs(fastact.gelu(x) - numpy_gelu(x)))),
            float(np.max(np.abs(fastact.gelu_backward(g, x) - numpy_gelu_backward(g, x)))))


# ------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-log2", type=int, default=28, help="elements: 2^N (default 28)")
    parser.add_argument("--chunk-log2", type=int, default=22,
                        help="chunk: 2^N elements (default 22), at most 2^(size-log2 - 3)")
    parser.add_argument("--repeat", type=int, default=5, help="timings per figure (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = 2 ** args.size_log2
    chunk = 2 ** max(0, min(args.chunk_log2, args.size_log2 - 3))
    command = "python bench/dask_gelu.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    rows = []

    # ---- distributed: 2 worker processes, 1 thread each, loopback only
    path = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "")
                                          .split(os.pathsep) if p])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  env={"PYTHONPATH": path}) as cluster, \
            distributed.Client(cluster, timeout=120) as client:
        client.wait_for_workers(2, timeout=120)
        threads = worker_threads(client)
        dx, dg = inputs(n, chunk, args.seed)
        dx, dg = client.persist([dx, dg])                      # generated on the workers
        distributed.wait([dx, dg], timeout=TIMEOUT)
        diff = max_difference(dx, dg, client.get)
        result = measure(lambda lazy: timed_distributed(client, lazy), dx, dg, args.repeat)
        rows += [("distributed, 2 procs x 1 thread", op, *result[op]) for op in OPS]
        del dx, dg

    # ---- the local threaded scheduler, for reference
    dx, dg = inputs(n, chunk, args.seed)
    dx, dg = dask.persist(dx, dg, scheduler="threads", num_workers=2)
    result = measure(timed_threads, dx, dg, args.repeat)
    rows += [("threads, 1 proc x 2 threads", op, *result[op]) for op in OPS]

    print(f"gelu (exact, erf-based) on a float32 Dask array of 2^{args.size_log2} = {n} "
          f"elements ({n * 4 / 2**20:.0f} MiB), chunks of 2^{int(math.log2(chunk))} "
          f"({n // chunk} chunks); median of {args.repeat}; NumPy peer's erfc: {ERFC}")
    print()
    print("| scheduler | op | fastact s | fastact ns/elem | NumPy s | NumPy ns/elem "
          "| NumPy / fastact |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for scheduler, op, fa, npy in rows:
        print(f"| {scheduler} | {op} | {fa:.3f} | {fa / n * 1e9:.2f} | {npy:.3f} "
              f"| {npy / n * 1e9:.2f} | {npy / fa:.1f}x |")
    print()
    print(f"fastact threads on the workers: {threads}; in this process: "
          f"{fastact.get_num_threads()}; max |fastact - NumPy| on the first chunk: "
          f"forward {diff[0]:.2e}, backward {diff[1]:.2e}")
    print(f"{platform.machine()}, {os.cpu_count()} cores, fastact kernels "
          f"{fastact._api.kernels.VARIANT}, numpy {np.__version__}, dask {dask.__version__}, "
          f"distributed {distributed.__version__}, Python {platform.python_version()}")
    print(f"command: {command}")


if __name__ == "__main__":
    main()
