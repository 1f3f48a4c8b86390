"""fastact.show_config(): what this build is and how it will run."""

import platform
import sys

import numpy as np

from fastact import _api, _build_info  # _build_info: written by setup.py
from fastact._variants import compile_args, include_dir  # noqa: F401  (compile_args: public)


def config() -> dict:
    """The build and runtime configuration as a dict (what show_config prints)."""
    return {
        "fastact": __import__("fastact").__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "openmp": bool(_api.kernels.OPENMP),
        "threads": _api.get_num_threads(),
        "openmp_default_threads": _api.kernels.max_threads(),
        "thread_policy": thread_policy(),
        "compiler": _build_info.COMPILER,
        "cflags": _build_info.CFLAGS,
        "kernels": f"{_api.kernels.__name__} (runnable here: {', '.join(_api.runnable_variants())};"
                   f" FASTACT_KERNELS picks another)",
    }


def thread_policy() -> str:
    """One line on who may run parallel now (the rules: docs/reliability.md)."""
    state = _api.parallel_state()
    if state["forked_child"]:
        return "serial: this process is a fork() child (libgomp's pool did not survive the fork)"
    if state["owner_is_this_thread"]:
        return "this thread owns the OpenMP team; calls from other threads run serially"
    if state["team_owned"]:
        return "another thread owns the OpenMP team; calls from this thread run serially"
    return "the first thread to make a large call owns the OpenMP team; the others run serially"


def show_config() -> None:
    """Print the build (compiler, flags, OpenMP on/off) and the thread settings."""
    cfg = config()
    width = max(map(len, cfg))
    for key, value in cfg.items():
        if key == "openmp" and not value:
            value = "off (built without OpenMP: kernels run serially)"
        print(f"{key:<{width}}  {value}")


def get_include() -> str:
    """The directory of fastact's C headers (fastact_kernel.h, fastact_math.h): the
    include_dirs entry for an extension that cimports fastact.kernel or fastact.vmath."""
    return include_dir()
