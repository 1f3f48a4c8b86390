"""Build the plugin's kernels against the installed fastact's headers and .pxd files.

No OpenMP flag: fastact splits the elements across threads itself and calls these
serial kernels. Never -ffast-math (see fastact.compile_args()). Extra flags can be
added with CFLAGS, e.g. CFLAGS=-fopt-info-vec-optimized for the vectorizer's report.
"""

import fastact
from Cython.Build import cythonize
from setuptools import Extension, setup

extension = Extension(
    "fastact_squareplus._kernels",
    ["fastact_squareplus/_kernels.pyx"],
    include_dirs=[fastact.get_include()],
    extra_compile_args=fastact.compile_args() + ["-g0"],
)

setup(ext_modules=cythonize([extension], compiler_directives={"language_level": "3"}))
