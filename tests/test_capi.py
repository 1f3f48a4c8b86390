"""The C and Cython API (issue 5; docs/c_api.md): fastact_capi.h and fastact/capi.pxd.

The two examples of docs/c_api.md (a Cython module and a C extension, each with its
setup.py) are extracted exactly as written and built with `python setup.py build_ext
--inplace` against this checkout, together with a generated Cython module that reaches
every kernel x dtype x form of the header. Everything is compared bit for bit with the
Python API: contiguous, strided (negative strides included), in place, backward from x
and from y, non-default hyper-parameters, large arrays with nthreads 0, 1 and 2. The
Cython kernels run with the GIL released while another Python thread runs, and
import_fastact() refuses a table whose version is too old.
"""

import ctypes
import inspect
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

import fastact

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "c_api.md"
DTYPES = {"f32": np.float32, "f64": np.float64}
UINT = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def _compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


NO_COMPILER = "no C compiler: the C and Cython examples cannot be built"

# Kernels whose Python function is another activation with a choice.
VARIANT_OF = {"gelu_tanh": ("gelu", {"approximate": "tanh"})}

# Non-default (valid) hyper-parameters for every numeric keyword of the Python functions.
PARAM_VALUES = {
    ("leaky_relu", "negative_slope"): 0.3,
    ("elu", "alpha"): 0.7,
    ("celu", "alpha"): 1.7,
    ("softplus", "beta"): 2.0,
    ("softplus", "threshold"): 5.0,
    ("swish", "beta"): 1.5,
    ("hardtanh", "min_val"): -0.5,
    ("hardtanh", "max_val"): 2.0,
    ("softshrink", "lambd"): 0.3,
    ("hardshrink", "lambd"): 0.7,
    ("threshold", "threshold"): 0.25,
    ("threshold", "value"): -3.0,
}


# ------------------------------------------------------------------ the catalog
def kernels():
    """[(kernel name, python function name, choice kwargs, numeric params, from y)]."""
    out = []
    for act in fastact.ACTIVATIONS:
        for kernel in act.kernel_names:
            pyname, choice = VARIANT_OF.get(kernel, (kernel, {}))
            assert pyname == act.name, (kernel, act.name)
            sig = inspect.signature(getattr(fastact, pyname))
            params = [p.name for p in sig.parameters.values()   # the numeric keywords
                      if p.kind is p.KEYWORD_ONLY and p.name != "out"
                      and not isinstance(p.default, str)]
            out.append(types.SimpleNamespace(name=kernel, pyname=pyname, choice=choice,
                                             params=params, from_y=act.backward_from_y))
    return out


KERNELS = kernels()
KERNEL_NAMES = [k.name for k in KERNELS]


def test_catalog_kernels_are_the_documented_ones():
    assert set(KERNEL_NAMES) >= {
        "identity", "binary_step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu",
        "celu", "softplus", "silu", "swish", "gelu", "gelu_tanh", "mish", "bent_identity",
        "softsign", "relu6", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid",
        "tanhshrink", "softshrink", "hardshrink", "threshold"}
    missing = [(k.name, p) for k in KERNELS for p in k.params if (k.name, p) not in PARAM_VALUES]
    assert not missing, f"give tests/test_capi.py PARAM_VALUES for {missing}"


def forms(k):
    """The forms of one kernel: fastact_NAME_<form>_S in the header."""
    names = ["forward", "forward_strided", "backward", "backward_strided"]
    if k.from_y:
        names += ["backward_y", "backward_y_strided"]
    return names


# ------------------------------------------------------------------ the files
def header_path():
    return Path(fastact.get_include()) / "fastact_capi.h"


def test_header_in_get_include():
    header = header_path()
    assert header.is_file(), f"{header} missing: fastact.get_include() must hold fastact_capi.h"
    text = header.read_text()
    m = re.search(r"#define\s+FASTACT_CAPI_VERSION\s+(\d+)\b", text)
    assert m and int(m.group(1)) >= 1
    assert re.search(r"typedef\s+struct\s*\{\s*int\s+version\s*;", text), \
        "fastact_capi_t's first field must be int version"
    assert "static int import_fastact(void)" in text
    assert '"fastact._api._C_API"' in text
    assert (Path(fastact.__file__).parent / "capi.pxd").is_file()
    capsule = fastact._api._C_API
    assert type(capsule).__name__ == "PyCapsule"
    assert 'capsule object "fastact._api._C_API"' in repr(capsule)
    # the table's first field is the header's version
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    table = get(capsule, b"fastact._api._C_API")
    assert ctypes.c_int.from_address(table).value == int(m.group(1))


def test_header_declares_every_kernel_dtype_and_form():
    text = header_path().read_text()
    declared = set(re.findall(r"static\s+inline\s+[\w\s\*]*?\b(fastact_\w+)\s*\(", text))
    expected = {"fastact_get_num_threads"} | {
        f"fastact_{k.name}_{form}_{s}" for k in KERNELS for form in forms(k) for s in DTYPES}
    assert expected <= declared, sorted(expected - declared)
    # the axis-wise activations' functions are tested in test_capi_axis.py
    axis = tuple(f"fastact_{a.name}_" for a in fastact.LAYER_ACTIVATIONS
                 if a.kind == "along an axis")
    public = {d for d in declared if not d.startswith(("fastact__",) + axis)}
    assert public == expected, ("functions in fastact_capi.h that tests/test_capi.py and "
                                f"docs/c_api.md do not cover: {sorted(public - expected)}")
    pxd = (Path(fastact.__file__).parent / "capi.pxd").read_text()
    for name in expected:
        short = name[len("fastact_"):]
        assert re.search(rf'\b{short}\s+"{name}"\s*\(', pxd) or \
            re.search(rf"\b{short}\s*\(", pxd), f"capi.pxd does not declare {short}"


# ------------------------------------------------------------------ building
def doc_files():
    """{relative path: text} of the fenced blocks of docs/c_api.md whose first line is
    a comment naming a file."""
    files = {}
    for lang, body in re.findall(r"```(cython|c|py)\n(.*?)```", DOC.read_text(), re.S):
        first = body.splitlines()[0]
        m = re.fullmatch(r"\s*(?:#|/\*)\s*([\w./-]+\.(?:pyx|c|py))\s*(?:\*/)?\s*", first)
        if m:
            assert m.group(1) not in files, f"two blocks for {m.group(1)}"
            files[m.group(1)] = body
    return files


def all_kernels_pyx():
    """A Cython module with one function per kernel and dtype: call(form, pointers as
    integers, strides in elements, n, 4 parameters, nthreads) -> whether the form exists."""
    lines = ["# cython: language_level=3", "from fastact cimport capi",
             "capi.import_fastact()", "",
             "def get_num_threads():", "    return capi.get_num_threads()"]
    for k in KERNELS:
        for s, dtype in DTYPES.items():
            T = "float" if s == "f32" else "double"
            p = "".join(f" p{i}," for i in range(len(k.params)))
            lines += ["", f"def {k.name}_{s}(str form, size_t a, Py_ssize_t sa, size_t b, "
                      "Py_ssize_t sb, size_t o, Py_ssize_t so, Py_ssize_t n, double p0, "
                      "double p1, double p2, double p3, int nthreads):",
                      f"    cdef const {T} *A = <const {T}*>a",
                      f"    cdef const {T} *B = <const {T}*>b",
                      f"    cdef {T} *O = <{T}*>o"]
            calls = {
                "forward": f"capi.{k.name}_forward_{s}(A, O, n,{p} nthreads)",
                "forward_strided": f"capi.{k.name}_forward_strided_{s}(A, sa, O, so, n,{p} nthreads)",
                "backward": f"capi.{k.name}_backward_{s}(A, B, O, n,{p} nthreads)",
                "backward_strided": f"capi.{k.name}_backward_strided_{s}(A, sa, B, sb, O, so, n,{p} nthreads)",
                "backward_y": f"capi.{k.name}_backward_y_{s}(A, B, O, n,{p} nthreads)",
                "backward_y_strided": f"capi.{k.name}_backward_y_strided_{s}(A, sa, B, sb, O, so, n,{p} nthreads)",
            }
            for i, form in enumerate(forms(k)):
                lines += [f"    {'if' if i == 0 else 'elif'} form == {form!r}:",
                          "        with nogil:", f"            {calls[form]}"]
            lines += ["    else:", "        return False", "    return True"]
    return "\n".join(lines) + "\n"


ALL_KERNELS_SETUP = textwrap.dedent("""\
    import fastact
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    setup(name="capi-all-kernels", ext_modules=cythonize([Extension(
        "capi_all_kernels", ["capi_all_kernels.pyx"], include_dirs=[fastact.get_include()],
        extra_compile_args=["-O1"])]))
""")


def build_env(extra_cflags=""):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    if extra_cflags:
        env["CFLAGS"] = (env.get("CFLAGS", "") + " " + extra_cflags).strip()
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The doc's two examples and the all-kernels module, built and imported."""
    if _compiler() is None:
        pytest.skip(NO_COMPILER)
    base = tmp_path_factory.mktemp("capi")
    files = doc_files()
    expected = {"example_cython/example_cython.pyx", "example_cython/setup.py",
                "example_c/example_c.c", "example_c/setup.py"}
    assert expected <= set(files), f"docs/c_api.md lacks the blocks {expected - set(files)}"
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    (base / "all_kernels").mkdir()
    (base / "all_kernels" / "capi_all_kernels.pyx").write_text(all_kernels_pyx())
    (base / "all_kernels" / "setup.py").write_text(ALL_KERNELS_SETUP)
    # the C example must compile without a warning
    jobs = {d: subprocess.Popen([sys.executable, "setup.py", "build_ext", "--inplace"],
                                cwd=base / d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True,
                                env=build_env("-Wall -Werror" if d == "example_c" else ""))
            for d in ("example_cython", "example_c", "all_kernels")}
    failed = []
    for d, job in jobs.items():
        output, _ = job.communicate(timeout=300)
        if job.returncode:
            failed.append(f"--- building {d} failed:\n{output[-6000:]}")
    if failed:
        pytest.fail("\n".join(failed))
    dirs = [str(base / d) for d in jobs]
    sys.path[:0] = dirs
    try:
        import capi_all_kernels
        import example_c
        import example_cython
        yield types.SimpleNamespace(cython=example_cython, c=example_c, all=capi_all_kernels,
                                    base=base)
    finally:
        for d in dirs:
            sys.path.remove(d)
        for m in ("example_cython", "example_c", "capi_all_kernels"):
            sys.modules.pop(m, None)


# ------------------------------------------------------------------ helpers
def bits(a):
    a = np.asarray(a)
    return a.view(UINT[a.dtype])


def assert_bits(got, want, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, what
    bad = np.flatnonzero(bits(got) != bits(want))
    assert bad.size == 0, (f"{what}: {bad.size} elements differ from the Python API, first at "
                           f"{bad[0]}: {got[bad[0]]!r} != {want[bad[0]]!r}")


def data(dtype, n, seed=0, extra=()):
    """n values: random, a grid, the special values and the given points (+-)."""
    rng = np.random.default_rng(seed)
    fi = np.finfo(dtype)
    special = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, float(fi.max), -float(fi.max),
               float(fi.tiny) / 4, -float(fi.tiny) / 4, 1e-3, -1e-3, 30.0, -30.0, 90.0, -90.0,
               6.0, 3.0, -3.0, 0.5, -0.5, 20.0, 5.0]
    special += [v for e in extra for v in (e, -e, np.nextafter(e, np.inf), np.nextafter(e, -np.inf))]
    with np.errstate(over="ignore"):
        head = np.array(special, dtype)
    grid = np.linspace(-12, 12, 481, dtype=dtype)
    rest = (rng.standard_normal(max(n - head.size - grid.size, 0)) * 4).astype(dtype)
    x = np.concatenate([head, grid, rest])[:n]
    return rng.permutation(x)


def ptr(a):
    return a.__array_interface__["data"][0]


def stride(a):
    assert a.strides[0] % a.itemsize == 0
    return a.strides[0] // a.itemsize


def strided_out(n, dtype, step):
    """A view of n elements with stride step (any sign) in a buffer filled with a
    sentinel, and the buffer (to check that nothing else was written)."""
    buf = np.full(n * abs(step), 7.25, dtype)
    return buf[::step][:n], buf


def gaps_untouched(view, buf):
    mask = np.ones(buf.size, bool)
    start = (ptr(view) - ptr(buf)) // buf.itemsize
    idx = start + stride(view) * np.arange(view.size)
    mask[idx] = False
    return bool(np.all(buf[mask] == 7.25))


# ------------------------------------------------------------------ every kernel
def kernel_case(k, dtype, n=1031):
    kw = {p: PARAM_VALUES[(k.name, p)] for p in k.params}
    x = data(dtype, 2 * n, seed=len(k.name), extra=list(kw.values()))
    grad = data(dtype, 2 * n, seed=99)[::-1] * dtype(0.75)
    return kw, x, grad


def python(k, suffix):
    return getattr(fastact, k.pyname + suffix)


@pytest.mark.parametrize("s", list(DTYPES))
@pytest.mark.parametrize("k", KERNELS, ids=KERNEL_NAMES)
def test_every_kernel_matches_python(built, k, s):
    dtype = DTYPES[s]
    n = 1031
    kw, xbuf, gbuf = kernel_case(k, dtype, n)
    fn = getattr(built.all, f"{k.name}_{s}")
    params = [kw[p] for p in k.params] + [0.0] * (4 - len(k.params))
    pykw = {**kw, **k.choice}

    def call(form, a, b, o, nthreads=0):
        assert fn(form, ptr(a), stride(a), ptr(b), stride(b), ptr(o), stride(o), a.size,
                  *params, nthreads), f"{form} missing"

    x = xbuf[:n].copy()
    grad = gbuf[:n].copy()
    y = python(k, "")(x, **pykw)
    want = {"forward": y,
            "backward": python(k, "_backward")(grad, x, **pykw)}
    if k.from_y:
        want["backward_y"] = python(k, "_backward")(grad, y=y, **pykw)
    inputs = {"forward": (x, x), "backward": (grad, x), "backward_y": (grad, y)}
    for form in want:
        a, b = inputs[form]
        # contiguous
        out = np.full(n, 7.25, dtype)
        call(form, a, b, out)
        assert_bits(out, want[form], f"{k.name} {form} {s}")
        # strided, any sign, against the Python API on the same views
        for sa, so in [(2, -1), (-1, 3), (-2, -2)]:
            av = (xbuf if form == "forward" else gbuf)[::sa][:n]
            bv = {"forward": av, "backward": xbuf[::-sa][:n],
                  "backward_y": python(k, "")(xbuf[::-sa][:n], **pykw)}[form]
            ref = {"forward": lambda: python(k, "")(av, **pykw),
                   "backward": lambda: python(k, "_backward")(av, bv, **pykw),
                   "backward_y": lambda: python(k, "_backward")(av, y=bv, **pykw)}[form]()
            out, buf = strided_out(n, dtype, so)
            call(form + "_strided", av, bv, out)
            assert_bits(out, ref, f"{k.name} {form}_strided {s} strides {sa},{so}")
            assert gaps_untouched(out, buf), f"{k.name} {form}_strided wrote outside out"
        # in place: out == x (forward) or out == grad (backward)
        # (against the Python API's in-place forms on the same layout: in place, a NaN's
        # sign may differ from the out-of-place result's)
        def python_inplace(ref, other):
            if form == "forward":
                python(k, "_")(ref, **pykw)
            elif form == "backward":
                python(k, "_backward_")(ref, other, **pykw)
            else:
                python(k, "_backward_")(ref, y=other, **pykw)
            return ref

        inplace = a.copy()
        call(form, inplace, b if form != "forward" else inplace, inplace, nthreads=1)
        assert_bits(inplace, python_inplace(a.copy(), b), f"{k.name} {form} {s} in place")
        view = a.copy()[::-1]
        call(form + "_strided", view, b[::-1] if form != "forward" else view, view)
        assert_bits(view, python_inplace(a.copy()[::-1], b[::-1]),
                    f"{k.name} {form}_strided {s} in place, stride -1")
    # the forms the activation does not have are not there
    assert fn("backward_y", ptr(x), 1, ptr(x), 1, ptr(x), 1, 0, *params, 0) == k.from_y


def test_zero_and_negative_n_do_nothing(built):
    x = np.arange(-4, 4, dtype=np.float32)
    out = np.full_like(x, 7.25)
    for n in (0, -1, -8):
        built.all.relu_f32("forward", ptr(x), 1, ptr(x), 1, ptr(out), 1, n, 0, 0, 0, 0, 0)
        built.all.elu_f64("backward_strided", ptr(x), 1, ptr(x), 1, ptr(out), 1, n, 1, 0, 0, 0, 0)
    assert np.all(out == 7.25)


def test_get_num_threads_follows_set_num_threads(built):
    before = fastact.get_num_threads()
    try:
        for k in (1, 3):
            fastact.set_num_threads(k)
            assert built.all.get_num_threads() == k
            assert built.cython.num_threads() == k
            assert built.c.num_threads() == k
    finally:
        fastact.set_num_threads(before)
    assert built.c.num_threads() == fastact.get_num_threads()


# ------------------------------------------------------------------ the examples
DT = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


@pytest.mark.parametrize("dtype", DT)
def test_cython_example(built, dtype):
    m = built.cython
    x = data(dtype, 3001, extra=[0.5])
    g = data(dtype, 3001, seed=5)
    # contiguous forward
    out = np.empty_like(x)
    m.gelu(x, out)
    assert_bits(out, fastact.gelu(x))
    ro = x.copy()
    ro.flags.writeable = False          # const memoryviews take read-only inputs
    m.gelu(ro, out, nthreads=1)
    assert_bits(out, fastact.gelu(x))
    # in place
    inplace = x.copy()
    m.gelu(inplace, inplace)
    assert_bits(inplace, fastact.gelu_(x.copy()))
    inplace = x.copy()
    m.leaky_relu_(inplace, negative_slope=0.2)
    assert_bits(inplace, fastact.leaky_relu_(x.copy(), negative_slope=0.2))
    # strided, hyper-parameters
    for xv in (x[::2], x[::-1], x[1::3]):
        out, buf = strided_out(xv.size, dtype, -2)
        m.elu(xv, out, alpha=0.5)
        assert_bits(out, fastact.elu(xv, alpha=0.5))
        assert gaps_untouched(out, buf)
    inplace = x.copy()
    m.elu(inplace[::-1], inplace[::-1], alpha=1.3)
    ref = x.copy()
    fastact.elu_(ref[::-1], alpha=1.3)
    assert_bits(inplace, ref)
    # backward from x, strided and in place
    gv, xv = g[::2], x[::-2]
    out = np.empty(gv.size, dtype)
    m.softplus_backward(gv, xv, out, beta=2.0, threshold=3.0)
    assert_bits(out, fastact.softplus_backward(gv, xv, beta=2.0, threshold=3.0))
    gi = g.copy()
    m.softplus_backward(gi, x, gi, beta=0.5, threshold=30.0, nthreads=2)
    assert_bits(gi, fastact.softplus_backward_(g.copy(), x, beta=0.5, threshold=30.0))
    # backward from y, in place
    y = fastact.sigmoid(x)
    out = np.empty_like(x)
    m.sigmoid_backward_y(g, y, out)
    assert_bits(out, fastact.sigmoid_backward(g, y=y))
    gi = g.copy()
    m.sigmoid_backward_y(gi, y, gi)
    assert_bits(gi, fastact.sigmoid_backward_(g.copy(), y=y))
    # the example's own checks
    with pytest.raises(ValueError):
        m.gelu(x, np.empty(x.size - 1, dtype))
    with pytest.raises(ValueError):       # a non-contiguous view for the contiguous form
        m.gelu(x[::2], np.empty(x[::2].size, dtype))
    m.gelu(x[:0], out[:0])


@pytest.mark.parametrize("dtype", DT)
def test_c_example(built, dtype):
    m = built.c
    x = data(dtype, 3001, extra=[0.5])
    g = data(dtype, 3001, seed=5)
    # in place, contiguous and strided
    for view in (lambda a: a, lambda a: a[::2], lambda a: a[::-1], lambda a: a[1::-3]):
        buf = x.copy()
        m.gelu_inplace(view(buf))
        want = x.copy()
        fastact.gelu_(view(want))
        assert_bits(buf, want)
    buf = x.copy()
    m.gelu_inplace(buf, nthreads=1)
    assert_bits(buf, fastact.gelu_(x.copy()))
    # forward with hyper-parameters, strided
    out, obuf = strided_out(x.size // 2, dtype, -3)
    m.softplus(x[::-2][:out.size], out, beta=2.0, threshold=4.0)
    assert_bits(out, fastact.softplus(x[::-2][:out.size], beta=2.0, threshold=4.0))
    assert gaps_untouched(out, obuf)
    out = np.empty_like(x)
    m.softplus(x, out)
    assert_bits(out, fastact.softplus(x))
    # backward from x: contiguous, strided, in place
    out = np.empty_like(x)
    m.relu_backward(g, x, out)
    assert_bits(out, fastact.relu_backward(g, x))
    out = np.empty(x.size // 2 + 1, dtype)
    m.relu_backward(g[::-2], x[::2], out)
    assert_bits(out, fastact.relu_backward(g[::-2], x[::2]))
    gi = g.copy()
    m.relu_backward(gi, x, gi)
    assert_bits(gi, fastact.relu_backward_(g.copy(), x))
    # backward from y
    y = fastact.tanh(x)
    out = np.empty_like(x)
    m.tanh_backward_y(g, y, out)
    assert_bits(out, fastact.tanh_backward(g, y=y))
    gi = g.copy()
    m.tanh_backward_y(gi[::-1], y[::-1], gi[::-1], nthreads=2)
    ref = g.copy()
    fastact.tanh_backward_(ref[::-1], y=y[::-1])
    assert_bits(gi, ref)
    # the example's own checks
    with pytest.raises(TypeError):
        m.gelu_inplace(np.arange(4))
    with pytest.raises(TypeError):
        m.gelu_inplace(np.zeros((2, 2), dtype))
    with pytest.raises(ValueError):
        m.relu_backward(g, x[:-1], out)
    with pytest.raises((TypeError, BufferError, ValueError)):
        m.gelu_inplace(np.zeros(4, dtype)[::1].copy().view(np.uint8 if dtype is np.float32 else np.uint16))
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises((TypeError, BufferError, ValueError)):
        m.gelu_inplace(ro)
    assert_bits(ro, x)


def test_c_example_array_buffers(built):
    """Any buffer works, not only NumPy's: array.array('f') and ('d')."""
    import array
    for code, dtype in (("f", np.float32), ("d", np.float64)):
        x = data(dtype, 257)
        a = array.array(code, x.tolist())
        built.c.gelu_inplace(a)
        assert_bits(np.array(a, dtype), fastact.gelu(x))


LARGE = 2 * 16384 * 3 + 77


@pytest.mark.parametrize("dtype", DT)
def test_large_arrays_every_thread_count(built, dtype):
    """Over 2*16384 elements the work is split across threads: the same bits for
    nthreads 0, 1 and 2 and the Python API, in both examples."""
    x = data(dtype, LARGE, extra=[0.5])
    g = data(dtype, LARGE, seed=3)
    y = fastact.tanh(x)
    before = fastact.get_num_threads()
    want = {"gelu": fastact.gelu(x), "elu": fastact.elu(x[::-1], alpha=0.4),
            "softplus_bw": fastact.softplus_backward(g, x, beta=3.0, threshold=7.0),
            "sigmoid_y": fastact.sigmoid_backward_(g.copy(), y=y),       # in place
            "gelu_": fastact.gelu_(x.copy()),
            "relu_bw": fastact.relu_backward(g[-2::-2], x[1::2]),
            "tanh_y": fastact.tanh_backward_(g.copy(), y=y),             # in place
            "leaky": fastact.leaky_relu_(x.copy(), negative_slope=0.05)}
    try:
        for threads in (1, 2, 4):
            fastact.set_num_threads(threads)
            for nthreads in (0, 1, 2):
                out = np.empty_like(x)
                built.cython.gelu(x, out, nthreads=nthreads)
                assert_bits(out, want["gelu"], f"gelu nthreads={nthreads}")
                out = np.empty_like(x)[::-1]
                built.cython.elu(x[::-1], out, alpha=0.4, nthreads=nthreads)
                assert_bits(out, want["elu"], f"elu nthreads={nthreads}")
                out = np.empty_like(x)
                built.cython.softplus_backward(g, x, out, beta=3.0, threshold=7.0,
                                               nthreads=nthreads)
                assert_bits(out, want["softplus_bw"], f"softplus_backward nthreads={nthreads}")
                out = g.copy()
                built.cython.sigmoid_backward_y(out, y, out, nthreads=nthreads)
                assert_bits(out, want["sigmoid_y"], f"sigmoid_backward_y nthreads={nthreads}")
                inplace = x.copy()
                built.cython.leaky_relu_(inplace, negative_slope=0.05, nthreads=nthreads)
                assert_bits(inplace, want["leaky"], f"leaky_relu_ nthreads={nthreads}")
                buf = x.copy()
                built.c.gelu_inplace(buf, nthreads=nthreads)
                assert_bits(buf, want["gelu_"], f"C gelu_inplace nthreads={nthreads}")
                out = np.empty(x[1::2].size, dtype)
                built.c.relu_backward(g[-2::-2], x[1::2], out, nthreads=nthreads)
                assert_bits(out, want["relu_bw"], f"C relu_backward nthreads={nthreads}")
                out = g.copy()
                built.c.tanh_backward_y(out, y, out, nthreads=nthreads)
                assert_bits(out, want["tanh_y"], f"C tanh_backward_y nthreads={nthreads}")
    finally:
        fastact.set_num_threads(before)


def test_every_kernel_large_thread_counts(built):
    """Every kernel's forward and backward over a multi-threaded size: nthreads 0, 1, 2
    give the Python API's bits."""
    n = LARGE
    for k in KERNELS:
        for s, dtype in DTYPES.items():
            kw = {p: PARAM_VALUES[(k.name, p)] for p in k.params}
            pykw = {**kw, **k.choice}
            params = [kw[p] for p in k.params] + [0.0] * (4 - len(k.params))
            fn = getattr(built.all, f"{k.name}_{s}")
            x = data(dtype, n, extra=list(kw.values()))
            g = data(dtype, n, seed=8)
            fw = python(k, "")(x, **pykw)
            bw = python(k, "_backward")(g, x, **pykw)
            for nthreads in (0, 1, 2):
                out = np.empty_like(x)
                fn("forward", ptr(x), 1, ptr(x), 1, ptr(out), 1, n, *params, nthreads)
                assert_bits(out, fw, f"{k.name} forward {s} nthreads={nthreads}")
                fn("backward", ptr(g), 1, ptr(x), 1, ptr(out), 1, n, *params, nthreads)
                assert_bits(out, bw, f"{k.name} backward {s} nthreads={nthreads}")


# ------------------------------------------------------------------ the GIL
def _gil_released_during(call, duration_floor=0.05):
    """Run call() in a thread while this thread keeps running Python: the longest gap
    between two iterations here must be far shorter than the call, which it would not
    be if the call held the GIL."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        started = threading.Event()
        times = {}

        def worker():
            started.set()
            t0 = time.perf_counter()
            call()
            times["call"] = (t0, time.perf_counter())

        thread = threading.Thread(target=worker)
        stamps = []
        thread.start()
        started.wait()
        while thread.is_alive():
            stamps.append(time.perf_counter())
        thread.join()
    finally:
        sys.setswitchinterval(old)
    t0, t1 = times["call"]
    inside = np.array([t for t in stamps if t0 <= t <= t1])
    gaps = np.diff(np.concatenate([[t0], inside, [t1]]))
    return t1 - t0, inside.size, gaps.max()


@pytest.mark.parametrize("which", ["cython", "c"])
def test_kernels_run_without_the_gil(built, which):
    x = data(np.float64, 4_000_000, extra=[0.5])
    want = fastact.gelu(x)
    buf = x.copy()
    out = np.empty_like(x)
    if which == "cython":
        call = lambda: [built.cython.gelu(x, out, nthreads=1) for _ in range(3)]  # noqa: E731
    else:
        def call():
            for _ in range(3):
                buf[...] = x
                built.c.gelu_inplace(buf, nthreads=1)
    duration, count, stall = _gil_released_during(call)
    assert duration > 0.02, "the call is too short to tell"
    assert count > 100 and stall < duration / 3, (
        f"the main thread ran {count} times during a {duration:.3f} s call and stalled for "
        f"{stall:.3f} s: the GIL was held")
    assert_bits(out, want) if which == "cython" else assert_bits(buf, fastact.gelu_(x.copy()))


def test_concurrent_calls_from_threads(built):
    """Several Python threads calling the kernels at once (each releasing the GIL) get
    the same bits as one call."""
    x = data(np.float32, 200_003, extra=[0.5])
    want = fastact.elu(x, alpha=0.9)
    outs = [np.empty_like(x) for _ in range(4)]
    errors = []

    def work(out):
        try:
            for _ in range(5):
                built.cython.elu(x, out, alpha=0.9, nthreads=2)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(o,)) for o in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for out in outs:
        assert_bits(out, want)


# ------------------------------------------------------------------ versioning
OLD_TABLE = textwrap.dedent("""\
    import ctypes, sys
    import fastact._api
    table = (ctypes.c_int * 64)()          # version 0, no entries
    name = ctypes.create_string_buffer(b"fastact._api._C_API")
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    fastact._api._C_API = new(ctypes.addressof(table), ctypes.addressof(name), None)
    sys.path.insert(0, sys.argv[2])
    try:
        __import__(sys.argv[1])
    except ImportError as e:
        print("ImportError:", e)
        sys.exit(0)
    print("imported")
    sys.exit(1)
""")


@pytest.mark.parametrize("module, directory", [("example_c", "example_c"),
                                               ("example_cython", "example_cython")])
def test_import_refuses_an_older_table(built, module, directory):
    script = built.base / "old_table.py"
    script.write_text(OLD_TABLE)
    run = subprocess.run([sys.executable, str(script), module, str(built.base / directory)],
                         capture_output=True, text=True, env=build_env(), timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ImportError:" in run.stdout and "version" in run.stdout, run.stdout
    assert "version 0" in run.stdout


def test_import_succeeds_with_the_real_table(built):
    """Control for the test above: the same subprocess, without the replacement."""
    code = (f"import sys; sys.path.insert(0, {str(built.base / 'example_c')!r}); "
            "import example_c, numpy as np, fastact; x = np.linspace(-2, 2, 9); "
            "y = x.copy(); example_c.gelu_inplace(y); "
            "assert (y == fastact.gelu(x)).all(); print('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=build_env(), timeout=60)
    assert run.returncode == 0 and "ok" in run.stdout, run.stdout + run.stderr
