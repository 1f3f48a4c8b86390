# The axis-wise activations (issue 3): softmax, log_softmax, maxout, glu. Included by
# _api.pyx after dispatch.pxi and axis_layout.pxi, whose validation helpers and 3-d views
# these functions use; the kernels are in axis_kernels.pxi.tp (table: axis_table.pxi).
#
# Every public function goes through run_along_axis (out of place) or
# run_along_axis_inplace: validate everything, convert operands the kernel cannot take,
# see each operand as (outer, n, inner) (through a C-contiguous copy where its axes do
# not merge), run the kernel without the GIL, and copy back where a temporary was used.

include "axis_table.pxi"

__all__ += ["softmax", "softmax_", "softmax_backward", "softmax_backward_",
            "log_softmax", "log_softmax_", "log_softmax_backward", "log_softmax_backward_",
            "maxout", "maxout_backward", "glu", "glu_backward"]

cdef const fa_axis_kernel *AX_SOFTMAX = NULL
cdef const fa_axis_kernel *AX_LOG_SOFTMAX = NULL
cdef const fa_axis_kernel *AX_MAXOUT = NULL
cdef const fa_axis_kernel *AX_GLU = NULL


cdef int load_axis_kernels(object module) except -1:
    global AX_SOFTMAX, AX_LOG_SOFTMAX, AX_MAXOUT, AX_GLU
    cdef const fa_axis_kernel *table = <const fa_axis_kernel*>PyCapsule_GetPointer(
        module.AXIS_KERNELS, b"fastact.axis_table")
    AX_SOFTMAX = <const fa_axis_kernel*>find_in_table(table, sizeof(fa_axis_kernel), "softmax")
    AX_LOG_SOFTMAX = <const fa_axis_kernel*>find_in_table(table, sizeof(fa_axis_kernel), "log_softmax")
    AX_MAXOUT = <const fa_axis_kernel*>find_in_table(table, sizeof(fa_axis_kernel), "maxout")
    AX_GLU = <const fa_axis_kernel*>find_in_table(table, sizeof(fa_axis_kernel), "glu")
    return 0


# ---- validation ----

cdef Py_ssize_t group_of(str func, object pieces) except -1:
    """maxout's `pieces` as a positive int (TypeError / ValueError)."""
    if isinstance(pieces, bool) or not isinstance(pieces, numbers.Integral):
        raise TypeError(f"{func}: pieces must be an int, got {type(pieces).__name__}")
    if not 1 <= pieces < 2 ** 62:
        raise ValueError(f"{func}: pieces must be >= 1 (and < 2**62), got {pieces}")
    return pieces


cdef int axis_of(str func, object arr, object axis, Py_ssize_t group) except -1:
    """The normalized axis of the input-shaped arr (a 0-d array counts as one element
    along axis 0 or -1, like torch), after checking that `group` divides its length."""
    cdef int ax = normalize_axis(func, axis, max(arr.ndim, 1))
    cdef Py_ssize_t n = arr.shape[ax] if arr.ndim else 1
    if n % group:
        if func.startswith("glu"):
            raise ValueError(f"{func}: x has length {n} along axis {axis}, which is odd; "
                             f"glu splits it into two halves")
        raise ValueError(f"{func}: pieces={group} does not divide the length {n} of x "
                         f"along axis {axis}")
    return ax


cdef tuple grouped_shape(object shape, int axis, Py_ssize_t group):
    """The forward output's shape: the axis length divided by group."""
    if not shape:
        return ()
    cdef list dims = list(shape)
    dims[axis] = dims[axis] // group
    return tuple(dims)


cdef check_grad_shape(str func, object grad, object value, str name, int axis,
                      Py_ssize_t group):
    """grad must have the forward output's shape (x's shape with the axis divided)."""
    if group == 1:
        check_same_shape(func, grad, "grad", value, name)
    elif grad.shape != grouped_shape(value.shape, axis, group):
        raise ValueError(f"{func}: grad has shape {grad.shape} but the forward output for "
                         f"{name} of shape {value.shape} has shape "
                         f"{grouped_shape(value.shape, axis, group)}")


# ---- running a kernel ----

cdef cnp.ndarray viewed(cnp.ndarray arr, int axis, View3 *view):
    """arr (a 1-element view of it if 0-d) seen as (outer, n, inner) in view; a
    C-contiguous copy where its axes do not merge."""
    if cnp.PyArray_NDIM(arr) == 0:
        arr = arr.reshape(1)
    if not as_view3(arr, axis, view):
        arr = np.ascontiguousarray(arr)
        as_view3(arr, axis, view)
    return arr


cdef call_kernel(fa_axis_fn fn, Py_ssize_t group, int axis, cnp.ndarray a, object b,
                 cnp.ndarray out):
    """Run fn on validated, kernel-ready operands: forward a = x, b = None; backward
    a = grad, b = x or y. out must be viewable as it is (out_viewable: the callers
    make sure), since the kernel writes through that view."""
    cdef View3 va, vb, vo
    cdef int nthreads = team_size(num_threads, cnp.PyArray_SIZE(a))
    if cnp.PyArray_SIZE(a) == 0 or cnp.PyArray_SIZE(out) == 0:
        return
    a = viewed(a, axis, &va)
    if b is None:
        vb = va
    else:
        b = viewed(b, axis, &vb)
    cdef cnp.ndarray out_view = viewed(out, axis, &vo)
    if cnp.PyArray_DATA(out_view) != cnp.PyArray_DATA(out):
        raise AssertionError("call_kernel: out is not viewable")   # the callers prevent it
    with nogil:                  # the shape of the input-shaped operand: x
        fn(vb.shape, group, va.data, va.strides, vb.data, vb.strides, vo.data, vo.strides,
           nthreads)


cdef bint out_viewable(cnp.ndarray out, int axis):
    """Can a kernel write out through a (outer, n, inner) view of it?"""
    cdef View3 v
    if cnp.PyArray_NDIM(out) == 0:
        return True
    return as_view3(out, axis, &v)


cdef object run_along_axis(const fa_axis_kernel *k, str func, object grad, object value,
                           bint from_y, object axis, Py_ssize_t group, object out):
    """The out-of-place forms. Forward: value = x, grad = None; backward: grad and x or y.
    group divides the axis (1: softmax family, pieces: maxout, 2: glu)."""
    cdef str name = "y" if from_y else "x"
    cdef object va = real_array(func, name, value)
    cdef int ax = axis_of(func, va, axis, group)
    cdef object ga = None, rshape, rdt
    if grad is not None:
        ga = real_array(func, "grad", grad)
        check_grad_shape(func, ga, va, name, ax, group)
        rdt = result_dtype(np.result_type(ga.dtype, va.dtype))
        rshape = va.shape
    else:
        rdt = result_dtype(va.dtype)
        rshape = grouped_shape(va.shape, ax, group)
    cdef object cdt = compute_dtype(rdt)
    if out is not None:
        check_out(func, out, rshape, rdt)
    cdef cnp.ndarray vc = ready_copy(va, cdt), gc = None, target
    if ga is not None:
        gc = ready_copy(ga, cdt)
    if (out is not None and kernel_ready(out, cdt) and out_viewable(out, ax)
            and not overlaps(out, vc) and (gc is None or not overlaps(out, gc))):
        target = out
    elif gc is None and group == 1 and vc is not va and out_viewable(vc, ax):
        target = vc                  # already a private copy: compute in it
    else:
        target = np.empty(rshape, dtype=cdt)
    cdef int s = slot_of(cdt)
    if gc is None:
        call_kernel(k.forward[s], group, ax, vc, None, target)
    else:
        call_kernel(k.backward_y[s] if from_y else k.backward_x[s], group, ax, gc, vc, target)
    return finish(target, out, rdt)


cdef object run_along_axis_inplace(const fa_axis_kernel *k, str func, object grad,
                                   object value, bint from_y, object axis):
    """The in-place forms of softmax and log_softmax: forward (grad None) into x,
    backward into grad."""
    cdef str name = "y" if from_y else "x"
    cdef str target_name = "x" if grad is None else "grad"
    cdef object target = value if grad is None else grad
    check_writeable_float(func, target_name, target)
    cdef object va = real_array(func, name, value)
    cdef int ax = axis_of(func, va, axis, 1)
    if grad is not None:
        check_same_shape(func, grad, "grad", va, name)
    cdef object dtype = target.dtype
    cdef cnp.ndarray tc = ready_copy(target, dtype), vc
    if not out_viewable(tc, ax):
        tc = np.ascontiguousarray(tc)
    cdef int s = slot_of(dtype)
    if grad is None:
        call_kernel(k.forward[s], 1, ax, tc, None, tc)
    else:
        vc = ready_copy(va, dtype)
        if vc is va and overlaps(vc, tc):
            vc = vc.copy()           # grad is written while x/y is still being read
        call_kernel(k.backward_y[s] if from_y else k.backward_x[s], 1, ax, tc, vc, tc)
    if tc is not target:
        np.copyto(target, tc)
    return target


# ---- softmax ----

def softmax(x, *, axis=-1, out=None):
    """softmax(x) = exp(x - max) / sum(exp(x - max)) along `axis`.

    Returns a new array (or fills and returns `out`). Rows along the axis sum to 1 within
    a few ULP; each value is within 4 ULP of the exact one. NaN or +inf in a row gives a
    NaN row, -inf entries give 0, an all -inf row is NaN (as torch.softmax). A 0-d array
    counts as one element (axis 0 or -1): its softmax is 1. float16 is computed in
    float32, integers and bool in float64."""
    if lazy(x):
        return lazy_call("softmax", (x,), dict(axis=axis, out=out))
    return run_along_axis(AX_SOFTMAX, "softmax", None, x, False, axis, 1, out)


def softmax_(x, *, axis=-1):
    """In-place softmax along `axis`: x <- softmax(x). x must be a writeable float32 or
    float64 ndarray (any strides); returns x.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(x):
        return lazy_call("softmax_", (x,), dict(axis=axis))
    return run_along_axis_inplace(AX_SOFTMAX, "softmax_", None, x, False, axis)


def softmax_backward(grad, x=None, *, y=None, axis=-1, out=None):
    """Gradient of softmax: y * (grad - sum(grad * y)) along `axis`, y = softmax(x).

    Give exactly one of x (the forward input; y is then recomputed) and y (the forward
    output). The subtraction cancels by nature: the result is accurate to a few ULP of
    |y| * (|grad| + |sum(grad * y)|). Returns a new array (or fills and returns `out`)."""
    if lazy(grad) or lazy(x) or lazy(y):
        return lazy_call("softmax_backward", (grad, x,), dict(y=y, axis=axis, out=out))
    value, name, from_y = x_or_y("softmax_backward", x, y)
    return run_along_axis(AX_SOFTMAX, "softmax_backward", grad, value, from_y, axis, 1, out)


def softmax_backward_(grad, x=None, *, y=None, axis=-1):
    """In-place gradient of softmax: grad <- y * (grad - sum(grad * y)) along `axis`.
    grad must be a writeable float32 or float64 ndarray; give exactly one of x and y.
    Returns grad.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(grad) or lazy(x) or lazy(y):
        return lazy_call("softmax_backward_", (grad, x,), dict(y=y, axis=axis))
    value, name, from_y = x_or_y("softmax_backward_", x, y)
    return run_along_axis_inplace(AX_SOFTMAX, "softmax_backward_", grad, value, from_y, axis)


# ---- log_softmax ----

def log_softmax(x, *, axis=-1, out=None):
    """log_softmax(x) = (x - max) - log(sum(exp(x - max))) along `axis`.

    Returns a new array (or fills and returns `out`). Within 4 ULP of the exact value;
    exact (0) for a single dominant element. NaN or +inf in a row gives a NaN row, -inf
    entries give -inf, an all -inf row is NaN (as torch.log_softmax). A 0-d array counts
    as one element: its log_softmax is 0."""
    if lazy(x):
        return lazy_call("log_softmax", (x,), dict(axis=axis, out=out))
    return run_along_axis(AX_LOG_SOFTMAX, "log_softmax", None, x, False, axis, 1, out)


def log_softmax_(x, *, axis=-1):
    """In-place log_softmax along `axis`: x <- log_softmax(x). x must be a writeable
    float32 or float64 ndarray; returns x.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(x):
        return lazy_call("log_softmax_", (x,), dict(axis=axis))
    return run_along_axis_inplace(AX_LOG_SOFTMAX, "log_softmax_", None, x, False, axis)


def log_softmax_backward(grad, x=None, *, y=None, axis=-1, out=None):
    """Gradient of log_softmax: grad - exp(y) * sum(grad) along `axis`, y = log_softmax(x).

    Give exactly one of x (the forward input) and y (the forward output, log-probabilities).
    Accurate to a few ULP of |grad| + exp(y) |sum(grad)| (the subtraction cancels by
    nature). Returns a new array (or fills and returns `out`)."""
    if lazy(grad) or lazy(x) or lazy(y):
        return lazy_call("log_softmax_backward", (grad, x,), dict(y=y, axis=axis, out=out))
    value, name, from_y = x_or_y("log_softmax_backward", x, y)
    return run_along_axis(AX_LOG_SOFTMAX, "log_softmax_backward", grad, value, from_y,
                          axis, 1, out)


def log_softmax_backward_(grad, x=None, *, y=None, axis=-1):
    """In-place gradient of log_softmax: grad <- grad - exp(y) * sum(grad) along `axis`.
    grad must be a writeable float32 or float64 ndarray; give exactly one of x and y.
    Returns grad.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(grad) or lazy(x) or lazy(y):
        return lazy_call("log_softmax_backward_", (grad, x,), dict(y=y, axis=axis))
    value, name, from_y = x_or_y("log_softmax_backward_", x, y)
    return run_along_axis_inplace(AX_LOG_SOFTMAX, "log_softmax_backward_", grad, value,
                                  from_y, axis)


# ---- maxout ----

def maxout(x, pieces, *, axis=1, out=None):
    """maxout: the maximum over consecutive groups of `pieces` elements along `axis`.

    x.shape[axis] = pieces * m becomes m; output j is the max of inputs
    j*pieces .. j*pieces + pieces - 1 (consecutive grouping, as x.reshape(..., m, pieces,
    ...).max(axis + 1)). pieces must be a positive int dividing x.shape[axis]. A group
    holding NaN gives NaN (as torch.max). There is no in-place form (the shape changes).
    Returns a new array (or fills and returns `out`)."""
    if lazy(x):
        return lazy_call("maxout", (x,), dict(pieces=pieces, axis=axis, out=out))
    cdef Py_ssize_t group = group_of("maxout", pieces)
    return run_along_axis(AX_MAXOUT, "maxout", None, x, False, axis, group, out)


def maxout_backward(grad, x, pieces, *, axis=1, out=None):
    """Gradient of maxout: grad (the output's shape) routed to the arg-max of each group
    of x, the first one on ties (the first NaN if the group has one), zeros elsewhere.

    The result has x's shape. There is no in-place form (the shape changes). Returns a
    new array (or fills and returns `out`)."""
    if lazy(grad) or lazy(x):
        return lazy_call("maxout_backward", (grad, x,), dict(pieces=pieces, axis=axis, out=out))
    cdef Py_ssize_t group = group_of("maxout_backward", pieces)
    return run_along_axis(AX_MAXOUT, "maxout_backward", grad, x, False, axis, group, out)


# ---- glu ----

def glu(x, *, axis=-1, out=None):
    """Gated linear unit: a * sigmoid(b), where a and b are the first and second halves
    of x along `axis` (as torch.nn.functional.glu; x.shape[axis] must be even).

    The result has half of x's length along the axis; there is no in-place form (the
    shape changes). Returns a new array (or fills and returns `out`)."""
    if lazy(x):
        return lazy_call("glu", (x,), dict(axis=axis, out=out))
    return run_along_axis(AX_GLU, "glu", None, x, False, axis, 2, out)


def glu_backward(grad, x, *, axis=-1, out=None):
    """Gradient of glu: [grad * sigmoid(b), grad * a * sigmoid(b) * sigmoid(-b)] along
    `axis` (halves a, b of x; grad has the output's shape, the result x's shape).

    There is no in-place form. Returns a new array (or fills and returns `out`)."""
    if lazy(grad) or lazy(x):
        return lazy_call("glu_backward", (grad, x,), dict(axis=axis, out=out))
    return run_along_axis(AX_GLU, "glu_backward", grad, x, False, axis, 2, out)
