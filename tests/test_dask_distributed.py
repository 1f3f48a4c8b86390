"""fastact on a dask.distributed cluster (issue 9; the local schedulers: tests/test_dask.py).

One LocalCluster for the module: 2 worker processes with 1 thread each, on loopback only.
Results computed on it must be the NumPy results bit for bit (parameter gradients: exact
for float32, within 1e-12 relative for float64: per-chunk float64 sums, added once).
Also: the workers run fastact with 1 thread (the nanny's OMP_NUM_THREADS=1: the thread
policy we document), and a computation survives a worker killed in the middle of it.
Every wait has a timeout, so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastact
from conftest import Y_CASES, case_params, same_bits

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
cloudpickle = pytest.importorskip("cloudpickle")

ROOT = Path(fastact.__file__).resolve().parent.parent      # this checkout
TIMEOUT = 120                                               # seconds, for any one wait
FLOATS = [pytest.param(np.dtype(d), id=np.dtype(d).name) for d in (np.float32, np.float64)]


@pytest.fixture(scope="module")
def client():
    # The workers are spawned processes: they must import fastact from this checkout (not
    # another install), and this module's helpers (map_blocks functions, client.run
    # callables) must travel by value, since the workers cannot import a test module.
    path = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "")
                                          .split(os.pathsep) if p])
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       env={"PYTHONPATH": path})
    try:
        with distributed.Client(cluster, timeout=TIMEOUT) as c:
            c.wait_for_workers(2, timeout=TIMEOUT)
            yield c
    finally:
        cluster.close(timeout=TIMEOUT)
        cloudpickle.unregister_pickle_by_value(module)


def computed(client, *lazy):
    """The lazy arrays computed on the cluster (a tuple if more than one)."""
    for a in lazy:
        assert isinstance(a, da.Array), type(a)
    futures = client.compute(list(lazy))
    results = [f.result(timeout=TIMEOUT) for f in futures]
    return results[0] if len(results) == 1 else tuple(results)


def data(shape, dtype, seed):
    """Normal values with NaN, +-inf, +-0 and large values mixed in."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, shape)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, 40.0, -40.0, 1e-30]
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, 4 * len(specials), replace=False)
    flat[idx] = np.resize(specials, idx.size)
    return x.astype(dtype)


def lazy(a, chunks):
    return da.from_array(a, chunks=chunks)


# ------------------------------------------------------------------ the workers
def worker_state():
    import fastact as fa      # the worker's fastact
    return fa.__file__, fa.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def test_workers_use_this_fastact_with_one_thread(client):
    """The thread policy: on a distributed worker fastact runs on 1 thread, because the
    nanny starts worker processes with OMP_NUM_THREADS=1 (dask's parallelism is the
    workers' threads; fastact's OpenMP team would only oversubscribe the cores)."""
    states = client.run(worker_state)
    assert len(states) == 2
    for path, threads, omp in states.values():
        assert Path(path).resolve() == Path(fastact.__file__).resolve()
        assert threads == 1
        assert omp == "1"


# ------------------------------------------------------------------ elementwise
@pytest.mark.parametrize("dtype", FLOATS)
def test_gelu_forward_and_backward(client, dtype):
    x = data((300, 1001), dtype, 1)
    g = data((300, 1001), dtype, 2)
    dx, dg = lazy(x, (70, 256)), lazy(g, (128, 300))            # uneven, different chunks
    y, gx = computed(client, fastact.gelu(dx), fastact.gelu_backward(dg, dx))
    assert same_bits(y, fastact.gelu(x))
    assert same_bits(gx, fastact.gelu_backward(g, x))
    assert same_bits(computed(client, fastact.gelu_(lazy(x, 77))), fastact.gelu(x))


@pytest.mark.parametrize("case", case_params(Y_CASES))
@pytest.mark.parametrize("dtype", FLOATS)
def test_backward_from_y(client, case, dtype):
    """NAME_backward(g, y=...) for every activation with a backward from y, with y a lazy
    forward result on the cluster and with y a computed one."""
    kw = dict(case.params)
    fwd, bwd = getattr(fastact, case.act.name), getattr(fastact, case.act.name + "_backward")
    x, g = data((64, 257), dtype, 3), data((64, 257), dtype, 4)
    y = fwd(x, **kw)
    want = bwd(g, y=y, **kw)
    dx, dg = lazy(x, (20, 100)), lazy(g, (64, 60))
    got_lazy_y, got_y = computed(client, bwd(dg, y=fwd(dx, **kw), **kw),
                                 bwd(dg, y=lazy(y, (33, 80)), **kw))
    assert same_bits(got_lazy_y, want)
    assert same_bits(got_y, want)


def test_sigmoid_backward_from_y(client):
    x, g = data((500, 300), np.float32, 5), data((500, 300), np.float32, 6)
    y = fastact.sigmoid(x)
    got = computed(client, fastact.sigmoid_backward(lazy(g, 111), y=fastact.sigmoid(lazy(x, 64))))
    assert same_bits(got, fastact.sigmoid_backward(g, y=y))


# ------------------------------------------------------------------ along an axis
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,chunks", [((257, 300), (64, 70)),
                                          ((60, 40, 90), (25, 16, 35))])
def test_softmax_family_with_the_axis_split(client, name, axis, dtype, shape, chunks):
    fn, bwd = getattr(fastact, name), getattr(fastact, name + "_backward")
    x, g = data(shape, dtype, 7), data(shape, dtype, 8)
    x[np.isinf(x)] = 1.0               # keep rows finite for the backward from y
    x[np.isnan(x)] = 2.0
    y = fn(x, axis=axis)
    dx, dg = lazy(x, chunks), lazy(g, tuple(c + 3 for c in chunks))
    got, got_bx, got_by = computed(client, fn(dx, axis=axis),
                                   bwd(dg, dx, axis=axis),
                                   bwd(dg, y=fn(dx, axis=axis), axis=axis))
    assert same_bits(got, y)
    assert same_bits(got_bx, bwd(g, x, axis=axis))
    assert same_bits(got_by, bwd(g, y=y, axis=axis))


@pytest.mark.parametrize("dtype", FLOATS)
def test_maxout_and_glu_with_the_axis_split(client, dtype):
    x = data((30, 24, 20), dtype, 9)
    dx = lazy(x, (13, 10, 7))          # every axis split, across maxout groups too
    for axis in (1, -1, 0):
        if x.shape[axis] % 3 == 0:
            m = fastact.maxout(x, 3, axis=axis)
            g = data(m.shape, dtype, 10)
            got, got_b = computed(client, fastact.maxout(dx, 3, axis=axis),
                                  fastact.maxout_backward(lazy(g, 7), dx, 3, axis=axis))
            assert same_bits(got, m)
            assert same_bits(got_b, fastact.maxout_backward(g, x, 3, axis=axis))
        y = fastact.glu(x, axis=axis)
        g = data(y.shape, dtype, 11)
        got, got_b = computed(client, fastact.glu(dx, axis=axis),
                              fastact.glu_backward(lazy(g, 9), dx, axis=axis))
        assert same_bits(got, y)
        assert same_bits(got_b, fastact.glu_backward(g, x, axis=axis))


# ------------------------------------------------------------------ learnable: prelu
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("channels", [
    12, 0, 1])                 # 0: a 0-d weight; 1: shape (1,): both shared by all channels
def test_prelu_forward_and_backward(client, dtype, channels):
    x = data((64, 12, 50), dtype, 12)
    g = data((64, 12, 50), dtype, 13)
    x[np.isnan(x)] = -1.5              # a NaN x would make grad_weight NaN for every chunking
    w = (np.linspace(-0.2, 0.3, channels).astype(dtype) if channels
         else np.array(-0.2, dtype))
    dx, dg = lazy(x, (20, 5, 25)), lazy(g, (30, 12, 17))       # the channel axis split
    want_y = fastact.prelu(x, w, axis=1)
    want_gx, want_gw = fastact.prelu_backward(g, x, w, axis=1)
    lazy_gx, lazy_gw = fastact.prelu_backward(dg, dx, w, axis=1)
    got_y, got_gx, got_gw = computed(client, fastact.prelu(dx, w, axis=1), lazy_gx, lazy_gw)
    assert same_bits(got_y, want_y)
    assert same_bits(got_gx, want_gx)
    assert got_gw.dtype == want_gw.dtype and got_gw.shape == want_gw.shape
    if dtype == np.float32:
        assert same_bits(got_gw, want_gw)
    else:
        np.testing.assert_allclose(got_gw, want_gw, rtol=1e-12, atol=0)


# ------------------------------------------------------------------ a worker killed
def slow_gelu(block):
    time.sleep(0.4)
    return fastact.gelu(block)


def test_a_worker_killed_mid_computation(client):
    """SIGKILL one worker process while it runs tasks: its nanny starts a new one, the
    scheduler reruns the lost tasks (allowed-failures: 3), and the result is still exact.
    The kill does not depend on timing: it waits until tasks have finished and the victim
    has tasks in hand; the only assertions are on the result and on the worker set."""
    x = data((24, 8192), np.float32, 14)
    want = fastact.gelu(x)
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    future = client.compute(lazy(x, (1, 8192)).map_blocks(slow_gelu, dtype=x.dtype))

    deadline = time.monotonic() + TIMEOUT
    while True:                        # until >= 2 chunks are done and the victim is busy
        assert time.monotonic() < deadline, "the computation did not start"
        done = sum(ts == "memory" for ts in client.run_on_scheduler(task_states).values())
        if done >= 2 and client.processing(workers=[victim]).get(victim):
            break
        time.sleep(0.05)
    os.kill(pids[victim], signal.SIGKILL)
    while victim in client.scheduler_info()["workers"]:     # until the scheduler notices
        assert time.monotonic() < deadline, "the scheduler did not notice the kill"
        time.sleep(0.05)
    # the tasks the victim held are to be rerun: each counts one failure ("suspicious")
    assert max(client.run_on_scheduler(suspicious_counts).values()) >= 1

    got = future.result(timeout=TIMEOUT)
    assert same_bits(got, want)
    client.wait_for_workers(2, timeout=TIMEOUT)                # the nanny restarted it
    workers = client.run(os.getpid)
    assert victim not in workers and pids[victim] not in workers.values()
    assert len(workers) == 2
    assert computed(client, fastact.gelu(lazy(x, (5, 1000)))).tobytes() == want.tobytes()


def suspicious_counts(dask_scheduler):
    return {str(k): ts.suspicious for k, ts in dask_scheduler.tasks.items()}


def task_states(dask_scheduler):
    return {str(k): ts.state for k, ts in dask_scheduler.tasks.items()}


# ------------------------------------------------------------------ the benchmark
def test_benchmark_smoke_run():
    """bench/dask_gelu.py runs end to end at 2^20 elements and prints its table."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "dask_gelu.py"),
                           "--size-log2", "20", "--repeat", "1"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    header = [l for l in lines if l.startswith("| scheduler")]
    assert len(header) == 1, proc.stdout
    rows = [l for l in lines if l.startswith("| ") and ("forward" in l or "backward" in l)]
    assert len(rows) == 4, proc.stdout          # {distributed, threads} x {forward, backward}
    assert "bench/dask_gelu.py --size-log2 20 --repeat 1" in proc.stdout
