"""The thread policy of docs/reliability.md, tested where it matters: fork() children,
Python threads, calls from inside another OpenMP region, and the thread-count controls
(set_num_threads, OMP_NUM_THREADS, threadpoolctl).

Anything that could hang runs in a subprocess of its own session with a timeout, so a
hang fails the test (and its process group is killed) instead of stalling CI. Thread
counts are read from /proc/self/task (Linux); no test asserts a speed."""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastact
from conftest import same_bits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARGE = 1 << 18           # well above the parallel threshold (2 x 16384 elements)
OPENMP = bool(fastact._api.kernels.OPENMP)
needs_openmp = pytest.mark.skipif(not OPENMP, reason="built without OpenMP: always serial")
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")

# A prelude for child scripts: inputs and every kind of kernel (elementwise forward and
# backward, axis-wise, per-channel, rrelu's counter-based training draw).
CALLS = '''
import os, sys, threading, time
import numpy as np
import fastact
rng = np.random.default_rng(5)
X = rng.normal(0, 3, (64, 4096)).astype(np.float32)
G = rng.normal(0, 1, X.shape).astype(np.float32)
W = rng.uniform(0, 0.5, 4096).astype(np.float32)
CALLS = {
    "gelu": lambda: fastact.gelu(X),
    "sigmoid_backward": lambda: fastact.sigmoid_backward(G, X),
    "softmax": lambda: fastact.softmax(X, axis=-1),
    "log_softmax_backward": lambda: fastact.log_softmax_backward(G, X, axis=0),
    "prelu": lambda: fastact.prelu(X, W, axis=1),
    "rrelu_train": lambda: fastact.rrelu(X, training=True, seed=3),
    "maxout": lambda: fastact.maxout(X, 4, axis=1),
    "elu_": lambda: fastact.elu_(X.astype(np.float64)),
}
def run_all():
    return {name: call() for name, call in CALLS.items()}
def same(a, b):
    if isinstance(a, tuple):                       # rrelu training: (y, slopes)
        return len(a) == len(b) and all(map(same, a, b))
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
def tasks():
    return len(os.listdir("/proc/self/task"))
'''


def run_script(body: str, timeout: float = 120, env: dict | None = None) -> str:
    """Run CALLS + body in a fresh interpreter; its stdout. A hang is killed and fails."""
    code = CALLS + textwrap.dedent(body)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)        # the script and any child it forked
        out, err = proc.communicate()
        pytest.fail(f"hung for {timeout} s (killed).\nstdout:\n{out}\nstderr:\n{err}")
    assert proc.returncode == 0, f"exit status {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}"
    return out


# ---------------------------------------------------------------- fork

@needs_openmp
def test_fork_child_after_parallel_parent_gets_the_same_bits():
    out = run_script('''
        fastact.set_num_threads(2)
        expected = run_all()                       # the parent runs 2-thread regions
        assert fastact._api.parallel_state()["last_call_threads"] == 2
        pid = os.fork()
        if pid == 0:                               # the child: serial, same bits
            try:
                ok = all(same(call(), expected[name]) for name, call in CALLS.items())
                state = fastact._api.parallel_state()
                ok = ok and state["forked_child"] and state["last_call_threads"] == 1
            except BaseException as e:
                print("child:", repr(e), flush=True)
                ok = False
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
        assert same(fastact.gelu(X), expected["gelu"])   # the parent still runs parallel
        print("parent", fastact._api.parallel_state()["last_call_threads"])
    ''', timeout=90)
    assert "child exit 0" in out and "parent 2" in out, out


@needs_openmp
def test_multiprocessing_fork_pool_after_parallel_parent():
    out = run_script('''
        import multiprocessing as mp
        def work(name):
            return CALLS[name]()
        if __name__ == "__main__":
            expected = run_all()
            with mp.get_context("fork").Pool(2) as pool:
                results = pool.map(work, list(CALLS), chunksize=1)
            print("equal", all(same(r, expected[n]) for n, r in zip(CALLS, results)))
    ''', timeout=120)
    assert "equal True" in out, out


def test_fork_child_reports_itself_in_show_config():
    out = run_script('''
        fastact.gelu(X)
        pid = os.fork()
        if pid == 0:
            fastact.show_config()
            sys.stdout.flush()
            os._exit(0)
        os.waitpid(pid, 0)
    ''', timeout=60)
    assert "fork() child" in out, out


# ---------------------------------------------------------------- Python threads

# Each takes (x, grad) and must not modify them (the in-place forms work on copies).
THREAD_JOBS = {
    "gelu": lambda x, g: fastact.gelu(x),
    "sigmoid_backward": lambda x, g: fastact.sigmoid_backward(g, x),
    "softmax": lambda x, g: fastact.softmax(x, axis=-1),
    "tanh_": lambda x, g: fastact.tanh_(x.copy()),
    "elu_backward": lambda x, g: fastact.elu_backward(g, x),
    "log_softmax": lambda x, g: fastact.log_softmax(x, axis=0),
    "mish": lambda x, g: fastact.mish(x),
    "silu_backward_": lambda x, g: fastact.silu_backward_(g.copy(), x),
}


def test_eight_threads_give_the_single_threaded_bits():
    """Eight threads, each calling its own activation on its own arrays for about two
    seconds, parallel-sized and small, get exactly the results of one thread."""
    rng = np.random.default_rng(1)
    work = {}
    for i, name in enumerate(THREAD_JOBS):
        dtype = np.float32 if i % 2 else np.float64
        work[name] = []
        for shape in ((256, 1024), (7, 13)):
            x, g = rng.normal(0, 4, shape).astype(dtype), rng.normal(0, 1, shape).astype(dtype)
            work[name].append((x, g, THREAD_JOBS[name](x, g)))
    failures, stop = [], time.monotonic() + 2.0

    def worker(name):
        while time.monotonic() < stop:
            for x, g, expected in work[name]:
                if not same_bits(THREAD_JOBS[name](x, g), expected):
                    failures.append(f"{name} {x.shape} {x.dtype}")
                    return

    threads = [threading.Thread(target=worker, args=(name,)) for name in THREAD_JOBS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    assert not failures, failures


def test_calls_release_the_gil():
    """While one thread is inside a long kernel call, another thread runs Python code:
    the call does not hold the GIL (no timing threshold, only progress)."""
    x = np.random.default_rng(2).normal(0, 3, 1 << 24)   # float64: ~0.1 s of gelu
    inside = threading.Event()
    done = threading.Event()
    progress = []

    def call():
        for _ in range(3):
            inside.set()
            fastact.gelu(x)
        done.set()

    t = threading.Thread(target=call)
    t.start()
    inside.wait()
    while not done.is_set():
        progress.append(1)          # runs only while the other thread has let go of the GIL
    t.join()
    assert len(progress) > 1000, f"only {len(progress)} steps ran while the kernel ran"


@needs_openmp
@needs_proc
def test_thread_pool_does_not_multiply_openmp_threads():
    """Eight threads making parallel-sized calls at once: one of them owns the team, so
    the process gets at most 8 + (threads - 1) OS threads more, not 8 x threads."""
    out = run_script('''
        fastact.set_num_threads(2)
        before = tasks()
        allowed, stop = [], time.monotonic() + 1.5
        def worker(name):
            while time.monotonic() < stop:
                CALLS[name]()
                allowed.append(fastact._api.parallel_state()["last_call_threads"])
        threads = [threading.Thread(target=worker, args=(n,)) for n in CALLS]
        for t in threads:
            t.start()
        peak = before
        while any(t.is_alive() for t in threads):
            peak = max(peak, tasks())
            time.sleep(0.001)
        print("extra", peak - before, "parallel calls", sum(a > 1 for a in allowed),
              "serial calls", sum(a == 1 for a in allowed))
    ''')
    words = out.split()
    extra, parallel, serial = int(words[1]), int(words[4]), int(words[7])
    assert extra <= 8 + (2 - 1), out
    assert parallel > 0 and serial > 0, out


@needs_openmp
def test_team_passes_on_when_its_owner_thread_exits():
    out = run_script('''
        fastact.set_num_threads(2)
        def own():
            fastact.gelu(X)
            print("owner", fastact._api.parallel_state()["owner_is_this_thread"])
        t = threading.Thread(target=own); t.start(); t.join()
        deadline = time.monotonic() + 10     # join() can return before the OS thread has
        while fastact._api.parallel_state()["team_owned"] and time.monotonic() < deadline:
            time.sleep(0.01)                 # run its exit handlers (which free the team)
        fastact.gelu(X)
        state = fastact._api.parallel_state()
        print("main", state["owner_is_this_thread"], state["last_call_threads"])
    ''')
    assert "owner True" in out and "main True 2" in out, out


@needs_openmp
def test_calls_from_inside_another_openmp_region_run_serially(tmp_path):
    """A C library's parallel region calls back into Python, which calls fastact: each
    call runs serially on its OpenMP thread (the region already has the cores)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "region.c"
    src.write_text("#include <omp.h>\n"
                   "void run_in_region(void (*callback)(int)) {\n"
                   "#pragma omp parallel num_threads(2)\n"
                   "    callback(omp_get_thread_num());\n}\n")
    lib = tmp_path / "libregion.so"
    subprocess.run([cc, "-shared", "-fPIC", "-fopenmp", str(src), "-o", str(lib)], check=True)
    region = ctypes.CDLL(str(lib))
    x = np.random.default_rng(3).normal(0, 3, LARGE).astype(np.float32)
    expected = fastact.gelu(x)
    seen = {}

    @ctypes.CFUNCTYPE(None, ctypes.c_int)
    def callback(thread_number):
        y = fastact.gelu(x)
        seen[thread_number] = (same_bits(y, expected),
                               fastact._api.parallel_state()["last_call_threads"])

    region.run_in_region(callback)
    assert seen == {0: (True, 1), 1: (True, 1)}, seen


# ---------------------------------------------------------------- thread-count controls

@needs_openmp
@needs_proc
def test_set_num_threads_is_what_the_process_runs():
    out = run_script('''
        fastact.set_num_threads(1)
        before = tasks()
        fastact.gelu(X)
        one = (tasks() - before, fastact._api.parallel_state()["last_call_threads"])
        fastact.set_num_threads(2)
        fastact.gelu(X)
        two = (tasks() - before, fastact._api.parallel_state()["last_call_threads"])
        print(one, two)
    ''')
    assert out.strip() == "(0, 1) (1, 2)", out


@pytest.mark.parametrize("value, expected", [("1", 1), ("3", 3)])
def test_omp_num_threads_is_respected_at_import(value, expected):
    out = run_script('''
        fastact.gelu(X)
        print(fastact.get_num_threads(), fastact._api.parallel_state()["last_call_threads"])
    ''', env={"OMP_NUM_THREADS": value})
    wanted = expected if OPENMP else 1
    assert out.split() == [str(wanted), str(wanted)], out


@needs_openmp
def test_threadpoolctl_limits_fastact(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = np.random.default_rng(4).normal(0, 3, LARGE).astype(np.float32)
    fastact.set_num_threads(2)
    expected = fastact.gelu(x)
    assert fastact._api.parallel_state()["last_call_threads"] == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert same_bits(fastact.gelu(x), expected)
        assert fastact._api.parallel_state()["last_call_threads"] == 1
    fastact.gelu(x)
    assert fastact._api.parallel_state()["last_call_threads"] == 2
