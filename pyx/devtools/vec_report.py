"""Which kernel loops does GCC vectorize? Renders and cythonizes pyx/_kernels.pyx, compiles
it with setup.py's flags plus -fopt-info-vec and reports, for every elementwise kernel
(and block function), its three loops: in place, contiguous, strided. With --all it also lists
how many loops of each per-channel segment and axis task (rows/cols) function vectorized (their
loop structure varies, so those are listed, not judged).

    python pyx/devtools/vec_report.py [--variant=avx2] [--all] [--cc=COMPILER] [extra gcc flags]

--cc runs another GCC, e.g. a cross compiler: `--cc=aarch64-linux-gnu-gcc --variant=baseline`
reports the aarch64 build, whose baseline is NEON (Advanced SIMD is part of ARMv8-A, so GCC
vectorizes with it without -march flags; Debian: apt install gcc-aarch64-linux-gnu).

A contiguous or in-place loop that is not vectorized runs scalar at ~5-10x the cost.
Known and harmless: identity's in-place forward is a no-op loop GCC deletes, and
identity's backward from y is merged with its backward from x.
"""

import ast
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"static (?:CYTHON_INLINE )?void __pyx_f_7fastact_\d+_kernels_[a-z0-9]+_"
                   r"((?!ax_)\w+_(?:forward|backward_[xy]|block)_f(?:32|64))\([^;]*$")
OTHER = re.compile(r"static (?:CYTHON_INLINE )?void __pyx_f_7fastact_\d+_kernels_[a-z0-9]+_"
                   r"(\w+_(?:segment|task|rows|cols)\w*_f(?:32|64))\([^;]*$")


def loop_lines(source, pattern=BLOCK):
    """{function: [line of each `for (` loop]} in the generated C."""
    loops, current = {}, None
    for number, line in enumerate(source.read_text().split("\n"), 1):
        m = pattern.match(line)
        if m:
            current = m.group(1)
            loops[current] = []
        elif line.startswith("}"):
            current = None
        elif current and re.match(r"\s+for \(", line):
            loops[current].append(number)
    return loops


def generate(variant):
    """Render and cythonize the kernel module of `variant`; returns its C file and flags."""
    sys.path.insert(0, str(ROOT / "pyx"))
    import codegen
    from Cython.Build import cythonize
    codegen.render_all()
    source = ROOT / "pyx" / f"_kernels_{variant}.pyx"
    cythonize([str(source)], include_path=[str(ROOT / "pyx")], language_level=3, quiet=True)
    return source.with_suffix(".c"), codegen.VARIANTS[variant]


def setup_flags():
    """BASE_FLAGS from setup.py, read without running it."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "BASE_FLAGS":
            return ast.literal_eval(node.value)
    raise RuntimeError("setup.py has no BASE_FLAGS")


def vectorized_lines(source, extra, cc="gcc"):
    cmd = [cc, *setup_flags(), "-fopenmp", "-fPIC",
           "-I" + numpy.get_include(), "-I" + str(ROOT / "fastact" / "include"),
           "-I" + sysconfig.get_paths()["include"], "-c", str(source), "-o", "/dev/null",
           "-fopt-info-vec-optimized", *extra]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    return {int(n) for n in re.findall(r"_kernels_\w+\.c:(\d+):\d+: optimized: loop vectorized", err)}


def main():
    variants = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--variant=")] \
        or ["baseline", "avx2", "avx512"]
    cc = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--cc=")), "gcc")
    extra = [a for a in sys.argv[1:]
             if a != "--all" and not a.startswith(("--variant=", "--cc="))]
    bad = 0
    for variant in variants:
        source, flags = generate(variant)
        done = vectorized_lines(source, flags + extra, cc)
        blocks = loop_lines(source)
        assert blocks, f"no kernel block functions found in {source}"
        for block, lines in blocks.items():
            status = ["vec" if n in done else "SCALAR" for n in lines]
            if "SCALAR" in status[:2]:
                bad += 1
            if "--all" in sys.argv or "SCALAR" in status[:2]:
                print(f"{variant:8s} {block:45s} in-place/contiguous/strided: {' '.join(status)}")
        if "--all" in sys.argv:
            for function, lines in loop_lines(source, OTHER).items():
                print(f"{variant:8s} {function:45s} loops vectorized: "
                      f"{sum(n in done for n in lines)}/{len(lines)}")
    print(f"{bad} block functions with a scalar unit-stride loop")


if __name__ == "__main__":
    main()
