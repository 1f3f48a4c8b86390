"""Every registered activation (built-in and plugin) and its properties.

Columns: name, kind, source (built-in, or the plugin and its distribution),
hyper-parameters with their defaults, output range, monotonic, zero-centred, smooth
(C^1), and whether the backward accepts the forward's output (``y=``).
"""

from __future__ import annotations

import inspect
import json
import sys

from fastact.cli.common import select

YES_NO = {True: "yes", False: "no", None: "?"}


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="activations to list (default: all)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")


def source_of(info) -> str:
    if info.builtin:
        return "built-in"
    return f"plugin {info.plugin}" + (f" ({info.distribution})" if info.distribution else "")


def params_text(info) -> str:
    """'beta=1.0, threshold=20.0'; a parameter without default shows as 'name' alone.
    The non-elementwise activations show their arguments after x, from the signature
    ('weight, axis=1' for prelu)."""
    if info.kind != "elementwise" and "(" in info.signature:
        inner = info.signature[info.signature.index("(") + 1:info.signature.rindex(")")]
        return ", ".join(a.strip() for a in inner.split(",")
                         if a.strip() not in ("x", "*", "out=None"))
    return ", ".join(k if v is inspect.Parameter.empty else f"{k}={v!r}"
                     for k, v in info.params.items())


def record(info) -> dict:
    """The JSON record of one activation."""
    return {
        "name": info.name, "kind": info.kind, "builtin": info.builtin,
        "plugin": info.plugin, "distribution": info.distribution,
        "implementation": info.implementation, "signature": info.signature,
        "params": {k: (None if v is inspect.Parameter.empty else v)
                   for k, v in info.params.items()},
        "params_required": [k for k, v in info.params.items() if v is inspect.Parameter.empty],
        "formula": info.formula, "derivative": info.derivative,
        "output_range": info.output_range, "monotonic": info.monotonic,
        "zero_centred": info.zero_centred, "smooth": info.smooth,
        "saturating": info.saturating or None, "backward_from_y": info.backward_from_y,
        "in_place": info.forward_ is not None,
    }


COLUMNS = (("name", lambda i: i.name), ("kind", lambda i: i.kind),
           ("source", source_of), ("hyper-parameters", params_text),
           ("output range", lambda i: i.output_range or "?"),
           ("monotonic", lambda i: YES_NO[i.monotonic]),
           ("zero-centred", lambda i: YES_NO[i.zero_centred]),
           ("smooth", lambda i: YES_NO[i.smooth]),
           ("bwd from y", lambda i: YES_NO[i.backward_from_y]))


def table(infos) -> str:
    rows = [[header for header, _ in COLUMNS]]
    rows += [[cell(info) for _, cell in COLUMNS] for info in infos]
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args) -> int:
    infos = select(args.names)
    if args.json:
        json.dump([record(i) for i in infos], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(table(infos))
        builtins = sum(i.builtin for i in infos)
        print(f"\n{len(infos)} activations: {builtins} built-in, {len(infos) - builtins} "
              f"from plugins ('fastact check', 'fastact bench' and 'fastact plot' take "
              f"these names)")
    return 0
