#!/usr/bin/env python3
"""Throwaway coefficient generator for fastact_math_f64.h (developer tool, not part of the build).

Discrete weighted Remez exchange in mpmath (50 digits) on a dense Chebyshev grid.
  python3 remez_f64.py            -> prints C coefficient blocks (hex floats) + achieved weighted errors
Each fit: minimise max_v |w(v) * (f(v) - sum_j a_j v^e_j)| with a fixed exponent list e_j, so leading
terms that the C code evaluates exactly (e.g. 1 + r + r^2/2 in exp) are excluded from the fit.
"""
import mpmath as mp
import sys
mp.mp.dps = 50

def remez(f, w, a, b, exps, ngrid=3000, iters=40, verbose=False):
    a = mp.mpf(a); b = mp.mpf(b)
    xs = [ (a+b)/2 - (b-a)/2*mp.cos(mp.pi*k/(ngrid-1)) for k in range(ngrid) ]
    fs = [f(x) for x in xs]; ws = [w(x) for x in xs]
    n = len(exps); N = n+1
    ref = [int(round((ngrid-1)*(1-mp.cos(mp.pi*i/(N-1)))/2)) for i in range(N)]
    # make unique
    for i in range(1,N):
        if ref[i] <= ref[i-1]: ref[i] = ref[i-1]+1
    best = None
    for it in range(iters):
        A = mp.matrix(N, N); rhs = mp.matrix(N, 1)
        for i, k in enumerate(ref):
            for j, e in enumerate(exps):
                A[i, j] = xs[k]**e
            A[i, n] = (-1)**i / ws[k]
            rhs[i] = fs[k]
        sol = mp.lu_solve(A, rhs)
        coef = [sol[j] for j in range(n)]; E = sol[n]
        err = [ws[k]*(fs[k] - mp.fsum(c*xs[k]**e for c, e in zip(coef, exps))) for k in range(ngrid)]
        # extrema of alternating runs
        ext = []; k = 0
        while k < ngrid:
            s = err[k] >= 0; bi = k
            while k < ngrid and (err[k] >= 0) == s:
                if abs(err[k]) > abs(err[bi]): bi = k
                k += 1
            ext.append(bi)
        while len(ext) > N:
            if abs(err[ext[0]]) < abs(err[ext[-1]]): ext.pop(0)
            else: ext.pop()
        mx = max(abs(e) for e in err)
        if verbose: print(it, mp.nstr(mx, 5), mp.nstr(abs(E), 5), len(ext), file=sys.stderr)
        if best is None or mx < best[1]: best = (coef, mx)
        if len(ext) < N or mx <= abs(E)*(1+mp.mpf('1e-6')): break
        ref = ext
    return best

def dd(v):
    h = float(v); l = float(v - mp.mpf(h)); return h, l

def hx(v): return float(v).hex()

def err_after_rounding(f, w, a, b, exps, coef, fixed=lambda x: 0, ngrid=4000):
    """weighted max error with coefficients rounded to double"""
    cr = [mp.mpf(float(c)) for c in coef]
    a = mp.mpf(a); b = mp.mpf(b); m = 0
    for k in range(ngrid):
        x = (a+b)/2 - (b-a)/2*mp.cos(mp.pi*k/(ngrid-1))
        m = max(m, abs(w(x)*(f(x) - mp.fsum(c*x**e for c, e in zip(cr, exps)))))
    return m

# ---------------------------------------------------------------- fits used by the header
def erfcx(w): return mp.erfc(w)*mp.exp(w*w)
def K(u): return 1/mp.sqrt(mp.pi) if u == 0 else erfcx(1/mp.sqrt(u))/mp.sqrt(u)
def erfs(z): return 2/mp.sqrt(mp.pi) if z == 0 else mp.erf(mp.sqrt(z))/mp.sqrt(z)
UM = float(mp.mpf(1)/mp.mpf('24.5'))            # tail centre in u = 1/w^2
ERF_IV = [  # name, g(v), v-range.  v = w^2 (erf0) | w - centre | u - UM (tail)
    ('erf0 w<0.75  g=erf(w)/w, v=w^2', erfs, 0, 0.5625),
    ('[0.75,1.5)  g=erfcx(w), v=w-1.125', lambda t: erfcx(t + mp.mpf(1.125)), -0.375, 0.375),
    ('[1.5,2.5)   g=erfcx(w), v=w-2', lambda t: erfcx(t + mp.mpf(2)), -0.5, 0.5),
    ('[2.5,3.5)   g=erfcx(w), v=w-3', lambda t: erfcx(t + mp.mpf(3)), -0.5, 0.5),
    ('[3.5,inf)   g=w*erfcx(w), v=1/w^2-UM', lambda v: K(v + mp.mpf(UM)), -mp.mpf(UM), 1/mp.mpf('12.25') - mp.mpf(UM)),
]
ERF_DEG = 16

def main():
    out = []
    P = lambda s: out.append(s)
    # exp: e^r = 1 + r + r^2/2 + sum_{j=3..12} a_j r^j on |r| <= 0.3467, relative
    R = mp.mpf('0.3467')
    exps = list(range(3, 13))
    c, e = remez(lambda r: mp.exp(r) - 1 - r - r*r/2, lambda r: 1/mp.exp(r), -R, R, exps, ngrid=2000)
    P('/* exp: a3..a12, weighted rel. err %s (2^%.1f) */' % (mp.nstr(e, 3), float(mp.log(e, 2))))
    for j, v in zip(exps, c): P('#define FA__EXP_A%d %s' % (j, hx(v)))
    # log1p: 2 atanh(s) = 2s + s*z*R(z), z = s^2 <= 0.02944*1.01 ; R(z) = sum_{j=0..} b_j z^j
    zmax = ((mp.sqrt(2) - 1)/(mp.sqrt(2) + 1))**2 * mp.mpf('1.01')
    T = lambda z: mp.mpf(2)/3 if z == 0 else (2*mp.atanh(mp.sqrt(z))/mp.sqrt(z) - 2)/z
    for n in [8]:
        exps = list(range(0, n))
        # error in 2atanh(s) relative to 2s is z*dR/2
        c, e = remez(T, lambda z: zmax/2, 0, zmax, exps, ngrid=2000)
        P('/* log1p: R(z) degree %d, rel. err %s (2^%.1f) */' % (n-1, mp.nstr(e, 3), float(mp.log(e, 2))))
    for j, v in zip(exps, c): P('#define FA__LOG_B%d %s' % (j, hx(v)))
    # erf/erfc pieces: full degree-16 fit, a0,a1 as double-double, a2..a16 doubles
    rows = []
    for name, g, a, b in ERF_IV:
        c, e = remez(g, lambda v, g=g: 1/g(v), a, b, list(range(ERF_DEG + 1)), ngrid=1500, iters=25)
        P('/* erf piece %s: rel. err 2^%.1f */' % (name, float(mp.log(e, 2))))
        rows.append(c)
    P('/* tail centre UM = %s */' % hx(UM))
    names = ['C0H', 'C0L', 'C1H', 'C1L'] + ['A%d' % j for j in range(2, ERF_DEG + 1)]
    for k, nm in enumerate(names):
        vals = []
        for c in rows:
            if k < 4:
                h, l = dd(c[k // 2]); vals.append(h if k % 2 == 0 else l)
            else:
                vals.append(float(c[k - 2]))
        P('#define FA__ERF_%s %s' % (nm, ', '.join(v.hex() for v in vals)))
    print('\n'.join(out))

if __name__ == '__main__':
    main()
