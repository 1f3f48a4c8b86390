"""ns/element of fastact.squareplus_ (in place, forward) on 2^20 elements vs the NumPy
expression (x + sqrt(x*x + b)) / 2 evaluated with out= buffers (no temporaries).

    python bench.py            (with the plugin installed, or from this directory after
                                python setup.py build_ext --inplace)
    FASTACT_KERNELS=baseline python bench.py     (fastact's and the plugin's SSE2 build)
"""

import sys
import timeit

import numpy as np

import fastact

N = 1 << 20
B = 4.0


def numpy_squareplus(x, out, tmp, b=B):
    np.multiply(x, x, out=tmp)
    np.add(tmp, b, out=tmp)
    np.sqrt(tmp, out=tmp)
    np.add(x, tmp, out=out)
    np.multiply(out, 0.5, out=out)
    return out


def best(fn, repeat=7, number=20):
    return min(timeit.repeat(fn, repeat=repeat, number=number)) / number / N * 1e9


def main():
    if "squareplus" not in fastact.available():
        import fastact_squareplus
        fastact.register_plugin(fastact_squareplus)
    import fastact_squareplus
    rng = np.random.default_rng(0)
    print(f"fastact threads: {fastact.get_num_threads()}; n = 2^20; kernels: fastact "
          f"{fastact._api.kernels.VARIANT}, plugin {fastact_squareplus._kernels.VARIANT} "
          f"(FASTACT_KERNELS=baseline|avx2|avx512 picks a lower one)")
    for dtype in (np.float32, np.float64):
        x = rng.uniform(-10, 10, N).astype(dtype)
        work, out, tmp = x.copy(), np.empty_like(x), np.empty_like(x)
        fa = best(lambda: fastact.squareplus_(work))       # values drift; cost does not
        np_ = best(lambda: numpy_squareplus(x, out, tmp))
        print(f"squareplus_ {np.dtype(dtype).name}: fastact {fa:.3f} ns/element, "
              f"NumPy (out=) {np_:.3f} ns/element, x{np_ / fa:.1f}")
    fastact.set_num_threads(1)
    for dtype in (np.float32, np.float64):
        work = rng.uniform(-10, 10, N).astype(dtype)
        print(f"squareplus_ {np.dtype(dtype).name}, 1 thread: "
              f"{best(lambda: fastact.squareplus_(work)):.3f} ns/element")
    return 0


if __name__ == "__main__":
    sys.exit(main())
