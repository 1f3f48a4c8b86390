/*
 * check_f64.c -- accuracy / vectorization / speed harness for ../../../fastact/include/fastact_math_f64.h
 * (developer tool, not part of the build).
 *
 * Accuracy (runs the vectorized kernels below on many millions of inputs and compares
 * with x87 long-double glibc references; prints max ULP error and where):
 *   gcc -O3 -fno-math-errno -fno-trapping-math -march=x86-64    check_f64.c -o chk -lm && ./chk acc
 *   (repeat with -march=x86-64-v3 and -march=x86-64-v4: FMA/contraction paths)
 *   ./chk acc 4      -> 4x more random samples
 * Speed (ns/element of thread CPU time, 2^20 doubles, best of 15; glibc scalar exp/erfc/... alongside):
 *   ./chk bench
 * Vectorization (every k_* / kip_* loop must be reported):
 *   gcc -O3 -fno-math-errno -fno-trapping-math -march=x86-64 -c check_f64.c -o /dev/null \
 *       -fopt-info-vec-optimized 2>&1 | grep 'loop vectorized'    (and -fopt-info-vec-missed)
 *
 * ULP error = |result - ref| / 2^(ilogb(ref) - 52) (ulp of the binade of the exact value).
 * Where |ref| < DBL_MIN the check is |result - ref| <= DBL_MIN (reported separately).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../../fastact/include/fastact_math_f64.h"

/* ------------------------------------------------------------------ kernels */
#define KOOP(N, F) __attribute__((noinline)) void k_##N(double *restrict o, const double *restrict x, size_t n) { for (size_t i = 0; i < n; i++) o[i] = F(x[i]); }
#define KIP(N, F)  __attribute__((noinline)) void kip_##N(double *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = F(x[i]); }
KOOP(exp, fa_exp_f64)
KIP(exp, fa_exp_f64)
KOOP(expm1, fa_expm1_f64)
KIP(expm1, fa_expm1_f64)
KOOP(log1p, fa_log1p_f64)
KIP(log1p, fa_log1p_f64)
KOOP(tanh, fa_tanh_f64)
KIP(tanh, fa_tanh_f64)
KOOP(sigmoid, fa_sigmoid_f64)
KIP(sigmoid, fa_sigmoid_f64)
KOOP(erf, fa_erf_f64)
KIP(erf, fa_erf_f64)
KOOP(erfc, fa_erfc_f64)
KIP(erfc, fa_erfc_f64)
KOOP(ndtr, fa_ndtr_f64)
KIP(ndtr, fa_ndtr_f64)
KOOP(npdf, fa_npdf_f64)
KIP(npdf, fa_npdf_f64)
__attribute__((noinline)) void k_exp_hilo(double *restrict o, const double *restrict h, const double *restrict l, size_t n) { for (size_t i = 0; i < n; i++) o[i] = fa_exp_hilo_f64(h[i], l[i]); }
__attribute__((noinline)) void kip_exp_hilo(double *h, const double *restrict l, size_t n) { for (size_t i = 0; i < n; i++) h[i] = fa_exp_hilo_f64(h[i], l[i]); }
__attribute__((noinline)) void k_two_prod(double *restrict hi, double *restrict lo, const double *restrict a, const double *restrict b, size_t n) { for (size_t i = 0; i < n; i++) fa_two_prod_f64(a[i], b[i], &hi[i], &lo[i]); }
__attribute__((noinline)) void kip_two_prod(double *a, double *b, size_t n) { for (size_t i = 0; i < n; i++) fa_two_prod_f64(a[i], b[i], &a[i], &b[i]); }
/* glibc scalar references for the speed table */
KOOP(libm_exp, exp)
KOOP(libm_expm1, expm1)
KOOP(libm_log1p, log1p)
KOOP(libm_tanh, tanh)
KOOP(libm_erf, erf)
KOOP(libm_erfc, erfc)

/* --------------------------------------------------------------- references */
static long double r_exp(double x) { return expl(x); }
static long double r_expm1(double x) { return expm1l(x); }
static long double r_log1p(double x) { return log1pl(x); }
static long double r_tanh(double x) { return tanhl(x); }
static long double r_sigmoid(double x) { return 1.0L / (1.0L + expl(-(long double)x)); }
static long double r_erf(double x) { return erfl(x); }
static long double r_erfc(double x) { return erfcl(x); }
static long double RS2, RS2L;                 /* 1/sqrt(2) as long-double dd */
static long double r_ndtr(double x)
{
    if (isnan(x)) return x;
    if (x >= 0) return 1.0L - 0.5L * erfcl((long double)x * RS2);
    long double v = -(long double)x;
    long double w = v * RS2;                  /* rounded */
    long double d = fmal(v, RS2, -w) + v * RS2L;   /* exact w0 - w (to ~2^-128) */
    long double e = erfcl(w);
    if (e == 0) return 0;
    /* erfc(w + d) = erfc(w) - d * 2/sqrt(pi) e^{-w^2} + O(d^2 w) */
    return 0.5L * (e - d * 1.1283791670955125738961589031215452L * expl(-w * w));
}
static long double r_npdf(double x)
{
    if (isinf(x)) return 0;
    long double p = (long double)x * x, pe = fmal(x, x, -p);   /* x^2 = p + pe exactly */
    return expl(-0.5L * p) * (1.0L - 0.5L * pe) * 0.39894228040143267793994605993438187L;
}

/* -------------------------------------------------------------------- rng */
static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double urand(double a, double b) { return a + (b - a) * ((rnd() >> 11) * 0x1p-53); }
static double any_double(void)                /* log-uniform over all finite doubles, both signs */
{
    uint64_t u;
    do u = rnd(); while (((u >> 52) & 0x7FF) == 0x7FF);
    double d; memcpy(&d, &u, 8); return d;
}

/* -------------------------------------------------------------- evaluation */
typedef struct {
    double maxulp, at;                        /* max ulp error (normal range) and where */
    double maxsub, atsub;                     /* max |err|/DBL_MIN in subnormal-result zone */
    long bad, n;                              /* special-value / NaN failures, samples */
    double badx;
} stat_t;

static void account(stat_t *s, double x, double res, long double ref)
{
    s->n++;
    if (isnan(ref)) { if (!isnan(res)) { s->bad++; s->badx = x; } return; }
    double refd = (double)ref;
    if (isinf(refd)) { if (res != refd) { s->bad++; s->badx = x; } return; }
    if (isnan(res) || isinf(res)) { s->bad++; s->badx = x; return; }
    long double err = fabsl((long double)res - ref);
    if (fabsl(ref) < DBL_MIN) {
        double e = (double)(err / DBL_MIN);
        if (e > s->maxsub) { s->maxsub = e; s->atsub = x; }
        if (e > 1.0) { s->bad++; s->badx = x; }
        return;
    }
    double ulp = ldexp(1.0, ilogbl(ref) - 52);
    double e = (double)(err / ulp);
    if (e > s->maxulp) { s->maxulp = e; s->at = x; }
}

typedef void (*kern_t)(double *restrict, const double *restrict, size_t);
typedef long double (*ref_t)(double);

#define CH 65536
static double xin[CH], xout[CH];
static int nin;

static void flush(stat_t *s, kern_t k, ref_t r)
{
    if (!nin) return;
    k(xout, xin, nin);
    for (int i = 0; i < nin; i++) account(s, xin[i], xout[i], r(xin[i]));
    nin = 0;
}
static void push(stat_t *s, kern_t k, ref_t r, double x)
{
    xin[nin++] = x;
    if (nin == CH) flush(s, k, r);
}

typedef struct { double a, b; } iv_t;

static void run_fn(const char *name, kern_t k, ref_t r, const iv_t *ivs, const double *bps, long scale)
{
    stat_t s = {0};
    static const double spec[] = { 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, DBL_MIN, -DBL_MIN,
        DBL_MAX, -DBL_MAX, 4.9406564584124654e-324, -4.9406564584124654e-324, 1e-300, -1e-300,
        1e300, -1e300, 709.78, 709.79, -745.1, -745.2, -708.4, 26.5, 27.3, -38.5, 38.5, 40, -40 };
    for (size_t i = 0; i < sizeof spec / sizeof *spec; i++) push(&s, k, r, spec[i]);
    push(&s, k, r, INFINITY); push(&s, k, r, -INFINITY); push(&s, k, r, NAN); push(&s, k, r, -NAN);
    for (long i = 0; i < 2000000L * scale; i++) push(&s, k, r, any_double());
    for (const iv_t *v = ivs; v->a < v->b; v++)
        for (long i = 0; i < 1000000L * scale; i++) push(&s, k, r, urand(v->a, v->b));
    for (const double *b = bps; *b != 12345.0; b++) {
        double x = *b;
        for (int j = 0; j < 2000; j++) { push(&s, k, r, x); x = nextafter(x, INFINITY); }
        x = *b;
        for (int j = 0; j < 2000; j++) { push(&s, k, r, x); x = nextafter(x, -INFINITY); }
        for (long i = 0; i < 100000L * scale; i++) push(&s, k, r, *b * (1 + urand(-1e-6, 1e-6)) + urand(-1e-9, 1e-9));
    }
    flush(&s, k, r);
    printf("%-10s max %.3f ulp at x=%-24.17g  subnormal-zone max |err|/DBL_MIN %.3g  fails %ld  (n=%ld)",
           name, s.maxulp, s.at, s.maxsub, s.bad, s.n);
    if (s.bad) printf("  e.g. x=%.17g", s.badx);
    printf("\n");
}

#define END {0, 0}
#define BEND 12345.0
static void accuracy(long scale)
{
    RS2 = sqrtl(0.5L);
    RS2L = -fmal(RS2, RS2, -0.5L) / (2 * RS2);
    const double ln2 = 0.69314718055994530942;
    { iv_t iv[] = {{-1, 1}, {-0.35, 0.35}, {-20, 20}, {-745.2, -700}, {700, 709.8}, {-709, -706}, {-1e-8, 1e-8}, END};
      double bp[] = {ln2 / 2, -ln2 / 2, 709.782712893384, -708.39641853226408, -745.13321910194111, 3.5 * ln2, -200.5 * ln2, 1000.5 * ln2, BEND};
      run_fn("exp", k_exp, r_exp, iv, bp, scale); }
    { iv_t iv[] = {{-1, 1}, {-1e-5, 1e-5}, {-0.8, 0.8}, {-40, 40}, {-45, -30}, {700, 709.8}, END};
      double bp[] = {ln2 / 2, -ln2 / 2, 1.5 * ln2, -1.5 * ln2, 709.782712893384, 54.5 * ln2, -53.5 * ln2, BEND};
      run_fn("expm1", k_expm1, r_expm1, iv, bp, scale); }
    { iv_t iv[] = {{-1, -0.5}, {-0.5, 1}, {-1e-5, 1e-5}, {0.40, 0.43}, {-0.3, -0.28}, {1, 100}, {-1, -0.999999}, END};
      double bp[] = {0.41421356237309503, -0.29289321881345248, -1, 1, 2.8284271247461903 - 1, BEND};
      run_fn("log1p", k_log1p, r_log1p, iv, bp, scale); }
    { iv_t iv[] = {{-1, 1}, {-25, 25}, {-1e-5, 1e-5}, {-0.4, 0.4}, {18, 21}, {-21, -18}, END};
      double bp[] = {ln2 / 4, -ln2 / 4, 19.06, 0.55, BEND};
      run_fn("tanh", k_tanh, r_tanh, iv, bp, scale); }
    { iv_t iv[] = {{-40, 40}, {-750, -700}, {-1, 1}, {-5, 5}, {30, 40}, END};
      double bp[] = {ln2 / 2, -ln2 / 2, -708.4, -745.1, 36.7, BEND};
      run_fn("sigmoid", k_sigmoid, r_sigmoid, iv, bp, scale); }
    { iv_t iv[] = {{-6, 6}, {-1, 1}, {-1e-5, 1e-5}, {-0.8, 0.8}, {0.7, 3.6}, END};
      double bp[] = {0.75, 1.5, 2.5, 3.5, -0.75, -1.5, -2.5, -3.5, 5.92, BEND};
      run_fn("erf", k_erf, r_erf, iv, bp, scale); }
    { iv_t iv[] = {{-6, 28}, {0, 1}, {26, 27.5}, {-1, 1}, {3.5, 10}, {10, 27.3}, END};
      double bp[] = {0.75, 1.5, 2.5, 3.5, -0.75, -1.5, -2.5, -3.5, 26.54, 27.2, BEND};
      run_fn("erfc", k_erfc, r_erfc, iv, bp, scale); }
    { iv_t iv[] = {{-40, 10}, {-39, -37}, {-1, 1}, {-10, 0}, {-38.5, -20}, {-5.2, -0.9}, END};
      double bp[] = {-1.0606601717798213, -2.1213203435596424, -3.5355339059327378, -4.9497474683058327,
                     1.0606601717798213, 2.1213203435596424, 3.5355339059327378, 4.9497474683058327, -37.5, BEND};
      run_fn("ndtr", k_ndtr, r_ndtr, iv, bp, scale); }
    { iv_t iv[] = {{-40, 40}, {37, 39}, {-1, 1}, {-10, 10}, END};
      double bp[] = {38.6, -38.6, 37.5, BEND};
      run_fn("npdf", k_npdf, r_npdf, iv, bp, scale); }

    /* exp_hilo: lo has <= 10 significant bits below ulp(hi) so hi+lo is exact in long double */
    {
        stat_t s = {0};
        static double h[CH], l[CH], o[CH];
        for (long blk = 0; blk < 60 * scale; blk++) {
            for (int i = 0; i < CH; i++) {
                double hi = (blk % 3 == 0) ? urand(-745.2, 709.78) : (blk % 3 == 1) ? urand(-1, 1) : urand(-40, 40);
                int e; frexp(hi, &e);
                double lo = ldexp((double)((int64_t)(rnd() % 1025) - 512), e - 53 - 10);
                h[i] = hi; l[i] = lo;
            }
            k_exp_hilo(o, h, l, CH);
            for (int i = 0; i < CH; i++) account(&s, h[i], o[i], expl((long double)h[i] + l[i]));
        }
        printf("%-10s max %.3f ulp at hi=%-23.17g  subnormal-zone max |err|/DBL_MIN %.3g  fails %ld  (n=%ld)\n",
               "exp_hilo", s.maxulp, s.at, s.maxsub, s.bad, s.n);
    }
    /* two_prod exactness for moderate arguments */
    {
        static double a[CH], b[CH], hi[CH], lo[CH];
        long bad = 0, n = 0;
        for (long blk = 0; blk < 30 * scale; blk++) {
            for (int i = 0; i < CH; i++) {
                a[i] = ldexp(urand(1, 2), (int)(rnd() % 961) - 480) * (rnd() & 1 ? 1 : -1);
                b[i] = ldexp(urand(1, 2), (int)(rnd() % 961) - 480);
            }
            k_two_prod(hi, lo, a, b, CH);
            for (int i = 0; i < CH; i++, n++) {
                long double ex = (long double)a[i] * b[i];   /* 106-bit product: check via fma */
                (void)ex;
                if (hi[i] != a[i] * b[i] || lo[i] != fma(a[i], b[i], -hi[i])) bad++;
            }
        }
        printf("%-10s exact in %ld / %ld cases (|a|,|b| in [2^-480, 2^481])\n", "two_prod", n - bad, n);
    }
}

/* -------------------------------------------------------------------- bench */
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
#define NB (1 << 20)
static double bx[NB], by[NB], bz[NB];
static double bench1(kern_t k, double lo, double hi, int reps)
{
    for (int i = 0; i < NB; i++) bx[i] = urand(lo, hi);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now(); k(by, bx, NB); double t1 = now();
        if (t1 - t0 < best) best = t1 - t0;
    }
    return best * 1e9 / NB;
}
static void bench(void)
{
    int R = 15;
    printf("ns/element, 2^20 doubles, best of %d\n", R);
    printf("%-10s %8.3f   (glibc exp %8.3f)\n", "exp", bench1(k_exp, -10, 10, R), bench1(k_libm_exp, -10, 10, R));
    for (int i = 0; i < NB; i++) { bx[i] = urand(-10, 10); bz[i] = 0x1p-60 * bx[i]; }
    { double best = 1e30; for (int r = 0; r < R; r++) { double t0 = now(); k_exp_hilo(by, bx, bz, NB); double t1 = now(); if (t1 - t0 < best) best = t1 - t0; }
      printf("%-10s %8.3f\n", "exp_hilo", best * 1e9 / NB); }
    printf("%-10s %8.3f   (glibc expm1 %8.3f)\n", "expm1", bench1(k_expm1, -10, 10, R), bench1(k_libm_expm1, -10, 10, R));
    printf("%-10s %8.3f   (glibc log1p %8.3f)\n", "log1p", bench1(k_log1p, -0.9, 10, R), bench1(k_libm_log1p, -0.9, 10, R));
    printf("%-10s %8.3f   (glibc tanh %8.3f)\n", "tanh", bench1(k_tanh, -10, 10, R), bench1(k_libm_tanh, -10, 10, R));
    printf("%-10s %8.3f\n", "sigmoid", bench1(k_sigmoid, -10, 10, R));
    printf("%-10s %8.3f   (glibc erf %8.3f)\n", "erf", bench1(k_erf, -5, 5, R), bench1(k_libm_erf, -5, 5, R));
    printf("%-10s %8.3f   (glibc erfc %8.3f)\n", "erfc", bench1(k_erfc, -5, 5, R), bench1(k_libm_erfc, -5, 5, R));
    printf("%-10s %8.3f\n", "ndtr", bench1(k_ndtr, -5, 5, R));
    printf("%-10s %8.3f\n", "npdf", bench1(k_npdf, -5, 5, R));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "bench")) { bench(); return 0; }
    long scale = argc > 2 ? atol(argv[2]) : 1;
    accuracy(scale);
    return 0;
}
