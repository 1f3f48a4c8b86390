"""Helpers for the plugin tests: installing the example plugins into a private
directory, writing throw-away plugin distributions, running Python in a fresh process,
and a fresh registry for in-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_DIR = ROOT / "plugins"


def install_plugins(target: Path, *names: str) -> Path:
    """pip-install plugins/<name> (without build isolation: the build uses this
    environment's Cython and fastact) into `target`, with their entry-point metadata."""
    for name in names:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
             "--no-build-isolation", "--disable-pip-version-check", "--target", str(target),
             str(PLUGINS_DIR / name)],
            check=True, cwd=str(target), env=child_env())
    return target


def write_distribution(target: Path, dist_name: str, module_name: str, source: str,
                       entry_points: dict | None = None, version: str = "0.1") -> Path:
    """A minimal installed distribution in `target`: the module `module_name` with
    `source`, and a dist-info whose entry_points.txt has the [fastact] group
    (entry point name -> object reference; default {module_name: module_name})."""
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{module_name}.py").write_text(textwrap.dedent(source))
    info = target / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n")
    eps = entry_points or {module_name: module_name}
    (info / "entry_points.txt").write_text(
        "[fastact]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    return target


def child_env(extra_path=(), **env) -> dict:
    """os.environ for a child Python that imports this checkout's fastact first."""
    result = dict(os.environ)
    paths = [str(p) for p in extra_path] + [str(ROOT)]
    if result.get("PYTHONPATH"):
        paths.append(result["PYTHONPATH"])
    result["PYTHONPATH"] = os.pathsep.join(paths)
    for key, value in env.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def run_python(code: str, extra_path=(), timeout=120, **env) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (a fresh registry); returns the completed
    process (stdout, stderr, returncode). env values of None unset the variable."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=child_env(extra_path, **env))
