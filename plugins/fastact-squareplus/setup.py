"""Build the plugin's kernels against the installed fastact's headers and .pxd files,
once per instruction set (fastact.build): fastact_squareplus._kernels_baseline,
_kernels_avx2 (x86-64-v3) and _kernels_avx512 (x86-64-v4), each with
fastact.compile_args() and the variant's -march flags; fastact.import_kernels picks
one at run time. The build_ext command leaves out what the compiler cannot build.

No OpenMP flag: fastact splits the elements across threads itself and calls these
serial kernels. Never -ffast-math (see fastact.compile_args()). Extra flags can be
added with CFLAGS, e.g. CFLAGS=-fopt-info-vec-optimized for the vectorizer's report.
"""

from Cython.Build import cythonize
from setuptools import setup

from fastact.build import build_ext, kernel_extensions

extensions = kernel_extensions("fastact_squareplus._kernels", ["fastact_squareplus/_kernels.pyx"],
                               extra_compile_args=["-g0"])

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
      cmdclass={"build_ext": build_ext})
