/*
 * fastact_sigmoid_f32.h -- float-native building blocks of the sigmoid family
 * (sigmoid and its derivative, x * sigmoid(z) and s(z) (1 + v s(-z)): silu, swish,
 * gelu's tanh form, logsigmoid, softplus', tanh').
 *
 * Design
 *   Everything is computed in float lanes (16 per AVX-512 vector, not the 8 of a
 *   double-internal version), and made accurate by keeping the roundings that matter
 *   exact instead of by widening:
 *   - e = e^-|z| from fa__expneg_f32: with FMA a lean reduction (the FMA makes
 *     x - n*ln2_hi exact with a 24-bit ln2_hi) and a degree-6 Horner polynomial
 *     (0.87 ULP), about 25% cheaper than fa_exp_hilo_f32; without FMA it is
 *     fa_exp_hilo_f32's code. Where e^-|z| is below FLT_MIN while the activation
 *     is not (x e^x, its derivative), E = e 2^24 is computed instead and the result
 *     scaled back last (one rounding, only for subnormal results).
 *   - 1 + e is kept as d + dl exactly (Fast2Sum), numerators as hi + lo exactly
 *     (FA__FMAF_EXACT), and every quotient takes one division and a correction from
 *     the exact remainder (fa__div_f32), so the roundings of the sum and of the
 *     quotient do not add up.
 *   Measured (exhaustive over every 97th float, against double references;
 *   tests/test_accuracy.py has the mpmath figures): sigmoid 1.43 ULP, silu 1.55 ULP.
 *   Internal: names start with fa__ and may change; plugins use fastact/vmath.pxd.
 */
#ifndef FASTACT_SIGMOID_F32_H
#define FASTACT_SIGMOID_F32_H

#include "fastact_math_f32.h"

/* e^(h + l) 2^k for h <= 0 (NaN kept), |l| <= ~ulp(h), k in [0, 24]. h below -120 is taken
 * as -120 (the callers set E = 0 there); 2^(n + k) >= 2^-174 is applied as two normal
 * factors, so a result below FLT_MIN is rounded once. */
static inline float fa__expneg_f32(float h, float l, int32_t k)
{
    float hc = h < -120.0f ? -120.0f : h;
    float lc = h < -120.0f ? 0.0f : l;
    float t = hc * FA__LOG2E_F + FA__MAGIC_F;
    float nf = t - FA__MAGIC_F;
    int32_t n = (int32_t)(fa__f2u(t) - fa__f2u(FA__MAGIC_F)) + k;
#ifdef __FMA__
    /* with a 24-bit ln2_hi, hc - nf*ln2_hi is a multiple of 2^-25 below 0.35: exact */
    float r = __builtin_fmaf(nf, -0x1.62e430p-1f, hc);
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

/* fl(a + b) and its exact rounding error (2Sum, any magnitudes). */
static inline float fa__two_sum_f32(float a, float b, float *err)
{
    float s = a + b;
    float bb = s - a;
    *err = (a - (s - bb)) + (b - bb);
    return s;
}

/* (nh + nl) / (dh + dl) for a positive finite dh and small lo parts: one division, then a
 * correction from the remainder nh - q*dh, which is exact. NaN when nh is not finite. */
static inline float fa__div_f32(float nh, float nl, float dh, float dl)
{
    float r = 1.0f / dh;
    float q = nh * r;
    float rem = FA__FMAF_EXACT(-q, dh, nh) + (nl - q * dl);
    return FA__FMAF(rem, r, q);
}

/* E = e^-|z| 2^k for z = zh + zl and a constant k in [0, 24], and *d + *dl = 1 + e exactly
 * (e = E 2^-k). k = 24 keeps E normal down to e^-|z| = 2^-150, for the callers whose result
 * is normal where e^-|z| is not (x e^-|x|, its derivative); they scale back last. */
static inline float fa__sigmoid_parts_f32(float zh, float zl, int32_t k, float *d, float *dl)
{
    float a = zh < 0 ? zh : -zh;             /* -|zh|, NaN kept */
    float al = zh < 0 ? zl : -zl;
    float E = fa__expneg_f32(a, al, k);
    float e = E * fa__pow2i_f32(-k);
    float dd = 1.0f + e;
    *d = dd;
    *dl = (1.0f - dd) + e;                   /* Fast2Sum: e <= 1 */
    return E;
}

/* sigmoid(zh + zl), relatively accurate in both tails (results below FLT_MIN rounded once). */
static inline float fa__sigmoid_hilo_f32(float zh, float zl)
{
    float d, dl;
    float E = fa__sigmoid_parts_f32(zh, zl, 0, &d, &dl);
    return fa__div_f32(zh < 0 ? E : 1.0f, 0.0f, d, dl);
}

/* x * sigmoid(zh + zl) for finite x; the caller selects the limits (|z| large, x = inf). */
static inline float fa__mul_sigmoid_f32(float x, float zh, float zl)
{
    float d, dl;
    float E = fa__sigmoid_parts_f32(zh, zl, 24, &d, &dl);
    /* m = zh < 0 ? E : 1 and scale = zh < 0 ? 2^-24 : 1 as bit selects: written as ternaries,
     * GCC duplicates everything below for the constant arm (~10 more vector ops) */
    uint32_t neg = (uint32_t)-(int32_t)(zh < 0);
    float m = fa__u2f((fa__f2u(E) & neg) | (0x3f800000u & ~neg));
    float scale = fa__u2f((0x33800000u & neg) | (0x3f800000u & ~neg));
    float nh = x * m;
    float nl = FA__FMAF_EXACT(x, m, -nh);
    return fa__div_f32(nh, nl, d, dl) * scale;
}

/* g * 2^k s(z) s(-z) = g 2^k e / (1 + e)^2, e = e^-|z|, for a constant k in [0, 24]:
 * sigmoid'(z) (k = 0), tanh'(x) = 4 sigmoid'(2x) (k = 2). */
static inline float fa__sigmoid_deriv_f32(float g, float z, int32_t k)
{
    float d, dl;
    float E = fa__sigmoid_parts_f32(z, 0.0f, k, &d, &dl);
    float Dh = d * d;
    float Dl = FA__FMAF_EXACT(d, d, -Dh) + 2.0f * (d * dl);
    return g * fa__div_f32(E, 0.0f, Dh, Dl);
}

/* g * s(z) (1 + v s(-z)) for z = zh + zl, v = vh + vl finite: the derivative of x s(z)
 * when z' x = v (silu: z = v = x; swish: z = v = beta x; gelu's tanh form: z = w(x),
 * v = x w'(x)). As one fraction N / (1 + e)^2, e = e^-|z|:
 *   z >= 0: N = (1 + e) + v e;   z < 0: N = e ((1 + e) + v)   (there with E = e 2^24),
 * N and (1 + e)^2 as hi + lo; 0 where zh < -120. Near the zero of N (z < 0, 1 + e + v = 0)
 * the result is accurate relative to |g| (1 + e and v are exact, their sum rounds once). */
static inline float fa__sigmoid_grad_f32(float g, float zh, float zl, float vh, float vl)
{
    float d, dl;
    float E = fa__sigmoid_parts_f32(zh, zl, 24, &d, &dl);
    E = zh < -120.0f ? 0.0f : E;             /* (e^-120 v g would not round to 0) */
    float e = E * 0x1p-24f;
    float p = vh * e;                        /* z >= 0 */
    float pl = FA__FMAF_EXACT(vh, e, -p) + vl * e;
    float sl;
    float s = fa__two_sum_f32(d, p, &sl);
    float pos_l = sl + (dl + pl);
    float ml;                                /* z < 0 */
    float mh = fa__two_sum_f32(d, vh, &ml);
    float nh = E * mh;
    float neg_l = FA__FMAF_EXACT(E, mh, -nh) + E * (ml + (dl + vl));
    float Dh = d * d;
    float Dl = FA__FMAF_EXACT(d, d, -Dh) + 2.0f * (d * dl);
    float q = fa__div_f32(zh < 0 ? nh : s, zh < 0 ? neg_l : pos_l, Dh, Dl);
    float r = g * q;
    return zh < 0 ? r * 0x1p-24f : r;
}

/* tanh(x): x + x^3 P(x^2) for |x| < 0.625 (P degree 4, fitted relative), else
 * sign(x) (1 - e) / (1 + e), e = e^-2|x|, with 1 - e and 1 + e exact (Fast2Sum) and one
 * corrected division; exactly +-1 where it rounds there, NaN kept. */
static inline float fa__tanh_f32(float x)
{
    uint32_t sign = fa__f2u(x) & 0x80000000u;
    float a = fa__u2f(fa__f2u(x) & 0x7fffffffu);
    float d, dl;
    float e = fa__sigmoid_parts_f32(a + a, 0.0f, 0, &d, &dl);
    float nh = 1.0f - e;
    float nl = (1.0f - nh) - e;              /* Fast2Sum: e <= 1 */
    float big = fa__u2f(fa__f2u(fa__div_f32(nh, nl, d, dl)) | sign);
    float u = x * x;
    float p = -0x1.75e1d4p-8f;
    p = FA__FMAF(p, u, 0x1.52269ep-6f);
    p = FA__FMAF(p, u, -0x1.b83c5ap-5f);
    p = FA__FMAF(p, u, 0x1.110726p-3f);
    p = FA__FMAF(p, u, -0x1.555532p-2f);
    float small = FA__FMAF(x * u, p, x);
    return a < 0.625f ? small : big;
}

/* log(1 + e^-|z|) for z = zh + zl (NaN kept): softplus and logsigmoid. With e = e^-|z| in
 * [0, 1], log(1 + e) = 2 atanh(s), s = e / (2 + e) <= 1/3 as sh + sl (2 + e exact by
 * Fast2Sum, one corrected division), = 2s + s^3 R(s^2), R degree 3 (relative error 4.5e-9). */
static inline float fa__log1p_exp_neg_f32(float zh, float zl)
{
    float a = zh < 0 ? zh : -zh;
    float al = zh < 0 ? zl : -zl;
    float e = fa__expneg_f32(a, al, 0);
    float d = 2.0f + e;
    float dl = (2.0f - d) + e;
    float r = 1.0f / d;
    float sh = e * r;
    float sl = (FA__FMAF_EXACT(-sh, d, e) - sh * dl) * r;
    float v = sh * sh;
    float R = 0x1.1efb4ep-2f;
    R = FA__FMAF(R, v, 0x1.1eb668p-2f);
    R = FA__FMAF(R, v, 0x1.99d266p-2f);
    R = FA__FMAF(R, v, 0x1.5555p-1f);
    return 2.0f * sh + FA__FMAF(sh * v, R, 2.0f * sl);
}

#endif /* FASTACT_SIGMOID_F32_H */
