"""Build-time code generation from the catalog (fastact/_catalog.py).

Renders every ``pyx/*.tp`` Tempita template next to itself (``_api.pyx.tp`` ->
``_api.pyx``; ``_kernels.pyx.tp`` once per instruction-set variant, ``_kernels_avx2.pyx``
...) and writes the type stub ``fastact/_api.pyi``. Files are only rewritten
when their text changes, so unchanged sources are not recompiled. Run by setup.py; also
runnable by hand: ``python pyx/codegen.py``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
PYX = ROOT / "pyx"
DTYPES = (("float", "f32"), ("double", "f64"))


def load_by_path(name: str):
    """Import fastact/<name>.py by path: the package itself is not built yet."""
    spec = importlib.util.spec_from_file_location(f"_fastact{name}", ROOT / "fastact" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def load_catalog():
    """fastact/_catalog.py, imported by path."""
    return load_by_path("_catalog")


# Instruction-set variants of the kernel module, best last: name -> extra compiler flags
# (x86-64 only; elsewhere just "baseline" is built). Defined in fastact/_variants.py,
# which plugins' builds (fastact.build) share.
variants = load_by_path("_variants")
VARIANTS = variants.VARIANTS


def kernels(catalog):
    out = []
    for name, act, from_y in catalog.kernel_specs():
        forms = [("x", "x")] + ([("y", "y")] if from_y else [])
        params = [p.name for p in act.numeric_params]
        out.append(SimpleNamespace(
            name=name, act=act, cheap=act.cheap, from_y=from_y, backward_forms=forms,
            # the C API's hyper-parameter arguments (fastact_capi.h, capi.pxd)
            params=params, cparams="".join(f" double {p}," for p in params),
            cargs="".join(f" {p}," for p in params),
            cinit="{" + ", ".join(params + ["0"] * (4 - len(params))) + "}"))
    return out


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def signature_params(act, catalog):
    """The keyword-only hyper-parameters as they appear in a def line."""
    parts = []
    for p in act.params:
        parts.append(p.name if p.default is catalog.REQUIRED else f"{p.name}={p.default!r}")
    return parts


def keyword_params(act, catalog) -> str:
    """', name=default, ...' for a def line (the '*' is already there)."""
    return "".join(", " + part for part in signature_params(act, catalog))


def prologue(act, func: str, catalog) -> str:
    """Cython lines (4-space indent) that check the hyper-parameters, fill the double
    array p[2] in catalog order and pick the kernel k; nothing is computed before."""
    lines = ["    cdef double p[2]", "    p[0] = 0", "    p[1] = 0"]
    names = {}
    for i, param in enumerate(act.numeric_params):
        names[param.name] = f"p[{i}]"
        lines.append(f'    p[{i}] = real_param("{func}", "{param.name}", {param.name})')
        if param.check == "nonzero":
            lines.append(f'    if p[{i}] == 0: raise ValueError("{func}: {param.name} must be nonzero")')
        elif param.check == "nonnegative":
            lines.append(f'    if not p[{i}] >= 0: raise ValueError('
                         f'f"{func}: {param.name} must be >= 0, got {{{param.name}!r}}")')
    if act.constraint:
        expr = act.constraint
        for name, slot in names.items():
            expr = re.sub(rf"\b{name}\b", slot, expr)
        lines.append(f'    if not ({expr}): raise ValueError("{func}: {act.constraint} is required")')
    lines.append("    cdef const fa_kernel *k")
    if act.variants:
        (choice,) = [p for p in act.params if p.choices]
        for j, (value, kernel) in enumerate(act.variants.items()):
            lines.append(f'    {"if" if j == 0 else "elif"} {choice.name} == {value!r}: k = K_{kernel}')
        lines.append(f'    else: raise ValueError(f"{func}: {choice.name} must be one of '
                     f'{list(act.variants)}, got {{{choice.name}!r}}")')
    else:
        lines.append(f"    k = K_{act.name}")
    return "\n".join(lines)


def lazy_hook(act, form: str) -> str:
    """The first line of a public form: a Dask array (any of its array arguments) goes to
    fastact/_dask.py, which maps the NumPy form over its chunks (lazily, nothing computed)."""
    func = act.name + {"forward": "", "inplace": "_", "backward": "_backward",
                       "backward_inplace": "_backward_"}[form]
    arrays = "(x,)" if form in ("forward", "inplace") else "(grad, x)"
    test = "lazy(x)" if form in ("forward", "inplace") else "lazy(grad) or lazy(x) or lazy(y)"
    keywords = ([] if form in ("forward", "inplace") else ["y=y"]) + \
        (["out=out"] if form in ("forward", "backward") else []) + [f"{p.name}={p.name}" for p in act.params]
    return f'    if {test}:\n        return lazy_call("{func}", {arrays}, dict({", ".join(keywords)}))'


DASK_IN_PLACE = "Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."


def docstring(act, form: str, catalog) -> str:
    """The docstring of one public form, from the catalog entry."""
    params = "".join(
        f"\n    {p.name} : {'str' if p.choices else 'float'}"
        f"{'' if p.default is catalog.REQUIRED else f', default {p.default!r}'}\n        {p.doc}"
        for p in act.params)
    body = {
        "forward": f"{act.name}(x) = {act.formula}.\n\nReturns a new array (or fills and returns `out`).",
        "inplace": f"In-place {act.name}: x <- {act.formula}.\n\nx must be a writeable float32 or "
                   f"float64 ndarray; returns x. {DASK_IN_PLACE}",
        "backward": f"Gradient of {act.name}: grad * f'(x), f'(x) = {act.derivative}.\n\n"
                    f"Give the forward input x" + (
                        f" or the forward output y (f' = {act.derivative_from_y})"
                        if act.backward_from_y else " (there is no backward from the output)")
                    + ". Returns a new array (or fills and returns `out`).",
        "backward_inplace": f"In-place gradient of {act.name}: grad <- grad * f'(x), "
                            f"f'(x) = {act.derivative}.\n\ngrad must be a writeable float32 "
                            f"or float64 ndarray; returns grad. {DASK_IN_PLACE}"
                            + (" Accepts y (the forward output) instead of x." if act.backward_from_y else ""),
    }[form]
    notes = f"\n\n{act.notes}" if act.notes else ""
    return (f"{body}\n\nRange: {act.output_range}.{notes}"
            + (f"\n\nParameters (keyword-only)\n-------------------------{params}" if params else ""))


def hand_written_stubs() -> tuple[list, str]:
    """(names, text) of the stubs kept beside the hand-written API includes
    (pyx/*_api.pyi: the activations whose signatures are not generated)."""
    names, parts = [], []
    for path in sorted(PYX.glob("*_api.pyi")):
        text = path.read_text()
        names += re.findall(r"^def (\w+)\(", text, flags=re.M)
        parts.append(text)
    return names, "\n".join(parts)


def stub(catalog) -> str:
    extra_names, extra_text = hand_written_stubs()
    lines = ['"""Type stub generated by pyx/codegen.py from fastact/_catalog.py."""',
             "from types import ModuleType",
             "from typing import Optional", "import numpy as np", "from numpy.typing import ArrayLike, NDArray", "",
             "__all__ = " + repr(["get_num_threads", "set_num_threads"] + [
                 act.name + suffix for act in catalog.ACTIVATIONS
                 for suffix in ("", "_", "_backward", "_backward_")] + extra_names),
             "kernels: ModuleType", "VARIANTS: tuple[str, ...]",
             "def set_num_threads(n: int) -> None: ...", "def get_num_threads() -> int: ...",
             "def cpu_variants() -> tuple[str, ...]: ...", "def runnable_variants() -> tuple[str, ...]: ...", "def use_kernels(variant: str) -> None: ...", ""]
    for act in catalog.ACTIVATIONS:
        hyper = []
        for p in act.params:
            typ = "str" if p.choices else "float"
            hyper.append(f"{p.name}: {typ}" + ("" if p.default is catalog.REQUIRED else " = ..."))
        kw = "".join(", " + h for h in hyper)
        n = act.name
        lines += [
            f"def {n}(x: ArrayLike, *, out: Optional[NDArray[np.floating]] = None{kw}) -> NDArray[np.floating]: ...",
            f"def {n}_(x: NDArray[np.floating]{', *' + kw if kw else ''}) -> NDArray[np.floating]: ...",
            f"def {n}_backward(grad: ArrayLike, x: Optional[ArrayLike] = None, *, y: Optional[ArrayLike] = None,"
            f" out: Optional[NDArray[np.floating]] = None{kw}) -> NDArray[np.floating]: ...",
            f"def {n}_backward_(grad: NDArray[np.floating], x: Optional[ArrayLike] = None, *,"
            f" y: Optional[ArrayLike] = None{kw}) -> NDArray[np.floating]: ...",
        ]
    return "\n".join(lines) + "\n" + extra_text


README_START = "<!-- activation table: generated from fastact/_catalog.py by `python pyx/codegen.py --readme`; a test checks it -->"
README_END = "<!-- end of activation table -->"


def activation_table(catalog) -> str:
    """The README's table of activations (markdown)."""
    rows = ["| activation | hyper-parameters | f(x) | f'(x) | range | from y |",
            "| --- | --- | --- | --- | --- | --- |"]
    for act in catalog.ACTIVATIONS:
        params = ", ".join(signature_params(act, catalog)) or "-"
        cells = [f"`{act.name}`", params, act.formula, act.derivative, act.output_range,
                 "yes" if act.backward_from_y else ""]
        rows.append(table_row(cells))
    rows += ["", "Learnable, random and axis-wise activations (their own signatures; "
                 "see docs/learnable_activations.md and docs/axis_activations.md):", "",
             "| call | kind | f | backward returns | derivative | range | in place | from y |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for act in catalog.LAYER_ACTIVATIONS:
        cells = [f"`{act.signature}`", act.kind, act.formula, act.backward_returns,
                 act.derivative, act.output_range, "yes" if act.in_place else "",
                 "yes" if act.backward_from_y else ""]
        rows.append(table_row(cells))
    return "\n".join(rows)


def table_row(cells) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def readme_with_table(text: str, catalog) -> str:
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{activation_table(catalog)}\n{README_END}{tail}"


def axis_ops(catalog):
    """The axis-wise activations in the C API: name, the _api table pointer, the group
    (maxout: pieces, given by the caller), backward from y, formula."""
    tables = {"softmax": ("AX_SOFTMAX", 1), "log_softmax": ("AX_LOG_SOFTMAX", 1),
              "maxout": ("AX_MAXOUT", 0), "glu": ("AX_GLU", 2)}
    ops = []
    for name, (table, group) in tables.items():
        from_y = catalog.LAYER_BY_NAME[name].backward_from_y
        # (the kernel table's field, the C API's name for it)
        entries = [("forward", "forward"), ("backward_x", "backward")]
        entries += [("backward_y", "backward_y")] if from_y else []
        ops.append(SimpleNamespace(name=name, table=table, group=group, from_y=from_y,
                                   entries=entries,
                                   formula=catalog.LAYER_BY_NAME[name].formula))
    return ops


CAPI_OUTPUTS = {"fastact_capi.h.tp": ROOT / "fastact" / "include" / "fastact_capi.h",
                "capi.pxd.tp": ROOT / "fastact" / "capi.pxd"}


def render_all() -> list[Path]:
    from Cython.Tempita import sub

    catalog = load_catalog()
    namespace = dict(DTYPES=DTYPES, KERNELS=kernels(catalog), ACTIVATIONS=catalog.ACTIVATIONS,
                     VARIANT_NAMES=tuple(VARIANTS), AXIS_OPS=axis_ops(catalog),
                     DTYPE_SLOTS=[(slot, T, S) for slot, (T, S) in enumerate(DTYPES)],
                     kw=lambda act: keyword_params(act, catalog),
                     prologue=lambda act, func: prologue(act, func, catalog),
                     lazy_hook=lazy_hook,
                     doc=lambda act, form: repr(docstring(act, form, catalog)))
    rendered = []
    for template in sorted(PYX.glob("*.tp")):
        if template.name == "_kernels.pyx.tp":       # one module per instruction set
            targets = {PYX / f"_kernels_{v}.pyx": v for v in VARIANTS}
        else:
            targets = {template.with_suffix(""): None}
        for target, variant in targets.items():
            write_if_changed(target, sub(template.read_text(), VARIANT=variant, **namespace))
            rendered.append(target)
    # the C API's header and .pxd, installed with the package
    for template, target in CAPI_OUTPUTS.items():
        write_if_changed(target, sub((PYX / "capi" / template).read_text(), **namespace))
        rendered.append(target)
    write_if_changed(ROOT / "fastact" / "_api.pyi", stub(catalog))
    return rendered


if __name__ == "__main__":
    for path in render_all():
        print("rendered", path.relative_to(ROOT))
    if "--readme" in sys.argv:
        readme = ROOT / "README.md"
        write_if_changed(readme, readme_with_table(readme.read_text(), load_catalog()))
        print("updated the activation table in README.md")
