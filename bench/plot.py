#!/usr/bin/env python
"""Plot fastact's time per element against the array size, next to its peers.

    python bench/plot.py RESULTS.json [--dtype float32] [--threads 1] [--out bench/speed.png]
    python bench/plot.py --run [--sizes 10-24] [--json raw.json] [--out bench/speed.png]

The first form reads the JSON written by ``bench/bench.py --json``; the second sweeps
first, with bench.py's own functions (a few minutes for 2^10 .. 2^24). One panel per
activation and direction, log-log: median ns/element of fastact, the NumPy/SciPy
peer, PyTorch and the memory floor. Small arrays show the call overhead, large ones
the memory bandwidth.

Needs matplotlib (``pip install matplotlib``); the fastact package itself never does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("relu", "sigmoid", "tanh", "gelu", "silu", "softplus")
DIRECTION_TITLE = {"fwd": "forward", "bwd_x": "backward from x", "bwd_y": "backward from y"}
# competitor -> (legend label, line style); NumPy ufuncs and the floor never thread
STYLE = {
    "fastact": ("fastact", dict(color="C3", lw=2.2, marker="o", ms=3.5, zorder=3)),
    "numpy": ("NumPy/SciPy (1 thread)", dict(color="C0", marker="s", ms=3)),
    "torch": ("PyTorch", dict(color="C2", marker="^", ms=3)),
    "floor": ("memory floor (1 thread)", dict(color="0.45", ls="--")),
}


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        sys.exit("bench/plot.py needs matplotlib (an optional dependency: fastact does "
                 "not use it):\n    pip install matplotlib")
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def sweep(args):
    """Run bench.py's measurements for the plot and return them as bench.py's JSON would."""
    sys.path.insert(0, str(HERE))
    import bench  # bench/bench.py: puts the repository root first on sys.path

    bench_args = bench.parse_args([
        "--sizes", ",".join(map(str, args.sizes)), "--names", ",".join(args.names),
        "--dtypes", args.dtype, "--threads", str(args.threads),
        "--directions", ",".join(args.directions), "--target", str(args.target),
        "--no-layers"])
    results, elapsed = bench.run(bench_args)
    bench.progress("")
    data = {"machine": bench.machine_info(), "config": vars(bench_args),
            "elapsed_s": elapsed, "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
        print(f"raw figures written to {args.json}")
    return data


def curves(results, label, direction, dtype, threads):
    """competitor -> ([sizes], [ns/element]) for one panel, sorted by size."""
    found = {}
    for r in results:
        if r.get("direction") is None or r["dtype"] != dtype:
            continue  # bench/layers.py records have no direction: not elementwise
        c = r["competitor"]
        if c == "floor":  # one floor per memory pattern: bwd_y streams like bwd_x
            wanted = r["direction"] == ("fwd" if direction == "fwd" else "bwd_x")
        else:
            wanted = r["label"] == label and r["direction"] == direction and (
                c == "numpy" or r["threads"] == threads)
        if wanted:
            found.setdefault(c, []).append((r["size"], r["ns_per_elem"]))
    return {c: tuple(zip(*sorted(points))) for c, points in found.items()}


def plot(data, args, plt):
    results = [r for r in data["results"] if r.get("direction") in args.directions]
    labels = list(dict.fromkeys(r["label"] for name in args.names for r in results
                                if r["name"] == name and r["dtype"] == args.dtype))
    if not labels:
        sys.exit(f"no {args.dtype} figures for {', '.join(args.names)} in the results")
    rows, cols = len(args.directions), len(labels)
    fig, axes = plt.subplots(rows, cols, figsize=(max(2.5 * cols + 0.6, 8), 2.4 * rows + 1.1),
                             sharex=True, sharey=True, squeeze=False)
    for i, direction in enumerate(args.directions):
        for j, label in enumerate(labels):
            ax = axes[i][j]
            got = curves(results, label, direction, args.dtype, args.threads)
            if "fastact" not in got:
                ax.text(0.5, 0.5, "no such operation", ha="center", va="center",
                        transform=ax.transAxes, color="0.5")
            else:
                for competitor, (name, style) in STYLE.items():
                    if competitor in got:
                        ax.plot(*got[competitor], label=name, **style)
                missing = [c for c in ("numpy", "torch") if c not in got]
                if missing:  # say it, so an absent line is not read as a plotting error
                    ax.text(0.03, 0.97, "no " + " / ".join(missing) + " peer", fontsize=7,
                            color="0.4", va="top", transform=ax.transAxes)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            if i == 0:
                ax.set_title(label)
            if i == rows - 1:
                ax.set_xlabel("elements")
            if j == 0:
                ax.set_ylabel(f"{DIRECTION_TITLE[direction]}\nns / element")
    machine = data.get("machine", {})
    load = machine.get("load_average") or 0
    title = (f"fastact against its peers: {args.dtype}, {args.threads} thread"
             f"{'s' if args.threads > 1 else ''}, median ns per element (lower is faster)\n"
             f"{machine.get('cpu', '?')}, numpy {machine.get('numpy')}, "
             f"torch {machine.get('torch')}"
             + (f"; load average {load:.1f} before the run: noisy" if load > 0.5 else ""))
    fig.suptitle(title, fontsize=10)
    handles, names = [], []
    for ax in axes.flat:  # the union of the panels' lines, in STYLE order
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    order = [n for n, _ in STYLE.values() if n in names]
    fig.legend([handles[names.index(n)] for n in order], order, loc="lower center",
               ncol=len(order), frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(args.out, dpi=args.dpi)
    print(f"plot written to {args.out}")


def parse_sizes(text):
    """'10-24' (every exponent) or '10,14,20': log2 of the element counts."""
    if "-" in text:
        lo, hi = map(int, text.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in text.split(",") if v]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="?", help="JSON written by bench/bench.py --json")
    ap.add_argument("--run", action="store_true", help="measure first (needs no JSON)")
    ap.add_argument("--json", help="with --run: also write the raw figures here")
    ap.add_argument("--sizes", type=parse_sizes, default=list(range(10, 25)),
                    help="with --run: log2 sizes, '10-24' (default) or '10,16,24'")
    ap.add_argument("--target", type=float, default=1.0,
                    help="with --run: scale bench.py's time per measurement")
    ap.add_argument("--names", type=lambda s: s.split(","), default=list(NAMES),
                    help=f"catalog names (default {','.join(NAMES)}; gelu = both forms)")
    ap.add_argument("--directions", type=lambda s: s.split(","), default=["fwd", "bwd_x"],
                    help="rows of panels: fwd,bwd_x,bwd_y (default fwd,bwd_x)")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=1, help="fastact's and torch's threads")
    ap.add_argument("--out", default=str(HERE / "speed.png"))
    ap.add_argument("--dpi", type=int, default=110)
    args = ap.parse_args(argv)
    if (args.results is None) == (not args.run):
        ap.error("give either a results JSON or --run")
    unknown = set(args.directions) - set(DIRECTION_TITLE)
    if unknown:
        ap.error(f"unknown direction(s): {', '.join(sorted(unknown))}")
    plt = import_pyplot()  # before a sweep of minutes, not after
    data = sweep(args) if args.run else json.loads(Path(args.results).read_text())
    plot(data, args, plt)


if __name__ == "__main__":
    main()
