/* FA__FMA / FA__FMAF, shared by fastact_math_f32.h and fastact_math_f64.h.
 *
 * a*b + c, one rounding where the target has FMA. Written out wherever a sum has two
 * products: left to contraction, GCC may fuse either product, and may choose differently
 * in a loop's vector body and its scalar remainder, so that a result would depend on the
 * element's position in the array (and on the thread split). */
#ifndef FASTACT_FMA_H
#define FASTACT_FMA_H
#ifdef __FMA__
#define FA__FMA(a, b, c) __builtin_fma((a), (b), (c))
#define FA__FMAF(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define FA__FMA(a, b, c) ((a) * (b) + (c))
#define FA__FMAF(a, b, c) ((a) * (b) + (c))
#endif

/* a*b + c where the exact value is known to be a float (the rounding error of a product,
 * the remainder of a division): exact with FMA, and exact in double without (the product
 * of two floats is exact in double, and so is the sum of it and a nearby float). */
#ifdef __FMA__
#define FA__FMAF_EXACT(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define FA__FMAF_EXACT(a, b, c) ((float)((double)(a) * (double)(b) + (double)(c)))
#endif
#endif
