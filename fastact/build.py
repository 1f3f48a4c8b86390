"""Build a compiled plugin's kernel module once per instruction set, as fastact builds its own.

In the plugin's setup.py::

    from Cython.Build import cythonize
    from setuptools import setup
    from fastact.build import build_ext, kernel_extensions

    setup(ext_modules=cythonize(kernel_extensions("my_plugin._kernels",
                                                  ["my_plugin/_kernels.pyx"])),
          cmdclass={"build_ext": build_ext})

and at run time, in the plugin's package::

    KERNELS = fastact.import_kernels("my_plugin._kernels").KERNELS

``kernel_extensions`` returns one Extension per variant of fastact/_variants.py
(``my_plugin._kernels_baseline``, ``_avx2`` = x86-64-v3, ``_avx512`` = x86-64-v4 with
512-bit vectors; only ``_baseline`` off x86-64), each compiled with fastact's headers,
``fastact.compile_args()`` and the variant's ``-march`` flags. ``build_ext`` drops the
variants the compiler cannot build. ``fastact.import_kernels`` then imports the best
variant the CPU can run that is not above the one fastact's own kernels use.

This module needs neither a compiler nor Cython to be imported, and imports none of
fastact's compiled modules itself (``import fastact.build`` still runs fastact's
``__init__``).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import Extension
from setuptools.command.build_ext import build_ext as _setuptools_build_ext

from fastact import _variants
from fastact._variants import VARIANTS, compile_args, include_dir

__all__ = ["VARIANTS", "VARIANT_MACRO", "build_ext", "drop_unbuildable", "kernel_extensions",
           "variant_of"]

# Defined (as a C string literal, e.g. "avx2") in every module kernel_extensions makes: a
# kernel module can publish it, ``cdef extern from *: const char *FASTACT_BUILD_VARIANT``.
VARIANT_MACRO = "FASTACT_BUILD_VARIANT"

GENERATED_HEADER = ("# Generated from {source} by fastact.build.kernel_extensions for the {variant!r} "
                    "variant: edit {source}, not this copy.\n")


def _write_if_changed(path: Path, text: str) -> None:
    """Keep the file (and its mtime: no recompilation) when the text is the same."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def kernel_extensions(name: str, sources, *, variants=None, **extension_kwargs) -> list:
    """One setuptools Extension per instruction-set variant of the module `name`.

    name:    the module name without variant, e.g. "my_plugin._kernels"; the extensions
             are "<name>_baseline", "<name>_avx2", "<name>_avx512" (only "_baseline" off
             x86-64), which fastact.import_kernels(name) chooses from at run time.
    sources: exactly one Cython .pyx (the module) plus any C files. Cython names a
             module after its file, so the .pyx is copied beside itself once per variant
             (``_kernels.pyx`` -> ``_kernels_avx2.pyx``, rewritten only when it changes;
             relative cimports and includes still resolve): ignore those copies in git.
    variants: a subset of fastact.build.VARIANTS (default: all; FASTACT_VARIANTS, a comma
             list, restricts them for a development build). "baseline" should stay:
             it is the one every x86-64 CPU runs.
    extension_kwargs: passed to every Extension. include_dirs gets fastact.get_include()
             appended; extra_compile_args are added after fastact.compile_args() and the
             variant's -march flags; define_macros gets FASTACT_BUILD_VARIANT.

    Pass the result to Cython's cythonize(), and the setup() to cmdclass={"build_ext":
    fastact.build.build_ext} so that variants the compiler cannot build are left out.
    """
    if not isinstance(name, str) or not name or name.endswith("."):
        raise TypeError(f"kernel_extensions: name must be a module name, got {name!r}")
    sources = [os.fspath(s) for s in ([sources] if isinstance(sources, (str, os.PathLike)) else sources)]
    pyx = [s for s in sources if s.endswith(".pyx")]
    if len(pyx) != 1:
        raise ValueError(f"kernel_extensions: sources must hold exactly one .pyx (the module "
                         f"{name!r}), got {sources!r}")
    wanted = _variants.wanted_variants() if variants is None else list(variants)
    unknown = [v for v in wanted if v not in VARIANTS]
    if unknown:
        raise ValueError(f"kernel_extensions: unknown variants {unknown}; known: {list(VARIANTS)}")
    source = Path(pyx[0])
    text = source.read_text()
    leaf = name.rpartition(".")[2]
    extra_args = list(extension_kwargs.pop("extra_compile_args", []))
    include_dirs = list(extension_kwargs.pop("include_dirs", [])) + [include_dir()]
    macros = list(extension_kwargs.pop("define_macros", []))
    result = []
    for variant in _variants.variant_names():
        if variant not in wanted:
            continue
        copy = source.with_name(f"{leaf}_{variant}.pyx")
        if copy.resolve() == source.resolve():
            raise ValueError(f"kernel_extensions: the source {source} is named like a "
                             f"variant; name it {leaf}.pyx")
        _write_if_changed(copy, GENERATED_HEADER.format(source=source.name, variant=variant) + text)
        variant_sources = [str(copy) if s == pyx[0] else s for s in sources]
        ext = Extension(
            f"{name}_{variant}", variant_sources, include_dirs=include_dirs,
            define_macros=macros + [(VARIANT_MACRO, f'"{variant}"')],
            extra_compile_args=compile_args() + VARIANTS[variant] + extra_args,
            **extension_kwargs)
        result.append(ext)
    return result


def variant_of(ext) -> str | None:
    """The variant an Extension from kernel_extensions is built for (None for others)."""
    for macro in getattr(ext, "define_macros", None) or ():
        if macro[0] == VARIANT_MACRO and macro[1]:
            return macro[1].strip('"')
    return None


def drop_unbuildable(command) -> list:
    """For a build_ext command whose compiler is set up (inside build_extensions): remove
    the variant extensions its compiler cannot build (an -march level it does not know)
    from command.extensions. Returns the variants kept. For a plugin whose setup.py has
    its own build_ext subclass: call this first in its build_extensions."""
    present = {variant_of(ext) for ext in command.extensions} - {None}
    buildable = set(_variants.buildable_variants(command.compiler, wanted=sorted(present)))
    kept = [ext for ext in command.extensions
            if variant_of(ext) is None or variant_of(ext) in buildable]
    dropped = [ext.name for ext in command.extensions if ext not in kept]
    if dropped:
        command.announce(f"fastact.build: the compiler cannot build {', '.join(dropped)}; "
                         f"skipped", level=3)
    command.extensions[:] = kept
    return [v for v in VARIANTS if v in buildable]


class build_ext(_setuptools_build_ext):  # noqa: N801  (named like the command it replaces)
    """setuptools' build_ext that leaves out the kernel variants the compiler cannot build."""

    def build_extensions(self):
        drop_unbuildable(self)
        super().build_extensions()
