"""The timing core shared by ``fastact bench`` and the scripts of bench/ (bench.py,
layers.py, and through them plot.py and mlp.py).

* ``measure(fn, restore, policy)``: the median of calls timed one by one, each after an
  untimed ``restore()`` of the buffer the call overwrites, so that every call sees the
  same input and no allocation is timed.
* ``make_buffers`` / ``restorers`` / ``fill_y``: the buffers of the elementwise
  measurements (x, the pristine gradient g0, the work buffer w, y = f(x)).
* ``torch_table(torch)``: the PyTorch peer of every built-in elementwise kernel and
  direction, in place or writing into a preallocated buffer (``out=``/``grad_input=``).
* ``Op`` and its builders: the learnable, random and axis-wise activations (softmax,
  prelu, glu, ...) with their NumPy and PyTorch peers, for any input shape.
* ``machine_info`` / ``print_machine``, ``Progress`` (a progress bar on a terminal).

This module is importable without a built fastact and never imports torch: the
callers pass the ``torch`` module (or None) in.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import platform
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from fastact._peers import SELU_ALPHA, SELU_SCALE

DIRECTIONS = ("fwd", "bwd_x", "bwd_y")
DIR_LABEL = {"fwd": "fwd", "bwd_x": "bwd x", "bwd_y": "bwd y"}


# ----------------------------------------------------------------------------- timing

def measure(fn, restore, policy, repeat=None):
    """(median, min) seconds of one call of fn, each timed alone after restore(); runs.

    policy is (seconds of timed calls to aim for, minimum runs, maximum runs); repeat,
    if given, is the number of timed runs instead."""
    target, min_runs, max_runs = policy
    perf = time.perf_counter
    restore()
    t0 = perf()
    fn()                                    # warm-up, also the estimate
    est = perf() - t0
    if est < 0.01:
        restore()
        t0 = perf()
        fn()
        est = min(est, perf() - t0)
    runs = repeat or max(min_runs, min(max_runs, math.ceil(target / max(est, 1e-9))))
    times = []
    for _ in range(runs):
        restore()
        t0 = perf()
        fn()
        times.append(perf() - t0)
    return statistics.median(times), min(times), runs


def set_threads(n, fastact=None, torch=None):
    """n threads for fastact and torch (either may be None: not used)."""
    if fastact is not None:
        fastact.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


# ------------------------------------------------------------- elementwise buffers

def make_buffers(size, dtype, torch=None, seed=12345):
    """x (standard normal x 3), g0 (the pristine gradient), w (the buffer a call
    overwrites) and their torch views t_x, t_w (None without torch)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(size) * 3).astype(dtype)
    g = rng.standard_normal(size).astype(dtype)
    b = {"x": x, "g0": g, "w": np.empty_like(x), "y": np.empty_like(x)}
    for k in ("x", "w", "y"):
        b["t_" + k] = torch.from_numpy(b[k]) if torch is not None else None
    return b


def restorers(b):
    """{"fwd": copy x into w, "bwd": copy g0 into w}: the untimed restore of each kind."""
    return {"fwd": partial(np.copyto, b["w"], b["x"]),
            "bwd": partial(np.copyto, b["w"], b["g0"])}


def fill_y(b, forward):
    """y = f(x) in b["y"] (in place: b["t_y"] stays its torch view), forward(x, out)."""
    forward(b["x"], b["y"])
    return b["y"]


# -------------------------------------------------------------------- torch peers
# torch_table(torch): kernel -> direction -> f(w, src, p) giving a callable.

SRC = object()  # placeholder for the source tensor (x or y) in torch_table
TORCH_ALLOCATES = {("mish", "bwd_x")}


def torch_table(torch):
    """kernel -> direction -> f(w, src, p) giving a callable, for the torch peer.

    Forwards use torch's in-place / out= Python bindings; backwards the aten backward
    ops with their grad_input / out overloads, writing into grad. TORCH_ALLOCATES
    lists the ones that only exist in an allocating form.
    """
    if torch is None:
        return {}
    nn, A = torch._C._nn, torch.ops.aten

    def grad_input(op, *args, **kw):
        return lambda g, s, p: partial(op.grad_input, g, *[s if a is SRC else a(p) if
                                                         callable(a) else a for a in args],
                                       **kw, grad_input=g)

    def elu_like(alpha, scale, input_scale):
        return {d: (lambda g, s, p, is_y=(d == "bwd_y"): partial(
                    A.elu_backward.grad_input, g, alpha(p), scale, input_scale(p), is_y, s,
                    grad_input=g)) for d in ("bwd_x", "bwd_y")}

    def threshold_like(thr):
        f = grad_input(A.threshold_backward, SRC, thr)
        return {"bwd_x": f, "bwd_y": f}

    def hardtanh_like(lo, hi):
        f = grad_input(A.hardtanh_backward, SRC, lo, hi)
        return {"bwd_x": f, "bwd_y": f}

    silu = {"fwd": lambda w, s, p: partial(nn.silu_, w),
            "bwd_x": grad_input(A.silu_backward, SRC)}
    one = lambda p: 1.0  # noqa: E731
    table = {
        "binary_step": {"fwd": lambda w, s, p: partial(
            torch.heaviside, w, torch.zeros((), dtype=w.dtype), out=w)},
        "sigmoid": {"fwd": lambda w, s, p: partial(torch.sigmoid_, w),
                    "bwd_y": grad_input(A.sigmoid_backward, SRC)},
        "tanh": {"fwd": lambda w, s, p: partial(torch.tanh_, w),
                 "bwd_y": grad_input(A.tanh_backward, SRC)},
        "relu": {"fwd": lambda w, s, p: partial(torch.relu_, w), **threshold_like(0.0)},
        "leaky_relu": {
            "fwd": lambda w, s, p: partial(nn.leaky_relu_, w, p["negative_slope"]),
            "bwd_x": lambda g, s, p: partial(A.leaky_relu_backward.grad_input, g, s,
                                             p["negative_slope"], False, grad_input=g),
            "bwd_y": lambda g, s, p: partial(A.leaky_relu_backward.grad_input, g, s,
                                             p["negative_slope"], True, grad_input=g)},
        "elu": {"fwd": lambda w, s, p: partial(nn.elu_, w, p["alpha"]),
                **elu_like(lambda p: p["alpha"], 1.0, one)},
        "selu": {"fwd": lambda w, s, p: partial(torch.selu_, w),
                 **elu_like(lambda p: SELU_ALPHA, SELU_SCALE, one)},
        "celu": {"fwd": lambda w, s, p: partial(torch.celu_, w, p["alpha"]),
                 **elu_like(lambda p: p["alpha"], 1.0, lambda p: 1.0 / p["alpha"])},
        "softplus": {"fwd": lambda w, s, p: partial(nn.softplus, w, p["beta"],
                                                    p["threshold"], out=w),
                     "bwd_x": grad_input(A.softplus_backward, SRC, lambda p: p["beta"],
                                         lambda p: p["threshold"])},
        "silu": silu,
        # torch has no swish(beta): with beta == 1 it is silu, otherwise no peer
        "swish": {d: (lambda w, s, p, f=f: f(w, s, p) if p["beta"] == 1.0 else None)
                  for d, f in silu.items()},
        "gelu": {"fwd": lambda w, s, p: partial(nn.gelu_, w, approximate="none"),
                 "bwd_x": grad_input(A.gelu_backward, SRC, approximate="none")},
        "gelu_tanh": {"fwd": lambda w, s, p: partial(nn.gelu_, w, approximate="tanh"),
                      "bwd_x": grad_input(A.gelu_backward, SRC, approximate="tanh")},
        "mish": {"fwd": lambda w, s, p: partial(nn.mish_, w),
                 "bwd_x": lambda g, s, p: partial(A.mish_backward.default, g, s)},
        "relu6": {"fwd": lambda w, s, p: partial(nn.hardtanh_, w, 0.0, 6.0),
                  **hardtanh_like(0.0, 6.0)},
        "hardtanh": {"fwd": lambda w, s, p: partial(nn.hardtanh_, w, p["min_val"],
                                                    p["max_val"]),
                     **hardtanh_like(lambda p: p["min_val"], lambda p: p["max_val"])},
        "hardsigmoid": {"fwd": lambda w, s, p: partial(nn.hardsigmoid_, w),
                        "bwd_x": grad_input(A.hardsigmoid_backward, SRC)},
        "hardswish": {"fwd": lambda w, s, p: partial(nn.hardswish_, w),
                      "bwd_x": lambda g, s, p: partial(A.hardswish_backward.out, g, s,
                                                       out=g)},
        # log_sigmoid_backward takes the forward's buffer, as autograd saves it
        "logsigmoid": {"fwd": lambda w, s, p: partial(nn.log_sigmoid, w, out=w),
                       "bwd_x": lambda g, s, p: partial(
                           A.log_sigmoid_backward.grad_input, g, s,
                           A.log_sigmoid_forward.default(s)[1], grad_input=g)},
        "softshrink": {"fwd": lambda w, s, p: partial(nn.softshrink, w, p["lambd"], out=w),
                       "bwd_x": grad_input(A.softshrink_backward, SRC, lambda p: p["lambd"])},
        "hardshrink": {"fwd": lambda w, s, p: partial(torch.hardshrink, w, p["lambd"], out=w),
                       "bwd_x": grad_input(A.hardshrink_backward, SRC, lambda p: p["lambd"])},
        "threshold": {"fwd": lambda w, s, p: partial(torch.threshold_, w, p["threshold"],
                                                     p["value"]),
                      "bwd_x": grad_input(A.threshold_backward, SRC,
                                          lambda p: p["threshold"])},
    }
    return table


def torch_peer(table, kernel, direction, b, numeric):
    """(callable, note) of the torch peer of `kernel` in `direction` on the buffers b
    (note "*": it allocates its result), or None. numeric: the hyper-parameters
    without gelu's `approximate` (the kernel name says it)."""
    make = table.get(kernel, {}).get(direction)
    if make is None:
        return None
    src = None if direction == "fwd" else b["t_x" if direction == "bwd_x" else "t_y"]
    fn = make(b["t_w"], src, numeric)
    if fn is None:
        return None
    return fn, "*" if (kernel, direction) in TORCH_ALLOCATES else ""


def numpy_call(peer, direction, b):
    """(callable, note) of a fastact._peers Peer in `direction` on the buffers b, in
    place into w; None if the peer has no such form."""
    fn = peer and getattr(peer, {"fwd": "forward", "bwd_x": "backward",
                                 "bwd_y": "backward_from_y"}[direction])
    if fn is None:
        return None
    if direction == "fwd":
        return partial(fn, b["w"], b["w"]), ""
    return partial(fn, b["w"], b["x" if direction == "bwd_x" else "y"], b["w"]), ""


# ------------------------------------------------- learnable, random, axis-wise ops

@dataclass
class Op:
    """One timed operation: its label, input shape and the calls of each competitor,
    made by `make(dtype)` -> {competitor: (callable, note)}. `peers` are the
    competitors make() can return (torch only when torch is given)."""
    name: str
    label: str
    shape: tuple
    make: object
    direction: str = "fwd"           # fwd, bwd_x or bwd_y
    peers: tuple = ("fastact",)
    detail: str = ""                 # the layout, for a table's notes column
    elements: int = field(init=False)

    def __post_init__(self):
        self.elements = int(np.prod(self.shape))


def _rng_arrays(shape, dtype, *, scale=3.0, count=2, seed=12345):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * scale).astype(dtype) for _ in range(count)]


def _numpy_softmax(x, out, log=False):
    m = x.max(-1, keepdims=True)
    np.subtract(x, m, out=out)
    if log:
        out -= np.log(np.exp(out).sum(-1, keepdims=True))
    else:
        np.exp(out, out=out)
        out /= out.sum(-1, keepdims=True)


def _peers(torch, *names):
    return ("fastact",) + tuple(n for n in names if n != "torch" or torch is not None)


_CANONICAL = {"fwd": "fwd", "bwd": "bwd_x", "bwd x": "bwd_x", "bwd y": "bwd_y"}


def softmax_family(name, direction, shape, torch=None):
    """softmax or log_softmax over the last axis; direction "fwd", "bwd y" or "bwd x"
    (from x: fastact alone, the peers' backward takes y)."""
    log = name == "log_softmax"
    t = torch.from_numpy if torch is not None else None

    def make(dtype):
        import fastact
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
                calls["torch"] = (partial(op.out, t(x), -1, False, out=t(out)), "")
        elif direction == "bwd x":
            calls["fastact"] = (partial(fa_backward, g, x, out=out), "")
        else:
            calls["fastact"] = (partial(fa_backward, g, y=y, out=out), "")
            if torch is not None:
                tdt = torch.float32 if dtype == np.float32 else torch.float64
                if log:
                    op = partial(torch.ops.aten._log_softmax_backward_data.out, out=t(out))
                else:
                    op = partial(torch.ops.aten._softmax_backward_data.out, grad_input=t(out))
                calls["torch"] = (partial(op, t(g), t(y), -1, tdt), "")
        return calls
    rows = shape[-1]
    peers = {"fwd": ("numpy", "torch"), "bwd y": ("torch",)}.get(direction, ())
    return Op(name, f"{name} {direction} (rows of {rows})", shape, make,
              _CANONICAL[direction], _peers(torch, *peers), f"rows of {rows}")


def prelu_op(direction, shape=(64, 64, 32, 32), torch=None):
    t = torch.from_numpy if torch is not None else None

    def make(dtype):
        import fastact
        x, g = _rng_arrays(shape, dtype)
        w = np.linspace(0.05, 0.3, shape[1]).astype(dtype)
        out = np.empty_like(x)
        calls = {}
        tw = t(w).view(1, -1, *([1] * (len(shape) - 2))) if torch is not None else None
        if direction == "fwd":
            calls["fastact"] = (partial(fastact.prelu, x, w, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten._prelu_kernel, t(x), tw), "*")
        else:
            calls["fastact"] = (partial(fastact.prelu_backward, g, x, w, out=out), "")
            if torch is not None:
                reduce_axes = (0, *range(2, len(shape)))

                def torch_backward(tg=t(g), tx=t(x)):
                    gx, gw = torch.ops.aten._prelu_kernel_backward(tg, tx, tw)
                    return gx, gw.sum(reduce_axes)
                calls["torch"] = (torch_backward, "*")
        return calls
    return Op("prelu", f"prelu {direction} (per channel, axis 1)", shape, make,
              _CANONICAL[direction], _peers(torch, "torch"), "per channel, axis 1")


def channel_op(name, direction, shape):
    """srelu or apl (fastact alone: neither NumPy nor torch has them), with the
    example parameters of fastact.cli.common.layer_arguments for shape[1] channels."""
    from fastact.cli.common import layer_arguments

    def make(dtype):
        import fastact
        x, g = _rng_arrays(shape, dtype)
        args, kwargs = layer_arguments(name, shape[1], np.dtype(dtype))
        out = np.empty_like(x)
        if direction == "fwd":
            return {"fastact": (partial(getattr(fastact, name), x, *args, out=out, **kwargs), "")}
        return {"fastact": (partial(getattr(fastact, name + "_backward"), g, x, *args,
                                    out=out, **kwargs), "")}
    return Op(name, f"{name} {direction} (per channel, axis 1)", shape, make,
              _CANONICAL[direction], ("fastact",), "per channel, axis 1")


def glu_op(direction, shape=(1024, 2048), torch=None):
    t = torch.from_numpy if torch is not None else None

    def make(dtype):
        import fastact
        x, g = _rng_arrays(shape, dtype)
        half = (*shape[:-1], shape[-1] // 2)
        calls = {}
        if direction == "fwd":
            out = np.empty(half, dtype)
            calls["fastact"] = (partial(fastact.glu, x, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten.glu.out, t(x), -1, out=t(out)), "")
        else:
            g = g[..., : shape[-1] // 2].copy()
            out = np.empty_like(x)
            calls["fastact"] = (partial(fastact.glu_backward, g, x, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten.glu_backward.grad_input, t(g), t(x),
                                          -1, grad_input=t(out)), "")
        return calls
    return Op("glu", f"glu {direction} (halves of {shape[-1] // 2})", shape, make,
              _CANONICAL[direction], _peers(torch, "torch"), f"halves of {shape[-1] // 2}")


def maxout_op(direction, shape=(1024, 1024), pieces=4, torch=None):
    t = torch.from_numpy if torch is not None else None

    def make(dtype):
        import fastact
        (x,) = _rng_arrays(shape, dtype, count=1)
        reduced = (shape[0], shape[1] // pieces)
        calls = {}
        if direction == "fwd":
            out = np.empty(reduced, dtype)
            calls["fastact"] = (partial(fastact.maxout, x, pieces, out=out), "")
            calls["numpy"] = (partial(np.max, x.reshape(shape[0], -1, pieces), axis=-1, out=out), "")
            if torch is not None:
                calls["torch"] = (partial(torch.amax, t(x).view(shape[0], -1, pieces), -1,
                                          out=t(out)), "")
        else:
            (g,) = _rng_arrays(reduced, dtype, count=1, seed=7)
            out = np.empty_like(x)
            calls["fastact"] = (partial(fastact.maxout_backward, g, x, pieces, out=out), "")
        return calls
    peers = _peers(torch, "numpy", "torch") if direction == "fwd" else ("fastact",)
    return Op("maxout", f"maxout {direction} (groups of {pieces})", shape, make,
              _CANONICAL[direction], peers, f"groups of {pieces}")


def rrelu_op(shape=(1 << 20,), torch=None, direction="fwd"):
    """rrelu in training mode: the forward draws the slopes; the backward multiplies
    by them."""
    t = torch.from_numpy if torch is not None else None

    def make(dtype):
        import fastact
        (x,) = _rng_arrays(shape, dtype, count=1)
        out, slopes = np.empty_like(x), np.empty_like(x)
        if direction == "fwd":
            calls = {"fastact": (partial(fastact.rrelu, x, training=True, seed=1, out=out,
                                         slopes=slopes), "")}
            if torch is not None:
                calls["torch"] = (partial(torch.ops.aten.rrelu_with_noise.out, t(x), t(slopes),
                                          1 / 8, 1 / 3, True, out=t(out)), "")
            return calls
        (g,) = _rng_arrays(shape, dtype, count=1, seed=7)
        fastact.rrelu(x, training=True, seed=1, out=out, slopes=slopes)
        calls = {"fastact": (partial(fastact.rrelu_backward, g, slopes=slopes, out=out), "")}
        if torch is not None:
            calls["torch"] = (partial(torch.ops.aten.rrelu_with_noise_backward, t(g), t(x),
                                      t(slopes), 1 / 8, 1 / 3, True, False), "*")
        return calls
    if direction == "fwd":
        return Op("rrelu", "rrelu fwd (training, slopes drawn)", shape, make, "fwd",
                  _peers(torch, "torch"), "training, slopes drawn")
    return Op("rrelu", "rrelu bwd (training, the drawn slopes)", shape, make, "bwd_x",
              _peers(torch, "torch"), "training, the drawn slopes")


def _rows(size, width, multiple=1):
    """(rows, cols): cols = min(width, size) rounded down to a multiple (at least one)."""
    cols = max(multiple, min(width, size) // multiple * multiple)
    return (max(1, size // cols), cols)


def _channels(size, channels=64, spatial=1024):
    """(batch, channels, spatial) of about `size` elements, channels on axis 1."""
    c = max(1, min(channels, size))
    s = max(1, min(spatial, size // c))
    return (max(1, size // (c * s)), c, s)


def layer_ops(size, torch=None):
    """The non-elementwise built-ins at about `size` elements: {name: [Op]} with softmax
    over rows of 1024, the per-channel ones on (batch, 64, 1024), glu over halves of
    1024, maxout over groups of 4 of rows of 1024, rrelu flat."""
    rows = _rows(size, 1024)
    chan = _channels(size)
    return {
        "softmax": [softmax_family("softmax", d, rows, torch) for d in ("fwd", "bwd x", "bwd y")],
        "log_softmax": [softmax_family("log_softmax", d, rows, torch)
                        for d in ("fwd", "bwd x", "bwd y")],
        "prelu": [prelu_op(d, chan, torch) for d in ("fwd", "bwd")],
        "srelu": [channel_op("srelu", d, chan) for d in ("fwd", "bwd")],
        "apl": [channel_op("apl", d, chan) for d in ("fwd", "bwd")],
        "glu": [glu_op(d, _rows(size, 2048, 2), torch) for d in ("fwd", "bwd")],
        "maxout": [maxout_op(d, _rows(size, 1024, 4), 4, torch) for d in ("fwd", "bwd")],
        "rrelu": [rrelu_op((size,), torch, d) for d in ("fwd", "bwd")],
    }


# ---------------------------------------------------------------------------- progress

class Progress:
    """A one-line progress bar on a terminal (stderr by default); silent elsewhere."""

    def __init__(self, total, stream=None, enabled=None):
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = getattr(self.stream, "isatty", lambda: False)()
        self.enabled, self.total, self.done = enabled, total, 0

    def step(self, label):
        """Show that the next item, `label`, is being measured."""
        self.done += 1
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"
        bar_len = max(10, min(30, width // 4))
        filled = bar_len * (self.done - 1) // max(1, self.total)
        text = f"[{'#' * filled}{'.' * (bar_len - filled)}] {count} {label}"
        self.write(text[:width - 1])

    def write(self, text):
        if self.enabled:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()

    def close(self):
        """Clear the line."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def status(msg):
    """One status line on stderr, replacing the previous one (a terminal only)."""
    Progress(0).write(msg)


# ---------------------------------------------------------------------------- machine

def machine_info(fastact=None, torch=None, fastact_error=None):
    """A dict describing the machine and the software (fastact and torch as given)."""
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "numpy": np.__version__, "logical_cpus": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        fields = {}
        for line in cpuinfo.splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        info["cpu"] = fields.get("model name", platform.processor())
        info["physical_cores"] = fields.get("cpu cores")
        flags = set(fields.get("flags", "").split())
        info["simd"] = " ".join(f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f")
                                if f in flags)
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()
        info["memory_gib"] = round(int(mem[1]) / 2**20, 1)
    except OSError:
        info["cpu"] = platform.processor()
    try:
        import scipy
        info["scipy"] = scipy.__version__
    except ImportError:
        info["scipy"] = None
    info["torch"] = torch.__version__ if torch is not None else None
    with contextlib.suppress(OSError):
        info["load_average"] = os.getloadavg()[0]
    if fastact is not None:
        info["fastact"] = getattr(fastact, "__version__", "?")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            ret = fastact.show_config() if hasattr(fastact, "show_config") else None
        info["fastact_config"] = (buf.getvalue() + (ret if isinstance(ret, str) else "")).strip()
    else:
        info["fastact"] = None
        info["fastact_error"] = fastact_error
    return info


def print_machine(info, out):
    print("fastact benchmark", file=out)
    print(f"  cpu      {info.get('cpu')}  ({info.get('logical_cpus')} logical cpus, "
          f"{info.get('physical_cores')} cores/socket, {info.get('simd')}; "
          f"{info.get('memory_gib')} GiB)", file=out)
    print(f"  software python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
          f"torch {info['torch']}, fastact {info['fastact']}", file=out)
    if info.get("load_average", 0) > 0.5:
        print(f"  WARNING  load average {info['load_average']:.1f} before the run: other "
              "processes are using the cores, figures will be noisy", file=out)
    if info.get("fastact_error"):
        print(f"  fastact  NOT AVAILABLE ({info['fastact_error']}): peers only", file=out)
    if info.get("fastact_config"):
        print("  fastact.show_config():", file=out)
        for line in info["fastact_config"].splitlines():
            print("    " + line, file=out)
