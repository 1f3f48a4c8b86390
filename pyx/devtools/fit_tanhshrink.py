import mpmath as mp
mp.mp.dps = 50
def h(u):
    if u == 0: return mp.mpf(1)/3
    x = mp.sqrt(u); return (x - mp.tanh(x))/(x**3)
for N in (7,8,16,17):
    poly, err = mp.chebyfit(h, [0, 1.44], N, error=True)
    print(N, mp.nstr(err/h(1.44),5), ', '.join(repr(float(c)) for c in poly))
