"""Resources: arrays past 2^31 elements, memory, leaks and interrupts.

What is guaranteed, and how it is measured (each in a fresh interpreter running
tests/resource_child.py, which checks values itself and prints its figures):

* **Size** (marker ``huge``; deselect with ``-m "not huge"``). Index types are 64-bit:
  ``relu_``, ``sigmoid_``, ``softmax_`` along the last axis of a (2, 2^30 + 3) view and
  ``sigmoid_backward_(grad, y=...)`` on float32 arrays of 2^31 + 7 elements (8 GiB; the
  backward needs a second one and is skipped without the memory) give NumPy's values at
  both ends, on both sides of index 2^31, and at 10^4 random indices. An in-place call
  on a contiguous array makes no hidden copy: the peak RSS of the child during the call
  (VmHWM, reset before it) stays within ``IN_PLACE_MARGIN`` of its RSS before it.
* **Leaks.** 10^5 calls of each API form of one activation per kind, including calls
  that raise, grow the RSS by less than 1 MiB (10 bytes a call; RSS moves by 4 KiB
  pages, so this also sees leaks outside Python's allocators), and 10^4 of them grow the
  memory traced by tracemalloc (exact, but 3x slower) by less than a byte a call. Every
  catalog activation's four forms get 10^4 calls each. The cheapest possible leak, one
  16-byte object a call, exceeds both limits (a control entry checks this).
* **Interrupts.** SIGINT during a 10^9-element ``gelu_`` either interrupts it or lets
  it finish, within ``SIGINT_BOUND`` seconds (a liveness bound, not a speed test), and
  fastact then still computes the same bits.

Timings are reported, never asserted. The children run concurrently (they are mostly
single-threaded or waiting on page faults), and every wait has a timeout.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import plugin_env

CHILD = Path(__file__).resolve().parent / "resource_child.py"
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
HUGE_BYTES = 4 * ((1 << 31) + 7)      # one float32 array of 2^31 + 7 elements
SPARE = 2 * GiB                       # MemAvailable left for everyone else
IN_PLACE_MARGIN = 64 * MiB            # thread stacks, slices checked; a copy is 8 GiB
LEAK_CALLS, TRACED_CALLS, SWEEP_CALLS = 100_000, 10_000, 10_000
RSS_LIMIT = 1 * MiB                   # per LEAK_CALLS calls of one entry
SWEEP_RSS_LIMIT = 256 * KiB             # per 5-6 * SWEEP_CALLS calls of one activation
INTERRUPT_ELEMENTS, SIGINT_BOUND = 10**9, 60.0
TIMEOUT = 600                         # seconds for any child: a hang fails, never stalls


def mem_available():
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable"))


def launch(*args):
    return subprocess.Popen([sys.executable, str(CHILD), *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=CHILD.parent,
                            env=plugin_env.child_env(FASTACT_LOAD_PLUGINS=""))


def parse_results(stdout):
    return {r["step"]: r for r in (json.loads(line[7:]) for line in stdout.splitlines()
                                   if line.startswith("RESULT "))}


def finish(proc, timeout):
    """(results, stdout, stderr) of a child; a failure or a timeout fails the test."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{proc.args[2:]} timed out after {timeout:.0f} s\n{err[-3000:]}")
    if proc.returncode != 0:
        pytest.fail(f"{proc.args[2:]} exited with {proc.returncode}\n{out[-2000:]}\n"
                    f"{err[-3000:]}", pytrace=False)
    return parse_results(out), out, err


class Children:
    """The measuring children, all started at the first use of any: together they take
    about as long as the longest one."""

    def __init__(self, session):
        self.session, self.procs, self.done, self.skips = session, {}, {}, {}
        self.started_at = None

    def start(self):
        if self.started_at is not None:
            return
        self.started_at = time.monotonic()
        jobs = {"leaks-0": ("leaks", 0, 2, LEAK_CALLS, TRACED_CALLS),
                "leaks-1": ("leaks", 1, 2, LEAK_CALLS, TRACED_CALLS),
                "sweep": ("sweep", SWEEP_CALLS)}
        if any(item.get_closest_marker("huge") and item.path == Path(__file__)
               for item in self.session.items):
            available = mem_available()
            if available < HUGE_BYTES + SPARE:
                self.skips["huge"] = (f"needs {(HUGE_BYTES + SPARE) / GiB:.1f} GiB available "
                                      f"for one 2^31 + 7 float32 array, {available / GiB:.1f}")
            else:
                backward = available >= 2 * HUGE_BYTES + SPARE
                jobs["huge"] = ("huge", "--backward") if backward else ("huge",)
                if not backward:
                    self.skips["huge backward"] = (
                        f"the backward needs a second 8 GiB array: {available / GiB:.1f} GiB "
                        f"available, {(2 * HUGE_BYTES + SPARE) / GiB:.1f} needed")
        self.procs = {name: launch(*args) for name, args in jobs.items()}

    def results(self, name):
        self.start()
        if name in self.skips:
            pytest.skip(self.skips[name])
        if name not in self.done:
            left = self.started_at + TIMEOUT - time.monotonic()
            self.done[name] = finish(self.procs[name], max(left, 1.0))
        return self.done[name][0]

    def wait_all(self):
        for name in self.procs:
            if name not in self.done:
                self.results(name)

    def kill_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="module")
def children(request):
    running = Children(request.session)
    yield running
    running.kill_all()


def describe(step):
    return (f"{step['step']}: peak {(step['peak'] - step['rss_before']) / MiB:.1f} MiB over "
            f"the RSS before ({step['rss_before'] / GiB:.2f} GiB), array "
            f"{step['array_bytes'] / GiB:.2f} GiB, {step['seconds']} s")


def assert_in_place(results, step):
    assert step in results, f"no result for {step}"
    extra = results[step]["peak"] - results[step]["rss_before"]
    assert extra < IN_PLACE_MARGIN, "a hidden copy? " + describe(results[step])
    print(describe(results[step]))


# ------------------------------------------------------------------------------ size
@pytest.mark.huge
def test_huge_in_place_forward_past_2_31(children):
    """relu_ and sigmoid_ on 2^31 + 7 float32 elements: values checked in the child,
    no copy; filling the array costs only the array and one chunk."""
    results = children.results("huge")
    fill = results["fill"]
    assert fill["peak"] - fill["rss_before"] < fill["array_bytes"] + 2 * IN_PLACE_MARGIN
    print(describe(fill))
    assert_in_place(results, "relu_")
    assert_in_place(results, "sigmoid_")


@pytest.mark.huge
def test_huge_softmax_last_axis(children):
    """softmax_ along rows of 2^30 + 3 elements, the second row starting past 2^30 and
    ending past 2^31. Run with the address space capped at the RSS + 1 GiB: uncapped,
    the float32 double scratch would take 16 GiB (test_softmax_scratch_is_bounded)."""
    assert_in_place(children.results("huge"), "softmax_")


@pytest.mark.huge
def test_huge_in_place_backward(children):
    """sigmoid_backward_(grad, y=y) with grad and y both of 2^31 + 7 elements."""
    results = children.results("huge")
    if "huge backward" in children.skips:
        pytest.skip(children.skips["huge backward"])
    assert_in_place(results, "sigmoid_backward_")


def test_softmax_scratch_is_bounded():
    """An in-place float32 softmax over two rows of 2^24 (128 MiB) needs at most an
    eighth of the array on top of it. (It once malloced a double scratch of each row,
    twice the array; now at most 2^18 doubles a thread, longer rows recompute exp.)"""
    results, _, _ = finish(launch("scratch"), TIMEOUT)
    step = results["softmax_"]
    print(describe(step))
    assert step["peak"] - step["rss_before"] < step["array_bytes"] / 8, describe(step)


# ----------------------------------------------------------------------------- leaks
def assert_flat(results, rss_limit, label):
    lines, bad = [], []
    for step in results.values():
        per_call = step["traced_growth"] / step["traced_calls"]
        lines.append(f"{step['step']:<45} RSS +{step['rss_growth'] / KiB:6.0f} KiB / "
                     f"{step['calls']}, traced +{step['traced_growth']:7d} B / "
                     f"{step['traced_calls']} ({per_call:.4f} B/call), {step['seconds']} s")
        if step["rss_growth"] >= rss_limit or per_call >= 1.0:
            bad.append(lines[-1])
    print(f"\n{label}:\n" + "\n".join(lines))
    assert not bad, f"{label}: memory grows\n" + "\n".join(bad)


def test_representative_calls_do_not_leak(children):
    """Forward, out=, in place, backward from x and y, in-place backward, softmax with
    an axis, maxout, glu, prelu/srelu/apl and their parameter gradients, rrelu training
    with a seed, and ten kinds of calls that raise."""
    results = {**children.results("leaks-0"), **children.results("leaks-1")}
    control = results.pop("control: keeps a 16-byte object per call")
    assert control["rss_growth"] >= RSS_LIMIT, f"RSS does not see the control leak {control}"
    assert control["traced_growth"] >= control["traced_calls"], f"nor tracemalloc {control}"
    assert len(results) >= 26
    assert_flat(results, RSS_LIMIT, "10^5 calls per entry")


def test_every_activation_four_forms_do_not_leak(children):
    results = children.results("sweep")
    assert len(results) >= 26
    assert_flat(results, SWEEP_RSS_LIMIT, "every activation, 10^4 calls of each form")
    total = sum(step["rss_growth"] for step in results.values())
    assert total < RSS_LIMIT, f"the sweep grows the RSS by {total / KiB:.0f} KiB"


# ------------------------------------------------------------------------ interrupts
def line_reader(proc):
    """A queue of the child's stdout lines (None at the end), for reads with a timeout."""
    lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return lines


def next_line(lines, timeout, what):
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no {what} from the child within {timeout:.0f} s")
    assert line is not None, f"the child ended before {what}"
    return line


def test_sigint_during_long_call(children):
    """SIGINT while gelu_ runs on 10^9 float32 (4 GB): KeyboardInterrupt or completion
    within SIGINT_BOUND s, then the same bits from another call, and a clean exit."""
    children.wait_all()  # not while the 8 GiB arrays are alive
    need = 4 * INTERRUPT_ELEMENTS + SPARE
    if mem_available() < need:
        pytest.skip(f"needs {need / GiB:.1f} GiB available, {mem_available() / GiB:.1f}")
    proc = launch("interrupt", INTERRUPT_ELEMENTS)
    try:
        lines = line_reader(proc)
        assert next_line(lines, 300, "STARTED") == "STARTED"
        time.sleep(0.2)  # inside the call (the call itself takes about a second)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        outcome = next_line(lines, SIGINT_BOUND, "outcome after SIGINT")
        latency = time.monotonic() - sent
        rest = [next_line(lines, 120, "the rest") for _ in range(2)]
        assert proc.wait(timeout=120) == 0, proc.stderr.read()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(f"\n{outcome} {latency:.2f} s after SIGINT; {rest}")
    assert outcome in ("INTERRUPTED", "COMPLETED")
    assert rest[-1] == "CLEAN EXIT"
    assert parse_results(rest[0])["interrupt"]["outcome"] == outcome.lower()
