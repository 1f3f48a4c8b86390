# OpenMP queries through fastact/include/fastact_openmp.h, which also builds without OpenMP.
cdef extern from "fastact_openmp.h" nogil:
    int FA_HAVE_OPENMP
    int omp_get_max_threads()
    int omp_get_num_procs()
