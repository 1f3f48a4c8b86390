# The channel-family kernel table shared by fastact._kernels_* (which fill it) and
# fastact._api (which calls through it), included by both: declarations only.
#
# A per-channel kernel (prelu, srelu, apl) sees its operands as 3-d strided views
# (outer, channels, inner) with element strides, and its parameters as one C-contiguous
# (nparams, channels) array in the kernel's dtype (a shared parameter is repeated over the
# channels by the caller). A backward kernel writes g * dy/dx to `out` and the parameter
# gradients, summed over outer and inner in double, to param_grad (nparams, channels).
# Index 0 of each pair is float32, index 1 float64.

cdef extern from *:
    """
    typedef struct {
        Py_ssize_t shape[3];          /* outer, channels, inner */
        const void *x; Py_ssize_t sx[3];
        const void *g; Py_ssize_t sg[3];   /* backward only */
        void *out; Py_ssize_t so[3];
        const void *params;            /* (nparams, channels), C-contiguous */
        Py_ssize_t nparams;
        double *param_grad;            /* (nparams, channels); backward only */
        int nthreads;
    } fa_channel_call;
    /* 0 on success, -1 when scratch memory could not be allocated (nothing reliable written) */
    typedef int (*fa_channel_fn)(const fa_channel_call *call);
    /* rrelu in training on n C-contiguous elements: out = x * s and slopes = s, where
       s = 1 for x > 0 (and NaN) and s ~ U(lower, upper) keyed by (seed, flat index) */
    typedef void (*fa_rrelu_fn)(Py_ssize_t n, const void *x, void *out, void *slopes,
                                unsigned long long seed, double lower, double upper,
                                int nthreads);
    enum { FA_PRELU = 0, FA_SRELU = 1, FA_APL = 2, FA_CHANNEL_ACTS = 3 };
    typedef struct {
        fa_channel_fn forward[FA_CHANNEL_ACTS][2];
        fa_channel_fn backward[FA_CHANNEL_ACTS][2];
        fa_rrelu_fn rrelu_train[2];
        fa_binary_fn rrelu_backward_slopes[2];   /* grad * slopes, the elementwise form */
    } fa_channel_table;
    """
    ctypedef struct fa_channel_call:
        Py_ssize_t shape[3]
        const void *x
        Py_ssize_t sx[3]
        const void *g
        Py_ssize_t sg[3]
        void *out
        Py_ssize_t so[3]
        const void *params
        Py_ssize_t nparams
        double *param_grad
        int nthreads
    ctypedef int (*fa_channel_fn)(const fa_channel_call *call) noexcept nogil
    ctypedef void (*fa_rrelu_fn)(Py_ssize_t n, const void *x, void *out, void *slopes,
                                 unsigned long long seed, double lower, double upper,
                                 int nthreads) noexcept nogil
    enum:
        FA_PRELU
        FA_SRELU
        FA_APL
        FA_CHANNEL_ACTS
    ctypedef struct fa_channel_table:
        fa_channel_fn forward[3][2]
        fa_channel_fn backward[3][2]
        fa_rrelu_fn rrelu_train[2]
        fa_binary_fn rrelu_backward_slopes[2]
