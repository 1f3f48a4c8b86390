/* fastact's vectorizable math helpers: one header for both dtypes.
 *
 * Every helper is static inline and branch-free, so that a loop calling it is
 * vectorized by the compiler; none calls libm. Accuracy and design notes are at the
 * top of each dtype's header. */
#ifndef FASTACT_MATH_H
#define FASTACT_MATH_H
#include "fastact_math_f32.h"
#include "fastact_math_f64.h"
#include "fastact_expneg.h"   /* internal (fa__): exp of -|z| for the sigmoid family */
#endif
