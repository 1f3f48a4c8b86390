# Arrays seen along one axis, for the activations that are not elementwise: the
# per-channel ones (prelu, srelu, apl) and the axis-wise ones (softmax, log_softmax,
# maxout, glu). Included by _api.pyx after dispatch.pxi.
#
# Such a kernel works on a 3-d strided view (outer, n, inner): the axes before `axis`
# merged into outer, `axis` itself (length n), the axes after it merged into inner.
# Every contiguous array (C or Fortran order) and most slices merge; an array that does
# not is computed through a C-contiguous copy by the caller.

cdef struct View3:
    char *data
    Py_ssize_t shape[3]          # outer, n, inner
    Py_ssize_t strides[3]        # in elements (a multiple of the item size: kernel_ready)


cdef int normalize_axis(str func, object axis, int ndim) except -1:
    """axis as an index in [0, ndim), or TypeError / numpy.exceptions.AxisError."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{func}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:      # compared as Python ints: no overflow
        raise np.exceptions.AxisError(
            f"{func}: axis {axis} is out of bounds for an array of dimension {ndim}")
    cdef Py_ssize_t a = axis
    return a + ndim if a < 0 else a


cdef bint merge_axes(cnp.ndarray arr, int start, int stop,
                     Py_ssize_t *size, Py_ssize_t *stride) noexcept:
    """Axes start..stop-1 of arr as one axis of `size` elements and element `stride`,
    if they are uniformly strided (size-1 axes ignored); False if they are not."""
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(arr), n = 1, s = 0, dim
    cdef bint first = True
    cdef int i
    for i in range(start, stop):                       # no elements: any strides merge
        if cnp.PyArray_DIMS(arr)[i] == 0:
            size[0], stride[0] = 0, 0
            return True
    for i in range(stop - 1, start - 1, -1):           # innermost first
        dim = cnp.PyArray_DIMS(arr)[i]
        if dim == 1:
            continue
        if first:
            s = cnp.PyArray_STRIDES(arr)[i] // item
            first = False
        elif cnp.PyArray_STRIDES(arr)[i] // item != s * n:
            return False
        n *= dim
    size[0] = n
    stride[0] = s if n > 1 else 0
    return True


cdef bint as_view3(cnp.ndarray arr, int axis, View3 *view) noexcept:
    """Fill view with arr seen as (outer, arr.shape[axis], inner). False if the axes
    before or after `axis` do not merge (the caller then uses a C-contiguous copy).
    arr must be kernel_ready; for a 0-d array use axis 0 of arr.reshape(1)."""
    cdef int nd = cnp.PyArray_NDIM(arr)
    if not merge_axes(arr, 0, axis, &view.shape[0], &view.strides[0]):
        return False
    if not merge_axes(arr, axis + 1, nd, &view.shape[2], &view.strides[2]):
        return False
    view.shape[1] = cnp.PyArray_DIMS(arr)[axis]
    view.strides[1] = cnp.PyArray_STRIDES(arr)[axis] // cnp.PyArray_ITEMSIZE(arr)
    view.data = <char*>cnp.PyArray_DATA(arr)
    return True
