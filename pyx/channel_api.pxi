# The channel family (issue 3): the learnable per-channel activations prelu, srelu and
# apl, and the randomized rrelu. Included by _api.pyx after dispatch.pxi and
# axis_layout.pxi, whose validation helpers every function here reuses.
#
# prelu, srelu and apl share one wrapper (channel_apply): validate everything (arrays,
# axis, parameter shapes, out) before any kernel writes, convert the parameters into one
# (nparams, channels) array in the compute dtype (a shared parameter repeated over the
# channels; (nparams, 1) when every parameter is shared, and the kernel then sees no
# channel axis), view the operands as (outer, channels, inner), run the kernel without
# the GIL, and fold the parameter gradients of shared parameters over the channels.

include "channel_table.pxi"

import math

cdef const fa_channel_table *CHANNEL = NULL
cdef fa_kernel RRELU_SLOPES          # the elementwise grad * slopes, for backward()

__all__ += ["prelu", "prelu_", "prelu_backward", "prelu_backward_",
            "srelu", "srelu_", "srelu_backward", "srelu_backward_",
            "apl", "apl_", "apl_backward", "apl_backward_",
            "rrelu", "rrelu_", "rrelu_backward", "rrelu_backward_"]


cdef int load_channel_kernels(object module) except -1:
    global CHANNEL
    CHANNEL = <const fa_channel_table*>PyCapsule_GetPointer(
        module.CHANNEL_KERNELS, b"fastact.channel_table")
    RRELU_SLOPES.name = b"rrelu_backward_slopes"
    RRELU_SLOPES.grain = FASTACT_GRAIN_CHEAP
    RRELU_SLOPES.forward[0] = RRELU_SLOPES.forward[1] = NULL
    RRELU_SLOPES.backward_x[0] = CHANNEL.rrelu_backward_slopes[0]
    RRELU_SLOPES.backward_x[1] = CHANNEL.rrelu_backward_slopes[1]
    RRELU_SLOPES.backward_y[0] = RRELU_SLOPES.backward_y[1] = NULL
    return 0


# ---------------------------------------------------------------- per-channel

cdef int channel_axis(str func, object xa, object axis) except -2:
    """The channel axis of xa, or -1 where xa has none: 0-d and 1-d arrays with an axis
    at or beyond their dimension (torch's prelu on such inputs: one shared parameter)."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{func}: axis must be an int, got {type(axis).__name__}")
    if xa.ndim < 2 and axis >= xa.ndim:
        return -1
    return normalize_axis(func, axis, xa.ndim)


cdef class ChannelParams:
    """The parameters of one call, validated and laid out for the kernel."""
    cdef list names, shapes, shared, rows
    cdef object table                     # (nparams, width) in the compute dtype
    cdef Py_ssize_t width                 # channels, or 1 when every parameter is shared


cdef ChannelParams channel_params(str func, list given, int terms, object xshape, int ax,
                                  Py_ssize_t channels, object cdt):
    """given: [(name, value)]. terms == 0: each parameter is a scalar / size-1 array
    (shared) or has shape (C,); terms > 0 (apl): each has shape (S,) (shared) or (S, C),
    all with the same S. Raises before anything is computed."""
    cdef ChannelParams p = ChannelParams()
    p.names, p.shapes, p.shared, p.rows = [], [], [], []
    cdef Py_ssize_t nterms = -1
    blocks = []
    where = (f"x has shape {xshape}, channel axis {ax} of length {channels}" if ax >= 0
             else f"x has shape {xshape} and no channel axis")
    for name, value in given:
        arr = real_array(func, name, value)
        if terms == 0:
            if arr.size == 1:
                shared, block = True, arr.reshape(1, 1)
            elif ax >= 0 and arr.shape == (channels,):
                shared, block = False, arr.reshape(1, channels)
            else:
                expected = f"a scalar or shape ({channels},)" if ax >= 0 else "a scalar (one shared value)"
                raise ValueError(f"{func}: {name} has shape {arr.shape}; expected {expected} ({where})")
        else:
            if nterms < 0 and arr.ndim in (1, 2):
                nterms = arr.shape[0]
            if arr.ndim == 1 and arr.shape[0] == nterms:
                shared, block = True, arr.reshape(nterms, 1)
            elif ax >= 0 and arr.shape == (nterms, channels):
                shared, block = False, arr
            else:
                expected = (f"shape (S,) or (S, {channels})" if ax >= 0 else "shape (S,)") + (
                    f" with S = {nterms} (as {p.names[0]})" if p.names else "")
                raise ValueError(f"{func}: {name} has shape {arr.shape}; expected {expected} ({where})")
        p.names.append(name)
        p.shapes.append(arr.shape)
        p.shared.append(shared)
        p.rows.append(block.shape[0])
        blocks.append(block)
    # all shared: the kernel sees no channel axis (no table, no sums of channel width)
    p.width = 1 if all(p.shared) else channels
    with np.errstate(over="ignore"):
        blocks = [np.broadcast_to(block.astype(cdt), (block.shape[0], p.width)) for block in blocks]
    p.table = np.ascontiguousarray(np.concatenate(blocks, axis=0), dtype=cdt)
    return p


cdef tuple parameter_gradients(ChannelParams p, object sums, object rdt):
    """The (nparams, width) double sums as one gradient per parameter, in its shape."""
    grads = []
    cdef Py_ssize_t row = 0
    for shape, shared, rows in zip(p.shapes, p.shared, p.rows):
        part = sums[row:row + rows]
        row += rows
        with np.errstate(over="ignore", invalid="ignore"):   # inf and NaN are results
            if shared:
                part = part.sum(axis=1)           # a fixed order: shape-dependent only
            grads.append(part.reshape(shape).astype(rdt))
    return tuple(grads)


cdef bint fill_view(cnp.ndarray arr, int ax, View3 *view) noexcept:
    """arr as (outer, channels, inner). ax < 0 (no channel axis, or every parameter
    shared): the whole array as one inner run, if its axes merge (in their logical
    order, so that every operand is walked alike). A single channel with inner == 1 is
    turned into inner == outer, so that its loop is long."""
    if ax < 0:
        view.data = <char*>cnp.PyArray_DATA(arr)
        view.shape[0] = view.shape[1] = 1
        view.strides[0] = view.strides[1] = 0
        return merge_axes(arr, 0, cnp.PyArray_NDIM(arr), &view.shape[2], &view.strides[2])
    if not as_view3(arr, ax, view):
        return False
    if view.shape[1] == 1 and view.shape[2] == 1:
        view.shape[2], view.strides[2] = view.shape[0], view.strides[0]
        view.shape[0], view.strides[0] = 1, 0
    return True


cdef enum:
    FEW_CHANNELS = 64        # channels last with fewer channels than this are tiled
    TILED_ROW = 256          # ... into rows of about this many elements


cdef bint tileable(const View3 *v) noexcept:
    """Not few channels last, or few channels last whose rows (outer, C) form one run."""
    if v.shape[2] != 1 or v.shape[1] >= FEW_CHANNELS or v.shape[0] <= 1:
        return True
    return v.strides[0] == v.shape[1] * v.strides[1]


cdef object run_once(str func, fa_channel_fn kernel, fa_channel_call *call,
                     cnp.ndarray table, bint backward_form):
    """One kernel call without the GIL; the (nparams, table width) gradient sums, or None."""
    cdef cnp.ndarray sums = np.zeros((call.nparams, table.shape[1] if backward_form else 0),
                                     np.float64)
    call.params = cnp.PyArray_DATA(table)
    call.param_grad = <double*>cnp.PyArray_DATA(sums) if backward_form else NULL
    cdef int status
    with nogil:
        status = kernel(call)
    if status != 0:
        raise MemoryError(f"{func}: no memory for the parameter-gradient partial sums")
    return sums if backward_form else None


cdef object run_tiled(str func, fa_channel_fn kernel, fa_channel_call *call, object table,
                      bint backward_form, Py_ssize_t itemsize):
    """Run the kernel over call's view. With few channels last (inner == 1, C small) a
    kernel segment would be one row of C elements, and the per-segment cost dominates
    (20x slower than leaky_relu at C = 4). Rows are one run there (tileable: the caller
    made sure), so R consecutive rows are run as one row of R*C channels with the
    parameters tiled R times, and the sums folded back over R (in a fixed order: the
    bits depend on the shape only); the outer % R rows left run as they are."""
    cdef Py_ssize_t C = call.shape[1], outer = call.shape[0], R = 1, main, k
    if call.shape[2] == 1 and 0 < C < FEW_CHANNELS:
        R = min(TILED_ROW // C, outer)
    if R <= 1:
        return run_once(func, kernel, call, table, backward_form)
    main = outer - outer % R
    cdef fa_channel_call part = call[0]
    part.shape[0], part.shape[1] = main // R, R * C
    part.sx[0], part.so[0], part.sg[0] = R * call.sx[0], R * call.so[0], R * call.sg[0]
    sums = run_once(func, kernel, &part, np.ascontiguousarray(np.tile(table, (1, R))),
                    backward_form)
    if backward_form:
        with np.errstate(over="ignore", invalid="ignore"):
            sums = sums.reshape(call.nparams, R, C).sum(axis=1)
    if main == outer:
        return sums
    part = call[0]                   # the rows left over
    part.shape[0] = outer - main
    part.x = <const char*>call.x + main * call.sx[0] * itemsize
    part.out = <char*>call.out + main * call.so[0] * itemsize
    if call.g != NULL:
        part.g = <const char*>call.g + main * call.sg[0] * itemsize
    rest = run_once(func, kernel, &part, table, backward_form)
    if backward_form:
        with np.errstate(over="ignore", invalid="ignore"):
            sums = sums + rest
    return sums


cdef object channel_apply(int act, str func, object grad, object x, list given, int terms,
                          object axis, object out, bint inplace):
    """The four forms of a per-channel activation. grad None: forward (into x when
    inplace); else backward, returning (grad_x, *parameter gradients)."""
    cdef bint backward_form = grad is not None
    cdef object xa, ga = None, target_arr = x if not backward_form else grad
    if inplace:
        check_writeable_float(func, "grad" if backward_form else "x", target_arr)
    xa = real_array(func, "x", x)
    if backward_form:
        ga = grad if inplace else real_array(func, "grad", grad)
        check_same_shape(func, ga, "grad", xa, "x")
        rdt = ga.dtype if inplace else result_dtype(np.result_type(ga.dtype, xa.dtype))
    else:
        rdt = x.dtype if inplace else result_dtype(xa.dtype)
    cdef object cdt = compute_dtype(rdt)
    cdef int ax = channel_axis(func, xa, axis)
    cdef Py_ssize_t channels = xa.shape[ax] if ax >= 0 else 1
    cdef ChannelParams p = channel_params(func, given, terms, xa.shape, ax, channels, cdt)
    if p.width == 1:
        ax = -1                  # every parameter shared: no channel axis for the kernel
    if act == FA_SRELU and not bool(np.all(p.table[0] <= p.table[2])):
        raise ValueError(f"{func}: t_left <= t_right is required (in every channel)")
    if out is not None:
        check_out(func, out, xa.shape, rdt)
    # ---- operands (nothing has been written so far) ----
    cdef cnp.ndarray xc = ready_copy(xa, cdt), gc = None, target, work
    if backward_form:
        gc = ready_copy(ga, cdt)
    if inplace:
        target = ready_copy(target_arr, cdt)       # a copy when it is misaligned
        if not backward_form:
            xc = target                            # x is read where it is written
        elif xc is xa and overlaps(xc, target):
            xc = xc.copy()                         # grad is written while x is read
    elif (out is not None and kernel_ready(out, cdt) and not overlaps(out, xc)
            and (gc is None or not overlaps(out, gc))):
        target = out
    elif backward_form and gc is not ga:
        target = gc                                # a private copy already: compute in it
    elif not backward_form and xc is not xa:
        target = xc
    else:
        target = np.empty_like(xc)
    cdef fa_channel_call call
    cdef int i
    cdef View3 vx, vg, vo
    work = target
    if not (fill_view(xc, ax, &vx) and fill_view(target, ax, &vo)
            and (gc is None or fill_view(gc, ax, &vg))
            and tileable(&vx) and tileable(&vo) and (gc is None or tileable(&vg))):
        # the axes around the channel axis do not merge (or few channels last are not
        # one run, see run_tiled): C-contiguous copies
        xc = np.ascontiguousarray(xc)
        gc = None if gc is None else np.ascontiguousarray(gc)
        work = np.ascontiguousarray(target) if inplace else np.empty(xa.shape, cdt)
        if inplace and not backward_form:
            xc = work
        fill_view(xc, ax, &vx)
        fill_view(work, ax, &vo)
        if gc is not None:
            fill_view(gc, ax, &vg)
    for i in range(3):
        call.shape[i] = vx.shape[i]
        call.sx[i], call.so[i] = vx.strides[i], vo.strides[i]
        call.sg[i] = vg.strides[i] if gc is not None else 0
    call.x, call.out = vx.data, vo.data
    call.g = vg.data if gc is not None else NULL
    call.nparams = p.table.shape[0]
    call.nthreads = team_size(num_threads, cnp.PyArray_SIZE(xc))
    cdef int slot = slot_of(cdt)
    cdef fa_channel_fn kernel
    if backward_form:
        kernel = CHANNEL.backward[act][slot]
    else:
        kernel = CHANNEL.forward[act][slot]
    sums = run_tiled(func, kernel, &call, p.table, backward_form, cdt.itemsize)
    # ---- results ----
    if work is not target:
        np.copyto(target, work)
    if inplace:
        if target is not target_arr:
            np.copyto(target_arr, target)
        result = target_arr
    else:
        result = finish(target, out, rdt)
    if not backward_form:
        return result
    return (result,) + parameter_gradients(p, sums, rdt)


# ---- prelu ----

def prelu(x, weight, *, axis=1, out=None):
    """prelu(x) = x if x > 0 else weight * x, with one weight per channel.

    weight: a scalar (shared) or an array of shape (C,), C = x.shape[axis]; on 0-d and
    1-d x (no channel axis, as in torch) only a shared weight. Returns a new array (or
    fills and returns `out`)."""
    if lazy(x):
        return lazy_call("prelu", (x,), dict(weight=weight, axis=axis, out=out))
    return channel_apply(FA_PRELU, "prelu", None, x, [("weight", weight)], 0, axis, out, False)


def prelu_(x, weight, *, axis=1):
    """In-place prelu: x <- prelu(x, weight). x must be a writeable float32 or float64
    ndarray; returns x.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(x):
        return lazy_call("prelu_", (x,), dict(weight=weight, axis=axis))
    return channel_apply(FA_PRELU, "prelu_", None, x, [("weight", weight)], 0, axis, None, True)


def prelu_backward(grad, x, weight, *, axis=1, out=None):
    """Gradients of prelu: returns (grad_x, grad_weight).

    grad_x = grad if x > 0 else weight * grad (the weight at x = 0 and at NaN, as torch);
    grad_weight = sum of grad * x over x <= 0 (and NaN x), over every axis but the channel
    axis, with weight's shape, summed in double (bitwise the same for any thread count)."""
    if lazy(grad) or lazy(x):
        return lazy_call("prelu_backward", (grad, x,), dict(weight=weight, axis=axis, out=out))
    return channel_apply(FA_PRELU, "prelu_backward", grad, x, [("weight", weight)], 0, axis, out, False)


def prelu_backward_(grad, x, weight, *, axis=1):
    """In-place prelu_backward: grad <- grad_x; returns (grad, grad_weight).
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(grad) or lazy(x):
        return lazy_call("prelu_backward_", (grad, x,), dict(weight=weight, axis=axis))
    return channel_apply(FA_PRELU, "prelu_backward_", grad, x, [("weight", weight)], 0, axis, None, True)


# ---- srelu ----

cdef list srelu_params(object t_left, object a_left, object t_right, object a_right):
    return [("t_left", t_left), ("a_left", a_left), ("t_right", t_right), ("a_right", a_right)]


def srelu(x, t_left, a_left, t_right, a_right, *, axis=1, out=None):
    """S-shaped ReLU (Jin et al. 2015), parameters per channel (scalars or shape (C,)):
    t_right + a_right*(x - t_right) for x >= t_right, x between, t_left + a_left*(x - t_left)
    for x <= t_left. t_left <= t_right is required. Returns a new array (or `out`)."""
    if lazy(x):
        return lazy_call("srelu", (x,), dict(t_left=t_left, a_left=a_left, t_right=t_right, a_right=a_right, axis=axis, out=out))
    return channel_apply(FA_SRELU, "srelu", None, x,
                         srelu_params(t_left, a_left, t_right, a_right), 0, axis, out, False)


def srelu_(x, t_left, a_left, t_right, a_right, *, axis=1):
    """In-place srelu; x must be a writeable float32 or float64 ndarray; returns x.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(x):
        return lazy_call("srelu_", (x,), dict(t_left=t_left, a_left=a_left, t_right=t_right, a_right=a_right, axis=axis))
    return channel_apply(FA_SRELU, "srelu_", None, x,
                         srelu_params(t_left, a_left, t_right, a_right), 0, axis, None, True)


def srelu_backward(grad, x, t_left, a_left, t_right, a_right, *, axis=1, out=None):
    """Gradients of srelu: (grad_x, grad_t_left, grad_a_left, grad_t_right, grad_a_right),
    each parameter gradient in that parameter's shape (see docs/learnable_activations.md)."""
    if lazy(grad) or lazy(x):
        return lazy_call("srelu_backward", (grad, x,), dict(t_left=t_left, a_left=a_left, t_right=t_right, a_right=a_right, axis=axis, out=out))
    return channel_apply(FA_SRELU, "srelu_backward", grad, x,
                         srelu_params(t_left, a_left, t_right, a_right), 0, axis, out, False)


def srelu_backward_(grad, x, t_left, a_left, t_right, a_right, *, axis=1):
    """In-place srelu_backward: grad <- grad_x; returns (grad, grad_t_left, grad_a_left,
    grad_t_right, grad_a_right).
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(grad) or lazy(x):
        return lazy_call("srelu_backward_", (grad, x,), dict(t_left=t_left, a_left=a_left, t_right=t_right, a_right=a_right, axis=axis))
    return channel_apply(FA_SRELU, "srelu_backward_", grad, x,
                         srelu_params(t_left, a_left, t_right, a_right), 0, axis, None, True)


# ---- apl ----

def apl(x, a, b, *, axis=1, out=None):
    """Adaptive piecewise linear unit (Agostinelli et al. 2014):
    max(0, x) + sum over s of a[s] * max(0, b[s] - x), with a and b of shape (S,) (shared
    over the channels) or (S, C). Returns a new array (or `out`)."""
    if lazy(x):
        return lazy_call("apl", (x,), dict(a=a, b=b, axis=axis, out=out))
    return channel_apply(FA_APL, "apl", None, x, [("a", a), ("b", b)], 1, axis, out, False)


def apl_(x, a, b, *, axis=1):
    """In-place apl; x must be a writeable float32 or float64 ndarray; returns x.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(x):
        return lazy_call("apl_", (x,), dict(a=a, b=b, axis=axis))
    return channel_apply(FA_APL, "apl_", None, x, [("a", a), ("b", b)], 1, axis, None, True)


def apl_backward(grad, x, a, b, *, axis=1, out=None):
    """Gradients of apl: (grad_x, grad_a, grad_b). At a kink (x == 0, x == b[s]) the
    derivative of max(0, z) is taken as 0."""
    if lazy(grad) or lazy(x):
        return lazy_call("apl_backward", (grad, x,), dict(a=a, b=b, axis=axis, out=out))
    return channel_apply(FA_APL, "apl_backward", grad, x, [("a", a), ("b", b)], 1, axis, out, False)


def apl_backward_(grad, x, a, b, *, axis=1):
    """In-place apl_backward: grad <- grad_x; returns (grad, grad_a, grad_b).
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(grad) or lazy(x):
        return lazy_call("apl_backward_", (grad, x,), dict(a=a, b=b, axis=axis))
    return channel_apply(FA_APL, "apl_backward_", grad, x, [("a", a), ("b", b)], 1, axis, None, True)


# ---------------------------------------------------------------------- rrelu

cdef double rrelu_bounds(str func, object lower, object upper, double *p) except -1.0:
    """Check the bounds; p[0] = the evaluation slope (lower + upper) / 2."""
    cdef double lo = real_param(func, "lower", lower), hi = real_param(func, "upper", upper)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{func}: lower and upper must be finite, got {lower!r} and {upper!r}")
    if not lo <= hi:
        raise ValueError(f"{func}: lower <= upper is required, got {lower!r} > {upper!r}")
    if not math.isfinite(hi - lo):
        raise ValueError(f"{func}: upper - lower overflows, got {lower!r} and {upper!r}")
    p[0] = (lo + hi) / 2
    p[1] = 0
    return 0


cdef unsigned long long rrelu_seed(str func, object seed) except? 0:
    if seed is None:
        return int.from_bytes(os.urandom(8), "little")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{func}: seed must be an int in [0, 2**64) or None, got {type(seed).__name__}")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{func}: seed must be in [0, 2**64), got {seed}")
    return int(seed)


cdef cnp.ndarray c_work(object arr, object cdt, list avoid):
    """arr if a kernel can write it as one C-contiguous run sharing no memory with the
    arrays in `avoid`, else a fresh C-contiguous array."""
    if (arr is not None and kernel_ready(arr, cdt) and arr.flags.c_contiguous
            and not any(np.may_share_memory(arr, other) for other in avoid)):
        return arr
    return np.empty(avoid[0].shape, cdt)


cdef object rrelu_train(str func, object x, object out, object slopes, unsigned long long seed,
                        const double *bounds, bint inplace):
    """(y, slopes) of rrelu in training. The kernel works on C-contiguous runs (a slope
    belongs to a C-order index), through copies where the arrays are not."""
    xa = x if inplace else real_array(func, "x", x)
    rdt = x.dtype if inplace else result_dtype(xa.dtype)
    cdt = compute_dtype(rdt)
    if cdt == F32:
        with np.errstate(over="ignore"):
            lo32, hi32 = np.float32(bounds[2]), np.float32(bounds[3])
            if not (np.isfinite(lo32) and np.isfinite(hi32) and np.isfinite(hi32 - lo32)):
                raise ValueError(f"{func}: lower, upper and upper - lower must be finite in "
                                 f"float32 (the dtype the slopes are drawn in), got {bounds[2]!r} and {bounds[3]!r}")
    if out is not None:
        check_out(func, out, xa.shape, rdt)
    if slopes is not None:
        check_out(func, slopes, xa.shape, rdt, "slopes")
        if np.may_share_memory(slopes, x if inplace else out):
            raise ValueError(f"{func}: slopes shares memory with the output")
    # ---- nothing written so far ----
    cdef cnp.ndarray xc = np.asarray(xa, dtype=cdt, order="C")
    if not kernel_ready(xc, cdt):
        xc = np.array(xc, dtype=cdt, order="C", copy=True)
    if xc is xa and not inplace and slopes is not None and np.may_share_memory(slopes, xc):
        xc = xc.copy()                        # slopes are written while x is read
    cdef cnp.ndarray y = xc if inplace else c_work(out, cdt, [xc] if slopes is None else [xc, slopes])
    cdef cnp.ndarray s = c_work(slopes, cdt, [xc, y])
    cdef fa_rrelu_fn kernel = CHANNEL.rrelu_train[slot_of(cdt)]
    cdef Py_ssize_t n = xc.size
    cdef double lower = bounds[2], upper = bounds[3]
    cdef int nthreads = team_size(num_threads, n)
    with nogil:
        kernel(n, cnp.PyArray_DATA(xc), cnp.PyArray_DATA(y), cnp.PyArray_DATA(s),
               seed, lower, upper, nthreads)
    if inplace:
        if y is not x:
            np.copyto(x, y)
        result = x
    else:
        result = finish(y, out, rdt)
    with np.errstate(over="ignore"):         # float16 slopes: inf is the rounded value
        if slopes is None:
            slopes = s if s.dtype == rdt else s.astype(rdt)
        elif s is not slopes:
            np.copyto(slopes, s, casting="unsafe")
    return result, slopes


cdef object rrelu_apply(str func, object x, object lower, object upper, object training,
                        object seed, object out, object slopes, bint inplace):
    cdef double p[4]
    rrelu_bounds(func, lower, upper, p)
    p[2], p[3] = real_param(func, "lower", lower), real_param(func, "upper", upper)
    cdef unsigned long long key = 0
    if training:
        key = rrelu_seed(func, seed)
        if inplace:
            check_writeable_float(func, "x", x)
        return rrelu_train(func, x, out, slopes, key, p, inplace)
    if seed is not None:
        rrelu_seed(func, seed)                # validated even though unused
    if slopes is not None:
        raise TypeError(f"{func}: slopes is only filled in training (training=True)")
    if inplace:
        return forward_inplace(K_leaky_relu, func, x, p)
    return forward(K_leaky_relu, func, x, out, p)


def rrelu(x, *, lower=0.125, upper=1.0 / 3.0, training=False, seed=None, out=None, slopes=None):
    """Randomized leaky ReLU (Xu et al. 2015): x if x > 0 else slope * x.

    training=False: slope = (lower + upper) / 2, i.e. leaky_relu; returns y.
    training=True: slope ~ U(lower, upper) per element with x <= 0 (1 elsewhere, NaN
    included), a pure function of (seed, the element's C-order index); returns (y, slopes)
    and fills `slopes` if given. seed: an int in [0, 2**64), or None for a fresh one."""
    if lazy(x):
        return lazy_call("rrelu", (x,), dict(lower=lower, upper=upper, training=training, seed=seed, out=out, slopes=slopes))
    return rrelu_apply("rrelu", x, lower, upper, training, seed, out, slopes, False)


def rrelu_(x, *, lower=0.125, upper=1.0 / 3.0, training=False, seed=None, slopes=None):
    """In-place rrelu: returns x (evaluation) or (x, slopes) (training).
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(x):
        return lazy_call("rrelu_", (x,), dict(lower=lower, upper=upper, training=training, seed=seed, slopes=slopes))
    return rrelu_apply("rrelu_", x, lower, upper, training, seed, None, slopes, True)


cdef object rrelu_grad(str func, object grad, object x, object slopes, object lower,
                       object upper, object out, bint inplace):
    cdef double p[4]
    if (x is None) == (slopes is None):
        raise TypeError(f"{func}: give exactly one of x (evaluation mode) and slopes "
                        f"(as returned by rrelu in training)")
    rrelu_bounds(func, lower, upper, p)
    if x is not None:
        if inplace:
            return backward_inplace(K_leaky_relu, func, grad, x, None, p)
        return backward(K_leaky_relu, func, grad, x, None, out, p)
    sa = real_array(func, "slopes", slopes)
    check_same_shape(func, grad if isinstance(grad, np.ndarray) else np.asarray(grad), "grad",
                     sa, "slopes")
    if inplace:
        return backward_inplace(&RRELU_SLOPES, func, grad, sa, None, p)
    return backward(&RRELU_SLOPES, func, grad, sa, None, out, p)


def rrelu_backward(grad, x=None, *, slopes=None, lower=0.125, upper=1.0 / 3.0, out=None):
    """Gradient of rrelu: grad * slopes (training: the slopes rrelu returned), or, given
    x, the evaluation-mode derivative (1 if x > 0 else (lower + upper) / 2)."""
    if lazy(grad) or lazy(x) or lazy(slopes):
        return lazy_call("rrelu_backward", (grad, x,), dict(slopes=slopes, lower=lower, upper=upper, out=out))
    return rrelu_grad("rrelu_backward", grad, x, slopes, lower, upper, out, False)


def rrelu_backward_(grad, x=None, *, slopes=None, lower=0.125, upper=1.0 / 3.0):
    """In-place rrelu_backward: grad <- the gradient; returns grad.
    Given a Dask array, returns a new lazy array instead (Dask arrays are immutable)."""
    if lazy(grad) or lazy(x) or lazy(slopes):
        return lazy_call("rrelu_backward_", (grad, x,), dict(slopes=slopes, lower=lower, upper=upper))
    return rrelu_grad("rrelu_backward_", grad, x, slopes, lower, upper, None, True)
