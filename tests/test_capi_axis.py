"""The C API's axis-wise functions (softmax, log_softmax, maxout, glu; fastact_capi.h,
fastact/capi.pxd), called from a Cython extension built here, give the Python API's
results bit for bit: rows of C-contiguous arrays, strided (outer, n, inner) views, in
place, every dtype and backward form, any thread count; shapes the kernels cannot take
change nothing. (The elementwise functions and the documented examples: test_capi.py.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest

import fastact
import plugin_env

CC = (sysconfig.get_config_var("CC") or "cc").split()[0]

SOURCE = '''
# cython: language_level=3, boundscheck=False, wraparound=False
from fastact cimport capi
capi.import_fastact()

{funcs}
'''

# one wrapper per (op, dtype, form): rows form, and strided form over (outer, n, inner)
ROWS = '''
def {op}_{form}_rows_{s}({T}[:, ::1] a, {T}[:, ::1] b, {T}[:, ::1] out, Py_ssize_t group, int nthreads):
    with nogil:
        capi.{op}_{cform}_{s}({args}, out.shape[0] if {is_fwd} else b.shape[0],
                              a.shape[1] if {is_fwd} else b.shape[1],{group} nthreads)
'''
STRIDED = '''
def {op}_{form}_strided_{s}({T}[:, :, :] a, {T}[:, :, :] b, {T}[:, :, :] out, Py_ssize_t group):
    cdef Py_ssize_t shape[3]
    cdef Py_ssize_t sa[3]
    cdef Py_ssize_t sb[3]
    cdef Py_ssize_t so[3]
    cdef int i
    for i in range(3):
        shape[i] = (a if {is_fwd} else b).shape[i]
        sa[i] = a.strides[i] // sizeof({T})
        sb[i] = b.strides[i] // sizeof({T})
        so[i] = out.strides[i] // sizeof({T})
    with nogil:
        capi.{op}_{cform}_strided_{s}({sargs}, shape,{group} 0)
'''
OPS = {"softmax": (1, True), "log_softmax": (1, True), "maxout": (0, False), "glu": (2, False)}
DTYPES = {"f32": ("float", np.float32), "f64": ("double", np.float64)}


def forms(op):
    return ["forward", "backward"] + (["backward_y"] if OPS[op][1] else [])


def source():
    funcs = []
    for op in OPS:
        group = " group," if op == "maxout" else ""
        for s, (T, _) in DTYPES.items():
            for form in forms(op):
                fwd = form == "forward"
                args = "&a[0, 0], &out[0, 0]" if fwd else "&a[0, 0], &b[0, 0], &out[0, 0]"
                sargs = ("&a[0, 0, 0], sa, &out[0, 0, 0], so" if fwd else
                         "&a[0, 0, 0], sa, &b[0, 0, 0], sb, &out[0, 0, 0], so")
                fill = dict(op=op, form=form, cform=form, s=s, T=T, args=args, sargs=sargs,
                            group=group, is_fwd=fwd)
                funcs.append(ROWS.format(**fill))
                funcs.append(STRIDED.format(**fill))
    return SOURCE.format(funcs="".join(funcs))


@pytest.fixture(scope="module")
def ext(tmp_path_factory):
    if shutil.which(CC) is None:
        pytest.skip(f"no C compiler ({CC!r} is not on PATH): the C API tests build an extension")
    tmp = tmp_path_factory.mktemp("capi_axis")
    (tmp / "capi_axis.pyx").write_text(source())
    (tmp / "setup.py").write_text(textwrap.dedent('''
        import fastact
        from Cython.Build import cythonize
        from setuptools import Extension, setup
        setup(ext_modules=cythonize([Extension("capi_axis", ["capi_axis.pyx"],
                                               include_dirs=[fastact.get_include()])]))
    '''))
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=tmp,
                   check=True, env=plugin_env.child_env(), capture_output=True)
    sys.path.insert(0, str(tmp))
    try:
        import capi_axis
        yield capi_axis
    finally:
        sys.path.remove(str(tmp))


def python_result(op, form, a, b, group, axis):
    kw = {"axis": axis}
    args = (group,) if op == "maxout" else ()
    if form == "forward":
        return getattr(fastact, op)(a, *args, **kw)
    if form == "backward":
        return getattr(fastact, op + "_backward")(a, b, *args, **kw)
    return getattr(fastact, op + "_backward")(a, y=b, **kw)


def operands(op, form, rows, n, group, dtype, rng):
    x = (rng.standard_normal((rows, n)) * 4).astype(dtype)
    x.flat[::7] = np.round(x.flat[::7])          # ties for maxout's first arg-max
    if form == "forward":
        return x, x
    y = getattr(fastact, op)(x, *((group,) if op == "maxout" else ()), axis=-1)
    grad = rng.standard_normal(y.shape).astype(dtype)
    return grad, (y if form == "backward_y" else x)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("s", list(DTYPES))
@pytest.mark.parametrize("rows,n", [(1, 1), (1, 6), (5, 12), (300, 1024), (4099, 4), (2, 65536)])
def test_rows_match_the_python_api(ext, op, s, rows, n):
    dtype = DTYPES[s][1]
    if op == "glu" and n % 2:
        n += 1                                           # glu halves the axis
    group = {"maxout": 3 if n % 3 == 0 else (2 if n % 2 == 0 else 1), "glu": 2}.get(op, 1)
    rng = np.random.default_rng(rows * n)
    for form in forms(op):
        a, b = operands(op, form, rows, n, group, dtype, rng)
        expected = python_result(op, form, a, b, group, -1)
        for nthreads in (0, 1, 2):
            out = np.full(expected.shape, np.nan, dtype)
            getattr(ext, f"{op}_{form}_rows_{s}")(a, b, out, group, nthreads)
            assert out.tobytes() == expected.tobytes(), (op, form, nthreads)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("s", list(DTYPES))
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_strided_views_match_the_python_api(ext, op, s, axis):
    """Along every axis of C- and F-ordered 3-d arrays and of a reversed, sliced view."""
    dtype = DTYPES[s][1]
    group = {"maxout": 2, "glu": 2}.get(op, 1)
    rng = np.random.default_rng(axis)
    base = (rng.standard_normal((6, 8, 12)) * 3).astype(dtype)
    for x in (base, np.asfortranarray(base), base[::-1, :, ::2]):
        x3 = np.moveaxis(x, axis, 1)                  # (outer, n, inner) with axis in the middle
        for form in forms(op):
            if form == "forward":
                a, b = x3, x3
            else:
                y = python_result(op, "forward", x3, None, group, 1)
                grad = rng.standard_normal(y.shape).astype(dtype)
                a, b = grad, (y if form == "backward_y" else x3)
            expected = python_result(op, form, a, b, group, 1)
            out = np.full(expected.shape, np.nan, dtype)
            getattr(ext, f"{op}_{form}_strided_{s}")(a, b, out, group)
            assert out.tobytes() == expected.tobytes(), (op, form, x.strides)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_in_place(ext, op):
    x = np.random.default_rng(3).standard_normal((64, 100))
    expected = getattr(fastact, op)(x)
    getattr(ext, f"{op}_forward_rows_f64")(x, x, x, 1, 0)
    assert x.tobytes() == expected.tobytes()
    g = np.random.default_rng(4).standard_normal((64, 100))
    y = expected
    expected_grad = getattr(fastact, op + "_backward")(g, y=y)
    getattr(ext, f"{op}_backward_y_rows_f64")(g, y, g, 1, 0)
    assert g.tobytes() == expected_grad.tobytes()


def test_shapes_the_kernels_cannot_take_change_nothing(ext):
    x = np.ones((3, 7))
    out = np.full((3, 3), 5.0)
    ext.maxout_forward_rows_f64(x, x, out, 2, 0)         # 2 does not divide 7
    ext.maxout_forward_rows_f64(x, x, out, 0, 0)         # pieces 0
    assert (out == 5).all()
    ext.glu_forward_rows_f64(x, x, out, 2, 0)            # odd length: glu cannot halve it
    empty = np.ones((0, 4))
    ext.softmax_forward_rows_f64(empty, empty, empty, 1, 0)
    assert (out == 5).all()
