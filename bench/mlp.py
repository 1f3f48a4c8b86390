#!/usr/bin/env python
"""One training step of a NumPy MLP, with fastact activations and with NumPy-written ones.

    python bench/mlp.py [--threads 1,2] [--dtypes float32,float64]
                        [--acts relu,tanh,silu,gelu,mish] [--batch 256]
                        [--widths 1024,1024,1024,10] [--repeat 20] [--no-torch]
                        [--short-spin] [--quick] [--json out.json]

A step is the forward and backward pass of a dense network (three layers by default:
1024 -> 1024 -> 1024 -> 10, the activation after each hidden layer) with a mean
softmax cross-entropy loss, computing every weight and bias gradient; no optimizer
update. Matrix products are NumPy's (its BLAS). Both NumPy steps allocate their
buffers once and differ only in the activation calls:

* fastact: ``fastact.NAME_(z)`` then ``NAME_backward_(grad, y=z)`` where the catalog
  has a backward from y (relu, tanh, ...: the pre-activation need not be kept);
  otherwise ``fastact.NAME(z, out=a)`` then ``NAME_backward_(grad, z)``;
* numpy: the same calls of the NumPy/SciPy peers of ``fastact/_peers.py`` (what a
  careful NumPy user writes: stable formulas, ``out=`` and in-place ufuncs).

Both must give the same gradients (checked before timing). PyTorch (autograd,
``torch.nn.functional``, same weights, same thread count) is timed for reference.
Figures are medians of ``--repeat`` steps; the activation share is the median time
of a step's activation calls over the median step time.

With more than one thread, two threading runtimes take turns in a step: OpenBLAS's
workers keep spinning for a while after a matrix product, and OpenMP's (fastact's)
after an activation, each holding a core the other's next call wants. ``--short-spin``
shortens both spins (it sets GOMP_SPINCOUNT and OPENBLAS_THREAD_TIMEOUT, which must be
set before the libraries load); the header prints the values in effect.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SPIN_SETTINGS = {"GOMP_SPINCOUNT": "1000", "OPENBLAS_THREAD_TIMEOUT": "4"}  # see --short-spin
if __name__ == "__main__" and "--short-spin" in sys.argv[1:]:
    for key, value in SPIN_SETTINGS.items():  # read once, when OpenMP and OpenBLAS load
        os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import fastact, machine_info, print_machine, torch  # noqa: E402 (bench/bench.py)
from fastact._catalog import BY_NAME, REQUIRED  # noqa: E402
from fastact._peers import numpy_peer  # noqa: E402

DEFAULT_ACTS = ("relu", "tanh", "silu", "gelu", "mish")
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}  # gradient agreement, relative to max |grad|


# -------------------------------------------------------------------------- activations

@dataclass
class ActivationCalls:
    """How a step applies one activation, in place.

    forward(z, a): a <- f(z), where a is z itself when ``in_place``;
    backward(grad, z, a): grad <- grad * f'(.), from a = f(z) when ``in_place``
    (the pre-activation z was overwritten), else from z.
    """
    forward: object
    backward: object
    in_place: bool


def parse_activation(text):
    """'gelu_tanh' or a catalog name -> (label, catalog name, params with defaults)."""
    name, approximate = ("gelu", "tanh") if text == "gelu_tanh" else (text, None)
    act = BY_NAME.get(name)
    if act is None:
        raise ValueError(f"unknown activation {text!r}")
    params = {p.name: p.default for p in act.params if not p.choices}
    if REQUIRED in params.values():
        raise ValueError(f"{name} has a parameter without a default: not benchmarked here")
    if approximate:
        params["approximate"] = approximate
    return (f"gelu({approximate})" if approximate else name), name, params


def fastact_activation(name, params):
    forward_, backward_ = getattr(fastact, name + "_"), getattr(fastact, name + "_backward_")
    if BY_NAME[name].backward_from_y:
        return ActivationCalls(lambda z, a: forward_(z, **params),
                               lambda g, z, a: backward_(g, y=a, **params), in_place=True)
    forward = getattr(fastact, name)
    return ActivationCalls(lambda z, a: forward(z, out=a, **params),
                          lambda g, z, a: backward_(g, z, **params), in_place=False)


def numpy_activation(name, params):
    peer = numpy_peer(name, **params)
    if peer is None:
        return None
    if peer.backward_from_y is not None:  # the same storage choice as fastact's
        return ActivationCalls(lambda z, a: peer.forward(z, z),
                               lambda g, z, a: peer.backward_from_y(g, a, g), in_place=True)
    return ActivationCalls(lambda z, a: peer.forward(z, a),
                          lambda g, z, a: peer.backward(g, z, g), in_place=False)


def torch_activation(name, params):
    """The torch.nn.functional form, or None when torch has none."""
    if name == "swish":
        if params["beta"] != 1.0:
            return None
        name, params = "silu", {}
    module = torch if name in ("tanh", "sigmoid") else torch.nn.functional
    fn = getattr(module, name, None)
    if fn is None:
        return None
    return lambda h: fn(h, **params)


# ---------------------------------------------------------------------------- networks

def init_data(widths, batch, dtype, seed=0):
    """Inputs, labels, weights (variance 1/fan-in, so pre-activations are O(1)), biases."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, widths[0])).astype(dtype)
    labels = rng.integers(0, widths[-1], batch)
    weights = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)
               for m, n in zip(widths[:-1], widths[1:])]
    biases = [(0.1 * rng.standard_normal(n)).astype(dtype) for n in widths[1:]]
    return x, labels, weights, biases


class NumpyMLP:
    """A dense network whose buffers are allocated once; ``step()`` is one forward and
    backward pass, leaving the gradients in ``grad_w`` and ``grad_b``."""

    def __init__(self, data, activation):
        self.x, self.labels, self.weights, self.biases = data
        self.act = activation
        batch = len(self.x)
        self.rows = np.arange(batch)
        self.z = [np.empty((batch, w.shape[1]), self.x.dtype) for w in self.weights]
        self.a = [z if activation.in_place else np.empty_like(z) for z in self.z[:-1]]
        self.grad_z = [np.empty_like(z) for z in self.z]
        self.grad_w = [np.empty_like(w) for w in self.weights]
        self.grad_b = [np.empty_like(b) for b in self.biases]

    def step(self):
        """Forward and backward of the mean softmax cross-entropy; returns the seconds
        spent in activation calls."""
        clock, in_act = time.perf_counter, 0.0
        layers = len(self.weights)
        inputs = self.x
        for i in range(layers):
            z = self.z[i]
            np.matmul(inputs, self.weights[i], out=z)
            z += self.biases[i]
            if i < layers - 1:
                t0 = clock()
                self.act.forward(z, self.a[i])
                in_act += clock() - t0
                inputs = self.a[i]
        g = self.grad_z[-1]                   # d loss / d logits = (softmax - onehot) / batch
        np.subtract(self.z[-1], self.z[-1].max(axis=1, keepdims=True), out=g)
        np.exp(g, out=g)
        g /= g.sum(axis=1, keepdims=True)
        g[self.rows, self.labels] -= 1
        g /= len(g)
        for i in reversed(range(layers)):
            g = self.grad_z[i]
            np.matmul((self.x if i == 0 else self.a[i - 1]).T, g, out=self.grad_w[i])
            np.sum(g, axis=0, out=self.grad_b[i])
            if i > 0:
                below = self.grad_z[i - 1]
                np.matmul(g, self.weights[i].T, out=below)
                t0 = clock()
                self.act.backward(below, self.z[i - 1], self.a[i - 1])
                in_act += clock() - t0
        return in_act


class TorchMLP:
    """The same network and loss with torch autograd (weights copied, same layout)."""

    def __init__(self, data, activation):
        x, labels, weights, biases = data
        self.x, self.labels = torch.from_numpy(x), torch.from_numpy(labels)
        self.weights = [torch.tensor(w, requires_grad=True) for w in weights]
        self.biases = [torch.tensor(b, requires_grad=True) for b in biases]
        self.act = activation

    def step(self):
        for p in self.weights + self.biases:
            p.grad = None
        h = self.x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.addmm(b, h, w)
            if i < len(self.weights) - 1:
                h = self.act(h)
        torch.nn.functional.cross_entropy(h, self.labels).backward()
        return None  # activation time is not separable inside autograd

    @property
    def grad_w(self):
        return [w.grad.numpy() for w in self.weights]

    @property
    def grad_b(self):
        return [b.grad.numpy() for b in self.biases]


def gradient_difference(model, reference):
    """Largest |difference| of any gradient, relative to that gradient's largest entry."""
    return max(float(np.abs(got - want).max() / np.abs(want).max())
               for got, want in zip(model.grad_w + model.grad_b,
                                    reference.grad_w + reference.grad_b))


# ------------------------------------------------------------------------------ timing

@contextmanager
def blas_threads(n):
    """Limit NumPy's BLAS to n threads when threadpoolctl is installed; yields a
    description of the BLAS threads actually used."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        env = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                "OMP_NUM_THREADS") if k in os.environ]
        yield ("library default, not pinned (" + (", ".join(env) if env else
               f"usually one per core: {os.cpu_count()}") + "); pip install threadpoolctl "
               "to make --threads apply to BLAS")
        return
    with threadpool_limits(limits=n, user_api="blas"):
        libs = [f"{i['internal_api']} {i.get('version') or ''}".strip() + f": {i['num_threads']}"
                for i in threadpool_info() if i["user_api"] == "blas"]
        yield ", ".join(libs) or "no BLAS library found by threadpoolctl"


def time_steps(step, repeat, warmup=2):
    """Median seconds of a step and median seconds in its activation calls (or None)."""
    for _ in range(warmup):
        step()
    total, in_act = [], []
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            a = step()
            total.append(time.perf_counter() - t0)
            in_act.append(a)
    finally:
        gc.enable()
    return statistics.median(total), (None if in_act[0] is None else statistics.median(in_act))


def run_one(text, dtype, threads, blas, args):
    """Check and time the three steps of one (activation, dtype, thread count)."""
    label, name, params = parse_activation(text)
    data = init_data(args.widths, args.batch, dtype)
    numpy_act = numpy_activation(name, params)
    if numpy_act is None:
        print(f"  {label}: no NumPy peer (exact gelu needs SciPy), skipped")
        return None
    models = {"numpy": NumpyMLP(data, numpy_act),
              "fastact": NumpyMLP(data, fastact_activation(name, params))}
    torch_act = torch_activation(name, params) if torch is not None and args.torch else None
    if torch_act is not None:
        models["torch"] = TorchMLP(data, torch_act)
    for model in models.values():
        model.step()
    diffs = {c: gradient_difference(m, models["numpy"]) for c, m in models.items()
             if c != "numpy"}
    # fastact must give the NumPy step's gradients; torch sums in another order (its
    # own BLAS), so it gets more slack: its check is that the reference does the same work
    limits = {"fastact": TOLERANCE[dtype], "torch": 10 * TOLERANCE[dtype]}
    for c, d in diffs.items():
        if d > limits[c]:
            sys.exit(f"{label} {dtype}: the {c} step's gradients differ from the NumPy "
                     f"step's by {d:.2g} (relative), more than {limits[c]:g}: not timed")
    row = dict(activation=label, dtype=dtype, threads=threads, blas_threads=blas,
               grad_difference=diffs)
    for competitor, model in models.items():  # one at a time: no interleaved runtimes
        step_s, act_s = time_steps(model.step, args.repeat)
        row[competitor] = dict(step_ms=step_s * 1e3,
                               activation_ms=None if act_s is None else act_s * 1e3)
    row["step_speedup"] = row["numpy"]["step_ms"] / row["fastact"]["step_ms"]
    row["activation_speedup"] = row["numpy"]["activation_ms"] / row["fastact"]["activation_ms"]
    return row


TABLE_HEAD = (f"{'dtype':8s} {'thr':>3s}  {'activation':11s}| {'numpy ms':>9s} {'act':>5s} "
              f"| {'fastact ms':>10s} {'act':>5s} | {'speedup':>7s} {'act x':>6s} "
              f"| {'torch ms':>8s}")


def table_row(r):
    n, f = r["numpy"], r["fastact"]
    torch_ms = f"{r['torch']['step_ms']:8.2f}" if "torch" in r else f"{'-':>8s}"
    return (f"{r['dtype']:8s} {r['threads']:3d}  {r['activation']:11s}| "
            f"{n['step_ms']:9.2f} {n['activation_ms'] / n['step_ms']:5.0%} | "
            f"{f['step_ms']:10.2f} {f['activation_ms'] / f['step_ms']:5.0%} | "
            f"{r['step_speedup']:6.2f}x {r['activation_speedup']:5.1f}x | {torch_ms}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    csv = lambda s: [v for v in s.split(",") if v]  # noqa: E731
    ap.add_argument("--threads", type=lambda s: [int(v) for v in csv(s)], default=[1, 2],
                    help="fastact, BLAS and torch threads (default 1,2)")
    ap.add_argument("--dtypes", type=csv, default=["float32", "float64"])
    ap.add_argument("--acts", type=csv, default=list(DEFAULT_ACTS),
                    help="catalog names, or gelu_tanh (default %(default)s)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--widths", type=lambda s: [int(v) for v in csv(s)],
                    default=[1024, 1024, 1024, 10],
                    help="input, hidden..., output widths (default 1024,1024,1024,10)")
    ap.add_argument("--repeat", type=int, default=20, help="timed steps per figure")
    ap.add_argument("--no-torch", dest="torch", action="store_false")
    ap.add_argument("--short-spin", action="store_true",
                    help="short spin-waits for OpenMP and OpenBLAS threads (see above)")
    ap.add_argument("--quick", action="store_true",
                    help="a tiny network (batch 32, widths 64,64,64,10), float32, "
                         "1 thread, 3 steps: checks that everything runs")
    ap.add_argument("--json", help="write the machine description and every figure")
    args = ap.parse_args(argv)
    if args.quick:
        args.batch, args.widths, args.repeat = 32, [64, 64, 64, 10], 3
        args.dtypes, args.threads = ["float32"], [1]
    if fastact is None:
        sys.exit("bench/mlp.py times fastact: build it first (see bench/README.md)")
    if len(args.widths) < 3:
        ap.error("--widths needs at least an input, a hidden and an output width")
    for text in args.acts:
        try:
            parse_activation(text)
        except ValueError as exc:
            ap.error(str(exc))

    info = machine_info()
    print_machine(info, sys.stdout)
    print(f"\nMLP training step (forward + backward, mean softmax cross-entropy): batch "
          f"{args.batch}, widths {'-'.join(map(str, args.widths))}; medians of "
          f"{args.repeat} steps")
    print("spin-waits: " + ", ".join(f"{k}={os.environ.get(k, 'default')}"
                                     for k in (*SPIN_SETTINGS, "OMP_WAIT_POLICY")))
    if args.short_spin and any(os.environ.get(k) is None for k in SPIN_SETTINGS):
        print("  (--short-spin works when mlp.py is run as a script: set them yourself)")
    rows, blas = [], {}
    for threads in args.threads:
        fastact.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        with blas_threads(threads) as blas[threads]:
            print(f"\n{threads} thread(s): fastact {fastact.get_num_threads()}, "
                  f"BLAS {blas[threads]}"
                  + (f", torch {torch.get_num_threads()}" if torch is not None else ""))
            print(TABLE_HEAD + "\n" + "-" * len(TABLE_HEAD))
            for dtype in args.dtypes:
                for text in args.acts:
                    row = run_one(text, dtype, threads, blas[threads], args)
                    if row is not None:
                        rows.append(row)
                        print(table_row(row), flush=True)  # a full run takes minutes
    print("\nms: median time of one step; act: the share of it spent in activation calls; "
          "speedup: numpy step / fastact step; act x: numpy activation time / fastact's; "
          "torch: autograd step, for reference")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": info, "config": vars(args), "blas_threads": blas, "results": rows},
            indent=1))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
