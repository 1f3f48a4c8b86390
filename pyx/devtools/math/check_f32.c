/* Exhaustive accuracy check and throughput benchmark for fastact_math_f32.h.
 *   ./check_f32 ulp NAME...   exhaustive over all 2^32 inputs (OpenMP)
 *   ./check_f32 bench         ns/element, 2^20 array, in-place, repeated
 * NAME: exp exp_hilo expm1 log1p tanh sigmoid erf erfc ndtr npdf two_prod all
 * References: glibc double functions. */
#include <math.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <omp.h>

typedef void (*loopfn)(float *restrict, const float *restrict, long);
typedef void (*loopip)(float *, long);
#define DECL(n) void loop_##n(float *restrict, const float *restrict, long); void loop_##n##_inplace(float *, long);
DECL(exp) DECL(expm1) DECL(log1p) DECL(tanh) DECL(sigmoid) DECL(erf) DECL(erfc) DECL(ndtr) DECL(npdf)
void loop_exp_hilo(float *restrict, const float *restrict, const float *restrict, long);
void loop_exp_hilo_inplace(float *, const float *restrict, long);
void loop_two_prod(float *restrict, float *restrict, const float *restrict, const float *restrict, long);
void loop_exp_negsq(float *restrict, const float *restrict, long);

static double ref_exp(double x) { return exp(x); }
static double ref_expm1(double x) { return expm1(x); }
static double ref_log1p(double x) { return log1p(x); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_erf(double x) { return erf(x); }
static double ref_erfc(double x) { return erfc(x); }
static double ref_ndtr(double x) { return 0.5 * erfc(-x * 0x1.6a09e667f3bcdp-1); }
static double ref_npdf(double x) { return exp(-0.5 * (x * x)) * 0x1.9884533d43651p-2; }

static float bits2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* lo for exp_hilo: deterministic pseudo-random in [-ulp(hi)/2, ulp(hi)/2] */
static float lo_for(float hi, uint32_t i)
{
    uint32_t h = i * 2654435761u; h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
    if (!isfinite(hi) || hi == 0.0f) return 0.0f;
    int e; frexpf(hi, &e);
    double ulp = ldexp(1.0, e - 24);
    return (float)(((double)h / 4294967296.0 - 0.5) * ulp);
}

typedef struct {
    double maxulp; uint32_t at; float res; double ref;   /* normal-range refs */
    double maxabs_sub; uint32_t at_sub;                  /* |ref| < FLT_MIN   */
    uint64_t nan_bad, n_over_half, n_over_one;
} stat_t;

static void account(stat_t *s, uint32_t in, float res, double ref)
{
    if (isnan(ref) || isnan(res)) {
        if (!(isnan(ref) && isnan(res))) {
            if (s->nan_bad++ < 5) fprintf(stderr, "  NaN mismatch at x=%a: res=%a ref=%a\n", bits2f(in), res, ref);
        }
        return;
    }
    if (fabs(ref) < FLT_MIN) {
        double ae = fabs((double)res - ref);
        if (ae > s->maxabs_sub) { s->maxabs_sub = ae; s->at_sub = in; }
        return;
    }
    float rf = (float)ref;
    double r = isinf(res) ? copysign(0x1p128, res) : (double)res;
    double ulp;
    if (isinf(rf)) { ulp = 0x1p104; ref = copysign(0x1p128, ref); }   /* reference overflows float */
    else { uint32_t b; memcpy(&b, &rf, 4); uint64_t e2 = (uint64_t)(((b >> 23) & 0xff) - 150 + 1023) << 52; memcpy(&ulp, &e2, 8); }
    double e = fabs(r - ref) / ulp;
    if (e > 0.5) s->n_over_half++;
    if (e > 1.0) s->n_over_one++;
    if (e > s->maxulp) { s->maxulp = e; s->at = in; s->res = res; s->ref = ref; }
}

#define BLK 65536
static long STRIDE = 1;   /* env QUICK=n: test only every n-th block */

static int run_ulp(const char *name)
{
    double (*ref)(double) = NULL; loopfn lf = NULL; int mode = 0;
    if (!strcmp(name, "exp")) { ref = ref_exp; lf = loop_exp; }
    else if (!strcmp(name, "expm1")) { ref = ref_expm1; lf = loop_expm1; }
    else if (!strcmp(name, "log1p")) { ref = ref_log1p; lf = loop_log1p; }
    else if (!strcmp(name, "tanh")) { ref = ref_tanh; lf = loop_tanh; }
    else if (!strcmp(name, "sigmoid")) { ref = ref_sigmoid; lf = loop_sigmoid; }
    else if (!strcmp(name, "erf")) { ref = ref_erf; lf = loop_erf; }
    else if (!strcmp(name, "erfc")) { ref = ref_erfc; lf = loop_erfc; }
    else if (!strcmp(name, "ndtr")) { ref = ref_ndtr; lf = loop_ndtr; }
    else if (!strcmp(name, "npdf")) { ref = ref_npdf; lf = loop_npdf; }
    else if (!strcmp(name, "exp_hilo")) mode = 1;
    else if (!strcmp(name, "two_prod")) mode = 2;
    else if (!strcmp(name, "exp_negsq")) mode = 3;
    else { fprintf(stderr, "unknown %s\n", name); return 1; }

    int nt = omp_get_max_threads();
    stat_t *st = calloc(nt, sizeof *st);
    uint64_t tp_bad = 0;
    double t0 = omp_get_wtime();
    #pragma omp parallel reduction(+:tp_bad)
    {
        int tid = omp_get_thread_num();
        float *x = malloc(BLK * 4), *y = malloc(BLK * 4), *l = malloc(BLK * 4), *z = malloc(BLK * 4);
        #pragma omp for schedule(dynamic, 16)
        for (long b = 0; b < (1L << 32) / BLK; b += STRIDE) {
            uint32_t base = (uint32_t)(b * BLK);
            for (int i = 0; i < BLK; i++) x[i] = bits2f(base + i);
            if (mode == 0) {
                lf(y, x, BLK);
                for (int i = 0; i < BLK; i++) account(&st[tid], base + i, y[i], ref((double)x[i]));
            } else if (mode == 1) {
                for (int i = 0; i < BLK; i++) l[i] = lo_for(x[i], base + i);
                loop_exp_hilo(y, x, l, BLK);
                for (int i = 0; i < BLK; i++) account(&st[tid], base + i, y[i], exp((double)x[i] + (double)l[i]));
            } else if (mode == 3) {
                loop_exp_negsq(y, x, BLK);
                for (int i = 0; i < BLK; i++) account(&st[tid], base + i, y[i], exp(-((double)x[i] * x[i])));
            } else {
                /* two_prod: a = x, b = x scrambled; check hi + lo == a*b exactly where no over/underflow */
                for (int i = 0; i < BLK; i++) { uint32_t u = (base + i) * 2654435761u; u = (u & 0x807fffffu) | (((u >> 23) % 100 + 77) << 23); l[i] = bits2f(u); }
                loop_two_prod(y, z, x, l, BLK);
                for (int i = 0; i < BLK; i++) {
                    double p = (double)x[i] * l[i];
                    if (!isfinite(p) || fabs(p) < 0x1p-100 || fabs(p) > 0x1p127) continue;
                    if (y[i] != (float)p || (double)y[i] + (double)z[i] != p) {
                        if (tp_bad++ < 5) fprintf(stderr, "  two_prod bad %a*%a\n", x[i], l[i]);
                    }
                }
            }
        }
        free(x); free(y); free(l); free(z);
    }
    if (mode == 2) {
        printf("%-10s exhaustive a (b scrambled): %llu inexact results  [%.0fs]\n", name, (unsigned long long)tp_bad, omp_get_wtime() - t0);
        return tp_bad != 0;
    }
    stat_t s = st[0];
    for (int t = 1; t < nt; t++) {
        if (st[t].maxulp > s.maxulp) { s.maxulp = st[t].maxulp; s.at = st[t].at; s.res = st[t].res; s.ref = st[t].ref; }
        if (st[t].maxabs_sub > s.maxabs_sub) { s.maxabs_sub = st[t].maxabs_sub; s.at_sub = st[t].at_sub; }
        s.nan_bad += st[t].nan_bad; s.n_over_half += st[t].n_over_half; s.n_over_one += st[t].n_over_one;
    }
    printf("%-10s max %.4f ULP at x=%a (%.9g) res=%a ref=%.17g | >0.5ULP: %llu >1ULP: %llu | subnormal-range max abs err %.3g FLT_MIN at x=%a | NaN mismatches %llu  [%.0fs]\n",
           name, s.maxulp, bits2f(s.at), bits2f(s.at), s.res, s.ref,
           (unsigned long long)s.n_over_half, (unsigned long long)s.n_over_one,
           s.maxabs_sub / FLT_MIN, bits2f(s.at_sub), (unsigned long long)s.nan_bad, omp_get_wtime() - t0);
    fflush(stdout);
    return s.maxulp > 1.0 || s.nan_bad || s.maxabs_sub > FLT_MIN;
}

/* thread CPU time: robust against other jobs sharing the cores */
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

static void bench(void)
{
    const long N = 1L << 20; const int REP = 20;
    float *x = aligned_alloc(64, N * 4), *w = aligned_alloc(64, N * 4), *l = aligned_alloc(64, N * 4), *h = aligned_alloc(64, N * 4);
    srand(1);
    struct { const char *name; loopip f; float lo, hi; } t[] = {
        {"exp", loop_exp_inplace, -80, 80}, {"expm1", loop_expm1_inplace, -10, 10},
        {"log1p", loop_log1p_inplace, -0.9f, 100}, {"tanh", loop_tanh_inplace, -5, 5},
        {"sigmoid", loop_sigmoid_inplace, -20, 20}, {"erf", loop_erf_inplace, -4, 4},
        {"erfc", loop_erfc_inplace, -4, 8}, {"ndtr", loop_ndtr_inplace, -10, 5},
        {"npdf", loop_npdf_inplace, -8, 8}};
    for (long i = 0; i < N; i++) l[i] = ((float)rand() / RAND_MAX - 0.5f) * 1e-6f;
    for (unsigned k = 0; k < sizeof t / sizeof t[0] + 2; k++) {
        double best = 1e30;
        for (int trial = 0; trial < 5; trial++) {
            for (long i = 0; i < N; i++) x[i] = (float)rand() / RAND_MAX;
            if (k < sizeof t / sizeof t[0]) for (long i = 0; i < N; i++) w[i] = t[k].lo + (t[k].hi - t[k].lo) * x[i];
            else for (long i = 0; i < N; i++) w[i] = -80 + 160 * x[i];
            double t0 = now();
            for (int r = 0; r < REP; r++) {
                if (k < sizeof t / sizeof t[0]) t[k].f(w, N);
                else if (k == sizeof t / sizeof t[0]) loop_exp_hilo_inplace(w, l, N);
                else loop_two_prod(h, x, w, l, N);
                __asm__ volatile("" ::: "memory");
            }
            double dt = (now() - t0) / (REP * (double)N) * 1e9;
            if (dt < best) best = dt;
        }
        const char *nm = k < sizeof t / sizeof t[0] ? t[k].name : (k == sizeof t / sizeof t[0] ? "exp_hilo" : "two_prod");
        printf("%-10s %.3f ns/elem\n", nm, best);
    }
    /* libm reference */
    double best = 1e30;
    for (int trial = 0; trial < 3; trial++) {
        for (long i = 0; i < N; i++) w[i] = -80 + 160 * ((float)rand() / RAND_MAX);
        double t0 = now();
        for (int r = 0; r < REP; r++) { for (long i = 0; i < N; i++) w[i] = expf(w[i]) * 1e-30f; __asm__ volatile("" ::: "memory"); }
        double dt = (now() - t0) / (REP * (double)N) * 1e9; if (dt < best) best = dt;
    }
    printf("%-10s %.3f ns/elem (libm expf reference)\n", "expf", best);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "bench")) { bench(); return 0; }
    if (getenv("QUICK")) STRIDE = atol(getenv("QUICK"));
    if (argc >= 3 && !strcmp(argv[1], "ulp")) {
        const char *all[] = {"exp", "exp_hilo", "exp_negsq", "expm1", "log1p", "tanh", "sigmoid", "erf", "erfc", "ndtr", "npdf", "two_prod"};
        int bad = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "all")) { for (unsigned j = 0; j < sizeof all / sizeof *all; j++) bad |= run_ulp(all[j]); }
            else bad |= run_ulp(argv[i]);
        }
        return bad;
    }
    fprintf(stderr, "usage: %s ulp NAME...|all  |  %s bench\n", argv[0], argv[0]);
    return 2;
}
