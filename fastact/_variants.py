"""The instruction-set variants compiled kernel modules are built for: the one definition
of their names and compiler flags, shared by fastact's own build (setup.py,
pyx/codegen.py) and by plugins' builds (fastact.build).

A kernel module is compiled once per variant (``<module>_baseline``, ``<module>_avx2``,
``<module>_avx512``) and the best one the CPU can run is imported at run time
(fastact._api for fastact's own, fastact.import_kernels for a plugin's).

The file imports nothing from fastact (nor anything outside the standard library), so
``setup.py`` can load it by path before anything is compiled. Never -march=native (the
build would only run on the build machine) and never -ffast-math.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import sys
import sysconfig
import tempfile
from pathlib import Path

# name -> extra compiler flags, ordered: each variant runs wherever the next one does.
# x86-64 only; elsewhere just "baseline" is built. On aarch64 that baseline is NEON:
# Advanced SIMD is part of ARMv8-A, so GCC vectorizes every kernel loop with it without a
# -march flag (checked with `pyx/devtools/vec_report.py --cc=aarch64-linux-gnu-gcc`).
VARIANTS = {
    "baseline": [],
    "avx2": ["-march=x86-64-v3"],                                     # AVX2 + FMA
    "avx512": ["-march=x86-64-v4", "-mprefer-vector-width=512"],      # AVX-512 F/BW/DQ/VL
}

# Compiles only where the compiler knows the x86-64-v3 level (GCC >= 12, Clang >= 12),
# which fastact's run-time CPU check (__builtin_cpu_supports("x86-64-v4")) needs too.
CPU_LEVEL_PROBE = 'int main(void) { return __builtin_cpu_supports("x86-64-v3"); }\n'


def is_x86_64(machine: str | None = None) -> bool:
    return (machine or platform.machine()).lower() in ("x86_64", "amd64")


def variant_names(machine: str | None = None) -> list:
    """The variants that exist for this machine's architecture (before asking the
    compiler): all of VARIANTS on x86-64, else ["baseline"]."""
    return list(VARIANTS) if is_x86_64(machine) else ["baseline"]


def compiles(compiler, source: str, flags, link: bool = False) -> bool:
    """Does `compiler` (a distutils/setuptools CCompiler) accept `source` with `flags`?"""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(source)
        try:
            objects = compiler.compile([str(src)], output_dir=tmp, extra_postargs=list(flags))
            if link:
                compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=list(flags))
        except Exception:  # any compile or link failure means: not available
            return False
    return True


def wanted_variants(env: str = "FASTACT_VARIANTS") -> list:
    """The variants the environment variable (a comma or space list, e.g.
    FASTACT_VARIANTS=avx512) restricts a development build to; all when unset."""
    return os.environ.get(env, "").replace(",", " ").split() or list(VARIANTS)


def buildable_variants(compiler, wanted=None) -> list:
    """The variants of `wanted` (default: wanted_variants()) that `compiler` can build for
    this machine's architecture, in VARIANTS order."""
    if not is_x86_64():
        return ["baseline"]
    wanted = wanted_variants() if wanted is None else list(wanted)
    return [name for name in VARIANTS if name in wanted
            and (not VARIANTS[name] or compiles(compiler, CPU_LEVEL_PROBE, VARIANTS[name]))]


def compile_args() -> list:
    """The compiler flags fastact's kernels are built with that matter to a plugin's:
    -O3 for the vectorizer, -fno-math-errno (sqrt is an instruction) and
    -fno-trapping-math (selects if-convert). Never -ffast-math: it breaks the math
    helpers' rounding and NaN handling. For GCC and Clang; [] for other compilers.
    (No -march flag: fastact.build.kernel_extensions adds each variant's.)"""
    compiler = (sysconfig.get_config_var("CC") or "").split()[:1]
    if sys.platform == "win32" or not compiler or not any(
            k in os.path.basename(compiler[0]) for k in ("gcc", "clang", "cc")):
        return []
    return ["-O3", "-fno-math-errno", "-fno-trapping-math"]


def include_dir() -> str:
    """fastact's C headers (fastact.get_include())."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


# ---------------------------------------------------------------- run time (plugins)

def import_kernels(name: str):
    """Import and return the best built variant of a plugin's kernel module.

    `name` is the module name given to fastact.build.kernel_extensions, e.g.
    ``"fastact_squareplus._kernels"``; the variants are the modules ``<name>_baseline``,
    ``<name>_avx2`` and ``<name>_avx512``. The one returned is the best that was built,
    that this CPU (and OS) can run, and that is not above the variant fastact's own
    kernels use (``fastact._api.kernels.VARIANT``: FASTACT_KERNELS=baseline lowers
    plugins too). The CPU is checked before a module is imported (a module built for
    AVX-512 may run AVX-512 instructions while it initialises). A variant that was not
    built is skipped; one that exists but fails to import raises its own error.
    ImportError when none of the allowed variants was built.
    """
    from fastact import _api
    if not isinstance(name, str) or not name:
        raise TypeError(f"import_kernels: name must be a module name, got {name!r}")
    cap = _api.VARIANTS.index(_api.kernels.VARIANT)
    cpu = _api.cpu_variants()
    allowed = [v for v in _api.VARIANTS[:cap + 1] if v in cpu]
    for variant in reversed(allowed):
        module_name = f"{name}_{variant}"
        if module_name in sys.modules or importlib.util.find_spec(module_name) is not None:
            return importlib.import_module(module_name)
    built = [v for v in _api.VARIANTS
             if importlib.util.find_spec(f"{name}_{v}") is not None]
    raise ImportError(
        f"fastact.import_kernels: no variant of {name!r} this process may use was built: "
        f"looked for {', '.join(f'{name}_{v}' for v in reversed(allowed))} (this CPU runs "
        f"{', '.join(cpu)}; fastact uses {_api.kernels.VARIANT!r}"
        f"{', set by FASTACT_KERNELS' if os.environ.get('FASTACT_KERNELS') else ''}); "
        f"built: {', '.join(built) or 'none'}. Rebuild the plugin (its setup.py with "
        f"fastact.build.kernel_extensions and fastact.build.build_ext).", name=name)
