/*
 * fastact_math_f64.h -- branch-free, auto-vectorizable double-precision math helpers
 *                       for the fastact activation kernels (cimport-able, header only).
 *
 * ===================================================================================
 * DESIGN NOTES  (see the end of this block for measured accuracy)
 * ===================================================================================
 * Rules every helper follows
 *   - `static inline`, no branches: piecewise choices are ternary selects on doubles that GCC
 *     if-converts into blends; no table lookups (gathers), no libm calls.
 *   - GCC 12 -O3 -fno-math-errno -fno-trapping-math vectorizes `out[i] = fa_xxx_f64(x[i])`
 *     for -march=x86-64 (SSE2), x86-64-v3 and x86-64-v4.  double<->int64 conversions are
 *     done with the "magic number" trick (x + 0x1.8p52 and reinterpret the low bits through
 *     memcpy), because SSE2 has no packed double<->int64 conversion; only 64-bit integer
 *     add/sub/logical shifts are used (all exist in SSE2).
 *   - Never compile with -ffast-math: the rounding tricks, the error-free transformations
 *     (TwoSum / Dekker) and the NaN handling depend on IEEE semantics.
 *   - FMA is never needed for correctness.  With -mfma (x86-64-v3/v4) fa_two_prod_f64 uses
 *     __builtin_fma (exact, fast); without it, a Dekker split.  Compiler contraction
 *     (-ffp-contract=fast, GCC default) cannot break anything: without __FMA__ there is no
 *     contraction, and every other exactness argument below survives a fused multiply-add.
 *   - Clamps are written `a > HI ? HI : a` / `a < LO ? LO : a`, which keep NaN.
 *
 * Notation: "dd" = unevaluated sum hi + lo of two doubles.  u = 2^-53.
 *
 * exp family (fa_exp_f64, fa_exp_hilo_f64, fa_expm1_f64, and the exponential inside
 * tanh / sigmoid / erf / erfc / ndtr / npdf) share fa__expm1_red():
 *   k = round(x*log2(e)) via magic number; r = x - k*ln2 with two-part (Cody-Waite) ln2
 *   (ln2_hi has 42 significant bits, so k*ln2_hi is exact for |k| < 2^11; the argument is
 *   clamped to [-746, 710] first).  r is kept as dd (r, re), |r| <= 0.3467.
 *   e^r - 1 = r + r^2/2 + r^3*c(r):  r^2 is formed exactly (two_prod), c(r) is a degree-9
 *   polynomial (coefficients a3..a12 of a degree-12 minimax fit, weighted relative error
 *   2^-63.5).  The result P = e^r - 1 is returned as dd with error ~2^-60.
 *   exp:   (1 + P) via Fast2Sum, rounded once, times 2^k applied as two factors 2^k1 * 2^k2
 *          (k1 = floor(k/2)), so both overflow (k = 1024) and gradual underflow
 *          (k down to -1077, one final rounding into the subnormal range) come out right.
 *   expm1: 2^k*(P + 1 - 2^-k)  with 1 - 2^-k and the sum done by TwoSum -> no cancellation.
 *
 * log1p:  1 + x = u + c exactly (TwoSum); u = 2^k*m, m in [sqrt(1/2), sqrt(2)) by integer
 *   exponent manipulation; F = (m - 1) + c*2^-k as dd (exact); s = F/(2+F) as dd (one
 *   division + a Dekker-corrected remainder); log(1+F) = 2s + s^3*R(s^2), R degree 7
 *   minimax (err 2^-64.7), |s| <= 0.1716;  result = k*ln2 + log(1+F) summed with TwoSum.
 *
 * tanh:   t = |x| clamped to 20; M = expm1(2t) as dd; tanh = M/(M+2) with a dd-corrected
 *   division (one divide); sign copied with bit operations.  Exactly +-1 for |x| >~ 19.1.
 * sigmoid: E = e^-|x| as dd; x >= 0: 1/(1+E), x < 0: E/(1+E); dd-corrected division.
 *   Both tails are relatively accurate (x << 0 gives ~e^x down into the subnormals).
 *
 * erf / erfc / ndtr share fa__erfc_core(w), w >= 0, five pieces selected by w:
 *     piece       variable v          approximated function g(v)        then
 *     [0, .75)    v = w^2 (as dd)     erf(w)/w                          Y = w * g  (= erf)
 *     [.75,1.5)   v = w - 1.125       erfcx(w) = e^{w^2} erfc(w)        Y = e^{-w^2} * g
 *     [1.5,2.5)   v = w - 2           erfcx(w)                          Y = e^{-w^2} * g
 *     [2.5,3.5)   v = w - 3           erfcx(w)                          Y = e^{-w^2} * g
 *     [3.5, inf)  v = 1/w^2 - 1/24.5  w*erfcx(w)                        Y = e^{-w^2} * g / w
 *   (w - centre is exact by Sterbenz on every middle piece.)  One degree-16 polynomial
 *   g = c0 + c1*v + v^2*Q(v) whose 19 coefficients (c0, c1 as dd) are selected per piece
 *   (chains of two-way selects -> blends) and evaluated ONCE; c0 + c1*v is formed exactly,
 *   so Horner rounding only touches a term that is <= ~6% of g.  Fits: degree-16 minimax
 *   for relative error, 2^-60 (tail) .. 2^-100 (erf piece).
 *   e^{-w^2} is exp of the EXACT square (two_prod) through the dd exp core, so the x^2
 *   amplification of the rounding of w^2 never happens.  The division by w on the tail is
 *   remainder-corrected.  erfc(x<0) = 2 - Y, erf = 1 - Y (or Y on the first piece), erfc
 *   on the first piece = 1 -+ Y, all with a final Fast2Sum.  erfc is relatively accurate
 *   down to underflow (x ~ 27.2); the subnormal range gets one final rounding.
 * ndtr(x) = Phi(x):  v = |x|, w = v/sqrt(2) as dd (two_prod with a dd constant), the exponent
 *   -w^2 = -v^2/2 taken from the exact square of v (not of the rounded w), the first-order
 *   effect of w's low part on erfcx is added analytically (erfcx' = 2w erfcx - 2/sqrt(pi)),
 *   and in the tail the 1/w factor is a dd division.  Phi(x) for x < 0 is relatively
 *   accurate down to underflow (x ~ -38.5); -> 1 for large x; 0.5 at 0.
 * npdf:  e^{-x^2/2} (exact square) times a dd 1/sqrt(2 pi), single final rounding.
 *
 * Coefficients: generated by devtools/remez_f64.py (weighted discrete Remez exchange in
 * mpmath at 50 digits); hex-float literals below are pasted from its output.
 *
 * fa_two_prod_f64(a, b, &hi, &lo): hi = fl(a*b), lo = a*b - hi exactly.  Valid range
 *   (Dekker path): |a|, |b| < 2^995 (no overflow of the 2^27+1 split) and a*b not near the
 *   underflow range (exponent(a)+exponent(b) >= -969), otherwise lo is not exact.
 *   With __FMA__ lo = fma(a, b, -hi) (exact wherever a*b does not overflow/underflow).
 *
 * MEASURED ACCURACY (max error in ULP of the exact value's binade; devtools/check_f64.c,
 * 7-10 million inputs per function: log-uniform random doubles of both signs over the
 * whole range, dense uniform sampling of |x|<1 / working ranges / piece boundaries /
 * overflow & underflow edges, +-2000 ulp walks around every breakpoint, special values;
 * reference = glibc x87 long double expl/expm1l/log1pl/tanhl/erfl/erfcl, exact-square
 * corrections for ndtr and npdf).  No NaN/inf mismatch, no failure in the subnormal zone
 * (|err| <= 2e-16 DBL_MIN there).  Command (repeat for -march=x86-64-v3, x86-64-v4):
 *   gcc -O3 -fno-math-errno -fno-trapping-math -march=x86-64 devtools/check_f64.c -lm && ./a.out acc
 *                 x86-64 (SSE2)              x86-64-v3 / v4 (FMA path, identical results)
 *   exp           0.534 @ 0.34657           0.531 @ -138.98
 *   exp_hilo      0.526 @ hi=-369.8         0.527 @ hi=-6.58
 *   expm1         0.642 @ 0.34657           0.634 @ 0.34657
 *   log1p         0.569 @ 0.42192           0.571 @ 0.41859
 *   tanh          0.596 @ 0.17329           0.583 @ 0.17329
 *   sigmoid       0.531 @ -12.81            0.524 @ -4.504
 *   erf           0.619 @ 0.73897           0.627 @ -0.75000
 *   erfc          0.752 @ 0.75000           0.746 @ 0.75000
 *   ndtr          0.780 @ -1.06066          0.808 @ -1.06066
 *   npdf          0.524 @ 37.48             0.522 @ -21.31
 *   two_prod      exact for all tested |a|,|b| in [2^-480, 2^481]
 *
 * SPEED (ns/element, 2^20 doubles, thread CPU time, ./a.out bench; measured on a shared,
 * loaded 2-vCPU AMD EPYC VM, so absolute numbers are noisy):
 *                 x86-64   x86-64-v3   x86-64-v4    glibc scalar
 *   exp            5.9       2.2         1.5          4.9
 *   exp_hilo       7.3       1.9         1.3           -
 *   expm1          9.5       2.9         2.0          9.9
 *   log1p          8.7       2.7         1.6         10.0
 *   tanh          15.0       4.6         2.8         15.3
 *   sigmoid       15.3       3.6         2.2           -
 *   erf           38.7      12.2         7.9         17.2
 *   erfc          39.3      14.2         8.3         18.3-20.9
 *   ndtr          39.7      12.9         8.3           -
 *   npdf          12.5       3.3         2.1           -
 *   On plain SSE2 the double-double steps (Dekker products without FMA, ~17 flops each)
 *   and and/andnot/or blends dominate: exp is about glibc speed, erf/erfc ~2x slower than
 *   glibc's scalar code; with FMA + blendv (v3/v4) everything is 2-6x faster than glibc.
 */
#ifndef FASTACT_MATH_F64_H
#define FASTACT_MATH_F64_H

#include <stdint.h>
#include <string.h>
#include "fastact_fma.h"

/* Everything is force-inlined: the vectorizer only sees straight-line code after inlining,
 * and GCC's size heuristics would otherwise keep the larger cores (erf/erfc) out of line. */
#if defined(__GNUC__) || defined(__clang__)
#define FA__INLINE static inline __attribute__((always_inline))
#else
#define FA__INLINE static inline
#endif

/* --------------------------------------------------------------- bit helpers */
FA__INLINE uint64_t fa__bits_f64(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
FA__INLINE double fa__from_bits_f64(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

#define FA__SHIFTER   0x1.8p52                 /* magic: x + 2^52*1.5 rounds x to an integer */
#define FA__SIGN_MASK 0x8000000000000000ULL
#define FA__LOG2E     0x1.71547652b82fep+0
#define FA__LN2_HI    0x1.62e42fefa3800p-1     /* 42 significant bits: k*LN2_HI exact, |k|<2^11 */
#define FA__LN2_LO    0x1.ef35793c76730p-45
#define FA__RSQRT2_HI 0x1.6a09e667f3bcdp-1     /* 1/sqrt(2) as dd */
#define FA__RSQRT2_LO (-0x1.bdd3413b26456p-55)
#define FA__RSQRT2PI_HI 0x1.9884533d43651p-2   /* 1/sqrt(2 pi) as dd */
#define FA__RSQRT2PI_LO (-0x1.cbc0d30ebfd15p-56)
#define FA__TWO_RSQRTPI 0x1.20dd750429b6dp+0   /* 2/sqrt(pi) */

/* ------------------------------------------------------ error-free transforms */
/* hi + lo = a * b exactly (see range note above). */
FA__INLINE void fa_two_prod_f64(double a, double b, double *hi, double *lo)
{
    double p = a * b;
#ifdef __FMA__
    *lo = __builtin_fma(a, b, -p);
#else
    const double split = 0x1.0000002p+27;      /* 2^27 + 1 */
    double ca = split * a, ah = ca - (ca - a), al = a - ah;
    double cb = split * b, bh = cb - (cb - b), bl = b - bh;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
    *hi = p;
}

/* s + e = a + b exactly, any magnitudes (Knuth TwoSum, 6 flops, no multiply). */
FA__INLINE void fa__two_sum(double a, double b, double *s, double *e)
{
    double t = a + b, bb = t - a;
    *e = (a - (t - bb)) + (b - bb);
    *s = t;
}

/* s + e = a + b exactly, requires |a| >= |b| or a == 0 (Fast2Sum). */
FA__INLINE void fa__fast_two_sum(double a, double b, double *s, double *e)
{
    double t = a + b;
    *e = (a - t) + b;
    *s = t;
}

/* ------------------------------------------------------------- coefficients */
/* generated by devtools/remez_f64.py */
/* exp: a3..a12, weighted rel. err 7.51e-20 (2^-63.5) */
#define FA__EXP_A3 0x1.555555555555dp-3
#define FA__EXP_A4 0x1.555555555556fp-5
#define FA__EXP_A5 0x1.111111110e31cp-7
#define FA__EXP_A6 0x1.6c16c16c07e34p-10
#define FA__EXP_A7 0x1.a01a01b6fe536p-13
#define FA__EXP_A8 0x1.a01a01fca81d6p-16
#define FA__EXP_A9 0x1.71dde79a9bfc8p-19
#define FA__EXP_A10 0x1.27e40baeb7a85p-22
#define FA__EXP_A11 0x1.af7a5e2b8a811p-26
#define FA__EXP_A12 0x1.20d1aae5d29f4p-29
/* log1p: R(z) degree 7, rel. err 3.3e-20 (2^-64.7) */
#define FA__LOG_B0 0x1.5555555555555p-1
#define FA__LOG_B1 0x1.9999999999a45p-2
#define FA__LOG_B2 0x1.2492492474d78p-2
#define FA__LOG_B3 0x1.c71c7204c148bp-3
#define FA__LOG_B4 0x1.745cf79e18cfcp-3
#define FA__LOG_B5 0x1.3b1c8077ea600p-3
#define FA__LOG_B6 0x1.0fb6d33ac3243p-3
#define FA__LOG_B7 0x1.0c53d6fd542a6p-3
/* erf piece erf0 w<0.75  g=erf(w)/w, v=w^2: rel. err 2^-100.8 */
/* erf piece [0.75,1.5)  g=erfcx(w), v=w-1.125: rel. err 2^-64.3 */
/* erf piece [1.5,2.5)   g=erfcx(w), v=w-2: rel. err 2^-62.4 */
/* erf piece [2.5,3.5)   g=erfcx(w), v=w-3: rel. err 2^-67.6 */
/* erf piece [3.5,inf)   g=w*erfcx(w), v=1/w^2-UM: rel. err 2^-60.0 */
/* tail centre UM = 0x1.4e5e0a72f0539p-5 */
#define FA__ERF_C0H 0x1.20dd750429b6dp+0, 0x1.9531e09b149b5p-2, 0x1.058671b52c776p-2, 0x1.6e9827d229d2dp-3, 0x1.1b4c65eb48facp-1
#define FA__ERF_C0L 0x1.1ae3a914fecdep-56, -0x1.aa79f66794c23p-58, -0x1.3bcd8994f380fp-58, -0x1.9076032971a18p-58, 0x1.e0fff6ead4705p-56
#define FA__ERF_C1H -0x1.812746b0379e7p-2, -0x1.e78b356770fbap-3, -0x1.b57034efd3f72p-4, -0x1.bd6ae4d14b16fp-5, -0x1.021074da9a224p-2
#define FA__ERF_C1L 0x1.ee12e49cfc14ep-57, -0x1.f868c45367760p-57, -0x1.dd3b6c8b53c68p-59, 0x1.9dc776350e30bp-61, -0x1.b1b996517a312p-57
#define FA__ERF_A2 0x1.ce2f21a042be2p-4, 0x1.05e72521ca1b8p-3, 0x1.5672b9ea13de6p-5, 0x1.043fe1a98c0cdp-6, 0x1.49d1fcf7b4fefp-2
#define FA__ERF_A3 -0x1.b82ce31288b51p-6, -0x1.01343a2c92278p-4, -0x1.fa9d3ac955e38p-7, -0x1.259061ba85698p-8, -0x1.4a71eedb6719ep-1
#define FA__ERF_A4 0x1.565bcd0e6a53fp-8, 0x1.d4e711a2df93dp-6, 0x1.64907215a3bf4p-8, 0x1.409cc2ed3fef9p-10, 0x1.b617ece1b95d8p+0
#define FA__ERF_A5 -0x1.c02db40040b85p-11, -0x1.910a5d7c06a9ap-7, -0x1.e028e8a55b662p-10, -0x1.53dec9d088000p-12, -0x1.62559a6adc07ep+2
#define FA__ERF_A6 0x1.f9a326f9b89b3p-14, 0x1.446c5166cfa0dp-8, 0x1.369ffa07d1da1p-11, 0x1.5e73930484ed6p-14, 0x1.4d8f5f81434c7p+4
#define FA__ERF_A7 -0x1.f4d25c3e0c181p-17, -0x1.f38c6d0a5b686p-10, -0x1.83822176252e8p-13, -0x1.6025103e31a28p-16, -0x1.6272b48354c42p+6
#define FA__ERF_A8 0x1.b9e6c9dc60143p-20, 0x1.6fd9a5797fe7ap-11, 0x1.d37ba54fd259cp-15, 0x1.595f1b5e7c8fep-18, 0x1.a0301489420a0p+8
#define FA__ERF_A9 -0x1.5f742ec36c8aap-23, -0x1.041e36df08c66p-12, -0x1.115cf801da99ep-16, -0x1.4b1460c7d84a5p-20, -0x1.09c4607df4a4dp+11
#define FA__ERF_A10 0x1.fcc571d313ef6p-27, 0x1.62743bd7afd61p-14, 0x1.369770298cf83p-18, 0x1.369903d36801bp-22, 0x1.6cdce9d03053dp+13
#define FA__ERF_A11 -0x1.51d7137635e0cp-30, -0x1.d2b4a5da75d37p-16, -0x1.577ac738eec19p-20, -0x1.1d79e70278c81p-24, -0x1.0c5a181275ca2p+16
#define FA__ERF_A12 0x1.9e6a345d32091p-34, 0x1.29983c8da16d9p-17, 0x1.724ac291a184cp-22, 0x1.015111d3973dbp-26, 0x1.a1139bad66c47p+18
#define FA__ERF_A13 -0x1.d8351eea0a4e9p-38, -0x1.6ffabce10fda6p-19, -0x1.84feb71a6f142p-24, -0x1.c6e0fd08f15bep-29, -0x1.341ad25eee0d1p+21
#define FA__ERF_A14 0x1.f55d56df952c7p-42, 0x1.bb1d32d23ba2fp-21, 0x1.906b5048e199bp-26, 0x1.8b6f6c84dcfd8p-31, 0x1.f2530fe533612p+23
#define FA__ERF_A15 -0x1.e727f311450c7p-46, -0x1.109d91f300cbdp-22, -0x1.ae2cda84671b4p-28, -0x1.622d4474a77cep-33, -0x1.81580f9998d1ep+27
#define FA__ERF_A16 0x1.6983e8507caa3p-50, 0x1.350c23b9811bap-24, 0x1.a4f6f8ab49f91p-30, 0x1.28882872de455p-35, 0x1.7fe0ae94d453bp+30

/* Piece selector for the erf/erfc core: pieces [0,.75) [.75,1.5) [1.5,2.5) [2.5,3.5) [3.5,inf).
 * Written as a chain of two-way selects: GCC 12 if-converts these into blends, but NOT a
 * nested `a ? b : c ? d : ...` expression (that becomes one multi-argument PHI, which the
 * if-converter rejects outside `omp simd` loops -> "control flow in loop"). */
FA__INLINE double fa__pick5(double w, double c0, double c1, double c2, double c3, double c4)
{
    double c = c4;
    c = w < 3.5 ? c3 : c;
    c = w < 2.5 ? c2 : c;
    c = w < 1.5 ? c1 : c;
    c = w < 0.75 ? c0 : c;
    return c;
}
#define FA__ERF_SEL(w, list) fa__pick5(w, list)
#define FA__ERF_UM 0x1.4e5e0a72f0539p-5        /* 1/24.5, centre of the tail piece in 1/w^2 */

/* ================================================================= exp family */

/* Reduction + polynomial shared by the exp family.
 * On return: e^(xh+xl) = 2^k * (1 + P),  P = ps + pl (dd, |P| <= 0.42), kd = k as double,
 * and 2^k = s1 * s2 (both normal).  xh is clamped to [-746, 710]; NaN propagates into P. */
FA__INLINE void fa__expm1_red(double xh, double xl, double *ps, double *pl,
                                 double *kd_out, double *s1, double *s2)
{
    xh = xh > 710.0 ? 710.0 : xh;
    xh = xh < -746.0 ? -746.0 : xh;
    double t  = xh * FA__LOG2E + FA__SHIFTER;  /* round-to-nearest integer in low bits */
    double kd = t - FA__SHIFTER;
    double rh = xh - kd * FA__LN2_HI;          /* exact (Sterbenz; contraction-safe) */
    double rl = xl - kd * FA__LN2_LO;
    double r  = rh + rl;
    double re = (rh - r) + rl;                 /* r + re = reduced argument (dd) */

    double h, hl;                              /* r^2 = h + hl exactly, then halve */
    fa_two_prod_f64(r, r, &h, &hl);
    h *= 0.5; hl *= 0.5;

    double c = FA__EXP_A12;                    /* c(r) = (e^r - 1 - r - r^2/2) / r^3 */
    c = c * r + FA__EXP_A11;
    c = c * r + FA__EXP_A10;
    c = c * r + FA__EXP_A9;
    c = c * r + FA__EXP_A8;
    c = c * r + FA__EXP_A7;
    c = c * r + FA__EXP_A6;
    c = c * r + FA__EXP_A5;
    c = c * r + FA__EXP_A4;
    c = c * r + FA__EXP_A3;

    double s, se;
    fa__fast_two_sum(r, h, &s, &se);           /* |r| >= r^2/2 */
    *ps = s;
    *pl = se + (hl + (re + re * r + ((h + h) * r) * c));

    /* 2^k = 2^k1 * 2^k2, k1 = floor(k/2), k2 = k - k1; k in [-1077, 1025] */
    uint64_t ku = fa__bits_f64(t) - fa__bits_f64(FA__SHIFTER) + 2048;  /* k + 2048 >= 0 */
    uint64_t k1 = ku >> 1;                     /* floor(k/2) + 1024 */
    uint64_t k2 = ku - k1;                     /* k - floor(k/2) + 1024 */
    *s1 = fa__from_bits_f64((k1 - 1) << 52);   /* biased exponent k1 - 1024 + 1023 */
    *s2 = fa__from_bits_f64((k2 - 1) << 52);
    *kd_out = kd;
}

/* e^(xh+xl) = (eh + el) * s1 * s2 with eh = fl(e^r) in [0.7, 1.42]. */
FA__INLINE void fa__exp_dd(double xh, double xl, double *eh, double *el,
                              double *s1, double *s2)
{
    double ps, pl, kd;
    fa__expm1_red(xh, xl, &ps, &pl, &kd, s1, s2);
    double a, ae;
    fa__fast_two_sum(1.0, ps, &a, &ae);
    ae += pl;
    double hi = a + ae;
    *el = (a - hi) + ae;
    *eh = hi;
}

/* e^(hi+lo), |lo| <~ ulp(hi); accurate relative to the exact e^(hi+lo). For |hi| >= 709
   lo is dropped: there e^hi is inf, 0 or subnormal (where the spec allows an error up to
   DBL_MIN), and a large lo (the error of a huge product) must not shift the clamped
   reduction. */
FA__INLINE double fa_exp_hilo_f64(double hi, double lo)
{
    double ahi = fa__from_bits_f64(fa__bits_f64(hi) & ~FA__SIGN_MASK);
    lo = ahi < 709.0 ? lo : 0.0;               /* one comparison: an && of two blocks GCC 12's
                                                  vectorizer in some callers */
    double eh, el, s1, s2;
    fa__exp_dd(hi, lo, &eh, &el, &s1, &s2);
    return (eh * s1) * s2;                     /* first product exact; one final rounding */
}

/* e^x: +inf above ~709.78, 0 below ~-745.13, NaN -> NaN. */
FA__INLINE double fa_exp_f64(double x)
{
    return fa_exp_hilo_f64(x, 0.0);
}

/* e^x - 1 as dd scaled by s1*s2 (result = (mh + ml) * s1 * s2); x clamped to [-40, 710]. */
FA__INLINE void fa__expm1_dd(double x, double *mh, double *ml, double *s1, double *s2)
{
    x = x < -40.0 ? -40.0 : x;                 /* expm1(-40) rounds to -1 */
    double ps, pl, kd;
    fa__expm1_red(x, 0.0, &ps, &pl, &kd, s1, s2);
    /* e^x - 1 = 2^k * (P + (1 - 2^-k)); 2^-k with k capped at 60 (beyond: < 2^-60 relative) */
    double kc = kd > 60.0 ? 60.0 : kd;
    double m  = fa__from_bits_f64(fa__bits_f64((1023.0 - kc) + FA__SHIFTER) << 52);
    double T, Te, a, ae;
    fa__two_sum(1.0, -m, &T, &Te);
    fa__two_sum(T, ps, &a, &ae);
    double lo = ae + (Te + pl);
    double hi = a + lo;
    *ml = (a - hi) + lo;
    *mh = hi;
}

/* e^x - 1, relatively accurate everywhere; -1 for x < ~-37.4, +inf above ~709.78. */
FA__INLINE double fa_expm1_f64(double x)
{
    double mh, ml, s1, s2;
    fa__expm1_dd(x, &mh, &ml, &s1, &s2);
    return (mh * s1) * s2;
}

/* ======================================================================= log1p */

/* log(1 + x); -inf at -1, NaN below -1, +inf at +inf, -0 -> -0. */
FA__INLINE double fa_log1p_f64(double x)
{
    double u, c;
    fa__two_sum(1.0, x, &u, &c);               /* 1 + x = u + c exactly, u >= 2^-53 or 0 */
    /* u = 2^k * m, m in [sqrt(.5), sqrt(2)); kb = k + 1024 >= 0 so logical shifts suffice */
    uint64_t ui = fa__bits_f64(u);
    uint64_t kb = (ui - 0x3FE6A09E667F3BCDULL + (1024ULL << 52)) >> 52;
    double m  = fa__from_bits_f64(ui - (kb << 52) + (1024ULL << 52));
    double kd = fa__from_bits_f64(fa__bits_f64(FA__SHIFTER) + kb) - (FA__SHIFTER + 1024.0);
    /* F = (m - 1) + c*2^-k exactly (as dd); c is irrelevant when k > 1000 */
    double f  = m - 1.0;                       /* exact */
    double sc = fa__from_bits_f64((2047ULL - kb) << 52);   /* 2^-k (garbage if k > 1022) */
    double fc = kd > 1000.0 ? 0.0 : c * sc;
    double Fh, Fl;
    fa__fast_two_sum(f, fc, &Fh, &Fl);         /* |fc| <= ulp(f)/2 or f == 0 */
    /* s = F / (2 + F) as dd */
    double Dh, Dl;
    fa__fast_two_sum(2.0, Fh, &Dh, &Dl);
    Dl += Fl;
    double inv = 1.0 / Dh;
    double sh = Fh * inv, p, pe;
    fa_two_prod_f64(sh, Dh, &p, &pe);
    double sl = ((((Fh - p) - pe) + Fl) - sh * Dl) * inv;
    /* log(1+F) = 2 s + s^3 R(s^2) */
    double z = sh * sh;
    double R = FA__LOG_B7;
    R = R * z + FA__LOG_B6;
    R = R * z + FA__LOG_B5;
    R = R * z + FA__LOG_B4;
    R = R * z + FA__LOG_B3;
    R = R * z + FA__LOG_B2;
    R = R * z + FA__LOG_B1;
    R = R * z + FA__LOG_B0;
    double A, Ae;
    fa__two_sum(kd * FA__LN2_HI, sh + sh, &A, &Ae);   /* kd*LN2_HI exact */
    /* two products in one sum: fused explicitly (see fastact_fma.h) */
    double res = A + (Ae + FA__FMA(kd, FA__LN2_LO, FA__FMA(sh * z, R, sl + sl)));
    /* special cases, as selects */
    res = x > 0x1.fffffffffffffp+1023 ? x : res;        /* +inf */
    res = x == -1.0 ? -__builtin_inf() : res;
    res = x < -1.0 ? __builtin_nan("") : res;
    /* |x| < 2^-60: log1p(x) rounds to x; also keeps -0 and avoids underflowing remainders */
    res = (x < 0x1p-60 && x > -0x1p-60) ? x : res;
    res = x != x ? x : res;                             /* NaN */
    return res;
}

/* ================================================================ tanh, sigmoid */

FA__INLINE double fa_tanh_f64(double x)
{
    uint64_t sign = fa__bits_f64(x) & FA__SIGN_MASK;
    double a = fa__from_bits_f64(fa__bits_f64(x) & ~FA__SIGN_MASK);
    a = a > 20.0 ? 20.0 : a;                   /* tanh(20) rounds to 1; keeps NaN */
    double mh, ml, s1, s2;
    fa__expm1_dd(a + a, &mh, &ml, &s1, &s2);
    double sc = s1 * s2;                       /* 2^k, k <= 58: no overflow */
    mh *= sc; ml *= sc;                        /* M = expm1(2a) = mh + ml */
    double nh, nl;                             /* N = M + 2 */
    fa__two_sum(mh, 2.0, &nh, &nl);
    nl += ml;
    double inv = 1.0 / nh;
    double q = mh * inv, p, pe;
    fa_two_prod_f64(q, nh, &p, &pe);
    double r = q + ((((mh - p) - pe) + ml) - q * nl) * inv;
    return fa__from_bits_f64(fa__bits_f64(r) | sign);
}

FA__INLINE double fa_sigmoid_f64(double x)
{
    double a = fa__from_bits_f64(fa__bits_f64(x) & ~FA__SIGN_MASK);
    double eh, el, s1, s2;
    fa__exp_dd(-a, 0.0, &eh, &el, &s1, &s2);   /* E = e^-|x| = (eh + el) * s1 * s2 */
    double Eh = (eh * s1) * s2, El = (el * s1) * s2;
    double dh, dl;                             /* D = 1 + E */
    fa__fast_two_sum(1.0, Eh, &dh, &dl);
    dl += El;
    /* numerator: 1 (x >= 0) or E (x < 0), the latter kept unscaled so that a tiny E keeps
     * its full dd precision; the scale is applied once at the end */
    double nh = x < 0.0 ? eh : 1.0;
    double nl = x < 0.0 ? el : 0.0;
    s1 = x < 0.0 ? s1 : 1.0;
    s2 = x < 0.0 ? s2 : 1.0;
    double inv = 1.0 / dh;
    double q = nh * inv, p, pe;
    fa_two_prod_f64(q, dh, &p, &pe);
    double r = q + ((((nh - p) - pe) + nl) - q * dl) * inv;
    return (r * s1) * s2;
}

/* ============================================================ erf, erfc, ndtr */

/* Core for w = wh + wl >= 0 (wh clamped by the caller, wl tiny), qh + ql = w^2 exactly.
 * Returns y = yh + yl (dd) where y = erf(w) if wh < 0.5, else y = erfc(w);  the result is
 * multiplied by `mul` (a power of two) before the final scaling so that a subnormal
 * result is rounded only once. */
FA__INLINE void fa__erfc_core(double wh, double wl, double qh, double ql, double mul,
                                 double *yh, double *yl)
{
    const double w = wh;
    /* pieces: "first" = w < 0.75 (erf piece), "tail" = !(w < 3.5) (1/w^2 piece, also NaN).
     * Conditions are spelled out as double compares in every select: keeping them in int
     * flags and combining them (||, !=) makes GCC 12 give up vectorizing on SSE2. */
    double dh = w < 3.5 ? 1.0 : wh;            /* divisor: w on the tail piece */
    double dl = w < 3.5 ? 0.0 : wl;
    double dinv = 1.0 / dh;
    double ctr = fa__pick5(w, 0.0, 1.125, 2.0, 3.0, FA__ERF_UM);
    double v = (w < 3.5 ? w : dinv * dinv) - ctr;   /* exact except on the tail piece */
    v = w < 0.75 ? qh : v;

    /* Horner with explicit FMAs: left to contraction, GCC 12 fuses these in a loop's scalar
     * remainder but not in its vector body (the blend between the multiply and the add),
     * and ndtr/gelu differed by an ulp with the element's position (x86-64-v3/v4). */
    double q = FA__ERF_SEL(w, FA__ERF_A16);
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A15));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A14));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A13));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A12));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A11));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A10));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A9));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A8));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A7));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A6));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A5));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A4));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A3));
    q = FA__FMA(q, v, FA__ERF_SEL(w, FA__ERF_A2));

    /* g = c0 + c1 v + v^2 q with c0 + c1 v formed exactly */
    double c0h = FA__ERF_SEL(w, FA__ERF_C0H), c0l = FA__ERF_SEL(w, FA__ERF_C0L);
    double c1h = FA__ERF_SEL(w, FA__ERF_C1H), c1l = FA__ERF_SEL(w, FA__ERF_C1L);
    double a, ae, gh, ge;
    fa_two_prod_f64(c1h, v, &a, &ae);
    fa__fast_two_sum(c0h, a, &gh, &ge);
    /* erf piece: v = qh is w^2 rounded; the missing ql matters (times c1, relative to
     * 1 - erf), so add c1*ql.  For ndtr this also carries the effect of w's low part. */
    double vl = w < 0.75 ? ql : 0.0;
    double gl = ge + (ae + (c0l + (c1h * vl + FA__FMA(v * v, q, c1l * v))));
    /* first-order effect of wl on erfcx on the middle pieces: erfcx' = 2 w erfcx - 2/sqrt(pi) */
    double corr = wl * (2.0 * w * (gh + gl) - FA__TWO_RSQRTPI);
    corr = w < 0.75 ? 0.0 : corr;
    corr = w < 3.5 ? corr : 0.0;
    gl += corr;

    /* factor: w (erf piece) or e^{-w^2} (others, unscaled dd + scale s1*s2) */
    double eh, el, s1, s2;
    fa__exp_dd(-qh, -ql, &eh, &el, &s1, &s2);
    /* on the erf piece w is pre-scaled by 2^64 (undone by s1) so that tiny w does not
     * make the error terms of the dd products underflow */
    double fh = w < 0.75 ? wh * 0x1p64 : eh, fl = w < 0.75 ? wl * 0x1p64 : el;
    s1 = w < 0.75 ? mul * 0x1p-64 : s1 * mul;
    s2 = w < 0.75 ? 1.0 : s2;

    double xh, xe;                             /* X = g * factor */
    fa_two_prod_f64(gh, fh, &xh, &xe);
    double xl = xe + FA__FMA(gl, fh, gh * fl);
    double yq = xh * dinv, p, pe;              /* Y = X / d, remainder-corrected */
    fa_two_prod_f64(yq, dh, &p, &pe);
    double ylo = ((((xh - p) - pe) + xl) - yq * dl) * dinv;
    double hi = yq + ylo;
    double lo = (yq - hi) + ylo;
    *yh = (hi * s1) * s2;
    *yl = (lo * s1) * s2;
}


/* A + sg*Y for Y = yh + yl from fa__erfc_core (A in {0, 0.5, 1, 2}, sg = +-1), rounded
 * once: the shared last step of erfc, erf and ndtr. With A = 0 the result is Y alone, and
 * yh is already rounded (adding yl back would round twice). */
FA__INLINE double fa__erf_finish(double A, double sg, double yh, double yl)
{
    double s, e;
    fa__fast_two_sum(A, sg * yh, &s, &e);
    yl = A == 0.0 ? 0.0 : yl;
    return s + (e + sg * yl);
}

/* erfc(x): relatively accurate for x up to underflow (~27.2), -> 2 for x << 0. */
FA__INLINE double fa_erfc_f64(double x)
{
    double y = fa__from_bits_f64(fa__bits_f64(x) & ~FA__SIGN_MASK);
    y = y > 40.0 ? 40.0 : y;                   /* keeps NaN; erfc(40) underflows */
    double qh, ql, yh, yl;
    fa_two_prod_f64(y, y, &qh, &ql);
    fa__erfc_core(y, 0.0, qh, ql, 1.0, &yh, &yl);
    /* first piece: Y = erf(y) -> 1 -+ Y;  else Y = erfc(y) -> Y (x >= 0) or 2 - Y (x < 0) */
    double A = x < 0.0 ? 2.0 : 0.0;            /* two-way selects only (see fa__pick5) */
    A = y < 0.75 ? 1.0 : A;
    double sg = x < 0.0 ? -1.0 : 1.0;
    sg = y < 0.75 ? -sg : sg;
    return fa__erf_finish(A, sg, yh, yl);
}

/* erf(x), odd, relatively accurate near 0. */
FA__INLINE double fa_erf_f64(double x)
{
    uint64_t sign = fa__bits_f64(x) & FA__SIGN_MASK;
    double y = fa__from_bits_f64(fa__bits_f64(x) & ~FA__SIGN_MASK);
    y = y > 40.0 ? 40.0 : y;
    double qh, ql, yh, yl;
    fa_two_prod_f64(y, y, &qh, &ql);
    fa__erfc_core(y, 0.0, qh, ql, 1.0, &yh, &yl);
    double A = y < 0.75 ? 0.0 : 1.0;
    double sg = y < 0.75 ? 1.0 : -1.0;
    double r = fa__erf_finish(A, sg, yh, yl);
    return fa__from_bits_f64(fa__bits_f64(r) | sign);
}

/* Standard normal CDF Phi(x) = erfc(-x/sqrt 2)/2, relatively accurate for x << 0 down to
 * underflow (~-38.5); 0.5 at 0; -> 1 for large x. */
FA__INLINE double fa_ndtr_f64(double x)
{
    double v = fa__from_bits_f64(fa__bits_f64(x) & ~FA__SIGN_MASK);
    v = v > 40.0 ? 40.0 : v;
    double qh, ql, wh, we, yh, yl;
    fa_two_prod_f64(v, v, &qh, &ql);           /* w^2 = v^2 / 2 exactly */
    qh *= 0.5; ql *= 0.5;
    fa_two_prod_f64(v, FA__RSQRT2_HI, &wh, &we);
    double wl = we + v * FA__RSQRT2_LO;        /* w = v / sqrt(2) as dd */
    fa__erfc_core(wh, wl, qh, ql, 0.5, &yh, &yl);      /* Y/2 */
    /* first piece: Y/2 = erf(w)/2 -> 0.5 -+ Y/2; else Y/2 = erfc(w)/2 -> Y/2 or 1 - Y/2 */
    double A = x < 0.0 ? 0.0 : 1.0;
    A = wh < 0.75 ? 0.5 : A;
    double sg = x < 0.0 ? 1.0 : -1.0;
    sg = wh < 0.75 ? -sg : sg;
    return fa__erf_finish(A, sg, yh, yl);
}

/* Standard normal pdf exp(-x^2/2)/sqrt(2 pi), relatively accurate until underflow. */
FA__INLINE double fa_npdf_f64(double x)
{
    double v = fa__from_bits_f64(fa__bits_f64(x) & ~FA__SIGN_MASK);
    v = v > 40.0 ? 40.0 : v;
    double qh, ql, eh, el, s1, s2, a, ae;
    fa_two_prod_f64(v, v, &qh, &ql);
    fa__exp_dd(-0.5 * qh, -0.5 * ql, &eh, &el, &s1, &s2);
    fa_two_prod_f64(eh, FA__RSQRT2PI_HI, &a, &ae);
    double r = a + (ae + FA__FMA(eh, FA__RSQRT2PI_LO, el * FA__RSQRT2PI_HI));   /* two products: fused explicitly */
    return (r * s1) * s2;
}

#endif /* FASTACT_MATH_F64_H */
