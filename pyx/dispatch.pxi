# The one path every public function takes: validate, convert, plan, run the kernel.
#
# Validation happens completely before any kernel writes, so an error never leaves an
# array half-modified. Operands that a kernel cannot take as they are (other dtype,
# non-native byte order, misaligned, strides that are not a multiple of the item size)
# are converted to a temporary; in-place results are then copied back.
#
# A plan reduces same-shaped operands to as few dimensions as possible: size-1 axes are
# dropped, axes are ordered by the output's stride, and neighbouring axes merge where every
# operand is uniformly strided across both. Contiguous arrays (C or Fortran) and their
# reversed views become one strided run; other views become rows of one inner run each.

cimport numpy as cnp
from cython.parallel cimport prange
from cpython.pycapsule cimport PyCapsule_GetPointer
import numbers
import numpy as np

cnp.import_array()

cdef enum:
    MAX_OPS = 3

cdef struct Plan:
    int ndim                          # -1: nothing to do (an empty array)
    int nops
    Py_ssize_t itemsize
    Py_ssize_t shape[cnp.NPY_MAXDIMS]
    Py_ssize_t strides[MAX_OPS][cnp.NPY_MAXDIMS]   # in elements
    char *data[MAX_OPS]

cdef object F16 = np.dtype(np.float16)
cdef object F32 = np.dtype(np.float32)
cdef object F64 = np.dtype(np.float64)
cdef int num_threads = 1          # fastact.set_num_threads; each call asks team_size


# Who may open a parallel region, and with how many threads (fork, nested, thread-pool
# and threadpoolctl rules): fastact/include/fastact_team.h. Its state is process-wide, so
# only this module includes it; the kernel modules get the thread count as an argument.
cdef extern from "fastact_team.h" nogil:
    int fa_team_init()
    int team_size "fa_team_size"(int requested, Py_ssize_t work)
    int fa_team_forked_child()
    int fa_team_owned_here()
    int fa_team_owned()
    int fa_team_last_size()


cdef inline int slot_of(object dtype):
    """0 for native float32, 1 for native float64, -1 for anything else."""
    if dtype is F32:                 # identity first: NumPy's dtype == costs ~80 ns a call
        return 0
    if dtype is F64:
        return 1
    if dtype == F32:
        return 0
    if dtype == F64:
        return 1
    return -1


cdef object real_array(str func, str arg, object value):
    """value as an ndarray of a real dtype (bool, integer or float), or TypeError."""
    if type(value) is np.ndarray and slot_of(<object>cnp.PyArray_DESCR(<cnp.ndarray>value)) >= 0:
        return value                 # the common case, without Python-level attribute reads
    cdef object arr = value if type(value) is np.ndarray else np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{func}: {arg} has dtype {arr.dtype}; fastact computes on real "
                        f"numbers (float32 and float64; float16, integers and bool are converted)")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(f"{func}: {arg} has dtype {arr.dtype}; fastact computes in float32 "
                        f"and float64 and will not silently round {arr.dtype} to float64")
    return arr


cdef inline bint lazy(object a):
    """a is a Dask array (any lazy collection with a task graph), not something to compute
    on now: the public forms hand it to fastact/_dask.py. (The ndarray test is a C macro:
    it is on every call's path.)"""
    return not cnp.PyArray_CheckExact(a) and a is not None and hasattr(a, "__dask_graph__")


def is_lazy(a):
    """lazy(a), for the plugins' forms (fastact/_wrap.py)."""
    return lazy(a)


cpdef object lazy_call(str func, tuple arrays, dict keywords):
    """fastact.NAME(...) on Dask arrays: a lazy Dask array (dask is imported only here)."""
    from fastact import _dask
    return _dask.call(func, arrays, keywords)


cdef object result_dtype(object dtype):
    """The dtype an out-of-place form returns for inputs promoting to `dtype`."""
    if dtype.kind in "biu":
        return F64
    if dtype.itemsize == 2:
        return F16
    return F32 if dtype.itemsize == 4 else F64


cdef inline object compute_dtype(object result):
    return F32 if result is F16 else result


cdef bint kernel_ready(cnp.ndarray arr, object dtype):
    """Can a kernel read/write arr directly as `dtype`?"""
    cdef int i
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(arr)
    cdef object descr = <object>cnp.PyArray_DESCR(arr)    # C-level reads: a small call's
    if not (descr is dtype or descr == dtype) or not cnp.PyArray_ISALIGNED(arr):  # overhead
        return False
    for i in range(cnp.PyArray_NDIM(arr)):
        if cnp.PyArray_STRIDES(arr)[i] % size:
            return False
    return True


cdef cnp.ndarray ready_copy(object arr, object dtype):
    """arr itself when a kernel can use it, else a fresh aligned copy in `dtype`."""
    if kernel_ready(arr, dtype):
        return arr
    return np.array(arr, dtype=dtype, order="K", copy=True)


cdef bint same_memory(cnp.ndarray a, cnp.ndarray b):
    """a and b are the same elements in the same order (aliasing an elementwise op allows)."""
    cdef int i, nd = cnp.PyArray_NDIM(a)
    if cnp.PyArray_DATA(a) != cnp.PyArray_DATA(b) or nd != cnp.PyArray_NDIM(b):
        return False
    for i in range(nd):
        if (cnp.PyArray_DIMS(a)[i] != cnp.PyArray_DIMS(b)[i]
                or cnp.PyArray_STRIDES(a)[i] != cnp.PyArray_STRIDES(b)[i]):
            return False
    return True


cdef void byte_extent(cnp.ndarray a, char **lo, char **hi) noexcept:
    """The first and one-past-last byte a can touch (NumPy's may_share_memory bounds)."""
    cdef char *start = <char*>cnp.PyArray_DATA(a)
    cdef char *end = start + cnp.PyArray_ITEMSIZE(a)
    cdef int i
    cdef Py_ssize_t step
    for i in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIMS(a)[i] == 0:
            lo[0] = hi[0] = start
            return
        step = cnp.PyArray_STRIDES(a)[i] * (cnp.PyArray_DIMS(a)[i] - 1)
        if step < 0:
            start += step
        else:
            end += step
    lo[0], hi[0] = start, end


cdef bint overlaps(cnp.ndarray a, cnp.ndarray b):
    """a and b may share memory other than element-for-element (then a kernel could read
    elements it already overwrote). Bounds only, like np.may_share_memory: an interleaved
    pair counts as overlapping and is routed through a temporary."""
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    if same_memory(a, b):
        return False
    byte_extent(a, &alo, &ahi)
    byte_extent(b, &blo, &bhi)
    return alo < bhi and blo < ahi


cdef check_distinct_elements(str func, str arg, cnp.ndarray arr):
    """A written array must not be a view whose elements overlap (a zero stride, as in a
    writeable broadcast view): each result would land on the same memory several times."""
    cdef int i
    if cnp.PyArray_SIZE(arr) == 0:
        return                       # no elements (NumPy may give such arrays 0 strides)
    for i in range(cnp.PyArray_NDIM(arr)):
        if cnp.PyArray_STRIDES(arr)[i] == 0 and cnp.PyArray_DIMS(arr)[i] > 1:
            raise ValueError(f"{func}: {arg} has a zero stride on axis {i} (a broadcast "
                             f"view?): its elements overlap, so it cannot be written")


cdef check_writeable_float(str func, str arg, object arr):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{func}: {arg} must be a numpy.ndarray of float32 or float64 "
                        f"(it is written in place), got {type(arr).__name__}")
    if slot_of(<object>cnp.PyArray_DESCR(<cnp.ndarray>arr)) < 0:
        raise TypeError(f"{func}: {arg} must have dtype float32 or float64 (native byte "
                        f"order) to be written in place, got {arr.dtype}")
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>arr):
        raise ValueError(f"{func}: {arg} is read-only")
    check_distinct_elements(func, arg, arr)


cdef check_out(str func, object out, object shape, object dtype, str arg="out"):
    """An array the caller gives to be written (out, rrelu's slopes): an ndarray of the
    result's dtype and shape, writeable, its elements distinct."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{func}: {arg} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{func}: {arg} has dtype {out.dtype}, the result has dtype {dtype}")
    if out.shape != shape:
        raise ValueError(f"{func}: {arg} has shape {out.shape}, the result has shape {shape}")
    if not out.flags.writeable:
        raise ValueError(f"{func}: {arg} is read-only")
    check_distinct_elements(func, arg, out)


cdef bint same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int i, nd = cnp.PyArray_NDIM(a)
    if nd != cnp.PyArray_NDIM(b):
        return False
    for i in range(nd):
        if cnp.PyArray_DIMS(a)[i] != cnp.PyArray_DIMS(b)[i]:
            return False
    return True


cdef check_same_shape(str func, object a, str a_name, object b, str b_name):
    if not (same_shape(a, b) if isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
            else a.shape == b.shape):
        raise ValueError(f"{func}: {a_name} has shape {a.shape} but {b_name} has shape "
                         f"{b.shape}; they must match (no broadcasting)")


cdef double real_param(str func, str name, object value) except? -1.0:
    if type(value) is float:
        return <double>value
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:            # an int or Fraction beyond the float64 range
        raise ValueError(f"{func}: {name} is too large for a float64 (its magnitude is "
                         f"over 1.8e308)") from None


cdef object finish(object target, object out, object rdt):
    """The out-of-place result: target copied into out, or target itself (cast to the
    result dtype: float16 results are computed in float32, and overflow to inf there is
    the correctly rounded result, not an error)."""
    if out is not None:
        if target is not out:
            with np.errstate(over="ignore"):
                np.copyto(out, target, casting="unsafe")
        return out
    if target.dtype == rdt:
        return target
    with np.errstate(over="ignore"):
        return target.astype(rdt)


# ---- plans ----

cdef int make_plan(Plan *plan, list ops) except -1:
    """Fill plan for same-shaped, kernel-ready operands (the last one is the output)."""
    cdef cnp.ndarray out = ops[len(ops) - 1], arr
    cdef int nd = cnp.PyArray_NDIM(out), i, j, k, m, n = 0
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(out)
    cdef int axes[cnp.NPY_MAXDIMS]
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(out)
    plan.nops = len(ops)
    plan.itemsize = size
    for k in range(plan.nops):
        arr = ops[k]
        plan.data[k] = <char*>cnp.PyArray_DATA(arr)
    for i in range(nd):
        if dims[i] == 0:
            plan.ndim = -1
            return 0
        if dims[i] != 1:
            axes[n] = i
            n += 1
    # order axes by the output's |stride|, largest first (insertion sort: n <= 64)
    for i in range(1, n):
        j = i
        while j > 0 and abs(cnp.PyArray_STRIDES(out)[axes[j - 1]]) < abs(cnp.PyArray_STRIDES(out)[axes[j]]):
            axes[j - 1], axes[j] = axes[j], axes[j - 1]
            j -= 1
    m = 0
    for i in range(n):
        plan.shape[m] = dims[axes[i]]
        for k in range(plan.nops):
            arr = ops[k]
            plan.strides[k][m] = cnp.PyArray_STRIDES(arr)[axes[i]] // size
        if m > 0 and mergeable(plan, m - 1, m):
            for k in range(plan.nops):
                plan.strides[k][m - 1] = plan.strides[k][m]
            plan.shape[m - 1] *= plan.shape[m]
        else:
            m += 1
    plan.ndim = m
    return 0


cdef inline bint mergeable(Plan *plan, int outer, int inner) noexcept:
    cdef int k
    for k in range(plan.nops):
        if plan.strides[k][outer] != plan.strides[k][inner] * plan.shape[inner]:
            return False
    return True


cdef void run_unary(fa_unary_fn f, Py_ssize_t grain, Py_ssize_t itemsize, Py_ssize_t n,
                    char *x, Py_ssize_t sx, char *out, Py_ssize_t so,
                    const double *params, int nthreads) noexcept nogil:
    """One run of an elementwise kernel, in contiguous blocks across threads."""
    cdef Py_ssize_t b, lo, blocks = block_count(n, grain, nthreads)
    if blocks == 1:
        f(n, x, sx, out, so, params)
        return
    for b in prange(blocks, nogil=True, num_threads=blocks, schedule='static'):
        lo = b * n // blocks
        f((b + 1) * n // blocks - lo, x + lo * sx * itemsize, sx,
          out + lo * so * itemsize, so, params)


cdef void run_binary(fa_binary_fn f, Py_ssize_t grain, Py_ssize_t itemsize, Py_ssize_t n,
                     char *g, Py_ssize_t sg, char *v, Py_ssize_t sv, char *out, Py_ssize_t so,
                     const double *params, int nthreads) noexcept nogil:
    cdef Py_ssize_t b, lo, blocks = block_count(n, grain, nthreads)
    if blocks == 1:
        f(n, g, sg, v, sv, out, so, params)
        return
    for b in prange(blocks, nogil=True, num_threads=blocks, schedule='static'):
        lo = b * n // blocks
        f((b + 1) * n // blocks - lo, g + lo * sg * itemsize, sg, v + lo * sv * itemsize, sv,
          out + lo * so * itemsize, so, params)


cdef void run_plan(Plan *plan, fa_unary_fn unary, fa_binary_fn binary, Py_ssize_t grain,
                   const double *params, int nthreads) noexcept nogil:
    """Call the kernel on each innermost run of the plan."""
    cdef Py_ssize_t index[cnp.NPY_MAXDIMS]
    cdef Py_ssize_t stride[MAX_OPS]
    cdef char *ptr[MAX_OPS]
    cdef int d, k, last = plan.ndim - 1
    cdef Py_ssize_t n = plan.shape[last] if plan.ndim > 0 else 1
    if plan.ndim < 0:
        return
    for k in range(plan.nops):
        stride[k] = plan.strides[k][last] if last >= 0 else 1
    for d in range(plan.ndim):
        index[d] = 0
    while True:
        for k in range(plan.nops):
            ptr[k] = plan.data[k]
            for d in range(last):
                ptr[k] += index[d] * plan.strides[k][d] * plan.itemsize
        if plan.nops == 2:
            run_unary(unary, grain, plan.itemsize, n, ptr[0], stride[0], ptr[1], stride[1],
                      params, nthreads)
        else:
            run_binary(binary, grain, plan.itemsize, n, ptr[0], stride[0], ptr[1], stride[1],
                       ptr[2], stride[2], params, nthreads)
        d = last - 1                  # advance the outer index like an odometer
        while d >= 0:
            index[d] += 1
            if index[d] < plan.shape[d]:
                break
            index[d] = 0
            d -= 1
        if d < 0:
            return


cdef run(list ops, fa_unary_fn unary, fa_binary_fn binary, Py_ssize_t grain,
         const double *params):
    cdef Plan plan
    cdef int nthreads = team_size(num_threads, cnp.PyArray_SIZE(<cnp.ndarray>ops[0]))
    make_plan(&plan, ops)
    with nogil:
        run_plan(&plan, unary, binary, grain, params, nthreads)


# ---- the four public forms ----

cdef object forward(const fa_kernel *k, str func, object x, object out, const double *params):
    cdef object xa = real_array(func, "x", x)
    cdef object rdt = result_dtype(xa.dtype), cdt = compute_dtype(rdt)
    if out is not None:
        check_out(func, out, xa.shape, rdt)
    cdef cnp.ndarray xc = ready_copy(xa, cdt), target
    if out is not None and kernel_ready(out, cdt) and not overlaps(out, xc):
        target = out
    elif xc is not xa:
        target = xc                  # already a private copy: compute in it
    else:
        target = np.empty_like(xc)
    run([xc, target], k.forward[slot_of(cdt)], NULL, k.grain, params)
    return finish(target, out, rdt)


cdef object forward_inplace(const fa_kernel *k, str func, object x, const double *params):
    check_writeable_float(func, "x", x)
    cdef cnp.ndarray xc = ready_copy(x, x.dtype)
    run([xc, xc], k.forward[slot_of(x.dtype)], NULL, k.grain, params)
    if xc is not x:
        np.copyto(x, xc)
    return x


cdef tuple x_or_y(str func, object x, object y):
    """(the array a derivative is computed from, its name, whether it is y): exactly one
    of the forward input x and the forward output y must be given."""
    if (x is None) == (y is None):
        raise TypeError(f"{func}: give exactly one of x (the forward input) and y "
                        f"(the forward output)")
    return (x, "x", False) if y is None else (y, "y", True)


cdef tuple backward_operand(const fa_kernel *k, str func, object x, object y):
    """x_or_y, for an elementwise kernel (which may have no backward from y)."""
    operand = x_or_y(func, x, y)
    if y is not None and k.backward_y[0] == NULL:
        raise TypeError(f"{func}: {func.split('_backward')[0]} has no backward from the "
                        f"output y; pass the forward input x")
    return operand


cdef object backward(const fa_kernel *k, str func, object grad, object x, object y,
                     object out, const double *params):
    value, name, from_y = backward_operand(k, func, x, y)
    cdef object ga = real_array(func, "grad", grad), va = real_array(func, name, value)
    check_same_shape(func, ga, "grad", va, name)
    cdef object rdt = result_dtype(np.result_type(ga.dtype, va.dtype)), cdt = compute_dtype(rdt)
    if out is not None:
        check_out(func, out, ga.shape, rdt)
    cdef cnp.ndarray gc = ready_copy(ga, cdt), vc = ready_copy(va, cdt), target
    if (out is not None and kernel_ready(out, cdt)
            and not overlaps(out, gc) and not overlaps(out, vc)):
        target = out
    elif gc is not ga:
        target = gc
    else:
        target = np.empty_like(gc)
    cdef int s = slot_of(cdt)
    run([gc, vc, target], NULL, k.backward_y[s] if from_y else k.backward_x[s], k.grain, params)
    return finish(target, out, rdt)


cdef object backward_inplace(const fa_kernel *k, str func, object grad, object x, object y,
                             const double *params):
    value, name, from_y = backward_operand(k, func, x, y)
    check_writeable_float(func, "grad", grad)
    cdef object va = real_array(func, name, value)
    check_same_shape(func, grad, "grad", va, name)
    cdef cnp.ndarray gc = ready_copy(grad, grad.dtype)
    cdef cnp.ndarray vc = ready_copy(va, grad.dtype)
    if vc is va and overlaps(vc, gc):
        vc = vc.copy()               # grad is written while x/y is still being read
    cdef int s = slot_of(grad.dtype)
    run([gc, vc, gc], NULL, k.backward_y[s] if from_y else k.backward_x[s], k.grain, params)
    if gc is not grad:
        np.copyto(grad, gc)
    return grad
