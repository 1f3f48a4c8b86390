"""Build fastact's extension modules.

The Cython sources are rendered from Tempita templates by pyx/codegen.py (driven by
fastact/_catalog.py), then compiled with OpenMP when the compiler has it. Flags: -O3
for the vectorizer, -fno-math-errno (so sqrt is an instruction) and -fno-trapping-math
(so conditional selects if-convert). Never -ffast-math: it breaks the exp kernels'
rounding tricks and NaN handling. The kernel module is compiled once per instruction
set (fastact/_variants.py: baseline x86-64, x86-64-v3, x86-64-v4) and fastact picks the
best one the CPU supports at import; nothing is built with -march=native.
`python pyx/devtools/vec_report.py` lists any kernel loop GCC left scalar.

Environment: FASTACT_NO_OPENMP=1 builds without OpenMP (serial kernels);
FASTACT_EXTRA_CFLAGS adds compiler flags (e.g. -fopt-info-vec-optimized);
FASTACT_VARIANTS=avx512 (a comma list) builds only those kernel variants: a faster
development build, never a release one.
"""

import os
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "pyx"))
import codegen  # noqa: E402  (pyx/codegen.py)

BASE_FLAGS = [
    "-O3", "-fno-math-errno", "-fno-trapping-math", "-Wno-unused-function",
    "-g0",  # Python's default -g makes each kernel module ~8 MB of debug info
    # _kernels.c is one large unit: without these, GCC stops inlining the math helpers
    # into the loops part-way through it, and those loops stay scalar (5-10x slower).
    "--param=inline-unit-growth=1000", "--param=large-function-growth=1000",
    "--param=max-inline-insns-single=2000",
]
OPENMP_FLAG = "-fopenmp"


def compiler_has_openmp(compiler) -> bool:
    if os.environ.get("FASTACT_NO_OPENMP") == "1":
        return False
    return codegen.variants.compiles(compiler, "#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n",
                    [OPENMP_FLAG], link=True)


def buildable_variants(compiler) -> list:
    """The kernel variants this compiler can build for this machine's architecture
    (fastact/_variants.py; FASTACT_VARIANTS restricts them)."""
    return codegen.variants.buildable_variants(compiler)


class BuildExt(build_ext):
    """Adds OpenMP where available and records the flags for fastact.show_config()."""

    def build_extensions(self):
        openmp = compiler_has_openmp(self.compiler)
        variants = buildable_variants(self.compiler)
        extra = os.environ.get("FASTACT_EXTRA_CFLAGS", "").split()
        cflags = BASE_FLAGS + ([OPENMP_FLAG] if openmp else []) + extra
        kept = []
        for ext in self.extensions:
            variant = ext.name.rpartition("_kernels_")[2] if "_kernels_" in ext.name else None
            if variant is not None and variant not in variants:
                continue
            ext.extra_compile_args = cflags + codegen.VARIANTS.get(variant, [])
            ext.extra_link_args = [OPENMP_FLAG] if openmp else []
            kept.append(ext)
        self.extensions[:] = kept
        info = (f'"""Written by setup.py at build time."""\n'
                f"OPENMP = {openmp!r}\nCFLAGS = {' '.join(cflags)!r}\n"
                f"VARIANTS = {variants!r}\n"
                f"COMPILER = {' '.join(self.compiler.compiler_so[:1])!r}\n")
        for base in {Path(self.build_lib), ROOT}:
            target = base / "fastact" / "_build_info.py"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(info)
        super().build_extensions()


codegen.render_all()
include_dirs = [numpy.get_include(), str(ROOT / "fastact" / "include")]
# every module is rebuilt when any header, include or template changes
depends = sorted(str(p.relative_to(ROOT)) for pattern in ("pyx/*.pxi", "pyx/*.tp", "fastact/include/*.h", "fastact/*.pxd")
                 for p in ROOT.glob(pattern))
extensions = [
    Extension(f"fastact.{name}", [f"pyx/{name}.pyx"], include_dirs=include_dirs, depends=depends,
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
    for name in ["_api"] + [f"_kernels_{variant}" for variant in codegen.VARIANTS]
]

setup(
    ext_modules=cythonize(extensions, include_path=["pyx", str(ROOT)], language_level=3,
                          compiler_directives={"embedsignature": True}),
    cmdclass={"build_ext": BuildExt},
)
