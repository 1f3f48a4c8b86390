/* fastact's elementwise kernel ABI, shared by the built-in kernels and by plugins.
 *
 * An activation's compiled kernels are one fa_kernel: a forward, a backward from the
 * input x and, optionally, a backward from the output y, for float (index 0) and double
 * (index 1). A module publishes a NULL-name-terminated array of them in a PyCapsule
 * named FASTACT_KERNEL_CAPSULE; fastact finds entries by name.
 *
 * A kernel is serial and simple on purpose: n elements, element strides of any sign,
 * the hyper-parameters as FASTACT_MAX_PARAMS doubles (unused ones are 0). fastact does
 * everything else before calling it: it validates and converts the arrays, merges
 * dimensions into as few runs as possible, releases the GIL and splits each run across
 * OpenMP threads in contiguous blocks of at least `grain` elements. So a kernel must
 * only be elementwise (out[i] depends on x[i] alone) and thread-safe; `out` is either
 * exactly `x` (in place) or does not overlap it. A kernel never sees Python objects.
 *
 * Versioning: the capsule name carries the ABI version. A change to these structs or
 * signatures gets a new version (and a new name), so an old plugin is refused with a
 * clear message instead of being called with the wrong arguments. */
#ifndef FASTACT_KERNEL_H
#define FASTACT_KERNEL_H
#include <Python.h>

#define FASTACT_KERNEL_ABI 1
#define FASTACT_KERNEL_CAPSULE "fastact.kernel_table.v1"
#define FASTACT_MAX_PARAMS 4

/* Suggested grains: a thread is worth starting for this many elements. A memory-bound
 * kernel gains from a second thread only past the caches: a float32 relu_ on 2^20
 * elements took 0.043 ns/element on one thread and 0.076 on two (AMD EPYC, 2 cores). */
#define FASTACT_GRAIN_CHEAP 1048576         /* memory-bound: a compare, a multiply */
#define FASTACT_GRAIN_TRANSCENDENTAL 16384  /* an exp, a log, an erf per element */

typedef void (*fa_unary_fn)(Py_ssize_t n, const void *x, Py_ssize_t sx,
                            void *out, Py_ssize_t so, const double *params);
typedef void (*fa_binary_fn)(Py_ssize_t n, const void *g, Py_ssize_t sg,
                             const void *v, Py_ssize_t sv,
                             void *out, Py_ssize_t so, const double *params);

typedef struct {
    const char *name;
    Py_ssize_t grain;             /* fewest elements per thread (FASTACT_GRAIN_*) */
    fa_unary_fn forward[2];       /* out = f(x) */
    fa_binary_fn backward_x[2];   /* out = g * f'(x), v = x */
    fa_binary_fn backward_y[2];   /* out = g * f'(x) from v = y = f(x); NULL: none */
} fa_kernel;

#endif
