"""Time forward and backward of activations against NumPy and (if installed) PyTorch.

Every registered activation (built-in and plugin) or the NAMEs given, in three
directions: ``fwd`` (the in-place ``NAME_(x)``), ``bwd x`` (``NAME_backward_(grad, x)``,
writing into grad) and, where the activation has it, ``bwd y``
(``NAME_backward_(grad, y=y)``). gelu is timed with both approximations. The NumPy
peers are the formulas of fastact/_peers.py written in place with ``out=``; the PyTorch
peers are torch's in-place / ``out=`` / ``grad_input=`` operations (the table marks a
peer's time with ``*`` where it only exists in an allocating form). Before every timed
call the buffer it overwrites is restored from a pristine copy, untimed.

The learnable, random and axis-wise built-ins are timed on shapes of about --size
elements: softmax and log_softmax over rows of 1024, prelu, srelu and apl per channel
on (batch, 64, 1024), glu over halves of 1024, maxout over groups of 4, rrelu flat in
training mode; they write into preallocated outputs (``out=``). Plugin activations
are timed through their fastact forms, without peers.

Figures are ns per input element, medians of calls timed one by one; the ratios are
fastact's time over the peer's (below 1: fastact is faster). A progress bar shows on
a terminal (stderr); the table goes to stdout, ``--json FILE`` (``-``: stdout) writes
one record per measurement and a description of the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from functools import partial

from fastact.cli.common import UsageError, call_backward, call_forward, select, variant_params

DEFAULT_SIZE = 1 << 20
MAX_SIZE = 1 << 28
DEFAULT_TIME = 0.04            # seconds of timed calls per measurement
MIN_RUNS, MAX_RUNS = 3, 10_000
DIRECTIONS = ("fwd", "bwd_x", "bwd_y")
DIR_LABEL = {"fwd": "fwd", "bwd_x": "bwd x", "bwd_y": "bwd y"}
COMPETITORS = ("numpy", "fastact", "torch")   # the order they run in


# -------------------------------------------------------------------------- options

def parse_size(text: str) -> int:
    """A number of elements: 1048576, 1_048_576, 2^20, 2**20 or 1e6."""
    t = text.strip().replace("_", "")
    m = re.fullmatch(r"(\d+)\s*(?:\^|\*\*)\s*(\d+)", t)
    if m:
        base, exp = int(m[1]), int(m[2])
        n = base ** exp if exp <= 64 else MAX_SIZE + 1
    elif re.fullmatch(r"\d+", t):
        n = int(t)
    elif re.fullmatch(r"\d+(\.\d*)?[eE]\d+", t) and float(t).is_integer():
        n = int(float(t))
    else:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: give a number of elements, e.g. 1048576, 2^20 or 2**20")
    if n < 1:
        raise argparse.ArgumentTypeError(f"size must be at least 1 element, got {text!r}")
    if n > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"size {text!r} is more than 2^28 elements "
                                         f"(the benchmark holds several arrays of that size)")
    return n


def whole_number(what: str, low: int, high: int):
    """An argparse type: a whole number of `what` in [low, high], or a one-line error."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: give a whole number "
                                             f"from {low} to {high}") from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{what} must be from {low} to {high}, got {n}")
        return n
    return parse


parse_threads = whole_number("thread count", 1, 1024)
parse_repeat = whole_number("repeat count", 1, 1_000_000)


def parse_directions(text: str) -> tuple:
    wanted = [d.strip().replace(" ", "_").replace("-", "_") for d in text.split(",") if d.strip()]
    bad = [d for d in wanted if d not in DIRECTIONS]
    if bad or not wanted:
        raise argparse.ArgumentTypeError(f"invalid direction(s) {', '.join(bad) or repr(text)}:"
                                         f" choose from {', '.join(DIRECTIONS)}")
    return tuple(d for d in DIRECTIONS if d in wanted)


def parse_seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (math.isfinite(v) and 0 < v <= 60):
        raise argparse.ArgumentTypeError(f"invalid time {text!r}: give seconds, more than 0 "
                                         f"and at most 60, e.g. 0.05")
    return v


EXAMPLES = """\
examples:
  fastact bench                              every activation, 2^20 float32 elements
  fastact bench gelu softmax --size 2^24 --threads 1
  fastact bench --dtype float64 --json bench.json
  fastact bench relu --json - | python -m json.tool

The table: ns per input element (median of calls timed one by one) of fastact, NumPy
and torch, and fastact's time over each peer's (below 1: fastact is faster). About
20 s for every activation at 2^20 elements on 2 cores (--time scales it)."""


def add_arguments(parser):
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="activations to time (default: every registered one)")
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, metavar="N",
                        help="elements per array: 1048576, 2^20 or 2**20 (default 2^20)")
    parser.add_argument("--threads", type=parse_threads, default=None, metavar="T",
                        help="threads for fastact and torch (default: fastact's current "
                             "count); NumPy runs on one")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="element type (default float32)")
    parser.add_argument("--directions", type=parse_directions, default=DIRECTIONS,
                        metavar="D,...", help="of fwd, bwd_x, bwd_y (default all)")
    parser.add_argument("--time", type=parse_seconds, default=DEFAULT_TIME, metavar="S",
                        help=f"seconds of timed calls to aim for per measurement (default "
                             f"{DEFAULT_TIME}; at least {MIN_RUNS} calls)")
    parser.add_argument("--repeat", type=parse_repeat, default=None, metavar="R",
                        help="exactly R timed calls per measurement instead of --time")
    parser.add_argument("--no-torch", dest="torch", action="store_false",
                        help="do not compare with PyTorch even if it is installed")
    parser.add_argument("--json", metavar="FILE",
                        help="write every measurement and the machine as JSON to FILE "
                             "('-': stdout, instead of the table)")


# ---------------------------------------------------------------------------- plan

@dataclass
class Row:
    """One line of the table: an activation (variant) in one direction."""
    label: str
    info: object
    direction: str
    params: dict
    shape: tuple
    detail: str = ""
    results: dict = field(default_factory=dict)     # competitor -> record
    errors: dict = field(default_factory=dict)      # competitor -> message


@dataclass
class Task:
    """One measurement: `make()` -> {competitor: (callable, note)} for a group of
    tasks that share their arrays (made once for the group, when its first runs)."""
    row: Row
    competitor: str
    group: object             # calls shared by tasks of one group: Group
    restore: object = None    # untimed, before every call
    prepare: object = None    # untimed, once before the measurement (y = f(x))


class Group:
    """Lazily made calls {competitor: (callable, note)}, kept while in use."""

    def __init__(self, make):
        self.make, self.calls = make, None

    def get(self, competitor):
        if self.calls is None:
            self.calls = self.make()
        return self.calls.get(competitor)

    def release(self):
        self.calls = None


def json_value(v):
    return v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)


def elementwise_tasks(infos, args, np_dtype, torch, timing):
    """Rows and tasks of the elementwise activations, on shared buffers."""
    import numpy as np

    from fastact._catalog import BY_NAME
    from fastact._peers import numpy_peer

    b = timing.make_buffers(args.size, np_dtype, torch)
    restore = timing.restorers(b)
    table = timing.torch_table(torch)
    rows, tasks = [], []
    for info in infos:
        for label, params in variant_params(info):
            numeric = {k: v for k, v in params.items() if k != "approximate"}
            kernel = info.name
            if info.builtin and info.name in BY_NAME and BY_NAME[info.name].variants:
                kernel = BY_NAME[info.name].variants[params["approximate"]]
            peer = numpy_peer(info.name, **params) if info.builtin else None
            directions = DIRECTIONS if info.backward_from_y else DIRECTIONS[:2]
            for d in (d for d in directions if d in args.directions):
                row = Row(label, info, d, params, (args.size,),
                          "" if info.builtin else f"plugin {info.plugin}")
                rows.append(row)
                calls = {"fastact": fastact_elementwise(info, d, b, params)}
                if peer is not None:
                    calls["numpy"] = timing.numpy_call(peer, d, b)
                if torch is not None and info.builtin:
                    calls["torch"] = timing.torch_peer(table, kernel, d, b, numeric)
                group = Group(lambda calls=calls: calls)
                prepare = None
                if d == "bwd_y":
                    prepare = partial(fill_y, info, params, b, np)
                for competitor, made in calls.items():
                    if made is not None:
                        tasks.append(Task(row, competitor, group,
                                          restore["fwd" if d == "fwd" else "bwd"], prepare))
    return rows, tasks


def fastact_elementwise(info, direction, b, params):
    """(callable, note) of fastact's in-place form (the allocating one, noted '*', for
    a plugin without in-place forms)."""
    w, x, y = b["w"], b["x"], b["y"]
    if direction == "fwd":
        if info.forward_ is not None:
            return partial(info.forward_, w, **params), ""
        return partial(info.forward, x, **params), "*"
    src = {"y": y} if direction == "bwd_y" else {"x": x}
    if info.backward_ is not None:
        return partial(info.backward_, w, **src, **params), ""
    return partial(info.backward, w, **src, **params), "*"


def fill_y(info, params, b, np):
    """b["y"] = forward(x): the input of a backward from y."""
    if info.builtin:
        info.forward(b["x"], out=b["y"], **params)
    else:
        np.copyto(b["y"], info.forward(b["x"], **params))


def layer_tasks(infos, args, np_dtype, torch, timing):
    """Rows and tasks of the non-elementwise built-ins (timing.layer_ops) and of the
    non-elementwise plugin activations (their allocating forms on rows of 1024)."""
    ops = timing.layer_ops(args.size, torch)
    rows, tasks = [], []
    for info in infos:
        if info.builtin and info.name in ops:
            for op in ops[info.name]:
                if op.direction not in args.directions:
                    continue
                row = Row(info.name, info, op.direction, {}, op.shape, op.detail + ", out=")
                rows.append(row)
                group = Group(partial(op.make, np_dtype))
                tasks += [Task(row, c, group) for c in op.peers]
        else:
            shape = timing._rows(args.size, 1024)
            for d in ("fwd", "bwd_x"):
                if d not in args.directions:
                    continue
                row = Row(info.name, info, d, {}, shape,
                          f"plugin {info.plugin}, {info.kind}, allocates")
                rows.append(row)
                group = Group(partial(generic_calls, info, d, shape, np_dtype))
                tasks.append(Task(row, "fastact", group))
    return rows, tasks


def generic_calls(info, direction, shape, np_dtype):
    """A non-elementwise plugin activation: its forward(x) or the gradient of x, on x of
    shape (N, C) with the example arguments of fastact.cli.common."""
    import numpy as np
    rng = np.random.default_rng(12345)
    x = (rng.standard_normal(shape) * 3).astype(np_dtype)
    if direction == "fwd":
        return {"fastact": (partial(call_forward, info, x), "*")}
    g = rng.standard_normal(np.shape(call_forward(info, x))).astype(np_dtype)
    return {"fastact": (partial(call_backward, info, g, x), "*")}


# ------------------------------------------------------------------------------ run

def run(args) -> int:
    infos = select(args.names)          # an unknown name: UsageError before anything
    import numpy as np

    import fastact
    from fastact.cli import timing

    threads = args.threads or fastact.get_num_threads()
    if args.json and args.json != "-":
        try:                            # can it be written? (not truncated before the end)
            open(args.json, "a").close()
        except OSError as exc:
            raise UsageError(f"cannot write --json {args.json}: {exc.strerror}") from None
    torch, torch_note = load_torch(args.torch)
    np_dtype = np.dtype(args.dtype)

    elementwise = [i for i in infos if i.kind == "elementwise"]
    others = [i for i in infos if i.kind != "elementwise"]
    rows, tasks = elementwise_tasks(elementwise, args, np_dtype, torch, timing)
    more_rows, more_tasks = layer_tasks(others, args, np_dtype, torch, timing)
    # elementwise: one competitor at a time (one runtime's spinning threads do not
    # steal the cores of another's measurements); the layer groups one after another
    tasks.sort(key=lambda t: COMPETITORS.index(t.competitor))
    rows, tasks = rows + more_rows, tasks + more_tasks

    policy = (args.time, MIN_RUNS, MAX_RUNS)
    progress = timing.Progress(len(tasks))
    old_threads = fastact.get_num_threads()
    old_torch_threads = torch.get_num_threads() if torch is not None else None
    gc_was_enabled = gc.isenabled()
    start = time.perf_counter()
    try:
        timing.set_threads(threads, fastact, torch)
        gc.disable()
        for k, task in enumerate(tasks):
            row = task.row
            progress.step(f"{task.competitor} {row.label} {DIR_LABEL[row.direction]}")
            measure_task(task, threads, policy, args, timing)
            if k + 1 == len(tasks) or tasks[k + 1].group is not task.group:
                task.group.release()
    finally:
        if gc_was_enabled:
            gc.enable()
        progress.close()
        fastact.set_num_threads(old_threads)
        if torch is not None:
            torch.set_num_threads(old_torch_threads)
    elapsed = time.perf_counter() - start

    info = timing.machine_info(fastact, torch)
    errors = [(r, c, msg) for r in rows for c, msg in r.errors.items()]
    if args.json:
        document = {
            "machine": info,
            "config": {"names": [i.name for i in infos], "size": args.size,
                       "dtype": args.dtype, "threads": threads,
                       "directions": list(args.directions), "time_s": args.time,
                       "repeat": args.repeat, "torch": torch is not None,
                       "torch_note": torch_note},
            "elapsed_s": elapsed,
            "results": [rec for r in rows for rec in r.results.values()],
            "errors": [{"label": r.label, "direction": r.direction, "competitor": c,
                        "error": msg} for r, c, msg in errors],
        }
        if args.json == "-":
            json.dump(document, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            with open(args.json, "w") as f:
                json.dump(document, f, indent=1)
    if args.json != "-":
        print_report(rows, args, threads, info, torch, torch_note, elapsed, len(tasks))
        if args.json:
            print(f"raw figures written to {args.json}")
    for r, c, msg in errors:
        print(f"fastact bench: {c} {r.label} {DIR_LABEL[r.direction]} failed: {msg}",
              file=sys.stderr)
    return 1 if errors else 0


def load_torch(wanted):
    """(torch module or None, a note saying why not)."""
    if not wanted:
        return None, "not compared (--no-torch)"
    try:
        import torch  # after fastact: its OpenMP runtime is loaded first
    except ImportError:
        return None, "not installed: the torch columns show '-' (pip install torch to compare)"
    except Exception as exc:  # noqa: BLE001 (a broken install is not our failure)
        return None, f"cannot be imported ({type(exc).__name__}: {exc}): not compared"
    return torch, ""


def measure_task(task, threads, policy, args, timing):
    row, competitor = task.row, task.competitor
    try:
        made = task.group.get(competitor)
        if made is None:
            return
        fn, note = made
        if task.prepare is not None:
            task.prepare()
        median, fastest, runs = timing.measure(fn, task.restore or (lambda: None), policy,
                                               args.repeat)
    except Exception as exc:  # noqa: BLE001 (reported per measurement; exit status 1)
        row.errors[competitor] = f"{type(exc).__name__}: {exc}"
        return
    elements = int(math.prod(row.shape))
    info = row.info
    row.results[competitor] = {
        "activation": info.name, "label": row.label, "kind": info.kind,
        "builtin": info.builtin, "plugin": info.plugin,
        "params": {k: json_value(v) for k, v in row.params.items()},
        "direction": row.direction, "competitor": competitor, "dtype": args.dtype,
        "elements": elements, "shape": list(row.shape),
        "threads": 1 if competitor == "numpy" else threads,
        "ns_per_elem": median * 1e9 / elements, "median_s": median, "min_s": fastest,
        "runs": runs, "allocates": note == "*", "detail": row.detail,
    }


# --------------------------------------------------------------------------- report

def _ns(rec):
    if rec is None:
        return "-"
    v = rec["ns_per_elem"]
    text = f"{v:.3f}" if v < 10 else f"{v:.2f}" if v < 100 else f"{v:.0f}"
    return text + ("*" if rec["allocates"] else " ")


def _ratio(fa, peer):
    if fa is None or peer is None:
        return "-", None
    r = fa["median_s"] / peer["median_s"]
    return f"{r:.2f}", r


def print_report(rows, args, threads, info, torch, torch_note, elapsed, count):
    out = sys.stdout
    print(f"fastact bench: {args.size:,} {args.dtype} elements, {threads} "
          f"thread{'s' if threads != 1 else ''} for fastact and torch (NumPy: 1)", file=out)
    print(f"  {info.get('cpu')}, {info.get('logical_cpus')} logical cpus; fastact "
          f"{info['fastact']}, numpy {info['numpy']}, torch {info['torch'] or '-'}", file=out)
    if info.get("load_average", 0) > 0.5 * (info.get("logical_cpus") or 1):
        print(f"  note: load average {info['load_average']:.1f} before the run: other "
              f"processes use the cores, figures are noisy", file=out)
    head = ("activation", "dir", "fastact", "numpy", "ratio", "torch", "ratio", "notes")
    lines = []
    ratios = {"numpy": [], "torch": []}
    for r in rows:
        fa = r.results.get("fastact")
        cells = [r.label, DIR_LABEL[r.direction], _ns(fa)]
        for peer in ("numpy", "torch"):
            rec = r.results.get(peer)
            text, value = _ratio(fa, rec)
            if value is not None:
                ratios[peer].append(value)
            cells += [_ns(rec), text]
        notes = r.detail
        if r.errors:
            notes = (notes + "; " if notes else "") + "FAILED: " + ", ".join(r.errors)
        cells.append(notes)
        lines.append(cells)
    widths = [max(len(c[i]) for c in lines + [list(head)]) for i in range(len(head))]
    right = (False, False, True, True, True, True, True, False)

    def fmt(cells):
        return "  ".join(c.rjust(w) if rj else c.ljust(w)
                         for c, w, rj in zip(cells, widths, right)).rstrip()
    print(file=out)
    print(fmt(head), file=out)
    print(fmt(["", "", "ns/el", "ns/el", "fa/np", "ns/el", "fa/torch", ""]), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    previous = None
    for r, cells in zip(rows, lines):
        if r.label == previous:
            cells[0] = ""
        previous = r.label
        print(fmt(cells), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    gm = ["geometric mean", "", ""]
    for peer in ("numpy", "torch"):
        gm += ["", f"{math.exp(statistics.fmean(map(math.log, ratios[peer]))):.2f}"
               if ratios[peer] else "-"]
    print(fmt(gm + [""]), file=out)
    print(file=out)
    print("ns/el: nanoseconds per input element, the median of calls timed one by one. "
          "ratio: fastact's time / the peer's (below 1: fastact is faster).", file=out)
    print("fwd: NAME_(x) in place; bwd x: NAME_backward_(grad, x); bwd y: "
          "NAME_backward_(grad, y=y); the peers likewise in place or into preallocated "
          "buffers. *: the time includes allocating the result (no out= form).", file=out)
    if torch is None:
        print(f"torch: {torch_note}", file=out)
    notes = missing_peer_notes(rows)
    for note in notes:
        print(note, file=out)
    print(f"\n{sum(len(r.results) for r in rows)} measurements in {elapsed:.1f} s", file=out)


def missing_peer_notes(rows):
    """Why a built-in's NumPy cell is empty where a reader would expect one."""
    from fastact import _peers
    notes = []
    if not _peers.HAVE_SCIPY and any(r.info.name == "gelu" and r.params.get("approximate")
                                     == "none" for r in rows):
        notes.append("numpy: exact gelu has no NumPy peer without SciPy (pip install scipy)")
    if any(not r.info.builtin for r in rows):
        notes.append("plugins: fastact's forms of the plugin's functions, without peers")
    return notes
