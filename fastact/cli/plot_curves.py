"""What ``fastact plot`` draws, without matplotlib: a 1-D curve (function and derivative)
for every activation, its output range parsed from the description, and its kinks found
numerically. Everything here is pure and tested on its own (tests/test_cli_plot.py).

* ``subject(info, dtype)``: the curves of one activation. Elementwise ones (plugins
  included) are called with their example hyper-parameters (gelu once per
  approximation, both in one figure); the built-in non-elementwise ones get a 1-D slice
  that is said in the title (LAYER_CURVES); a plugin of another kind is skipped (Skip).
* ``parse_range(text, names)``: "(-alpha, inf)" with alpha=2 -> Range(-2, inf, ...).
* ``find_kinks(f, df, lo, hi)``: where f or f' is discontinuous, from the derivative on
  a fine grid, refined by bisection; a smooth curve has none.
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional

import numpy as np

from fastact.cli.common import EXAMPLE_PARAMS, default_params, layer_arguments, variant_params


class Skip(Exception):
    """This activation has no 1-D curve to plot; the message says why (one line)."""


# ------------------------------------------------------------------------ range parsing
class Range(NamedTuple):
    lo: float
    hi: float
    lo_closed: bool
    hi_closed: bool

    def finite_bounds(self) -> list:
        return [v for v in (self.lo, self.hi) if math.isfinite(v)]


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_FUNCS = {"sqrt": math.sqrt, "exp": math.exp, "log": math.log, "abs": abs}
_CONSTS = {"inf": math.inf, "infinity": math.inf, "pi": math.pi, "e": math.e}


def _evaluate(text: str, names: dict) -> float:
    """The value of a bound such as '-scale*alpha', '1/sqrt(alpha)', '-0.27846...',
    'inf' (numbers, names, + - * / ** and sqrt/exp/log/abs only). ValueError otherwise."""
    text = text.strip().replace("\u2212", "-").replace("\u221e", "inf").replace("^", "**")
    text = re.sub(r"(\d)\s*(\.\.\.|\u2026)", r"\1", text)          # -0.27846... -> -0.27846
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ValueError(f"not an expression: {text!r}") from None

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in names:
                value = names[node.id]
            elif node.id.lower() in _CONSTS:
                value = _CONSTS[node.id.lower()]
            else:
                raise ValueError(f"unknown name {node.id!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{node.id} is not a number")
            return float(value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCS and len(node.args) == 1 and not node.keywords):
            return float(_FUNCS[node.func.id](ev(node.args[0])))
        raise ValueError(f"unsupported in a bound: {ast.dump(node)}")

    try:
        return ev(tree)
    except (ArithmeticError, OverflowError) as exc:
        raise ValueError(str(exc)) from None


def parse_range(text: str, names: Optional[dict] = None) -> Optional[Range]:
    """The interval an ``output_range`` string describes, with hyper-parameters and
    constants (`names`) substituted: "(0, 1)", "[min_val, max_val]", "(-alpha, inf)",
    "[-0.27846..., inf)", "{0, 1}" (a set: its min and max), "[0, 1], rows sum to 1"
    (the interval, the rest ignored). None where it says no interval ("depends on
    beta", "") or a bound does not evaluate. Never raises."""
    if not isinstance(text, str):
        return None
    names = names or {}
    try:
        parts = _interval(text)
        if parts is None:
            return None
        open_, items, close = parts
        values = [_evaluate(v, names) for v in items]
        if any(math.isnan(v) for v in values):
            return None
        if open_ == "{":                                   # a set of values
            return Range(min(values), max(values), True, True)
        if len(values) != 2 or values[0] > values[1]:
            return None
        return Range(values[0], values[1], open_ == "[", close == "]")
    except (ValueError, TypeError, RecursionError):
        return None


def _interval(text):
    """'[a, f(b, c))...' -> ('[', ['a', 'f(b, c)'], ')'): the leading bracketed list,
    split at its top-level commas; None if the text does not start with one."""
    text = text.strip()
    if not text or text[0] not in "[({":
        return None
    depth, items, start = 0, [], 1
    for i, ch in enumerate(text[1:], 1):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            if depth == 0:
                if (text[0] == "{") != (ch == "}"):
                    return None
                items.append(text[start:i])
                return text[0], items, ch
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    return None


def doc_constants(doc: str) -> dict:
    """'scale = 1.0507..., alpha = 1.6732...' in an activation's doc (selu's notes):
    the named constants an output range may use."""
    found = {}
    for name, value in re.findall(r"\b([A-Za-z_]\w*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)",
                                  doc or ""):
        found.setdefault(name, float(value))
    return found


# ------------------------------------------------------------------------ kink detection
class Kink(NamedTuple):
    x: float
    f_jump: float       # |f(x+) - f(x-)|: nonzero where the function itself jumps
    df_jump: float      # |f'(x+) - f'(x-)|

    @property
    def what(self) -> str:
        return "jump" if self.f_jump else "kink"


def _isolated(v, factor=4.0):
    """v[i] (>= 0) that stands out against its two neighbours on each side."""
    padded = np.concatenate([[0.0, 0.0], v, [0.0, 0.0]])
    nb = np.maximum.reduce([padded[0:-4], padded[1:-3], padded[3:-1], padded[4:]])
    return v > factor * nb


def _bisect(g, a, b, iterations=50):
    """Narrow each interval [a_i, b_i] around the jump of g in it: keep the half whose
    end values differ more. Returns (a, b, |g(b) - g(a)|) after narrowing."""
    ga, gb = g(a), g(b)
    for _ in range(iterations):
        m = 0.5 * (a + b)
        gm = g(m)
        left = np.abs(gm - ga) >= np.abs(gb - gm)
        b, gb = np.where(left, m, b), np.where(left, gm, gb)
        a, ga = np.where(left, a, m), np.where(left, ga, gm)
    return a, b, np.abs(gb - ga)


def _snap(x):
    """0.4999999999999 -> 0.5: a kink at a round number shows as that number."""
    r = round(x, 6)
    return r + 0.0 if abs(x - r) <= 1e-9 * (1 + abs(x)) else x


def find_kinks(f: Callable, df: Callable, lo: float, hi: float, n: int = 4001,
               tol: float = 1e-6) -> list:
    """The points of (lo, hi) where f (vectorised, float64 in and out) or its derivative
    df jumps: [Kink(x, f_jump, df_jump)], sorted. Found on a grid of n points offset so
    round numbers are not grid points (a derivative step stands out against its
    neighbours, a function step as a residual of the trapezoid rule), each candidate
    narrowed by bisection to about 1e-15 and kept only if the step survives: a steep
    but smooth stretch flattens out, a true discontinuity does not. Jumps smaller
    than tol times the scale of f (or f') are ignored (softplus's switch to x at
    beta * x = 20, 2e-9, is not a kink)."""
    x = lo + (hi - lo) * (np.arange(n) + 1 / math.pi) / n
    h = np.diff(x)
    with np.errstate(all="ignore"):
        y = np.asarray(f(x), dtype=np.float64)
        d = np.asarray(df(x), dtype=np.float64)
        dd = np.abs(np.diff(d))
        resid = np.abs(np.diff(y) - h * 0.5 * (d[1:] + d[:-1]))
    fin = np.isfinite(y)
    dfin = np.isfinite(d)
    scale_f = max(1.0, float(np.max(np.abs(y[fin]))) if fin.any() else 1.0)
    scale_d = max(1.0, float(np.max(np.abs(d[dfin]))) if dfin.any() else 1.0)
    dd = np.where(np.isfinite(dd), dd, 0.0)
    resid = np.where(np.isfinite(resid), resid, 0.0)
    found = []      # (x, f_jump, df_jump)
    for g, steps, scale, is_f in ((df, dd, scale_d, False), (f, resid, scale_f, True)):
        idx = np.nonzero(_isolated(steps) & (steps > tol * scale))[0]
        if idx.size == 0:
            continue
        with np.errstate(all="ignore"):
            a, b, jump = _bisect(lambda t: np.asarray(g(t), dtype=np.float64),
                                 x[idx].copy(), x[idx + 1].copy())
        keep = np.isfinite(jump) & (jump > 0.5 * steps[idx]) & (jump > tol * scale)
        for xa, xb, j in zip(a[keep], b[keep], jump[keep]):
            xk = _snap(float(0.5 * (xa + xb)))
            found.append((xk, float(j), 0.0) if is_f else (xk, 0.0, float(j)))
    merged = []
    for xk, fj, dj in sorted(found):
        if merged and abs(xk - merged[-1][0]) <= 1e-6 * (1 + abs(xk)):
            px, pf, pd = merged[-1]
            merged[-1] = (px, max(pf, fj), max(pd, dj))
        else:
            merged.append((xk, fj, dj))
    return [Kink(*k) for k in merged]


# ------------------------------------------------------------------------ curves
@dataclass
class Curve:
    label: str                       # the legend label ("" for a single curve)
    f: Callable                      # 1-D array -> 1-D array (same dtype)
    df: Callable                     # its derivative, by fastact's backward with grad 1


@dataclass
class Subject:
    name: str
    formula: str                     # the title's formula line
    note: str                        # what is plotted (non-elementwise), "" otherwise
    short: str                       # the gallery panel's title
    curves: list
    names: dict = field(default_factory=dict)   # for the output range's bounds
    output_range: str = ""
    derivative_note: str = "fastact's backward with grad = 1"


def _fmt(v) -> str:
    v = np.asarray(v, dtype=np.float64).ravel()
    return f"{v[0]:g}" if v.size == 1 else "[" + ", ".join(f"{e:g}" for e in v) + "]"


def _layer_curves(info, dtype):
    """(note, short title, Curve) for a built-in non-elementwise activation."""
    name, fwd, bwd = info.name, info.forward, info.backward
    col = lambda x: np.ascontiguousarray(x[:, None], dtype=dtype)  # noqa: E731
    pair = lambda x, z: np.ascontiguousarray(np.stack([x, z], axis=1), dtype=dtype)  # noqa: E731
    if name in ("prelu", "srelu", "apl"):
        args, kwargs = layer_arguments(name, 1, dtype)
        labels = {"prelu": ("weight",), "srelu": ("t_left", "a_left", "t_right", "a_right"),
                  "apl": ("a", "b")}[name]
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(labels, args))
        f = lambda x: fwd(col(x), *args, **kwargs)[:, 0]  # noqa: E731
        df = lambda x: bwd(np.ones((x.size, 1), dtype), col(x), *args, **kwargs)[0][:, 0]  # noqa: E731
        return f"x as one channel, {shown}", f"{name} ({shown})", Curve("", f, df)
    if name == "rrelu":
        lower, upper = 1 / 8, 1 / 3
        f = lambda x: fwd(np.ascontiguousarray(x, dtype), training=False)  # noqa: E731
        df = lambda x: bwd(np.ones(x.size, dtype), np.ascontiguousarray(x, dtype))  # noqa: E731
        return (f"evaluation mode (training=False): slope (lower + upper) / 2 = "
                f"{(lower + upper) / 2:.4g} for x <= 0", "rrelu (evaluation)", Curve("", f, df))
    if name in ("softmax", "log_softmax"):
        def f(x):
            return fwd(pair(x, np.zeros_like(x)), axis=1)[:, 0]

        def df(x):   # d y_0 / d x_0: the backward of grad [1, 0]
            g = np.zeros((x.size, 2), dtype)
            g[:, 0] = 1
            return bwd(g, pair(x, np.zeros_like(x)), axis=1)[:, 0]
        same = "sigmoid(x)" if name == "softmax" else "logsigmoid(x)"
        return (f"first component of {name}([x, 0]) = {same}", f"{name}([x, 0])[0]",
                Curve("", f, df), "fastact's backward with grad [1, 0]: d y_0 / d x_0")
    if name == "maxout":
        f = lambda x: fwd(pair(x, np.zeros_like(x)), 2, axis=1)[:, 0]  # noqa: E731
        df = lambda x: bwd(np.ones((x.size, 1), dtype), pair(x, np.zeros_like(x)), 2,  # noqa: E731
                           axis=1)[:, 0]
        return "maxout([x, 0], pieces=2) = max(x, 0)", "maxout([x, 0])", Curve("", f, df)
    if name == "glu":
        f = lambda x: fwd(pair(x, x), axis=1)[:, 0]  # noqa: E731
        df = lambda x: bwd(np.ones((x.size, 1), dtype), pair(x, x), axis=1).sum(axis=1)  # noqa: E731
        return ("glu([x, x]) = x * sigmoid(x) (both halves x; d/dx sums their gradients)",
                "glu([x, x])", Curve("", f, df),
                "fastact's backward with grad 1, the halves' gradients summed")
    return None


LAYER_CURVES = ("prelu", "srelu", "apl", "rrelu", "softmax", "log_softmax", "maxout", "glu")


def subject(info, dtype=np.float64) -> Subject:
    """The curves to plot for `info` (an ActivationInfo), called in `dtype`. Raises
    Skip for an activation that has no 1-D curve (a non-elementwise plugin, or an
    elementwise one whose hyper-parameters have no defaults)."""
    dtype = np.dtype(dtype)
    names = dict(doc_constants(info.doc))
    if info.kind != "elementwise":
        made = _layer_curves(info, dtype) if info.builtin and info.name in LAYER_CURVES else None
        if made is None:
            raise Skip(f"{info.name}: a {info.kind} activation"
                       f"{' from plugin ' + info.plugin if info.plugin else ''} with the "
                       f"signature {info.signature or '?'}; fastact plot only knows how to "
                       f"draw elementwise plugins")
        note, short, curve, *how = made
        result = Subject(info.name, info.formula, note, short, [curve], names, info.output_range)
        if how:
            result.derivative_note = how[0]
        return result
    missing = [k for k, v in info.params.items() if v is inspect.Parameter.empty
               and k not in EXAMPLE_PARAMS.get(info.name, {})]
    if missing:
        raise Skip(f"{info.name}: hyper-parameter(s) {', '.join(missing)} have no default "
                   f"to plot with")
    curves = []
    for label, params in variant_params(info):
        def f(x, params=params):
            return info.forward(np.ascontiguousarray(x, dtype), **params)

        def df(x, params=params):
            x = np.ascontiguousarray(x, dtype)
            return info.backward(np.ones_like(x), x, **params)
        curves.append(Curve(label if len(variant_params(info)) > 1 else "", f, df))
    params = default_params(info)
    names.update({k: v for k, v in params.items() if isinstance(v, (int, float))})
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()
                      if not (len(curves) > 1 and k == "approximate"))
    short = f"{info.name}({shown})" if shown else info.name
    return Subject(info.name, info.formula, "", short, curves, names, info.output_range)
