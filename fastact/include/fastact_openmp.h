/* OpenMP shim: the same calls whether or not the compiler has OpenMP.
 * Without it fastact builds and runs serially, and says so in show_config(). */
#ifndef FASTACT_OPENMP_H
#define FASTACT_OPENMP_H
#ifdef _OPENMP
#include <omp.h>
#define FA_HAVE_OPENMP 1
#else
#define FA_HAVE_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_num_procs(void) { return 1; }
static inline int omp_in_parallel(void) { return 0; }
#endif
#endif
