# The kernel table shared by fastact._kernels (which fills it) and fastact._api (which
# dispatches through it), included by both: declarations only.
#
# Every kernel works on n elements with element strides (any sign) and takes the numeric
# hyper-parameters as doubles; it converts them to its own dtype once. Index 0 of each
# pair is float32, index 1 float64.

cdef extern from *:
    """
    typedef void (*fa_unary_fn)(Py_ssize_t n, const void *x, Py_ssize_t sx,
                                void *out, Py_ssize_t so,
                                const double *params, int nthreads);
    typedef void (*fa_binary_fn)(Py_ssize_t n, const void *g, Py_ssize_t sg,
                                 const void *x, Py_ssize_t sx,
                                 void *out, Py_ssize_t so,
                                 const double *params, int nthreads);
    typedef struct {
        const char *name;
        fa_unary_fn forward[2];
        fa_binary_fn backward_x[2];
        fa_binary_fn backward_y[2];   /* NULL where there is no backward from the output */
    } fa_kernel;
    """
    ctypedef void (*fa_unary_fn)(Py_ssize_t n, const void *x, Py_ssize_t sx,
                                 void *out, Py_ssize_t so,
                                 const double *params, int nthreads) noexcept nogil
    ctypedef void (*fa_binary_fn)(Py_ssize_t n, const void *g, Py_ssize_t sg,
                                  const void *x, Py_ssize_t sx,
                                  void *out, Py_ssize_t so,
                                  const double *params, int nthreads) noexcept nogil
    ctypedef struct fa_kernel:
        const char *name
        fa_unary_fn forward[2]
        fa_binary_fn backward_x[2]
        fa_binary_fn backward_y[2]
