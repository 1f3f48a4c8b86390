/* Who may open an OpenMP parallel region, and with how many threads.
 *
 * Why a policy: libgomp keeps a pool of worker threads for each thread that opens a
 * parallel region, and it does not survive fork().
 *   - In a child made by fork() after the parent ran a 2-thread region, the first region
 *     of the thread that forked waits forever for pool threads that do not exist (GCC 12's
 *     libgomp, measured).
 *   - Eight Python threads that each opened regions would each keep a pool: threads x cores
 *     OpenMP threads on a machine with `cores` cores.
 *
 * The policy, the same for the Python API and the C API (fa_team_size decides each call):
 *   1. In a process forked from one that imported fastact: serial, always. A
 *      pthread_atfork child handler sets the flag, so forks made from C count too.
 *   2. Inside someone else's OpenMP parallel region: serial (that team has the cores).
 *   3. One thread at a time owns the team: the first thread to make a call big enough to
 *      split (usually the main thread). Calls from other threads run serially on their own
 *      thread, so N Python threads use at most N + (threads - 1) OS threads between them.
 *      The team is free again when its owner thread exits.
 *   4. At most `requested` threads (fastact.set_num_threads, or the C API's nthreads), and
 *      at most the calling thread's OpenMP limit when that is lower than it was at import
 *      (omp_set_num_threads, threadpoolctl.threadpool_limits).
 * Serial calls give the same bits as parallel ones: every kernel's result is independent
 * of its thread count. */
#ifndef FASTACT_TEAM_H
#define FASTACT_TEAM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "fastact_openmp.h"

/* Below this many elements no kernel splits its work (twice the smallest grain). */
#define FA_TEAM_MIN_WORK 32768

static atomic_int fa_team_forked = 0;     /* this process is a fork() child */
static atomic_int fa_team_taken = 0;      /* some thread owns the team */
static _Thread_local int fa_team_is_mine = 0;
static _Thread_local int fa_team_last = 0; /* what its last parallel-sized call got */
static pthread_key_t fa_team_key;         /* its destructor frees the team at thread exit */
static int fa_team_import_limit = 1;      /* omp_get_max_threads() at import */

static void fa_team_release(void *unused) {
    (void)unused;
    fa_team_is_mine = 0;
    atomic_store(&fa_team_taken, 0);
}

static void fa_team_after_fork_in_child(void) { atomic_store(&fa_team_forked, 1); }

/* Once, at import. 0 on success. */
static int fa_team_init(void) {
    fa_team_import_limit = omp_get_max_threads();
    if (pthread_key_create(&fa_team_key, fa_team_release) != 0)
        return -1;
    return pthread_atfork(NULL, NULL, fa_team_after_fork_in_child) != 0 ? -1 : 0;
}

static int fa_team_decide(int requested) {
    int limit, expected = 0;
    if (!FA_HAVE_OPENMP || requested <= 1)
        return 1;
    if (atomic_load_explicit(&fa_team_forked, memory_order_relaxed) || omp_in_parallel())
        return 1;
    if (!fa_team_is_mine) {
        if (!atomic_compare_exchange_strong(&fa_team_taken, &expected, 1))
            return 1;
        fa_team_is_mine = 1;
        pthread_setspecific(fa_team_key, (void *)&fa_team_is_mine);  /* non-NULL: destructor runs */
    }
    limit = omp_get_max_threads();
    if (limit < fa_team_import_limit && limit < requested)
        requested = limit > 1 ? limit : 1;
    return requested;
}

/* The number of threads a call of `work` elements may use, given `requested`. A small
 * call returns at once: no thread-local or atomic access on the path of a 16-element call. */
static int fa_team_size(int requested, ptrdiff_t work) {
    if (work < FA_TEAM_MIN_WORK)
        return 1;
    return fa_team_last = fa_team_decide(requested);
}

/* The state, for show_config() and the tests. */
static int fa_team_forked_child(void) { return atomic_load(&fa_team_forked); }
static int fa_team_owned_here(void) { return fa_team_is_mine; }
static int fa_team_owned(void) { return atomic_load(&fa_team_taken); }
static int fa_team_last_size(void) { return fa_team_last; }

#endif
