# cython: language_level=3
"""fastact's kernel machinery for compiled plugins (and fastact's own kernels).

    from fastact cimport kernel as fk

A compiled activation is an ``fa_kernel`` (fastact/include/fastact_kernel.h): serial
functions on n elements with element strides, which fastact calls after validating and
converting the arrays, with the GIL released and the elements split across OpenMP
threads. To write one:

1. a scalar function per dtype, ``cdef inline float f(float x, const float *p) noexcept
   nogil`` (p: the hyper-parameters, converted to the dtype once), and for the backward
   ``float df(float g, float v, const float *p)`` returning g * f'(x);
2. kernels that hand them to ``map_f32``/``map_f64`` (forward) or ``map2_f32``/
   ``map2_f64`` (backward). These are inline: after inlining, the scalar function is a
   direct call, the compiler inlines it too and vectorizes the unit-stride loops.
   Keep float kernels free of double literals (write ``<float>0.5``) and of calls the
   compiler cannot inline (use fastact.vmath, not libm), or they stay scalar;
3. a NULL-name-terminated ``fa_kernel`` array, published with ``kernel_capsule``.

Build with ``include_dirs=[fastact.get_include()]`` and
``extra_compile_args=fastact.compile_args()``; no OpenMP flag is needed.
"""

from cpython.pycapsule cimport PyCapsule_New

cdef extern from "fastact_kernel.h":
    int FASTACT_KERNEL_ABI
    const char *FASTACT_KERNEL_CAPSULE
    enum: FASTACT_MAX_PARAMS
    Py_ssize_t FASTACT_GRAIN_CHEAP
    Py_ssize_t FASTACT_GRAIN_TRANSCENDENTAL

    ctypedef void (*fa_unary_fn)(Py_ssize_t n, const void *x, Py_ssize_t sx,
                                 void *out, Py_ssize_t so,
                                 const double *params) noexcept nogil
    ctypedef void (*fa_binary_fn)(Py_ssize_t n, const void *g, Py_ssize_t sg,
                                  const void *v, Py_ssize_t sv,
                                  void *out, Py_ssize_t so,
                                  const double *params) noexcept nogil
    ctypedef struct fa_kernel:
        const char *name
        Py_ssize_t grain
        fa_unary_fn forward[2]
        fa_binary_fn backward_x[2]
        fa_binary_fn backward_y[2]

ctypedef float (*scalar_f32)(float x, const float *p) noexcept nogil
ctypedef double (*scalar_f64)(double x, const double *p) noexcept nogil
ctypedef float (*scalar2_f32)(float g, float v, const float *p) noexcept nogil
ctypedef double (*scalar2_f64)(double g, double v, const double *p) noexcept nogil


cdef inline Py_ssize_t block_count(Py_ssize_t n, Py_ssize_t grain, int nthreads) noexcept nogil:
    """How many threads to split n elements over: each must get at least `grain` (a
    parallel region costs more than it brings below that), at most nthreads, at least 1."""
    cdef Py_ssize_t blocks = n // grain if grain > 0 else n
    if blocks > nthreads:
        blocks = nthreads
    return blocks if blocks > 1 else 1


cdef inline object kernel_capsule(fa_kernel *table):
    """The capsule fastact reads `table` from (a NULL-name-terminated array that must
    live as long as the module: a module-level C array)."""
    return PyCapsule_New(<void*>table, FASTACT_KERNEL_CAPSULE, NULL)


# The loops: unit stride in place (no alias check needed), unit stride, any stride.

cdef inline void map_f32(scalar_f32 f, Py_ssize_t n, const void *x_, Py_ssize_t sx,
                         void *out_, Py_ssize_t so, const double *params) noexcept nogil:
    cdef const float *x = <const float*>x_
    cdef float *out = <float*>out_
    cdef float p[FASTACT_MAX_PARAMS]
    cdef Py_ssize_t i
    for i in range(FASTACT_MAX_PARAMS):
        p[i] = <float>params[i]
    if sx == 1 and so == 1:
        if <const void*>x == <void*>out:
            for i in range(n):
                out[i] = f(out[i], p)
        else:
            for i in range(n):
                out[i] = f(x[i], p)
    else:
        for i in range(n):
            out[i * so] = f(x[i * sx], p)


cdef inline void map_f64(scalar_f64 f, Py_ssize_t n, const void *x_, Py_ssize_t sx,
                         void *out_, Py_ssize_t so, const double *params) noexcept nogil:
    cdef const double *x = <const double*>x_
    cdef double *out = <double*>out_
    cdef double p[FASTACT_MAX_PARAMS]
    cdef Py_ssize_t i
    for i in range(FASTACT_MAX_PARAMS):
        p[i] = params[i]
    if sx == 1 and so == 1:
        if <const void*>x == <void*>out:
            for i in range(n):
                out[i] = f(out[i], p)
        else:
            for i in range(n):
                out[i] = f(x[i], p)
    else:
        for i in range(n):
            out[i * so] = f(x[i * sx], p)


cdef inline void map2_f32(scalar2_f32 f, Py_ssize_t n, const void *g_, Py_ssize_t sg,
                          const void *v_, Py_ssize_t sv, void *out_, Py_ssize_t so,
                          const double *params) noexcept nogil:
    cdef const float *g = <const float*>g_
    cdef const float *v = <const float*>v_
    cdef float *out = <float*>out_
    cdef float p[FASTACT_MAX_PARAMS]
    cdef Py_ssize_t i
    for i in range(FASTACT_MAX_PARAMS):
        p[i] = <float>params[i]
    if sg == 1 and sv == 1 and so == 1:
        if <const void*>g == <void*>out:
            for i in range(n):
                out[i] = f(out[i], v[i], p)
        else:
            for i in range(n):
                out[i] = f(g[i], v[i], p)
    else:
        for i in range(n):
            out[i * so] = f(g[i * sg], v[i * sv], p)


cdef inline void map2_f64(scalar2_f64 f, Py_ssize_t n, const void *g_, Py_ssize_t sg,
                          const void *v_, Py_ssize_t sv, void *out_, Py_ssize_t so,
                          const double *params) noexcept nogil:
    cdef const double *g = <const double*>g_
    cdef const double *v = <const double*>v_
    cdef double *out = <double*>out_
    cdef double p[FASTACT_MAX_PARAMS]
    cdef Py_ssize_t i
    for i in range(FASTACT_MAX_PARAMS):
        p[i] = params[i]
    if sg == 1 and sv == 1 and so == 1:
        if <const void*>g == <void*>out:
            for i in range(n):
                out[i] = f(out[i], v[i], p)
        else:
            for i in range(n):
                out[i] = f(g[i], v[i], p)
    else:
        for i in range(n):
            out[i * so] = f(g[i * sg], v[i * sv], p)
