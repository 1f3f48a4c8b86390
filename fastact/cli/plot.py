"""A PNG per activation (the function and its derivative, output range and kinks marked) and a gallery of all of them; needs matplotlib (pip install 'fastact[plot]').

    fastact plot [NAME...] [-o DIR] [--xlim LO HI] [--dtype float32|float64]

* Every registered activation by default, plugins included; DIR defaults to
  ./fastact-plots (created if missing). One DIR/NAME.png each and DIR/gallery.png.
* NAME.png: left the function, right its derivative as fastact's own backward computes
  it (grad = 1), both called in --dtype (default float32) on a grid over --xlim
  (default -7 7). gelu draws both approximations ('none' and 'tanh') in one figure.
* The output range: dashed lines at the finite bounds of the activation's
  ``output_range``, its hyper-parameters and named constants substituted
  ("(-alpha, inf)" -> -1); where it says no interval ("depends on beta") the observed
  extremes are marked instead, and the legend says so.
* Kinks: vertical lines where the derivative (kink) or the function itself (jump) is
  discontinuous, found numerically on a fine float64 grid and refined by bisection
  (fastact/cli/plot_curves.py), so plugins get them too. The derivative panel marks the
  value fastact returns at each kink (its convention, PyTorch's for the built-ins);
  the curves are broken there.
* The built-in activations that are not elementwise maps are drawn along a 1-D slice
  the figure states: prelu, srelu and apl as one channel with the example parameters,
  rrelu in evaluation mode, softmax / log_softmax as the first component of [x, 0],
  maxout of [x, 0] with pieces=2, glu of [x, x]. A non-elementwise plugin is skipped
  with a note.
* Matplotlib is imported here only, through ``matplotlib.figure.Figure`` and the Agg
  canvas: pyplot and the user's backend are left alone.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from fastact.cli.common import UsageError, select
from fastact.cli.plot_curves import Skip, find_kinks, parse_range, subject

DEFAULT_DIR = "fastact-plots"
DEFAULT_XLIM = (-7.0, 7.0)
GRID = 1201                  # points per plotted curve
MISSING = "fastact plot needs matplotlib: pip install 'fastact[plot]'"
COLORS = ("C0", "C2", "C4")  # one per variant (gelu's two)
DCOLORS = ("C1", "C6", "C8")


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="activations to plot (default: all, plugins included)")
    parser.add_argument("-o", "--output", metavar="DIR", default=DEFAULT_DIR,
                        help=f"directory for the PNGs (default: ./{DEFAULT_DIR}, created "
                             f"if missing)")
    parser.add_argument("--xlim", nargs=2, type=float, metavar=("LO", "HI"),
                        default=list(DEFAULT_XLIM),
                        help=f"the x range (default: {DEFAULT_XLIM[0]:g} {DEFAULT_XLIM[1]:g})")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="the dtype the curves are computed in (default: float32; "
                             "kinks are always searched in float64)")


def import_matplotlib():
    """(Figure, FigureCanvasAgg), or a UsageError saying how to get matplotlib."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(MISSING) from None
    except Exception as exc:  # noqa: BLE001 (a broken installation)
        raise UsageError(f"{MISSING} (importing it failed: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    try:
        version = tuple(int(p) for p in matplotlib.__version__.split(".")[:2])
    except ValueError:
        version = (99, 0)
    if version < (3, 5):
        raise UsageError(f"fastact plot needs matplotlib >= 3.5 (this is "
                         f"{matplotlib.__version__}): pip install -U 'fastact[plot]'")
    return Figure, FigureCanvasAgg


def prepare_dir(path, names) -> Path:
    """The output directory, created if missing and checked writable; a UsageError
    (nothing written) if it cannot be used or a NAME.png there is not a file."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {path}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".fastact-plot-", suffix=".png"):
            pass
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot write there ({exc.strerror or exc})") from None
    for name in list(names) + ["gallery"]:
        target = out / f"{name}.png"
        if target.exists() and not target.is_file():
            raise UsageError(f"-o {path}: {target} exists and is not a file")
    return out


def tex(text) -> str:
    """Text as matplotlib shows it literally ($ would start mathtext)."""
    return str(text).replace("$", r"\$")


def fmt(v) -> str:
    return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:.6g}"


# ------------------------------------------------------------------------ the data
class Prepared:
    """One activation's curves on the grid, its kinks and its range marks."""

    def __init__(self, info, dtype, xlim):
        plot_subject = subject(info, dtype)
        exact = subject(info, np.float64)          # kinks: always float64
        self.info, self.s = info, plot_subject
        lo, hi = xlim
        self.x = np.linspace(lo, hi, GRID)
        self.curves = []   # (label, y, dy, kinks, values of dy at the kinks)
        for c, c64 in zip(plot_subject.curves, exact.curves):
            kinks = find_kinks(lambda t, c64=c64: c64.f(t), lambda t, c64=c64: c64.df(t),
                               lo, hi)
            with np.errstate(all="ignore"):
                y = np.asarray(c.f(self.x), dtype=np.float64)
                dy = np.asarray(c.df(self.x), dtype=np.float64)
                at = (np.asarray(c.df(np.array([k.x for k in kinks])), dtype=np.float64)
                      if kinks else np.empty(0))
            if y.shape != self.x.shape or dy.shape != self.x.shape:
                raise ValueError(f"returned shape {y.shape} / {dy.shape} for x of shape "
                                 f"{self.x.shape}")
            self.curves.append((c.label, y, dy, kinks, at))
        self.kinks = sorted({k.x: k for c in self.curves for k in c[3]}.values())
        self.marks, self.range_label = self.range_marks()

    def range_marks(self):
        """([y values to mark], legend label) for the output range."""
        text = self.s.output_range
        r = parse_range(text, self.s.names)
        if r is not None:
            marks = r.finite_bounds()
            if not marks:
                return [], ""
            shown = f"{'[' if r.lo_closed else '('}{fmt(r.lo)}, {fmt(r.hi)}{']' if r.hi_closed else ')'}"
            same = text.replace(" ", "").replace("...", "") == shown.replace(" ", "")
            return marks, f"output range {text}" + ("" if same else f" = {shown}")
        # not parsed: the observed extremes that are not just where the window ends
        # (unless the curve is flat there), and say so
        marks = []
        for label, y, dy, _, _ in self.curves[:1]:
            ok = np.isfinite(y)
            if not ok.any():
                break
            for pick in (np.nanargmin, np.nanargmax):
                i = int(pick(np.where(ok, y, np.nan)))
                edge = i < 0.01 * GRID or i > 0.99 * GRID
                if not edge or (np.isfinite(dy[i]) and abs(dy[i]) < 1e-6):
                    marks.append(float(y[i]))
        why = f"output range {text!r} not parsed" if text else "no output range given"
        if marks:
            return marks, f"observed extremes ({why})"
        return [], why

    def broken(self, values, at):
        """values on the grid with NaN inserted at the points `at` (the line breaks)."""
        if not at:
            return self.x, values
        idx = np.searchsorted(self.x, at)
        idx = idx[(idx > 0) & (idx < self.x.size)]
        return np.insert(self.x, idx, np.nan), np.insert(values, idx, np.nan)

    def ylim(self, arrays, marks=()):
        """Limits around the finite data, widened to marks that are near it."""
        data = np.concatenate([a[np.isfinite(a)] for a in arrays] or [np.zeros(1)])
        if data.size == 0:
            return -1.0, 1.0
        lo, hi = float(data.min()), float(data.max())
        span = hi - lo if hi > lo else max(1.0, abs(hi))
        for m in marks:
            if lo - span <= m <= hi + span:
                lo, hi = min(lo, m), max(hi, m)
        span = hi - lo if hi > lo else max(1.0, abs(hi))
        return lo - 0.08 * span, hi + 0.08 * span


# ------------------------------------------------------------------------ drawing
def kink_lines(ax, p, label=True, lw=1.0):
    for kind, style in (("kink", ":"), ("jump", "--")):
        xs = [k.x for k in p.kinks if k.what == kind]
        for i, x in enumerate(xs):
            ax.axvline(x, color="C3", ls=style, lw=lw, alpha=0.8,
                       label=(f"{kind}{'s' if len(xs) > 1 else ''} at x = "
                              f"{', '.join(fmt(v) for v in xs)}") if label and i == 0 else None)


def draw_one(Figure, Canvas, p, path, dtype):
    info, s = p.info, p.s
    fig = Figure(figsize=(11, 4.6), dpi=100, layout="constrained")
    Canvas(fig)
    axf, axd = fig.subplots(1, 2)
    jumps = [k.x for k in p.kinks if k.what == "jump"]
    all_kinks = [k.x for k in p.kinks]
    for i, (label, y, dy, kinks, at) in enumerate(p.curves):
        suffix = f" {label}" if label else ""
        style = dict(lw=2, ls="-" if i == 0 else (0, (4, 3)))   # variants: dashed over
        axf.plot(*p.broken(y, jumps), color=COLORS[i % 3], label=tex(f"f(x){suffix}"),
                 **style)
        axd.plot(*p.broken(dy, all_kinks), color=DCOLORS[i % 3],
                 label=tex(f"f'(x){suffix}"), **style)
        if kinks:
            axd.plot([k.x for k in kinks], at, "o", color="C3", ms=5, zorder=4,
                     label="f' at the kink (fastact's value)" if i == 0 else None)
    if len(p.curves) > 1:
        with np.errstate(all="ignore"):
            diff = max(float(np.nanmax(np.abs(c[1] - p.curves[0][1]))) for c in p.curves[1:])
        axf.plot([], [], " ", label=f"max |difference| of the variants: {diff:.2g}")
    for j, m in enumerate(p.marks):
        axf.axhline(m, color="0.4", ls="--", lw=1,
                    label=tex(p.range_label) if j == 0 else None)
    if p.range_label and not p.marks:
        axf.plot([], [], " ", label=tex(p.range_label))
    axf.set_ylim(*p.ylim([c[1] for c in p.curves], p.marks))
    axd.set_ylim(*p.ylim([c[2] for c in p.curves] + [c[4] for c in p.curves]))
    kink_lines(axf, p)
    kink_lines(axd, p, label=False)
    source = "" if info.builtin else f"  [plugin {info.plugin}]"
    axf.set_title("function", fontsize=10)
    axd.set_title(tex(f"derivative: {s.derivative_note}"), fontsize=10)
    for ax in (axf, axd):
        ax.set_xlabel("x")
        ax.set_xlim(p.x[0], p.x[-1])
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
        ax.grid(True, color="0.93")
        ax.legend(fontsize=8, loc="best")
    title = "\n".join(textwrap.wrap(f"{info.name if s.note else s.short}: {s.formula}", 110))
    if s.note:
        title += "\n" + "\n".join(textwrap.wrap(f"plotted: {s.note}", 110))
    fig.suptitle(tex(title + source), fontsize=11)
    fig.text(0.995, 0.005, f"fastact, {dtype}", ha="right", va="bottom", fontsize=7,
             color="0.5")
    fig.savefig(path)


def draw_gallery(Figure, Canvas, prepared, path):
    n = len(prepared)
    ncols = min(6, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(2.7 * ncols, 2.2 * nrows + 0.6), dpi=90, layout="constrained")
    Canvas(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, p in zip(axes, prepared):
        jumps = [k.x for k in p.kinks if k.what == "jump"]
        for i, (label, y, dy, kinks, at) in enumerate(p.curves):
            ax.plot(*p.broken(y, jumps), color=COLORS[i % 3], lw=1.5)
            ax.plot(*p.broken(dy, [k.x for k in p.kinks]), color=DCOLORS[i % 3], lw=1,
                    ls="--")
        for m in p.marks:
            ax.axhline(m, color="0.5", ls="--", lw=0.6)
        kink_lines(ax, p, label=False, lw=0.8)
        ax.set_ylim(*p.ylim([c[1] for c in p.curves] + [c[2] for c in p.curves], p.marks))
        ax.set_xlim(p.x[0], p.x[-1])
        ax.axhline(0, color="0.85", lw=0.6, zorder=0)
        ax.axvline(0, color="0.85", lw=0.6, zorder=0)
        ax.tick_params(labelsize=6)
        name = p.s.short if (p.s.note or len(p.curves) == 1) else f"{p.info.name} (none, tanh)"
        if not p.info.builtin:
            name += " [plugin]"
        ax.set_title(tex(name), fontsize=7.5)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("fastact activations: f (solid), f' from the backward (dashed), output "
                 "range (grey dashes), kinks and jumps (red)", fontsize=10)
    fig.savefig(path)


# ------------------------------------------------------------------------ the command
def run(args) -> int:
    start = time.perf_counter()
    infos = select(args.names)
    lo, hi = args.xlim
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UsageError(f"--xlim {fmt(lo)} {fmt(hi)}: needs finite LO < HI")
    Figure, Canvas = import_matplotlib()
    out = prepare_dir(args.output, [i.name for i in infos])
    dtype = np.dtype(args.dtype)
    prepared, skipped, failed = [], [], []
    for info in infos:
        try:
            prepared.append(Prepared(info, dtype, (lo, hi)))
        except Skip as exc:
            skipped.append(info.name)
            print(f"fastact plot: skipped {exc}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 (a plugin's fault: report it, go on)
            failed.append(info.name)
            msg = str(exc).splitlines()[0] if str(exc) else ""
            print(f"fastact plot: skipped {info.name}: calling it failed "
                  f"({type(exc).__name__}: {msg})", file=sys.stderr)
    written = []
    for p in list(prepared):
        path = out / f"{p.info.name}.png"
        try:
            draw_one(Figure, Canvas, p, path, dtype.name)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        except Exception as exc:  # noqa: BLE001 (say, a plugin's formula matplotlib refuses)
            prepared.remove(p)
            failed.append(p.info.name)
            print(f"fastact plot: skipped {p.info.name}: drawing it failed "
                  f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                  file=sys.stderr)
            continue
        written.append(path)
        print(path, flush=True)
    if prepared:
        gallery = out / "gallery.png"
        draw_gallery(Figure, Canvas, prepared, gallery)
        print(gallery, flush=True)
    curves = sum(len(p.curves) for p in prepared)
    notes = []
    if skipped or failed:
        notes.append(f"{len(skipped) + len(failed)} skipped "
                     f"({', '.join(skipped + failed)})")
    with_kinks = sum(bool(p.kinks) for p in prepared)
    print(f"fastact plot: {len(written)} activation plot(s) ({curves} curves, "
          f"{with_kinks} with kinks or jumps)"
          f"{' and a gallery' if prepared else ''} in {out}{os.sep}, {dtype.name}, x in "
          f"[{fmt(lo)}, {fmt(hi)}]; {'; '.join(notes) + '; ' if notes else ''}"
          f"{time.perf_counter() - start:.1f} s")
    return 1 if failed or not prepared else 0
