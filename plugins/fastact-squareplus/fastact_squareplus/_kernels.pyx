# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled kernels of squareplus and isru for fastact's kernel ABI (fastact.kernel).

Every scalar function is branch-free (selects only), calls nothing the compiler cannot
inline (fastact.vmath's sqrt is an instruction under -fno-math-errno) and keeps float
code in float (<float> literals, hex-float constants with an f suffix), so the
unit-stride loops of map_f32/map_f64 vectorize. The float32 kernels compute in float32;
fa_two_prod_f32 (exact a*b) is the only place a double appears, inside fastact.vmath.

squareplus(x, b) = (x + s) / 2, s = sqrt(x^2 + b), b > 0
    x >= 0: (x + s) / 2                    (no cancellation)
    x <  0: (b / 2) / (s - x)              (= (x + s) / 2 without cancellation)
    |x| > 2^50 or b > 2^100 (float64: 2^500, 2^1000): x and b are scaled by k = 2^-66
    (2^-514) and k^2 first, so x^2 + b never overflows up to FLT_MAX (DBL_MAX); the
    scaling by powers of two is exact wherever it matters, and the negative branch
    applies k in two halves so that neither (b/2) k nor the quotient over/underflows.
    f'(x) = (1 + x/s) / 2 for x >= 0 and f(x) / s for x < 0 (= b / (2 s (s - x)));
    from y = f(x): f' = y^2 / (y^2 + b/4) = y / (y + (b/4) / y).
isru(x, alpha) = x / sqrt(1 + alpha x^2), alpha >= 0
    w = (alpha x) x; when w overflows (|x| sqrt(alpha) > ~2^64, or x = +-inf) the
    result is sign(x) / sqrt(alpha); alpha = 0 is the identity (also at +-inf).
    f'(x) = (1 + w)^(-3/2); from y: (1 - alpha y^2)^(3/2), with alpha y^2 formed exactly
    (two two_prods) so that 1 - alpha y^2 does not lose digits near the saturation
    |y| -> 1/sqrt(alpha); a y outside the range (1 - alpha y^2 < 0) gives 0.
"""

from fastact.kernel cimport (fa_kernel, kernel_capsule, map_f32, map_f64, map2_f32,
                             map2_f64, FASTACT_GRAIN_TRANSCENDENTAL)
from fastact.vmath cimport fa_sqrt_f32, fa_sqrt_f64, fa_two_prod_f32, fa_two_prod_f64

cdef extern from *:
    """
    /* squareplus: thresholds for the scaled path, the scale k, 1/(2k), sqrt(k) */
    #define SP_BIGX_F   0x1p50f
    #define SP_BIGB_F   0x1p100f
    #define SP_K_F      0x1p-66f
    #define SP_HALFK_F  0x1p65f
    #define SP_M_F      0x1p-33f
    #define SP_BIGX_D   0x1p500
    #define SP_BIGB_D   0x1p1000
    #define SP_K_D      0x1p-514
    #define SP_HALFK_D  0x1p513
    #define SP_M_D      0x1p-257
    /* isru: below this alpha x^2, the two_prod corrections are exact and used */
    #define ISRU_BIG_F  0x1p60f
    #define ISRU_BIG_D  0x1p120
    #define FA_FMAX_F   0x1.fffffep127f
    #define FA_FMAX_D   0x1.fffffffffffffp1023
    """
    const float SP_BIGX_F, SP_BIGB_F, SP_K_F, SP_HALFK_F, SP_M_F, ISRU_BIG_F, FA_FMAX_F
    const double SP_BIGX_D, SP_BIGB_D, SP_K_D, SP_HALFK_D, SP_M_D, ISRU_BIG_D, FA_FMAX_D


# ------------------------------------------------------------------- squareplus
# sp_parts: the scaled operands (xs, ss = sqrt(xs^2 + bs)), the scale k and f(x).

cdef inline float sp_f_f32(float x, const float *p) noexcept nogil:
    cdef float b = p[0]
    cdef float a = -x if x < 0 else x
    cdef bint big = (a > SP_BIGX_F) | (b > SP_BIGB_F)
    cdef float k = SP_K_F if big else <float>1
    cdef float m = SP_M_F if big else <float>1
    cdef float xs = x * k
    cdef float bs = (b * k) * k
    cdef float ss = fa_sqrt_f32(xs * xs + bs)
    cdef float pos = (xs + ss) * (SP_HALFK_F if big else <float>0.5)
    cdef float neg = (((<float>0.5 * b) * m) / (ss - xs)) * m
    return neg if x < 0 else pos


cdef inline float sp_bx_f32(float g, float x, const float *p) noexcept nogil:
    cdef float b = p[0]
    cdef float a = -x if x < 0 else x
    cdef bint big = (a > SP_BIGX_F) | (b > SP_BIGB_F)
    cdef float k = SP_K_F if big else <float>1
    cdef float xs = x * k
    cdef float bs = (b * k) * k
    cdef float ss = fa_sqrt_f32(xs * xs + bs)
    cdef float q = <float>1 if a > FA_FMAX_F else xs / ss        # x = +inf: inf/inf
    cdef float pos = (<float>1 + q) * <float>0.5
    cdef float t = (xs * xs + bs) - ss * xs                     # s (s - x) k^2, x < 0
    cdef float neg = (((<float>0.5 * b) * k) / t) * k           # (b/2) / (s (s - x))
    return g * (neg if x < 0 else pos)


cdef inline float sp_by_f32(float g, float y, const float *p) noexcept nogil:
    cdef float c = <float>0.25 * p[0]
    cdef float d = y / (y + c / y)
    return g * (<float>1 if y > FA_FMAX_F else d)


cdef inline double sp_f_f64(double x, const double *p) noexcept nogil:
    cdef double b = p[0]
    cdef double a = -x if x < 0 else x
    cdef bint big = (a > SP_BIGX_D) | (b > SP_BIGB_D)
    cdef double k = SP_K_D if big else 1.0
    cdef double m = SP_M_D if big else 1.0
    cdef double xs = x * k
    cdef double bs = (b * k) * k
    cdef double ss = fa_sqrt_f64(xs * xs + bs)
    cdef double pos = (xs + ss) * (SP_HALFK_D if big else 0.5)
    cdef double neg = (((0.5 * b) * m) / (ss - xs)) * m
    return neg if x < 0 else pos


cdef inline double sp_bx_f64(double g, double x, const double *p) noexcept nogil:
    cdef double b = p[0]
    cdef double a = -x if x < 0 else x
    cdef bint big = (a > SP_BIGX_D) | (b > SP_BIGB_D)
    cdef double k = SP_K_D if big else 1.0
    cdef double xs = x * k
    cdef double bs = (b * k) * k
    cdef double ss = fa_sqrt_f64(xs * xs + bs)
    cdef double q = 1.0 if a > FA_FMAX_D else xs / ss
    cdef double pos = (1.0 + q) * 0.5
    cdef double t = (xs * xs + bs) - ss * xs
    cdef double neg = (((0.5 * b) * k) / t) * k
    return g * (neg if x < 0 else pos)


cdef inline double sp_by_f64(double g, double y, const double *p) noexcept nogil:
    cdef double c = 0.25 * p[0]
    cdef double d = y / (y + c / y)
    return g * (1.0 if y > FA_FMAX_D else d)


# ------------------------------------------------------------------------- isru

cdef inline float isru_f_f32(float x, const float *p) noexcept nogil:
    cdef float alpha = p[0]
    cdef float w = (alpha * x) * x
    w = <float>0 if alpha == 0 else w                 # 0 * inf: the identity at +-inf
    cdef bint sat = w > FA_FMAX_F
    cdef float num = (<float>1 if x > 0 else <float>-1) if sat else x
    return num / fa_sqrt_f32(alpha if sat else <float>1 + w)


cdef inline float isru_u_f32(float x, float alpha) noexcept nogil:
    """1 + alpha x^2 with alpha x^2 formed exactly (the derivative's error is 1.5x
    that of u); the correction is used only where the products are exact."""
    cdef float ph, pl, h, l
    fa_two_prod_f32(alpha, x, &ph, &pl)               # alpha x = ph + pl
    fa_two_prod_f32(ph, x, &h, &l)                     # ph x = h + l
    cdef float c = l + pl * x
    cdef float u = (<float>1 + h) + (c if h < ISRU_BIG_F else <float>0)
    return <float>1 if alpha == 0 else u              # 0 * inf: the identity at +-inf


cdef inline float isru_bx_f32(float g, float x, const float *p) noexcept nogil:
    cdef float u = isru_u_f32(x, p[0])
    return (g / u) / fa_sqrt_f32(u)                   # no overflow of u^(3/2)


cdef inline float isru_by_f32(float g, float y, const float *p) noexcept nogil:
    cdef float alpha = p[0]
    cdef float ph, pl, h, l
    fa_two_prod_f32(alpha, y, &ph, &pl)               # alpha y = ph + pl
    fa_two_prod_f32(ph, y, &h, &l)                     # ph y = h + l
    cdef float c = l + pl * y                          # alpha y^2 = h + c
    # 1 - h is exact near h = 1, where c matters; elsewhere c is dropped (it may be
    # NaN from an inexact split of a huge y, and cannot change the result there)
    cdef float v = (<float>1 - h) - (c if (h > <float>0.25) & (h < <float>4) else <float>0)
    v = <float>1 if alpha == 0 else (<float>0 if v < 0 else v)
    return g * (v * fa_sqrt_f32(v))


cdef inline double isru_f_f64(double x, const double *p) noexcept nogil:
    cdef double alpha = p[0]
    cdef double w = (alpha * x) * x
    w = 0.0 if alpha == 0 else w
    cdef bint sat = w > FA_FMAX_D
    cdef double num = (1.0 if x > 0 else -1.0) if sat else x
    return num / fa_sqrt_f64(alpha if sat else 1.0 + w)


cdef inline double isru_u_f64(double x, double alpha) noexcept nogil:
    cdef double ph, pl, h, l
    fa_two_prod_f64(alpha, x, &ph, &pl)
    fa_two_prod_f64(ph, x, &h, &l)
    cdef double c = l + pl * x
    cdef double u = (1.0 + h) + (c if h < ISRU_BIG_D else 0.0)
    return 1.0 if alpha == 0 else u


cdef inline double isru_bx_f64(double g, double x, const double *p) noexcept nogil:
    cdef double u = isru_u_f64(x, p[0])
    return (g / u) / fa_sqrt_f64(u)


cdef inline double isru_by_f64(double g, double y, const double *p) noexcept nogil:
    cdef double alpha = p[0]
    cdef double ph, pl, h, l
    fa_two_prod_f64(alpha, y, &ph, &pl)
    fa_two_prod_f64(ph, y, &h, &l)
    cdef double c = l + pl * y
    cdef double v = (1.0 - h) - (c if (h > 0.25) & (h < 4.0) else 0.0)
    v = 1.0 if alpha == 0 else (0.0 if v < 0 else v)
    return g * (v * fa_sqrt_f64(v))


# ---------------------------------------------------------------------- kernels

cdef void sp_fwd32(Py_ssize_t n, const void *x, Py_ssize_t sx, void *o, Py_ssize_t so,
                   const double *params) noexcept nogil:
    map_f32(sp_f_f32, n, x, sx, o, so, params)

cdef void sp_fwd64(Py_ssize_t n, const void *x, Py_ssize_t sx, void *o, Py_ssize_t so,
                   const double *params) noexcept nogil:
    map_f64(sp_f_f64, n, x, sx, o, so, params)

cdef void sp_bx32(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                  void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f32(sp_bx_f32, n, g, sg, v, sv, o, so, params)

cdef void sp_bx64(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                  void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f64(sp_bx_f64, n, g, sg, v, sv, o, so, params)

cdef void sp_by32(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                  void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f32(sp_by_f32, n, g, sg, v, sv, o, so, params)

cdef void sp_by64(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                  void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f64(sp_by_f64, n, g, sg, v, sv, o, so, params)

cdef void isru_fwd32(Py_ssize_t n, const void *x, Py_ssize_t sx, void *o, Py_ssize_t so,
                     const double *params) noexcept nogil:
    map_f32(isru_f_f32, n, x, sx, o, so, params)

cdef void isru_fwd64(Py_ssize_t n, const void *x, Py_ssize_t sx, void *o, Py_ssize_t so,
                     const double *params) noexcept nogil:
    map_f64(isru_f_f64, n, x, sx, o, so, params)

cdef void isru_bx32(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                    void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f32(isru_bx_f32, n, g, sg, v, sv, o, so, params)

cdef void isru_bx64(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                    void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f64(isru_bx_f64, n, g, sg, v, sv, o, so, params)

cdef void isru_by32(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                    void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f32(isru_by_f32, n, g, sg, v, sv, o, so, params)

cdef void isru_by64(Py_ssize_t n, const void *g, Py_ssize_t sg, const void *v, Py_ssize_t sv,
                    void *o, Py_ssize_t so, const double *params) noexcept nogil:
    map2_f64(isru_by_f64, n, g, sg, v, sv, o, so, params)


cdef fa_kernel TABLE[3]
TABLE[0].name = b"squareplus"
TABLE[0].grain = FASTACT_GRAIN_TRANSCENDENTAL
TABLE[0].forward[0] = sp_fwd32
TABLE[0].forward[1] = sp_fwd64
TABLE[0].backward_x[0] = sp_bx32
TABLE[0].backward_x[1] = sp_bx64
TABLE[0].backward_y[0] = sp_by32
TABLE[0].backward_y[1] = sp_by64
TABLE[1].name = b"isru"
TABLE[1].grain = FASTACT_GRAIN_TRANSCENDENTAL
TABLE[1].forward[0] = isru_fwd32
TABLE[1].forward[1] = isru_fwd64
TABLE[1].backward_x[0] = isru_bx32
TABLE[1].backward_x[1] = isru_bx64
TABLE[1].backward_y[0] = isru_by32
TABLE[1].backward_y[1] = isru_by64
TABLE[2].name = NULL

#: The kernel table fastact reads (register(..., kernels=KERNELS)).
KERNELS = kernel_capsule(TABLE)

cdef extern from *:
    # defined by fastact.build.kernel_extensions, e.g. "avx2"
    const char *FASTACT_BUILD_VARIANT
#: The instruction-set variant this module was built for (fastact.build's names).
VARIANT = FASTACT_BUILD_VARIANT.decode("ascii")
