"""Which kernel loops does GCC vectorize? Renders and cythonizes pyx/_kernels.pyx, compiles
it with setup.py's flags plus -fopt-info-vec and reports, for every kernel block
function, its three loops: in place, contiguous, strided.

    python pyx/devtools/vec_report.py [-march=x86-64-v3] [--all]

A contiguous or in-place loop that is not vectorized runs scalar at ~5-10x the cost.
"""

import ast
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "pyx" / "_kernels.c"


def loop_lines():
    """{block function: [line of each `for (` loop]} in the generated C."""
    loops, current = {}, None
    for number, line in enumerate(SOURCE.read_text().split("\n"), 1):
        m = re.match(r"static CYTHON_INLINE void __pyx_f_7fastact_8_kernels_(\w+_block_f(?:32|64))\(", line)
        if m:
            current = m.group(1)
            loops[current] = []
        elif line.startswith("}"):
            current = None
        elif current and re.match(r"\s+for \(", line):
            loops[current].append(number)
    return loops


def generate():
    sys.path.insert(0, str(ROOT / "pyx"))
    import codegen
    from Cython.Build import cythonize
    codegen.render_all()
    cythonize([str(ROOT / "pyx" / "_kernels.pyx")], include_path=[str(ROOT / "pyx")],
              language_level=3, quiet=True)


def setup_flags():
    """BASE_FLAGS from setup.py, read without running it."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "BASE_FLAGS":
            return ast.literal_eval(node.value)
    raise RuntimeError("setup.py has no BASE_FLAGS")


def vectorized_lines(extra):
    cmd = ["gcc", *setup_flags(), "-fopenmp", "-fPIC",
           "-I" + numpy.get_include(), "-I" + str(ROOT / "pyx" / "include"),
           "-I" + sysconfig.get_paths()["include"], "-c", str(SOURCE), "-o", "/dev/null",
           "-fopt-info-vec-optimized", *extra]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    return {int(n) for n in re.findall(r"_kernels\.c:(\d+):\d+: optimized: loop vectorized", err)}


def main():
    extra = [a for a in sys.argv[1:] if a != "--all"]
    generate()
    done = vectorized_lines(extra)
    bad = 0
    for block, lines in loop_lines().items():
        status = ["vec" if n in done else "SCALAR" for n in lines]
        if "SCALAR" in status[:2]:
            bad += 1
        if "--all" in sys.argv or "SCALAR" in status[:2]:
            print(f"{block:45s} in-place/contiguous/strided: {' '.join(status)}")
    print(f"{bad} block functions with a scalar unit-stride loop")


if __name__ == "__main__":
    main()
