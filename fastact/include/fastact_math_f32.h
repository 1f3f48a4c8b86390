/*
 * fastact_math_f32.h -- branch-free, vectorizable single-precision math helpers
 * for the fastact activation kernels.
 *
 * Every helper is `static inline`, free of libm calls and of data-dependent
 * branches (selects are ternaries that GCC if-converts), and written so that a
 * loop `for (i...) out[i] = fa_xxx_f32(x[i]);` vectorizes with GCC 12 at
 * `-O3 -fno-math-errno -fno-trapping-math` for -march=x86-64 (SSE2),
 * x86-64-v3 (AVX2+FMA) and x86-64-v4 (AVX-512).  Never build with -ffast-math:
 * the magic-number rounding, Fast2Sum/2Sum corrections and NaN handling rely on
 * IEEE semantics.  Results do not depend on FMA: all error-free steps use
 * products that are exact, so contraction by the compiler (v3/v4) changes
 * nothing but last-bit noise; the exhaustive test is run at both x86-64 and
 * x86-64-v3.
 *
 * Design
 *   Pure float (fastest; float vectors end to end):
 *   - fa_exp_f32 / fa_exp_hilo_f32: n = round(x*log2e) via the 0x1.8p23f
 *     magic add, Cody-Waite r = (x - n*ln2_hi) + (lo - n*ln2_lo) with a 15-bit
 *     ln2_hi (so n*ln2_hi and x - n*ln2_hi are exact),
 *     e^r = 1 + r + r^2/2 + r^3 q3(r), q3 degree 3 (total degree 6), the
 *     leading 1 + r_hi kept exact with Fast2Sum so only the last addition
 *     rounds.  2^n is applied as two normal factors 2^(n>>1) * 2^(n-(n>>1)),
 *     so n = 128 (overflow -> inf) and n = -150 (subnormal results, a single
 *     rounding) need no special casing.
 *   - fa_expm1_f32: same reduction; e^x - 1 = 2^n ((1 - 2^-n) + e^r - 1),
 *     with (1 - 2^-n) + r_hi and then + r_hi^2/2 (top-12-bit part, exact
 *     square) formed exactly by Fast2Sum, so only small terms are rounded
 *     before the last addition; relative accuracy near 0.  Own q3 of degree 4
 *     fitted relative to e^r - 1.
 *   - fa_log1p_f32: u = 1 + x with its exact rounding error c (2Sum);
 *     u = 2^k m, m in [sqrt(1/2), sqrt(2)), f = m - 1 exact (f = x when
 *     k == 0, so tiny x never sees a rounded 1 + x);
 *     log1p(x) = k ln2 + log(1+f) + c 2^-k / m,
 *     log(1+f) = f - f^2/2 + f^3 P3(f) (P3 degree 8), 1/m ~ 1-f+f^2-f^3+f^4
 *     (only scales the tiny c); k*ln2_hi + f and - f^2/2 (exact top part)
 *     accumulated with Fast2Sum.
 *   Double-internal (input converted to double, result rounded once to float;
 *   float-level polynomials evaluated in double so every intermediate error is
 *   ~2^-30 or smaller, so results are ~0.50 ULP; vectorizes at all levels, but
 *   at half the lanes, so they cost 2-5x exp -- most at SSE2):
 *   - fa_sigmoid_f32: 1 / (1 + e^-x) in double (both tails relative).
 *   - fa_tanh_f32: |x| < 1/16: odd Taylor polynomial, else 1 - 2/(1 + e^2|x|);
 *     sign restored by bit OR; |x| clamped at 10 (tanh rounds to 1 there).
 *   - fa_erfc_f32 / fa_erf_f32 / fa_ndtr_f32: for z >= 0,
 *     erfc(z) = e^(-z^2) g(t), t = 1/(1 + z/2), g a degree-12 polynomial in
 *     (t - 0.5825) (relative error 7.6e-11 on z in [0, 10.1]).  The square is
 *     exact in double (24+24 bit product), ndtr uses x^2/2 (exact) in the
 *     exponent, so no rounding of x/sqrt(2) is ever amplified.
 *     erf = x P(x^2) (P degree 5) for |x| < 0.5, else sign * (1 - erfc(|x|)).
 *   - fa_npdf_f32: e^(-x^2/2) / sqrt(2 pi), x^2 exact in double.
 *   The internal double exp: round via 0x1.8p52 magic, r = y - n*ln2 (double),
 *   degree-7 polynomial (relative error 4.1e-11), scale by integer bits.
 *
 * Coefficients: near-minimax fits (Lawson IRLS on dense grids, mpmath
 * reference) by devtools/fit_coeffs.py; float coefficients rounded to float.
 *
 * Measured max error, EXHAUSTIVE over all 2^32 float inputs against glibc
 * double functions (error in ULP of the reference rounded to float; where the
 * true value is below FLT_MIN the error is < 2^-149 absolute), GCC 12.2:
 *     function     x86-64            x86-64-v3        worst input (x86-64)
 *     exp          0.712             0.707            59.9969063
 *     exp_hilo     0.710             0.691            hi = 1.07967091 (random lo)
 *     exp(-x*x)*   0.710             0.689            x = 1.30400789
 *     expm1        0.575             0.568            0.348176956
 *     log1p        0.642             0.622            -0.302682787
 *     tanh         0.5053            (0.5027 sampled) -0.0625480115
 *     sigmoid      0.5006            (0.5006 sampled) -3.44609714
 *     erf          0.5009            (0.5009 sampled) 0.502170742
 *     erfc         0.5019            (0.5019 sampled) 2.90426584e-07
 *     ndtr         0.5019            (0.5019 sampled) -1.86615182e-07
 *     npdf         0.5006            (0.5006 sampled) -1.52441394
 *     two_prod     exact (hi + lo == a*b for every a, no over/underflow)
 *   (* = fa_exp_hilo_f32 on fa_two_prod_f32(-x, x), vs exp(-x^2).)  No NaN
 *   mismatches; sub-FLT_MIN results within 0.8 * 2^-149.  "sampled" = every
 *   7th block of 2^16 inputs (double-internal functions: contraction cannot
 *   matter at their precision margin).
 *   Speed (ns/element, 2^20 array, AMD EPYC; x86-64 / v3 / v4): exp
 *   1.59/0.53/0.33, expm1 3.7/1.1/0.9, log1p 2.9/0.9/0.67, sigmoid
 *   2.7/1.0/0.66, tanh 6.0/1.9/1.2, erf 8.9/2.3/1.5, erfc 7.8/2.0/1.35,
 *   ndtr 7.7/2.1/1.4, npdf 2.5/1.1/0.68 (glibc expf: 3.5).
 *   Command:  cd pyx/include/devtools && make -f Makefile.f32 check
 *   (see devtools/README_f32, RESULTS_f32.txt; vectorization report:
 *   devtools/vecreport_f32.sh -- all loops vectorize at x86-64, v3, v4)
 */
#ifndef FASTACT_MATH_F32_H
#define FASTACT_MATH_F32_H

#include <stdint.h>
#include <string.h>
#include "fastact_fma.h"

/* ---- bit reinterpretation (compiles to nothing / vector moves) ---------- */
static inline uint32_t fa__f2u(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
static inline float fa__u2f(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }
static inline uint64_t fa__d2u(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double fa__u2d(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* 2^n for n in [-126, 127] */
static inline float fa__pow2i_f32(int32_t n) { return fa__u2f(((uint32_t)n + 127u) << 23); }

/* ---- float constants ---------------------------------------------------- */
#define FA__MAGIC_F   0x1.8p23f          /* x + MAGIC rounds x to an integer  */
#define FA__LOG2E_F   0x1.715476p+0f
#define FA__LN2_HI_F  0x1.62e400p-1f     /* 15 significant bits               */
#define FA__LN2_LO_F  0x1.7f7d1cp-20f    /* ln2 - LN2_HI                      */

/* e^r = 1 + r + r^2/2 + r^3 q3(r) on |r| <= 0.3473; q3 degree 3
 * (total degree 6, relative error 3.7e-9 with these float coefficients) */
static inline float fa__expq3_f32(float r)
{
    return 0x1.5554a2p-3f + r * (0x1.55568ap-5f + r * (0x1.123098p-7f + r * 0x1.6b6e14p-10f));
}

/* same for expm1, but one degree more and fitted relative to e^r - 1
 * (relative error 4.4e-10 w.r.t. e^r - 1), so small results stay accurate */
static inline float fa__expm1q3_f32(float r)
{
    return 0x1.555554p-3f + r * (0x1.5554f8p-5f + r * (0x1.1112d4p-7f
         + r * (0x1.6d3a88p-10f + r * 0x1.9e7d0cp-13f)));
}

/* e^(r_hi + r_lo) * 2^n, with |r_hi + r_lo| <= 0.3473, n in [-150, 128].
 * 1 + r_hi is formed exactly (Fast2Sum), so the only large rounding is the
 * final addition; 2^n is applied as two normal factors (exact for normal
 * results, a single rounding for subnormal ones, inf on overflow). */
static inline float fa__exp_reduced_f32(float r_hi, float r_lo, int32_t n)
{
    float r = r_hi + r_lo;
    float w = (r * r) * (0.5f + r * fa__expq3_f32(r)) + r_lo;
    float s = 1.0f + r_hi;
    float e = (1.0f - s) + r_hi;             /* exact: s + e == 1 + r_hi */
    float p = s + (e + w);
    int32_t n1 = n >> 1;
    return p * fa__pow2i_f32(n1) * fa__pow2i_f32(n - n1);
}

/* e^x.  x > 88.7228 -> +inf, x < -103.98 -> 0, NaN -> NaN. */
static inline float fa_exp_f32(float x)
{
    float xc = x > 89.0f ? 89.0f : x;        /* keeps NaN */
    xc = xc < -104.0f ? -104.0f : xc;
    float t = xc * FA__LOG2E_F + FA__MAGIC_F;
    float nf = t - FA__MAGIC_F;
    int32_t n = (int32_t)(fa__f2u(t) - fa__f2u(FA__MAGIC_F));
    float r_hi = xc - nf * FA__LN2_HI_F;     /* exact */
    float r_lo = -(nf * FA__LN2_LO_F);
    return fa__exp_reduced_f32(r_hi, r_lo, n);
}

/* e^(hi + lo) for an unevaluated sum with |lo| <= ~ulp(hi) (e.g. from
 * fa_two_prod_f32).  Accurate relative to the exact e^(hi+lo). */
static inline float fa_exp_hilo_f32(float hi, float lo)
{
    float h = hi > 89.0f ? 89.0f : hi;
    h = h < -104.0f ? -104.0f : h;
    float l = (h == hi) ? lo : 0.0f;         /* drop lo once hi is clamped */
    float t = h * FA__LOG2E_F + FA__MAGIC_F;
    float nf = t - FA__MAGIC_F;
    int32_t n = (int32_t)(fa__f2u(t) - fa__f2u(FA__MAGIC_F));
    float r_hi = h - nf * FA__LN2_HI_F;      /* exact */
    float r_lo = l - nf * FA__LN2_LO_F;
    return fa__exp_reduced_f32(r_hi, r_lo, n);
}

/* e^x - 1; relative accuracy near 0, -> -1 for x << 0, +inf on overflow. */
static inline float fa_expm1_f32(float x)
{
    float xc = x > 89.0f ? 89.0f : x;        /* keeps NaN */
    xc = xc < -18.0f ? -18.0f : xc;          /* e^-18 - 1 rounds to -1 */
    float t = xc * FA__LOG2E_F + FA__MAGIC_F;
    float nf = t - FA__MAGIC_F;
    int32_t n = (int32_t)(fa__f2u(t) - fa__f2u(FA__MAGIC_F));   /* [-26, 128] */
    float r_hi = xc - nf * FA__LN2_HI_F;     /* exact */
    float r_lo = -(nf * FA__LN2_LO_F);
    float r = r_hi + r_lo;
    /* e^r - 1 = r_hi + hsq + small, with hsq = rh^2/2 exact (rh = top 12 bits
     * of r_hi) and small = the rest of r^2/2 (incl. r_lo(1 + r_hi + r_lo/2))
     * plus r^3 q3(r) */
    float rh = fa__u2f(fa__f2u(r_hi) & 0xfffff000u);
    float rl = r_hi - rh;                    /* exact */
    float hsq = 0.5f * (rh * rh);            /* exact */
    float small = (r * r) * (r * fa__expm1q3_f32(r))
                + FA__FMAF(0.5f, rl * (r_hi + rh), r_lo * (1.0f + 0.5f * (r_hi + r)));
    /* e^x - 1 = 2^n (c + r_hi + hsq + small + d), c + d = 1 - 2^-n, c exact */
    int32_t m = n > 60 ? 60 : n;
    float tm = fa__pow2i_f32(-m);            /* 2^-m */
    /* c exact: 1 - 2^-m needs |m| + 1 <= 24 bits, else the 1 or the 2^-m
     * moves into d (n = 0 gives c = 0) */
    float c = n > 24 ? 1.0f : (n < -23 ? -tm : 1.0f - tm);
    float d = n > 24 ? -tm : (n < -23 ? 1.0f : 0.0f);
    float s = c + r_hi;                      /* Fast2Sum: |c| >= 1/2 > |r_hi| or c == 0 */
    float e = (c - s) + r_hi;
    float s2 = s + hsq;                      /* Fast2Sum: |s| >= |hsq| in all cases */
    float e2 = (s - s2) + hsq;
    float p = s2 + ((e + e2) + (small + d));
    int32_t n1 = n >> 1;
    float res = p * fa__pow2i_f32(n1) * fa__pow2i_f32(n - n1);
    return x == 0.0f ? x : res;              /* keep the sign of zero */
}

/* log(1+f) = f - f^2/2 + f^3 P3(f) on f in [sqrt(1/2)-1, sqrt(2)-1];
 * P3 degree 8 (relative error of the sum 7.7e-10 with float coefficients) */
static inline float fa__log1pP3_f32(float f)
{
    return 0x1.555548p-2f + f * (-0x1.000006p-2f + f * (0x1.99a476p-3f
         + f * (-0x1.555c46p-3f + f * (0x1.233ba8p-3f + f * (-0x1.fc2884p-4f
         + f * (0x1.e6bf38p-4f + f * (-0x1.de02d6p-4f + f * 0x1.14763ap-4f)))))));
}

/* log(1+x); x = -1 -> -inf, x < -1 -> NaN, +inf -> +inf. */
static inline float fa_log1p_f32(float x)
{
    float u = 1.0f + x;
    float bp = u - 1.0f;                     /* 2Sum: u + c == 1 + x exactly */
    float ap = u - bp;
    float c = (1.0f - ap) + (x - bp);
    /* u = 2^k m, m in [sqrt(1/2), sqrt(2)) */
    uint32_t iu = fa__f2u(u) + (0x3f800000u - 0x3f3504f3u);
    int32_t k = (int32_t)(iu >> 23) - 127;
    /* f = m - 1 (exact) and delta = c 2^-k, except for k == 0 where x itself
     * is the exact f (this keeps tiny x exact: no rounded 1 + x involved) */
    float f = fa__u2f((iu & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    f = k == 0 ? x : f;
    int32_t ks = k > 64 ? 64 : k;            /* c 2^-k is negligible beyond */
    float delta = k == 0 ? 0.0f : c * fa__pow2i_f32(-ks);
    float inv_m = 1.0f + f * (-1.0f + f * (1.0f + f * (-1.0f + f)));  /* ~1/(1+f) */
    /* f^2/2 = hsq + hsq_lo with hsq exact (fh = top 12 bits of f) */
    float fh = fa__u2f(fa__f2u(f) & 0xfffff000u);
    float fl = f - fh;                       /* exact */
    float hsq = 0.5f * (fh * fh);            /* exact */
    float hsq_lo = 0.5f * (fl * (f + fh));
    float kf = (float)k;
    float hi = kf * FA__LN2_HI_F + f;        /* k*ln2_hi exact; Fast2Sum */
    float lo = (kf * FA__LN2_HI_F - hi) + f;
    float s2 = hi - hsq;                     /* Fast2Sum: |hi| >= |hsq| */
    float e2 = (hi - s2) - hsq;
    float tail = (f * f) * (f * fa__log1pP3_f32(f))
               + ((kf * FA__LN2_LO_F + delta * inv_m) - hsq_lo);
    float res = s2 + ((lo + e2) + tail);
    res = u == 0.0f ? -fa__u2f(0x7f800000u) : res;          /* x == -1 */
    res = u == fa__u2f(0x7f800000u) ? u : res;              /* x == +inf */
    res = u >= 0.0f ? res : fa__u2f(0x7fc00000u);           /* x < -1 or NaN */
    return x == 0.0f ? x : res;              /* keep the sign of zero */
}

/* ---- double-internal helpers -------------------------------------------- */

/* e^y in double, relative error ~4e-11 (float-level polynomial); y is clamped
 * to [-120, 120] (NaN kept). */
static inline double fa__exp_d(double y)
{
    y = y > 120.0 ? 120.0 : y;
    y = y < -120.0 ? -120.0 : y;
    double t = y * 0x1.71547652b82fep+0 + 0x1.8p52;
    double nd = t - 0x1.8p52;
    double r = y - nd * 0x1.62e42fefa39efp-1;        /* error ~1e-14, harmless */
    double p = 0x1.ffffffffaa589p-1 + r * (0x1.000000010fc0ep+0
             + r * (0x1.0000005ae8ec7p-1 + r * (0x1.5555533d61b78p-3
             + r * (0x1.5554667bde7dp-5 + r * (0x1.1112fe41bcdaep-7
             + r * (0x1.6da651e2bf14fp-10 + r * 0x1.9eb5a611cbb16p-13))))));
    /* low mantissa bits of t hold n; shift them into the exponent field */
    return p * fa__u2d((fa__d2u(t) << 52) + 0x3ff0000000000000ull);
}

/* g(1/(1+z/2)) = erfc(z) e^(z^2) for z >= 0 (z > 10.1 is taken as 10.1) */
static inline double fa__erfc_scaled_d(double z)
{
    z = z > 10.1 ? 10.1 : z;                 /* beyond: erfc underflows anyway */
    double v = 1.0 / (1.0 + 0.5 * z) - 0x1.2a50658dc0876p-1;
    double g = 0x1.54f4f5cffdcfap-2 + v * (0x1.06f4dc6f459fdp+0
             + v * (0x1.1fdb540b2a36dp+0 + v * (0x1.45910ef20438fp-1
             + v * (-0x1.25ea150333b75p-5 + v * (-0x1.dd0529411a99p-3
             + v * (0x1.127bfa4762474p-6 + v * (0x1.d274e165d23b8p-4
             + v * (-0x1.5c4ef8305ce45p-5 + v * (-0x1.b77899e4a393fp-5
             + v * (0x1.afa9721d45667p-5 + v * (0x1.c8e96bdf60984p-7
             + v * -0x1.1a98eb70cd73fp-5)))))))))));
    return g;
}

/* erfc(z) for z >= 0 given z2 = z*z (accurately) */
static inline double fa__erfc_pos_d(double z, double z2)
{
    return fa__exp_d(-z2) * fa__erfc_scaled_d(z);
}

/* ---- public double-internal functions ----------------------------------- */

/* 1 / (1 + e^-x): relative accuracy in both tails. */
static inline float fa_sigmoid_f32(float x)
{
    return (float)(1.0 / (1.0 + fa__exp_d(-(double)x)));
}

/* tanh(x): odd, relative accuracy near 0, exactly +-1 where it rounds there. */
static inline float fa_tanh_f32(float x)
{
    uint32_t sign = fa__f2u(x) & 0x80000000u;
    double a = (double)fa__u2f(fa__f2u(x) & 0x7fffffffu);
    a = a > 10.0 ? 10.0 : a;                 /* keeps NaN; tanh(10) rounds to 1 */
    double a2 = a * a;
    double small = a + a * a2 * (-0x1.5555555555555p-2 + a2 * (0x1.1111111111111p-3
                 + a2 * (-0x1.ba1ba1ba1ba1cp-5 + a2 * 0x1.664f4882c10fap-6)));
    double big = 1.0 - 2.0 / (1.0 + fa__exp_d(2.0 * a));
    float r = (float)(a < 0.0625 ? small : big);
    return fa__u2f(fa__f2u(r) | sign);
}

/* erfc(x): relative accuracy in the right tail down to underflow, -> 2 left. */
static inline float fa_erfc_f32(float x)
{
    double xd = (double)x;
    double z = xd < 0.0 ? -xd : xd;
    double c = fa__erfc_pos_d(z, xd * xd);   /* x*x exact in double */
    return (float)(xd < 0.0 ? 2.0 - c : c);
}

/* erf(x) */
static inline float fa_erf_f32(float x)
{
    double xd = (double)x;
    double z = xd < 0.0 ? -xd : xd;
    double z2 = xd * xd;
    double small = xd * (0x1.20dd75041afdfp+0 + z2 * (-0x1.8127466e4b53ap-2
                 + z2 * (0x1.ce2ef1b09295cp-4 + z2 * (-0x1.b820181ea4101p-6
                 + z2 * (0x1.54cebea423764p-8 + z2 * -0x1.93544b37e9af1p-11)))));
    double big = 1.0 - fa__erfc_pos_d(z, z2);
    big = xd < 0.0 ? -big : big;
    return (float)(z < 0.5 ? small : big);
}

/* Phi(x) = erfc(-x/sqrt2)/2, the standard normal CDF; relative accuracy for
 * x << 0 down to underflow (x ~ -14). */
static inline float fa_ndtr_f32(float x)
{
    double xd = (double)x;
    double z = (xd < 0.0 ? -xd : xd) * 0x1.6a09e667f3bcdp-1;
    double c = 0.5 * fa__erfc_pos_d(z, 0.5 * (xd * xd));   /* x^2/2 exact */
    return (float)(xd < 0.0 ? c : 1.0 - c);
}

/* phi(x) = e^(-x^2/2) / sqrt(2 pi) */
static inline float fa_npdf_f32(float x)
{
    double xd = (double)x;
    return (float)(fa__exp_d(-0.5 * (xd * xd)) * 0x1.9884533d43651p-2);
}

/* hi = fl(a*b), lo = a*b - hi exactly (barring float over/underflow of the
 * product or of lo): one FMA where the target has it, else in double, where the
 * product of two floats is exact. */
static inline void fa_two_prod_f32(float a, float b, float *hi, float *lo)
{
#ifdef __FMA__
    float h = a * b;
    *hi = h;
    *lo = __builtin_fmaf(a, b, -h);          /* exact: one FMA, float lanes */
#else
    double p = (double)a * (double)b;
    float h = (float)p;
    *hi = h;
    *lo = (float)(p - (double)h);
#endif
}

#endif /* FASTACT_MATH_F32_H */
