#!/usr/bin/env python
"""Check the figures of ``bench/bench.py --json`` against the speed targets of issue 6.

    python bench/bench.py --sizes 4,20,24 --json results.json   # ~10 minutes on 2 cores
    python bench/targets.py results.json [--measure-small]

(a) transcendental activations: fastact's time <= 0.8x the fastest peer (PyTorch or
    NumPy), forward and backward from x, per dtype, at 2^20 and 2^24, 1 and 2 threads;
(b) memory-bound operations (catalog ``cheap=True``, and every backward from y): within
    1.10x of the memory floor, same dtypes, sizes and threads;
(c) two threads at least 1.8x faster than one at 2^24, transcendental activations;
(d) a 16-element ``relu_(x)`` call at most half of ``np.maximum(x, 0, out=x)``'s: from
    the JSON's 2^4 figures (``--sizes 4``), else measured here.

Prints met / not met per target with its figure, then the misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import timeit
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the working tree's catalog (and build, for --measure-small)
from fastact._catalog import ACTIVATIONS  # noqa: E402  (plain Python: needs no build)

TRANSCENDENTAL = ("sigmoid", "tanh", "gelu", "silu", "swish", "elu", "selu", "celu",
                  "softplus", "mish", "logsigmoid", "tanhshrink")
PEER_RATIO, FLOOR_RATIO, THREAD_SPEEDUP, SMALL_RATIO = 0.8, 1.10, 1.8, 0.5
DTYPES, SIZES, THREADS = ("float32", "float64"), (20, 24), (1, 2)
SHORT = {"float32": "f32", "float64": "f64", "fwd": "fwd", "bwd_x": "bwd x", "bwd_y": "bwd y"}


@dataclass
class Check:
    """One comparison: ``value`` (a ratio) is None when the figures are not in the JSON."""
    label: str
    direction: str
    where: str          # dtype, size, threads
    value: float | None
    met: bool = False
    against: str = ""   # the peer the value is relative to, or why there is no value

    def operation(self, with_where=False):
        parts = (self.label, SHORT.get(self.direction, ""), self.where if with_where else "")
        return " ".join(p for p in parts if p)


def labels_of(names):
    """The labels bench.py gives the activations ``names``: gelu is 'gelu' and 'gelu(tanh)'."""
    for act in ACTIVATIONS:
        if act.name in names:
            yield from ([act.name if v == "none" else f"{act.name}({v})" for v in act.variants]
                        or [act.name])


class Figures:
    """bench.py's ns/element, looked up the way its tables do: NumPy and the floor are
    single-threaded (measured once), the floor has one figure per memory pattern."""

    def __init__(self, results):
        self.ns = {}
        self.labels, self.dtypes, self.sizes, self.threads = set(), set(), set(), set()
        for r in results:
            if r.get("direction") is None:  # bench/layers.py records: not elementwise
                continue
            single = r["competitor"] in ("numpy", "floor")
            self.ns[(None if r["competitor"] == "floor" else r["label"], r["direction"],
                     r["dtype"], r["log2_size"], None if single else r["threads"],
                     r["competitor"])] = r["ns_per_elem"]
            if r["competitor"] == "fastact":
                self.labels.add(r["label"])
                self.dtypes.add(r["dtype"])
                self.sizes.add(r["log2_size"])
                self.threads.add(r["threads"])

    def get(self, label, direction, dtype, exp, threads, competitor):
        if competitor == "floor":
            label, direction = None, "fwd" if direction == "fwd" else "bwd_x"
        single = competitor in ("numpy", "floor")
        return self.ns.get((label, direction, dtype, exp, None if single else threads,
                            competitor))

    def grid(self, sizes=SIZES, threads=THREADS):
        """The (dtype, size, threads) of a target that the JSON covers."""
        return [(d, e, t) for d in DTYPES if d in self.dtypes for e in sizes
                if e in self.sizes for t in threads if t in self.threads]

    def uncovered(self, sizes=SIZES, threads=THREADS):
        """What a target asks for and the JSON has no figure of at all."""
        wanted = ([d for d in DTYPES if d not in self.dtypes]
                  + [f"2^{e}" for e in sizes if e not in self.sizes]
                  + [f"{t} thread{'s' if t > 1 else ''}" for t in threads
                     if t not in self.threads])
        return ", ".join(wanted)


def where(dtype, exp, threads=None):
    return f"{SHORT[dtype]} 2^{exp}" + (f" {threads}t" if threads else "")


def absent(label):
    return Check(label, "", "", None, against="not in the JSON")


def against_peers(fig):
    """(a): fastact / fastest peer for the transcendental activations."""
    for label in labels_of(TRANSCENDENTAL):
        if label not in fig.labels:
            yield absent(label)
            continue
        for d in ("fwd", "bwd_x"):
            for dtype, exp, t in fig.grid():
                fa = fig.get(label, d, dtype, exp, t, "fastact")
                peers = {c: fig.get(label, d, dtype, exp, t, c) for c in ("torch", "numpy")}
                peers = {c: v for c, v in peers.items() if v is not None}
                if fa is None or not peers:
                    yield Check(label, d, where(dtype, exp, t), None,
                                against="" if fa is None else "no peer")
                    continue
                best = min(peers, key=peers.get)
                ratio = fa / peers[best]
                yield Check(label, d, where(dtype, exp, t), ratio, ratio <= PEER_RATIO, best)


def against_floor(fig):
    """(b): fastact / memory floor for the memory-bound operations."""
    for act in ACTIVATIONS:
        directions = (["fwd", "bwd_x"] if act.cheap else []) + (
            ["bwd_y"] if act.backward_from_y else [])  # as the issue lists them: softplus's too
        for label in labels_of({act.name}) if directions else ():
            if label not in fig.labels:
                yield absent(label)
                continue
            for d in directions:
                for dtype, exp, t in fig.grid():
                    fa = fig.get(label, d, dtype, exp, t, "fastact")
                    floor = fig.get(label, d, dtype, exp, t, "floor")
                    if fa is None or floor is None:
                        yield Check(label, d, where(dtype, exp, t), None,
                                    against="" if fa is None else "no floor figure")
                        continue
                    ratio = fa / floor
                    yield Check(label, d, where(dtype, exp, t), ratio, ratio <= FLOOR_RATIO,
                                "floor")


def thread_scaling(fig):
    """(c): one-thread time / two-thread time at 2^24, transcendental activations."""
    if not {1, 2} <= fig.threads:
        return  # reported as not in the JSON
    for label in labels_of(TRANSCENDENTAL):
        if label not in fig.labels:
            yield absent(label)
            continue
        for d in ("fwd", "bwd_x"):
            for dtype, _, _ in fig.grid(sizes=(24,), threads=(1,)):
                one, two = (fig.get(label, d, dtype, 24, t, "fastact") for t in (1, 2))
                speedup = None if one is None or two is None else one / two
                yield Check(label, d, where(dtype, 24), speedup,
                            speedup is not None and speedup >= THREAD_SPEEDUP)


def measure_small_relu(dtype, n=16, loops=2000, repeats=25):
    """ns per call of fastact.relu_(x) and np.maximum(x, 0, out=x) on n elements: the
    median over repeats of loops calls (both are idempotent, so x need not be restored)."""
    import fastact
    x = np.random.default_rng(0).standard_normal(n).astype(dtype)

    def per_call(stmt, fn):
        runs = timeit.Timer(stmt, globals={"f": fn, "x": x}).repeat(repeats, loops)
        return float(np.median(runs)) / loops * 1e9

    fastact.set_num_threads(1)
    return per_call("f(x)", fastact.relu_), per_call("f(x, 0, out=x)", np.maximum)


def small_relu(fig, force_measure):
    """(d): ns of a 16-element relu_ over np.maximum's, per dtype."""
    for dtype in DTYPES:
        fa, peer = fig.get("relu", "fwd", dtype, 4, 1, "fastact"), fig.get(
            "relu", "fwd", dtype, 4, 1, "numpy")
        source = "bench JSON"
        if force_measure or fa is None or peer is None:
            try:
                fa, peer = (v / 16 for v in measure_small_relu(dtype))
            except (ImportError, AttributeError):  # no build: no module, or no relu_ in it
                yield Check("relu", "fwd", f"{SHORT[dtype]} 16 el", None,
                            against="not in the JSON, and fastact is not built")
                continue
            source = "measured here"
        ratio = fa / peer
        yield Check("relu", "fwd", f"{SHORT[dtype]} 16 el", ratio, ratio <= SMALL_RATIO,
                    f"{fa * 16:.0f} ns vs np.maximum's {peer * 16:.0f} ns a call, {source}")


def report(title, checks, uncovered="", higher_is_better=False, out=sys.stdout):
    """One target: its status and worst figure, then its misses grouped by operation,
    then what could not be checked."""
    checks = list(checks)
    measured = [c for c in checks if c.value is not None]
    misses = [c for c in measured if not c.met]
    unchecked = [c for c in checks if c.value is None]
    status = ("NOT MET" if misses else "NOT MEASURED" if not measured else
              "MET" if not unchecked and not uncovered else "MET where measured")
    print(f"\n{title}\n  {status}: {len(measured) - len(misses)} of {len(measured)} "
          "checks met", file=out)
    if measured:
        worst = (min if higher_is_better else max)(measured, key=lambda c: c.value)
        print(f"  worst: {worst.operation(True)}: "
              f"{worst.value:.2f}x" + (f" ({worst.against})" if worst.against else ""),
              file=out)
    if misses:
        print("  misses:", file=out)
        by_op = {}
        for c in misses:
            by_op.setdefault(c.operation(), []).append(
                f"{c.where} {c.value:.2f}x"
                + (f" ({c.against})" if c.against not in ("", "floor") else ""))
        width = max(map(len, by_op)) + 1
        for op, items in by_op.items():
            print(textwrap.fill(", ".join(items), width=100, initial_indent=f"    {op:{width}s}",
                                subsequent_indent=" " * (4 + width)), file=out)
    notes = {}
    if uncovered:
        notes["not in the JSON"] = [uncovered]
    for c in unchecked:
        notes.setdefault(c.against or "no fastact figure", []).append(c.operation(True))
    for why, items in notes.items():
        print(textwrap.fill(", ".join(items), width=100,
                            initial_indent=f"  not checked, {why}: ", subsequent_indent="    "),
              file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="JSON written by bench/bench.py --json")
    ap.add_argument("--measure-small", action="store_true",
                    help="(d): time the 16-element calls here even if the JSON has them")
    args = ap.parse_args(argv)
    data = json.loads(Path(args.results).read_text())
    fig = Figures(data["results"])
    machine = data.get("machine", {})
    load = machine.get("load_average") or 0
    print(f"fastact speed targets, from {args.results} ({machine.get('cpu', '?')}"
          + (f"; load average {load:.1f} before the run: noisy figures" if load > 0.5 else "")
          + ")")
    print("ratios are fastact's time over the other's (< 1: fastact faster), except (c): "
          "a speedup; 1t/2t: threads")
    report(f"(a) transcendental activations: fastact <= {PEER_RATIO}x the fastest peer "
           "(torch or numpy), fwd and bwd x, 2^20 and 2^24, 1 and 2 threads",
           against_peers(fig), fig.uncovered())
    report(f"(b) cheap operations (catalog cheap=True, every bwd y): <= {FLOOR_RATIO:.2f}x "
           "the memory floor, 2^20 and 2^24, 1 and 2 threads", against_floor(fig),
           fig.uncovered())
    report(f"(c) 2 threads >= {THREAD_SPEEDUP}x faster than 1 thread at 2^24, "
           "transcendental activations", thread_scaling(fig),
           fig.uncovered(sizes=(24,)), higher_is_better=True)
    report(f"(d) small arrays: a 16-element relu_(x) <= {SMALL_RATIO}x the time of "
           "np.maximum(x, 0, out=x)", small_relu(fig, args.measure_small))


if __name__ == "__main__":
    main()
