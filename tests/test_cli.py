"""The `fastact` command: dispatch and errors, `list`, `check` (and its references
against the mpmath ones of tests/reference.py). `bench` and `plot` have their own files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import fastact
import plugin_env
from fastact import cli
from fastact.cli import measure, references
from reference import CASES, evaluate

EXAMPLE = "fastact-numpy-example"


def run_cli(capsys, *argv):
    """(exit status, stdout, stderr) of fastact.cli.main(argv) in this process."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_module(*argv, extra_path=(), **env):
    """`python -m fastact ARGV` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "fastact", *argv], capture_output=True,
                          text=True, timeout=300, env=plugin_env.child_env(extra_path, **env))


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """The example plugins (NumPy: gaussian, snake; compiled: squareplus, isru) and a
    wrong plugin: cube_third's
    derivative is off by 1e-4 (its reference too: only finite differences see it),
    scaled's forward by 1e-5 against its reference; installed in a private directory."""
    site = plugin_env.install_plugins(tmp_path_factory.mktemp("site"), EXAMPLE,
                                      "fastact-squareplus")
    plugin_env.write_distribution(site, "fastact-wrong", "fastact_wrong", """
        import numpy as np, fastact

        @fastact.hookimpl
        def register_activations(register):
            register("cube_third", numpy_forward=lambda x: x ** 3 / 3,
                     numpy_derivative=lambda x: x * x * (1 + 1e-4),
                     formula="x^3 / 3", derivative="x^2 (off by 1e-4 on purpose)")
            register("scaled", numpy_forward=lambda x: x * (1 + 1e-5),
                     numpy_derivative=lambda x: np.full_like(x, 1 + 1e-5),
                     reference=lambda x: x, reference_derivative=lambda x: np.ones_like(x),
                     formula="x (off by 1e-5 on purpose)", derivative="1")
            register("raises", numpy_forward=lambda x: x[None] @ x[None],    # not elementwise
                     numpy_derivative=lambda x: np.ones_like(x))
            register("pairwise", kind="along an axis",
                     functions=(lambda x, other: x - other, None,
                                lambda g, x, other: g, None))
        """)
    return site


# ------------------------------------------------------------------------- dispatch
def test_no_arguments_is_the_overview(monkeypatch):
    from fastact.cli import overview
    called = []
    monkeypatch.setattr(overview, "run", lambda args: called.append(args) or 0)
    assert cli.main([]) == 0 and called == [None]


@pytest.mark.parametrize("argv, message", [
    (["lst"], "invalid choice: 'lst'"),
    (["list", "--bogus"], "unrecognized arguments: --bogus"),
    (["list", "reluu"], "unknown activation 'reluu'; did you mean relu"),
    (["check", "nope"], "unknown activation 'nope'"),
    (["check", "--param", "beta"], "--param takes KEY=VALUE"),
    (["check", "--param", "beta=2"], "--param needs the activation NAMEs"),
    (["check", "relu", "--param", "beta=2"], "relu has no hyper-parameter beta"),
    (["check", "softmax", "--param", "axis=0"], "--param applies to elementwise"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("fastact: error: ") and message in err
    assert "Traceback" not in err and out == ""


def test_python_dash_m_and_errors_in_a_fresh_interpreter():
    proc = run_module("list", "relu", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["name"] == "relu"
    proc = run_module("check", "no_such_activation")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "fastact: error: unknown activation 'no_such_activation' ('fastact list' shows them all)"]


def test_installed_console_script_runs():
    """The `fastact` executable that `pip install` made (skipped where this checkout was
    not pip-installed, e.g. a build in place)."""
    import importlib.metadata
    import shutil
    from pathlib import Path
    from urllib.parse import urlparse
    exe = shutil.which("fastact")
    if exe is None:
        pytest.skip("no fastact executable on PATH (not pip-installed)")
    try:      # pip's record of where it installed from (PEP 610)
        origin = json.loads(importlib.metadata.distribution("fastact").read_text("direct_url.json"))
    except (importlib.metadata.PackageNotFoundError, TypeError, ValueError):
        origin = {}
    here = Path(__file__).resolve().parent.parent
    if origin.get("url", "").startswith("file:") and Path(urlparse(origin["url"]).path) != here:
        pytest.skip(f"the fastact on PATH was installed from {origin['url']}, not this checkout")
    proc = subprocess.run([exe, "list", "--json", "sigmoid"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["output_range"] == "(0, 1)"
    proc = subprocess.run([exe, "check", "--bogus"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("fastact: error: ")


def test_console_script_is_declared():
    import tomllib
    from pathlib import Path
    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["fastact"] == "fastact.cli:console_main"
    assert "fastact.cli" in meta["tool"]["setuptools"]["packages"]


# ----------------------------------------------------------------------------- list
def test_list_has_every_activation_and_its_properties(capsys):
    status, out, _ = run_cli(capsys, "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "kind", "source"]
    names = [line.split()[0] for line in lines[2:] if line.strip()][:len(fastact.available())]
    assert names == fastact.available()
    row = next(line for line in lines if line.startswith("softplus "))
    assert "beta=1.0, threshold=20.0" in row and "(0, inf)" in row
    assert "weight, axis=1" in next(line for line in lines if line.startswith("prelu "))


def test_list_json(capsys):
    status, out, _ = run_cli(capsys, "list", "--json")
    records = {r["name"]: r for r in json.loads(out)}
    assert status == 0 and list(records) == fastact.available()
    t = records["threshold"]
    assert t["params"] == {"threshold": None, "value": None}
    assert t["params_required"] == ["threshold", "value"]
    s = records["sigmoid"]
    assert (s["builtin"], s["output_range"], s["monotonic"], s["zero_centred"], s["smooth"],
            s["backward_from_y"], s["in_place"]) == (True, "(0, 1)", True, False, True, True, True)
    assert records["maxout"]["in_place"] is False


def test_list_and_check_a_plugin(plugin_site):
    proc = run_module("list", "--json", extra_path=[plugin_site])
    records = {r["name"]: r for r in json.loads(proc.stdout)}
    assert records["snake"]["plugin"] == "numpy_example"
    assert records["snake"]["distribution"] == EXAMPLE and records["snake"]["params"] == {"a": 1.0}
    proc = run_module("check", "gaussian", "snake", extra_path=[plugin_site])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 of 2 passed" in proc.stdout
    proc = run_module("check", "snake", "--param", "a=2.5", extra_path=[plugin_site])
    assert proc.returncode == 0 and "snake(a=2.5)" in proc.stdout
    proc = run_module("check", "squareplus", "isru", extra_path=[plugin_site])
    assert proc.returncode == 0, proc.stdout + proc.stderr     # compiled kernels, y forms
    assert proc.stdout.count("backward y") == 2


def test_check_fails_a_wrong_derivative_and_a_wrong_forward(plugin_site):
    proc = run_module("check", "cube_third", "scaled", "relu", extra_path=[plugin_site])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    fd_line = next(line for line in lines if "finite diff" in line)
    assert "FAIL" in fd_line                      # cube_third's derivative
    scaled = lines[next(i for i, line in enumerate(lines) if line.startswith("scaled")):]
    assert "FAIL" in scaled[0] and "float32: x=" in scaled[1]   # 84 ULP in float32
    assert "FAILED: cube_third, scaled" in proc.stdout and "1 of 3 passed" in proc.stdout


def test_check_reports_a_raising_plugin_and_skips_an_uncallable_one(plugin_site):
    proc = run_module("check", "raises", "pairwise", "relu", extra_path=[plugin_site])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    raises = next(line for line in lines if line.startswith("raises"))
    assert "error" in raises and "FAIL" in raises and "raised" in raises
    pairwise = next(line for line in lines if line.startswith("pairwise"))
    assert "skipped" in pairwise and "cannot call it" in pairwise
    assert "1 of 2 passed; FAILED: raises; 1 skipped: pairwise" in proc.stdout


# ---------------------------------------------------------------------------- check
def test_check_passes_every_builtin_under_every_variant(kernel_variant, capsys):
    status, out, _ = run_cli(capsys, "check")
    assert status == 0, out
    checks = len(fastact.available()) + 1           # gelu once per approximation
    assert f"{checks} of {checks} passed" in out
    for label in ("gelu(approximate='none')", "gelu(approximate='tanh')", "softmax", "selu"):
        assert label in out


def test_check_reports_errors_as_ulp(capsys):
    status, out, _ = run_cli(capsys, "check", "relu", "sigmoid", "-v")
    assert status == 0
    relu = next(line for line in out.splitlines() if line.startswith("relu"))
    assert relu.split()[1:5] == ["forward", "0.00", "0.00", "ok"]
    assert "float32: x=" in out                    # -v shows where the worst error is


def test_ulp_errors():
    exact = np.array([1.0, 1.0, 0.0, np.inf, np.nan, 1e300, 2.0 ** -149], dtype=np.longdouble)
    got = np.array([1.0 + 2 ** -23, 1 - 2 ** -24, 2 ** -149, np.inf, np.nan, np.inf, 0.0],
                   dtype=np.float32)
    err = measure.ulp_errors(got, exact, np.float32)
    assert err.tolist() == [1.0, 0.5, 1.0, 0.0, 0.0, 0.0, 1.0]  # 1e300 overflows float32
    assert measure.ulp_errors(np.float32([np.nan]), np.longdouble([1.0]), np.float32)[0] == np.inf


def test_assess_fails_beyond_the_bound_and_allows_subnormals():
    x = np.zeros(3)
    exact = np.array([1.0, 2.0, 1e-40], dtype=np.longdouble)
    ok = measure.assess("t", "forward", np.float32, x, np.float32([1, 2, 0]), exact)
    assert ok.passed and ok.error == 0.0       # 1e-40 flushed to 0: within the allowance
    bad = measure.assess("t", "forward", np.float32, x,
                       np.float32([1 + 5 * 2 ** -23, 2, 0]), exact)
    assert not bad.passed and bad.error == 5.0


# ------------------------------------------------------- the references themselves
def _wide_reference_cases():
    for case in CASES:
        if case.default:
            yield pytest.param(case, id=case.id)


@pytest.mark.parametrize("case", _wide_reference_cases())
def test_wide_references_agree_with_mpmath(case):
    """fastact/cli/references.py (long double) against tests/reference.py (mpmath at 50
    digits) at 400 float64 points: within 0.25 float64 ULP where long double is wider
    (exp of a large argument costs |argument| long-double ULP), so a check's error is
    the kernel's, not the reference's."""
    if not references.EXTENDED:
        pytest.skip("long double is a double here")
    rng = np.random.default_rng(1)
    x = np.concatenate([np.linspace(-12, 12, 241) + 0.00137, rng.standard_normal(100) * 5,
                        np.exp2(rng.uniform(-60, 60, 59)) * rng.choice([-1, 1], 59)])
    params = case.kwargs
    ours = references.elementwise(case.act.name, params)
    numeric = case.numeric
    forms = [("forward", ours.forward, case.ref.forward, x),
             ("derivative", ours.derivative, case.ref.dx, x)]
    if case.ref.dy is not None:
        y = evaluate(case.ref.forward, x, numeric)[0]      # y values a forward returns
        forms.append(("derivative from y", ours.derivative_from_y, case.ref.dy, y))
    for form, mine, theirs, points in forms:
        hi, lo = evaluate(theirs, points, numeric, case.ref.extra_dps)
        exact = hi.astype(np.longdouble) + lo
        with np.errstate(all="ignore"):
            got = mine(references.widen(points))
        with np.errstate(invalid="ignore"):
            err = np.abs(got - exact) / measure.ulp_of(exact, np.float64)
        zeros = case.dzeros()
        far = np.ones(points.shape, dtype=bool)
        for z in zeros:             # a cancelling derivative: judged absolutely there
            far &= np.abs(points - z) > 0.5
        tol = np.where(far, 0.25, 0.25 + 2.0 ** -60 / measure.ulp_of(exact, np.float64))
        assert np.all(err <= tol), (f"{case.id} {form}: {float(err.max()):.3g} ULP at "
                                    f"{points[np.argmax(err)]!r}")
