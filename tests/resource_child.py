"""The child side of tests/test_resources.py: each mode runs in a fresh interpreter,
checks what it can itself (values: an AssertionError exits non-zero) and prints one
``RESULT {json}`` line per finished step with the figures the parent asserts on.

    python tests/resource_child.py huge [--backward]
    python tests/resource_child.py scratch
    python tests/resource_child.py leaks PART PARTS CALLS TRACED_CALLS
    python tests/resource_child.py sweep CALLS
    python tests/resource_child.py interrupt N
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fastact  # noqa: E402
from reference import DEFAULT_CASES  # noqa: E402

MiB = 1 << 20
N_HUGE = (1 << 31) + 7       # past the int32 range: 64-bit indices or wrong values
PERIOD_X, PERIOD_G = 1009, 7  # primes: misaligned with every chunk/thread boundary
CHUNK = PERIOD_X * PERIOD_G * 2048  # ~14.5e6 elements, a multiple of both periods


STARTED_AT = time.monotonic()


def report(step, **figures):
    elapsed = round(time.monotonic() - STARTED_AT, 2)
    print("RESULT " + json.dumps({"step": step, **figures, "elapsed": elapsed}), flush=True)


def status_kib(field):
    """VmRSS / VmHWM of this process, in KiB, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak():
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


# ----------------------------------------------------------------------------- huge
def x_pattern(i):
    """x[i]: exact float32 values in [-7.875, 7.875], period 1009."""
    return ((np.asarray(i) % PERIOD_X - 504) / 64).astype(np.float32)


def g_pattern(i):
    return (1 + (np.asarray(i) % PERIOD_G) / 8).astype(np.float32)


def fill(a, pattern):
    """a[i] = pattern(i), one chunk at a time (no array-sized temporary)."""
    block = pattern(np.arange(CHUNK))
    for start in range(0, a.size, CHUNK):
        part = a[start:start + CHUNK]
        part[...] = block[:part.size]


def check_indices(n):
    """Where values are checked: both ends, both sides of 2^31 - 1 / 2^31, and a
    seeded sample of the whole array."""
    edges = [np.arange(4096), np.arange((1 << 31) - 4096, min(n, (1 << 31) + 4096)),
             np.arange(n - 4096, n)]
    sample = np.random.default_rng(5).integers(0, n, 10_000)
    return np.unique(np.concatenate(edges + [sample]))


def assert_close(got, want, idx, what, rtol):
    bad = np.flatnonzero(~np.isclose(got, want, rtol=rtol, atol=0))
    assert bad.size == 0, (f"{what}: {bad.size}/{idx.size} checked values wrong, first at "
                           f"index {idx[bad[0]]}: {got[bad[0]]!r}, want {want[bad[0]]!r}")


def run_step(step, array_bytes, call, cap=None):
    """Run ``call`` with a fresh peak-RSS counter; report the peak over the RSS before.
    ``cap``: bytes of address space the call may add (RLIMIT_AS, restored after)."""
    gc.collect()
    reset_peak()
    before = status_kib("VmRSS")
    limits = resource.getrlimit(resource.RLIMIT_AS)
    if cap is not None:
        resource.setrlimit(resource.RLIMIT_AS, (status_kib("VmSize") * 1024 + cap, limits[1]))
    t = time.perf_counter()
    try:
        call()
    finally:
        seconds = time.perf_counter() - t
        resource.setrlimit(resource.RLIMIT_AS, limits)
    report(step, seconds=round(seconds, 2), array_bytes=array_bytes,
           rss_before=before * 1024, peak=status_kib("VmHWM") * 1024)


def huge(backward):
    n = N_HUGE
    idx = check_indices(n)
    gc.collect()
    base = status_kib("VmRSS") * 1024
    x = np.empty(n, np.float32)
    t = time.perf_counter()
    fill(x, x_pattern)
    report("fill", seconds=round(time.perf_counter() - t, 2), array_bytes=x.nbytes,
           rss_before=base, peak=status_kib("VmHWM") * 1024)

    xs = x[idx]
    run_step("relu_", x.nbytes, lambda: fastact.relu_(x))
    assert_close(x[idx], np.maximum(xs, 0), idx, "relu_", rtol=0)

    xs = x[idx]
    run_step("sigmoid_", x.nbytes, lambda: fastact.sigmoid_(x))
    want = (1 / (1 + np.exp(-xs.astype(np.float64)))).astype(np.float32)
    assert_close(x[idx], want, idx, "sigmoid_", rtol=4e-7)
    assert np.array_equal(x[idx], fastact.sigmoid(xs)), "sigmoid_: not the bits of a small call"

    # softmax along the last axis of a (2, 2^30 + 3) view of the same memory
    m = (n - 1) // 2
    rows = x[:2 * m].reshape(2, m)
    values = x[:PERIOD_X].astype(np.float64)  # x[i] depends on i % 1009 only
    residues = np.arange(PERIOD_X)
    norm = []
    for r in range(2):  # count each residue in row r: the row's sum in closed form
        counts = m // PERIOD_X + ((residues - r * m) % PERIOD_X < m % PERIOD_X)
        norm.append(float((counts * np.exp(values - values.max())).sum()))
    # capped (address space + 1 GiB), a safety net: a float32 row once malloced a double
    # scratch of its length, 16 GiB here; test_softmax_scratch_is_bounded guards the bound
    run_step("softmax_", x.nbytes, lambda: fastact.softmax_(rows, axis=-1), cap=1 << 30)
    ok = idx < 2 * m
    ri = idx[ok]
    want = np.exp(values[ri % PERIOD_X] - values.max()) / np.take(norm, ri // m)
    assert_close(x[ri], want.astype(np.float32), ri, "softmax_ (2, 2^30 + 3)", rtol=1e-5)
    assert x[-1] == np.float32(values[(n - 1) % PERIOD_X]), "softmax_ wrote past its view"

    if backward:  # a second 2^31 + 7 array: grad, overwritten with grad * y (1 - y)
        g = np.empty(n, np.float32)
        t = time.perf_counter()
        fill(g, g_pattern)
        report("fill grad", seconds=round(time.perf_counter() - t, 2))
        ys = x[idx].astype(np.float64)
        run_step("sigmoid_backward_", x.nbytes, lambda: fastact.sigmoid_backward_(g, y=x))
        want = (g_pattern(idx) * ys * (1 - ys)).astype(np.float32)
        assert_close(g[idx], want, idx, "sigmoid_backward_(g, y=x)", rtol=4e-7)


def scratch():
    """The extra memory of an in-place float32 softmax over two long rows."""
    x = np.full((2, 1 << 24), 0.5, np.float32)  # 128 MiB, resident before the call
    run_step("softmax_", x.nbytes, lambda: fastact.softmax_(x, axis=-1))
    assert np.allclose(x, 2.0 ** -24, rtol=1e-6, atol=0)


# ---------------------------------------------------------------------------- leaks
def expect_error(fn, *args, **kw):
    def call():
        try:
            fn(*args, **kw)
        except (TypeError, ValueError):
            return
        raise AssertionError(f"{fn.__name__}{args!r} {kw!r} did not raise")
    return call


def representative_calls():
    """One activation per kind, every API form, and calls that raise."""
    f32 = np.float32
    x = np.linspace(-4, 4, 64, dtype=f32)
    g, o, ro = np.ones_like(x), np.empty_like(x), np.zeros_like(x)
    ro.flags.writeable = False
    ints, short = np.arange(64), np.empty(63, f32)
    x2, g2 = x.reshape(4, 16), g.reshape(4, 16)
    half, o2 = np.ones((4, 8), f32), np.empty((4, 16), f32)
    xc, gc_ = x.reshape(2, 4, 8), g.reshape(2, 4, 8)      # (N, C, L): 4 channels
    w = np.full(4, 0.25, f32)
    t_l, a_l, t_r, a_r = np.full(4, -1, f32), w, np.full(4, 1, f32), w
    apl_a, apl_b = np.full((2, 4), 0.5, f32), np.full((2, 4), -1, f32)
    F = fastact
    kept = []
    return {
        "control: keeps a 16-byte object per call": lambda: kept.append(object()),
        "forward": lambda: F.sigmoid(x),
        "forward out=": lambda: F.sigmoid(x, out=o),
        "in place": lambda: F.sigmoid_(o),
        "backward from x": lambda: F.sigmoid_backward(g, x),
        "backward from y": lambda: F.sigmoid_backward(g, y=x),
        "in-place backward": lambda: F.relu_backward_(o, x),
        "forward, hyper-parameter": lambda: F.celu(x, alpha=2.0),
        "softmax axis=0 + backward": lambda: F.softmax_backward(g2, y=F.softmax(x2, axis=0),
                                                                axis=0),
        "softmax_ + backward_": lambda: (F.softmax_backward_(o2, x2), F.softmax_(o2)),
        "maxout + backward": lambda: (F.maxout_backward(half, x2, 2, axis=-1, out=o2),
                                      F.maxout(x2, 2, axis=-1)),
        "glu + backward": lambda: (F.glu_backward(half, x2), F.glu(x2, out=half)),
        "prelu + backward": lambda: (F.prelu_backward(gc_, xc, w), F.prelu(xc, w)),
        "srelu + backward": lambda: (F.srelu_backward(gc_, xc, t_l, a_l, t_r, a_r),
                                     F.srelu(xc, t_l, a_l, t_r, a_r)),
        "apl + backward": lambda: (F.apl_backward(gc_, xc, apl_a, apl_b),
                                   F.apl(xc, apl_a, apl_b)),
        "prelu_ + backward_": lambda: (F.prelu_backward_(o.reshape(2, 4, 8), xc, w),
                                       F.prelu_(o.reshape(2, 4, 8), w)),
        "rrelu training + backward": lambda: F.rrelu_backward(g, slopes=F.rrelu(
            x, training=True, seed=7)[1]),
        "rrelu_ training + backward_": lambda: F.rrelu_backward_(o, slopes=F.rrelu_(
            o, training=True, seed=7)[1]),
        "raises: bad dtype": expect_error(F.sigmoid_, ints),
        "raises: bad shape": expect_error(F.sigmoid, x, out=short),
        "raises: bad hyper-parameter": expect_error(F.celu, x, alpha=0.0),
        "raises: non-numeric parameter": expect_error(F.elu, x, alpha="1"),
        "raises: read-only out": expect_error(F.sigmoid, x, out=ro),
        "raises: y where there is none": expect_error(F.silu_backward, g, y=x),
        "raises: softmax bad axis": expect_error(F.softmax, x2, axis=2),
        "raises: maxout bad pieces": expect_error(F.maxout, x2, 3, axis=-1),
        "raises: prelu bad weight": expect_error(F.prelu, xc, np.ones(3, f32)),
        "raises: rrelu lower > upper": expect_error(F.rrelu, x, lower=0.5, upper=0.1),
    }


def sweep_calls():
    """Every catalog activation (each gelu variant), its four forms (both backwards)."""
    x = np.linspace(-4, 4, 64, dtype=np.float32)
    g, o = np.ones_like(x), np.empty_like(x)
    out = {}
    for case in DEFAULT_CASES:
        name, kw = case.act.name, case.kwargs
        f, f_, b, b_ = (getattr(fastact, name + s) for s in ("", "_", "_backward", "_backward_"))

        def forms(f=f, f_=f_, b=b, b_=b_, kw=kw, has_y=case.act.backward_from_y):
            f(x, **kw)
            f(x, out=o, **kw)
            f_(o, **kw)
            b(g, x, **kw)
            b_(o, x, **kw)
            if has_y:
                b(g, y=x, **kw)
        out[case.id] = forms
    return out


def measure(calls, n, traced_n):
    """For each entry, after a warm-up (caches, free lists, first error messages): the
    RSS growth over ``n`` calls with tracemalloc off, then the growth of traced Python
    memory over ``traced_n`` calls (tracemalloc is byte-exact but slows calls 3x)."""
    for label, call in calls.items():
        for _ in range(1000):
            call()
        gc.collect()
        rss0, t = status_kib("VmRSS"), time.perf_counter()
        for _ in range(n):
            call()
        seconds = time.perf_counter() - t
        gc.collect()
        rss_growth = (status_kib("VmRSS") - rss0) * 1024
        tracemalloc.start()
        for _ in range(100):
            call()
        gc.collect()
        traced0 = tracemalloc.get_traced_memory()[0]
        for _ in range(traced_n):
            call()
        gc.collect()
        traced_growth = tracemalloc.get_traced_memory()[0] - traced0
        tracemalloc.stop()
        report(label, calls=n, traced_calls=traced_n, seconds=round(seconds, 3),
               rss_growth=rss_growth, traced_growth=traced_growth)


# ------------------------------------------------------------------------ interrupt
def interrupt(n):
    probe = np.linspace(-5, 5, 1001, dtype=np.float32)
    before = fastact.gelu(probe)
    x = np.full(n, 0.5, np.float32)
    outcome = "completed"
    try:
        print("STARTED", flush=True)
        fastact.gelu_(x)
        time.sleep(1)  # a SIGINT sent as the call returned is delivered here
    except KeyboardInterrupt:
        outcome = "interrupted"
    print(outcome.upper(), flush=True)
    after = fastact.gelu(probe)
    assert np.array_equal(before, after), "gelu after the interrupt: different bits"
    fastact.gelu_(x[:1 << 20])  # a threaded in-place call still works
    report("interrupt", outcome=outcome, last=float(x[-1]))
    print("CLEAN EXIT", flush=True)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "huge":
        huge(backward="--backward" in rest)
    elif mode == "scratch":
        scratch()
    elif mode == "leaks":  # leaks PART PARTS CALLS TRACED_CALLS: every PARTS-th entry
        part, parts, n, traced_n = map(int, rest)
        calls = list(representative_calls().items())[part::parts]
        measure(dict(calls), n, traced_n)
    elif mode == "sweep":
        measure(sweep_calls(), int(rest[0]), int(rest[0]))
    elif mode == "interrupt":
        interrupt(int(rest[0]))
    else:
        sys.exit(f"unknown mode {mode!r}")
