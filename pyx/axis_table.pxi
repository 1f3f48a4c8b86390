# The table of axis-wise kernels (softmax, log_softmax, maxout, glu) shared by the kernel
# modules (axis_kernels.pxi fills it) and fastact._api (axis_api.pxi dispatches through
# it), included by both: declarations only.
#
# An axis kernel sees its operands as 3-d strided views (outer, n, inner) in elements
# (axis_layout.pxi's View3): `shape` is that of the input-shaped operand (x), and an
# operand shaped like the forward output has n // group along the axis instead (maxout:
# group = pieces, glu: group = 2, softmax and log_softmax: group = 1).
#   forward:  a = x, b = NULL, out shaped like the forward output
#   backward: a = grad (output-shaped), b = x or y (input-shaped), out input-shaped
# Index 0 of each pair is float32, index 1 float64. n >= 1 and outer, inner >= 1: the
# caller does not call a kernel for an empty array.

cdef extern from *:
    """
    typedef void (*fa_axis_fn)(const Py_ssize_t *shape, Py_ssize_t group,
                               const void *a, const Py_ssize_t *sa,
                               const void *b, const Py_ssize_t *sb,
                               void *out, const Py_ssize_t *so, int nthreads);
    typedef struct {
        const char *name;
        fa_axis_fn forward[2];
        fa_axis_fn backward_x[2];
        fa_axis_fn backward_y[2];     /* NULL where there is no backward from the output */
    } fa_axis_kernel;
    """
    ctypedef void (*fa_axis_fn)(const Py_ssize_t *shape, Py_ssize_t group,
                                const void *a, const Py_ssize_t *sa,
                                const void *b, const Py_ssize_t *sb,
                                void *out, const Py_ssize_t *so, int nthreads) noexcept nogil
    ctypedef struct fa_axis_kernel:
        const char *name
        fa_axis_fn forward[2]
        fa_axis_fn backward_x[2]
        fa_axis_fn backward_y[2]
