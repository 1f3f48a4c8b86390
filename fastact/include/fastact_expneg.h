/*
 * fastact_expneg.h -- the exponential of a non-positive argument, lean, for the sigmoid
 * family of the kernels (sigmoid, silu, swish, gelu's tanh form, softplus, logsigmoid,
 * tanh and their derivatives: pyx/precise.pxi.tp), and the exact FMAs they use.
 *
 * Design
 *   Those kernels need e = e^-|z| in [0, 1] only, and combine it with exact sums and
 *   remainders, so the exp can skip what fa_exp_hilo_* spends on the full range and on
 *   a last half ULP: with FMA, the Cody-Waite reduction takes two FMAs (h - n*ln2_hi is
 *   exact with a full-precision ln2_hi) and e^r is one Horner polynomial (float:
 *   degree 6, 0.87 ULP measured exhaustively; double: degree 12 from fa_exp_f64's fit
 *   with 1 + r kept exact, ~0.5 ULP), about 25% cheaper than fa_exp_hilo_f32. Without FMA the float one is
 *   fa_exp_hilo_f32's reduction. 2^(n + k) is applied as two normal factors, so results
 *   below the smallest normal are rounded once, and a constant k >= 0 lets a caller get
 *   e 2^k, normal where e is not.
 *   Internal: names start with fa__ and may change; plugins use fastact/vmath.pxd.
 */
#ifndef FASTACT_EXPNEG_H
#define FASTACT_EXPNEG_H

#include "fastact_math_f32.h"
#include "fastact_math_f64.h"

/* e^(h + l) 2^k for h <= 0 (NaN kept), |l| <= ~ulp(h), k in [0, 24]; h below -120 is taken
 * as -120 (callers select 0 there where it matters). */
static inline float fa__expneg_f32(float h, float l, int32_t k)
{
    float hc = h < -120.0f ? -120.0f : h;
    float lc = h < -120.0f ? 0.0f : l;
    float t = hc * FA__LOG2E_F + FA__MAGIC_F;
    float nf = t - FA__MAGIC_F;
    int32_t n = (int32_t)(fa__f2u(t) - fa__f2u(FA__MAGIC_F)) + k;
#ifdef __FMA__
    float r = __builtin_fmaf(nf, -0x1.62e430p-1f, hc);     /* exact: a multiple of 2^-25 */
    r = __builtin_fmaf(nf, 0x1.05c610p-29f, r) + lc;
    float p = 0x1.6a224p-10f;                /* e^r on |r| <= 0.3473, degree 6 */
    p = __builtin_fmaf(p, r, 0x1.123b0ep-7f);
    p = __builtin_fmaf(p, r, 0x1.5558f8p-5f);
    p = __builtin_fmaf(p, r, 0x1.55549p-3f);
    p = __builtin_fmaf(p, r, 0x1.fffffcp-2f);
    p = __builtin_fmaf(p, r, 1.0f);
    p = __builtin_fmaf(p, r, 1.0f);
    int32_t n1 = n >> 1;
    return p * fa__pow2i_f32(n1) * fa__pow2i_f32(n - n1);
#else
    float r_hi = hc - nf * FA__LN2_HI_F;     /* exact (15-bit ln2_hi) */
    float r_lo = lc - nf * FA__LN2_LO_F;
    return fa__exp_reduced_f32(r_hi, r_lo, n);
#endif
}

/* e^(h + l) 2^k for h <= 0 (NaN kept), |l| <= ~ulp(h), k in [0, 64]; h below -800 is taken
 * as -800 (lo dropped there). Cody-Waite with a 42-bit ln2_hi (r_hi exact), r kept as
 * r + re (Fast2Sum), e^r = 1 + r + r^2 (1/2 + r c(r)) with fastact_math_f64.h's degree-9 c
 * (2^-63.5) and 1 + r kept exact, so that only the last addition rounds (~0.5 ULP). Also
 * the softmax family's exp of x - m (pyx/axis_kernels.pxi.tp). */
static inline double fa__expneg_f64(double h, double l, int32_t k)
{
    double hc = h < -800.0 ? -800.0 : h;
    double lc = h < -800.0 ? 0.0 : l;
    double t = hc * FA__LOG2E + FA__SHIFTER;
    double kd = t - FA__SHIFTER;
    double rh = hc - kd * FA__LN2_HI;        /* exact (42-bit ln2_hi) */
    double rl = lc - kd * FA__LN2_LO;
    double r = rh + rl;
    double re = (rh - r) + rl;
    double c = FA__EXP_A12;
    c = FA__FMA(c, r, FA__EXP_A11);
    c = FA__FMA(c, r, FA__EXP_A10);
    c = FA__FMA(c, r, FA__EXP_A9);
    c = FA__FMA(c, r, FA__EXP_A8);
    c = FA__FMA(c, r, FA__EXP_A7);
    c = FA__FMA(c, r, FA__EXP_A6);
    c = FA__FMA(c, r, FA__EXP_A5);
    c = FA__FMA(c, r, FA__EXP_A4);
    c = FA__FMA(c, r, FA__EXP_A3);
    double w = (r * r) * FA__FMA(r, c, 0.5);
    double s = 1.0 + r;
    double e = (1.0 - s) + r;                /* s + e = 1 + r exactly */
    double p = s + (e + (w + FA__FMA(re, r, re)));
    uint64_t ku = fa__bits_f64(t) - fa__bits_f64(FA__SHIFTER) + 2048 + (uint64_t)k;
    uint64_t k1 = ku >> 1;                   /* as fa__expm1_red: two normal factors */
    uint64_t k2 = ku - k1;
    return p * fa__from_bits_f64((k1 - 1) << 52) * fa__from_bits_f64((k2 - 1) << 52);
}

/* a*b + c where the exact value is known to be representable (a product's rounding error,
 * a division's remainder): exact with FMA; without, from an exact product. */
static inline float fa__fma_exact_f32(float a, float b, float c)
{
    return FA__FMAF_EXACT(a, b, c);
}
static inline double fa__fma_exact_f64(double a, double b, double c)
{
#ifdef __FMA__
    return __builtin_fma(a, b, c);
#else
    double ph, pl;
    fa_two_prod_f64(a, b, &ph, &pl);
    return (ph + c) + pl;                    /* ph + c exact: the result is small */
#endif
}

/* a*b + c, one rounding where the target has FMA (the compiler may not fuse it itself) */
static inline float fa__fma_f32(float a, float b, float c) { return FA__FMAF(a, b, c); }
static inline double fa__fma_f64(double a, double b, double c) { return FA__FMA(a, b, c); }

#endif /* FASTACT_EXPNEG_H */
