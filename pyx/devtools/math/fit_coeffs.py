"""Throwaway fitting script for fastact_math_f32.h polynomial coefficients.
Near-minimax fits by Lawson's iteratively reweighted least squares on a dense
grid, function values from mpmath.  Run: python3 fit_coeffs.py"""
import numpy as np, mpmath as mp
mp.mp.dps = 40

def lawson(A, f, relw, iters=80):
    w = np.ones(len(f)) / len(f); best = None
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(A * (sw * relw)[:, None], f * sw * relw, rcond=None)
        e = np.abs((A @ c - f) * relw)
        if best is None or e.max() < best[0]: best = (e.max(), c)
        w = w * e; w /= w.sum()
    return best

def cheb_nodes(a, b, n):
    k = np.arange(n); return (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)[::-1]

def f32(v): return float(np.float32(v))
def _trim(h):
    m, e = h.split('p'); m = m.rstrip('0').rstrip('.'); return m + 'p' + e
def hx32(v): return _trim(float(np.float32(v)).hex()) + 'f'
def hx(v): return _trim(float(v).hex())

def mono_fit(xs, f, relw, deg, pw=0):
    """fit f ~ sum c_k x^(k+pw), monomial basis (ok for small intervals)"""
    A = np.vstack([xs ** (k + pw) for k in range(deg + 1)]).T
    return lawson(A, f, relw)

R = 0.3466 * 1.002
# 1. float exp: e^r = 1 + r + r^2 q(r); error relative to e^r
r = cheb_nodes(-R, R, 3000)
tgt = np.array([float((mp.exp(x) - 1 - x) / x**2) for x in r])
for deg in (3, 4):
    e, c = mono_fit(r, tgt, r**2 / np.exp(r), deg)
    c32 = [f32(v) for v in c]
    e32 = np.max(np.abs((np.polyval(c32[::-1], r) - tgt) * r**2 / np.exp(r)))
    print('exp q deg', deg, 'err', e, 'after f32 rounding', e32, 'ulps~', e32 * 2**24)
    print('   ', ', '.join(hx32(v) for v in c))

# 2. float log1p: log(1+f) = f + f^2 P(f), f in [sqrt(1/2)-1, sqrt(2)-1]
a, b = 2**-0.5 - 1, 2**0.5 - 1
fs = cheb_nodes(a, b, 3000)
fs = fs[np.abs(fs) > 1e-6]
lg = np.array([float(mp.log1p(x)) for x in fs])
tgt = np.array([float((mp.log1p(x) - x) / x**2) for x in fs])
for deg in (7, 8, 9):
    e, c = mono_fit(fs, tgt, fs**2 / np.abs(lg), deg)
    c32 = [f32(v) for v in c]
    e32 = np.max(np.abs((np.polyval(c32[::-1], fs) - tgt) * fs**2 / np.abs(lg)))
    print('log1p P deg', deg, 'err', e, 'after f32', e32, 'ulps~', e32 * 2**24)
    print('   ', ', '.join(hx32(v) for v in c))

# 3. double-internal exp: e^r = sum c_k r^k, relative
for deg in (6, 7):
    e, c = mono_fit(r, np.exp(r), np.exp(-r), deg)
    print('dexp deg', deg, 'err', e); print('   ', ', '.join(hx(v) for v in c))

# 4. erf(x) = x P(x^2) on [0, 0.5]
xs = cheb_nodes(1e-4, 0.5, 3000)
tgt = np.array([float(mp.erf(x) / x) for x in xs])
for deg in (4, 5, 6):
    e, c = mono_fit(xs**2, tgt, 1 / tgt, deg)
    print('erf P deg', deg, 'err', e); print('   ', ', '.join(hx(v) for v in c))

# 5. erfc(z) = exp(-z^2) g(t), t = 1/(1+z/2), z in [0, 10.1]; poly in v = t - TC
zs = np.concatenate([np.linspace(0, 10.1, 6000), cheb_nodes(0, 10.1, 2000)])
g = np.array([float(mp.exp(mp.mpf(z)**2) * mp.erfc(z)) for z in zs])
t = 1 / (1 + 0.5 * zs); tlo, thi = 1 / (1 + 0.5 * 10.1), 1.0
TC = (tlo + thi) / 2
for deg in (11, 12, 13):
    e, c = mono_fit(t - TC, g, 1 / g, deg)
    # check error in double evaluation
    ev = np.polyval(c[::-1], t - TC)
    print('erfc g deg', deg, 'err', e, 'eval', np.max(np.abs(ev / g - 1)), 'TC', hx(TC))
    print('   ', ', '.join(hx(v) for v in c))

# ---- float fits with fixed leading terms and sequential rounding to float ----
def seq_round_fit(xs, f, relw, powers, fixed=()):
    """fit f ~ sum_k c_k xs^powers[k]; coefficients rounded to float one at a
    time (lowest power first), refitting the rest after each rounding."""
    fixed = list(fixed)
    while len(fixed) < len(powers):
        res = f - sum(c * xs ** p for c, p in zip(fixed, powers))
        A = np.vstack([xs ** p for p in powers[len(fixed):]]).T
        e, c = lawson(A, res, relw)
        fixed.append(f32(c[0]))
    err = np.max(np.abs((sum(c * xs ** p for c, p in zip(fixed, powers)) - f) * relw))
    return err, fixed

print('\n# final float fits (sequentially rounded)')
# exp: e^r - 1 - r - r^2/2 = r^3 (c1 + c2 r + c3 r^2 + c4 r^3); weight 1/e^r
r = cheb_nodes(-R, R, 4000); r = r[np.abs(r) > 1e-5]
tgt = np.array([float(mp.exp(x) - 1 - x - x**2 / 2) for x in r])
e, c = seq_round_fit(r, tgt, np.exp(-r), [3, 4, 5, 6])
print('exp q3 (r^3..r^6): rel err %.3g' % e, ', '.join(hx32(v) for v in c))
# log1p: log(1+f) - f + f^2/2 = f^3 P3(f), weight 1/|log1p(f)|
fs = cheb_nodes(a, b, 4000); fs = fs[np.abs(fs) > 1e-5]
tgt = np.array([float(mp.log1p(x) - x + x**2 / 2) for x in fs])
lg = np.array([float(mp.log1p(x)) for x in fs])
for deg in (6, 7, 8):
    e, c = seq_round_fit(fs, tgt, 1 / np.abs(lg), list(range(3, 4 + deg)))
    print('log1p P3 deg %d: rel err %.3g' % (deg, e), ', '.join(hx32(v) for v in c))
# expm1-weighted (error relative to e^r - 1): also good for exp, since
# |e^r - 1| <= 0.42 e^r on this interval
tgt = np.array([float(mp.exp(x) - 1 - x - x**2 / 2) for x in r])
em1 = np.array([float(mp.expm1(x)) for x in r])
for pw in ([3, 4, 5, 6], [3, 4, 5, 6, 7]):
    e, c = seq_round_fit(r, tgt, 1 / np.abs(em1), pw)
    e_exp = np.max(np.abs((sum(ci * r ** p for ci, p in zip(c, pw)) - tgt) * np.exp(-r)))
    print('expm1-weighted q3 deg %d: rel-to-expm1 err %.3g, rel-to-exp err %.3g:' % (len(pw) - 1, e, e_exp), ', '.join(hx32(v) for v in c))
