/* One out-of-place and one in-place loop per helper.  Compiled separately so
 * that -fopt-info-vec reports on exactly these loops, and linked into
 * check_f32 so the exhaustive test exercises the vectorized code path. */
#include "../../../fastact/include/fastact_math_f32.h"

/* one loop per source line, so -fopt-info line numbers identify the loop */
#define OOP(name) void loop_##name(float *restrict out, const float *restrict x, long n) { for (long i = 0; i < n; i++) out[i] = fa_##name##_f32(x[i]); }
#define INP(name) void loop_##name##_inplace(float *x, long n) { for (long i = 0; i < n; i++) x[i] = fa_##name##_f32(x[i]); }

OOP(exp)
INP(exp)
OOP(expm1)
INP(expm1)
OOP(log1p)
INP(log1p)
OOP(tanh)
INP(tanh)
OOP(sigmoid)
INP(sigmoid)
OOP(erf)
INP(erf)
OOP(erfc)
INP(erfc)
OOP(ndtr)
INP(ndtr)
OOP(npdf)
INP(npdf)

void loop_exp_hilo(float *restrict out, const float *restrict hi, const float *restrict lo, long n)
{
    for (long i = 0; i < n; i++) out[i] = fa_exp_hilo_f32(hi[i], lo[i]);
}

void loop_exp_hilo_inplace(float *hi, const float *restrict lo, long n)
{
    for (long i = 0; i < n; i++) hi[i] = fa_exp_hilo_f32(hi[i], lo[i]);
}

void loop_two_prod(float *restrict hi, float *restrict lo, const float *restrict a, const float *restrict b, long n)
{
    for (long i = 0; i < n; i++) fa_two_prod_f32(a[i], b[i], &hi[i], &lo[i]);
}

/* a typical consumer: exp(-x*x) with the square split exactly */
void loop_exp_negsq(float *restrict out, const float *restrict x, long n)
{
    for (long i = 0; i < n; i++) {
        float h, l;
        fa_two_prod_f32(-x[i], x[i], &h, &l);
        out[i] = fa_exp_hilo_f32(h, l);
    }
}
