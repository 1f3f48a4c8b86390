"""``fastact bench``: it runs every activation (plugins included) on tiny inputs, its
table and its JSON say what was measured, its options are checked before anything is
timed (one line, exit status 2), and it works without torch and without SciPy. No
timing is asserted: figures on a shared machine are noise."""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys

import pytest

import fastact
import plugin_env
from fastact.cli import main
from fastact.cli import bench as cli_bench
from fastact.cli import timing

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

TINY = ["--size", "2^10", "--repeat", "2"]
EXAMPLE = "fastact-numpy-example"


def run(capsys, *argv):
    """fastact bench argv in this process: (exit status, stdout, stderr)."""
    status = main(["bench", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *argv):
    status, out, err = run(capsys, *argv, "--json", "-")
    assert status == 0, err
    return json.loads(out)


def table_rows(out):
    """{(activation, dir)} of the table, the activation carried down blank cells."""
    rows, current, inside = set(), None, False
    for line in out.splitlines():
        if line.startswith("---"):
            inside = not inside
            continue
        if not inside or not line.strip():
            continue
        head = line[:40].split()
        if line[0] != " ":
            current = line.split("  ")[0]
        direction = " ".join(w for w in head if w in ("fwd", "bwd", "x", "y"))
        rows.add((current, direction))
    return rows


def records(doc, **match):
    return [r for r in doc["results"] if all(r[k] == v for k, v in match.items())]


# -------------------------------------------------------------------- the table

def test_table_lists_the_requested_activations_and_directions(capsys):
    status, out, err = run(capsys, "relu", "gelu", "softmax", "prelu", "mish", *TINY)
    assert status == 0 and err == ""           # stderr is no terminal: no progress bar
    rows = table_rows(out)
    assert {("relu", "fwd"), ("relu", "bwd x"), ("relu", "bwd y"),
            ("gelu(approximate='none')", "fwd"), ("gelu(approximate='tanh')", "bwd x"),
            ("softmax", "fwd"), ("softmax", "bwd y"), ("prelu", "bwd x"),
            ("mish", "bwd x")} <= rows
    assert ("mish", "bwd y") not in rows       # mish has no backward from y
    assert not any(name in ("sigmoid", "tanh") for name, _ in rows)
    assert "fastact is faster" in out and "ns/el" in out
    assert "Traceback" not in out + err


def test_every_registered_activation_is_benchmarked(capsys):
    status, out, err = run(capsys, "--size", "64", "--repeat", "1")
    assert status == 0, err
    names = {name.split("(")[0] for name, _ in table_rows(out)}
    assert names == set(fastact.available())


def test_directions_option(capsys):
    status, out, _ = run(capsys, "relu", "softmax", "--directions", "bwd_y", *TINY)
    assert status == 0
    assert table_rows(out) == {("relu", "bwd y"), ("softmax", "bwd y")}


def test_threads_are_set_for_the_run_and_restored(capsys):
    before = fastact.get_num_threads()
    doc = run_json(capsys, "relu", "--threads", "1", *TINY)
    assert fastact.get_num_threads() == before
    assert doc["config"]["threads"] == 1
    assert {r["threads"] for r in records(doc, competitor="fastact")} == {1}


# ------------------------------------------------------------------------- JSON

def test_json_records_are_complete_and_finite(capsys, tmp_path):
    path = tmp_path / "bench.json"
    status, out, err = run(capsys, "relu", "gelu", "glu", "--dtype", "float64",
                           "--json", str(path), *TINY)
    assert status == 0, err
    assert f"written to {path}" in out and "relu" in out    # a file: the table still shows
    doc = json.loads(path.read_text())
    assert doc["config"]["dtype"] == "float64" and doc["config"]["size"] == 1024
    assert doc["machine"]["numpy"] and doc["errors"] == []
    for r in doc["results"]:
        assert math.isfinite(r["ns_per_elem"]) and r["ns_per_elem"] > 0
        assert 0 < r["min_s"] <= r["median_s"] and r["runs"] == 2
        assert r["dtype"] == "float64" and r["elements"] == math.prod(r["shape"])
    fa = {(r["label"], r["direction"]) for r in records(doc, competitor="fastact")}
    assert {("relu", "fwd"), ("relu", "bwd_x"), ("relu", "bwd_y"), ("glu", "fwd"),
            ("glu", "bwd_x"), ("gelu(approximate='tanh')", "bwd_x")} <= fa
    assert records(doc, label="relu", competitor="numpy", direction="bwd_y")
    assert {r["threads"] for r in records(doc, competitor="numpy")} == {1}


def test_json_to_stdout_is_only_json(capsys):
    doc = run_json(capsys, "sigmoid", *TINY)
    assert set(doc) >= {"machine", "config", "results", "errors"}
    assert {r["direction"] for r in doc["results"]} == {"fwd", "bwd_x", "bwd_y"}


@pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")
def test_torch_is_compared_when_installed(capsys):
    doc = run_json(capsys, "relu", "softmax", "mish", *TINY)
    assert records(doc, label="relu", competitor="torch", direction="fwd")
    assert records(doc, label="softmax", competitor="torch", direction="bwd_y")
    (mish,) = records(doc, label="mish", competitor="torch", direction="bwd_x")
    assert mish["allocates"]                     # torch's mish_backward has no out=
    doc = run_json(capsys, "relu", "--no-torch", *TINY)
    assert not records(doc, competitor="torch") and doc["config"]["torch"] is False


def test_without_torch_and_scipy_the_columns_say_so():
    code = """
        import sys
        sys.modules['torch'] = None        # as if not installed
        sys.modules['scipy'] = None
        from fastact.cli import main
        sys.exit(main(['bench', 'relu', 'gelu', '--size', '2^10', '--repeat', '2']))
    """
    proc = plugin_env.run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert "torch: not installed" in proc.stdout and "pip install torch" in proc.stdout
    assert "exact gelu has no NumPy peer without SciPy" in proc.stdout
    assert ("gelu(approximate='none')", "fwd") in table_rows(proc.stdout)


# ----------------------------------------------------------------------- errors

@pytest.mark.parametrize("argv, words", [
    (["nosuchact"], "unknown activation 'nosuchact'"),
    (["--size", "0"], "--size"),
    (["--size", "abc"], "invalid size 'abc'"),
    (["--size", "2^40"], "2^28"),
    (["--dtype", "float16"], "--dtype"),
    (["--threads", "0"], "--threads"),
    (["--threads", "two"], "--threads"),
    (["--directions", "sideways"], "direction"),
    (["--repeat", "0"], "--repeat"),
    (["--time", "-1"], "--time"),
    (["relu", "--frobnicate"], "unrecognized arguments"),
])
def test_usage_errors_are_one_line_and_status_2(capsys, argv, words):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("fastact: error:") and words in err


def test_unwritable_json_is_a_usage_error(capsys, tmp_path):
    status, out, err = run(capsys, "relu", "--json", str(tmp_path / "no" / "such.json"), *TINY)
    assert status == 2 and out == "" and err.count("\n") == 1 and "--json" in err


def test_errors_from_the_command_line_have_no_traceback():
    for argv in (["--size", "abc"], ["nosuchact"], ["--dtype", "float16"]):
        proc = subprocess.run([sys.executable, "-m", "fastact", "bench", *argv],
                              capture_output=True, text=True, timeout=60,
                              env=plugin_env.child_env())
        assert proc.returncode == 2 and proc.stdout == ""
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_python_m_fastact_bench_runs():
    proc = subprocess.run([sys.executable, "-m", "fastact", "bench", "tanh", "maxout", *TINY],
                          capture_output=True, text=True, timeout=120,
                          env=plugin_env.child_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""                    # no terminal: no progress bar
    assert {("tanh", "bwd y"), ("maxout", "fwd"), ("maxout", "bwd x")} <= table_rows(proc.stdout)


# ------------------------------------------------------------------------ plugins

@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    return plugin_env.install_plugins(tmp_path_factory.mktemp("site"), EXAMPLE)


def test_plugin_activations_are_benchmarked(plugin_dir):
    code = """
        import sys
        from fastact.cli import main
        sys.exit(main(['bench', 'gaussian', 'snake', 'relu', '--size', '2^10',
                       '--repeat', '2', '--json', '-']))
    """
    proc = plugin_env.run_python(code, extra_path=[plugin_dir])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    for name in ("gaussian", "snake"):
        got = records(doc, activation=name)
        assert {(r["competitor"], r["direction"]) for r in got} == {("fastact", "fwd"),
                                                                 ("fastact", "bwd_x")}
        assert all(not r["builtin"] and r["plugin"] and r["ns_per_elem"] > 0 for r in got)
    assert records(doc, activation="relu", competitor="numpy")


def test_plugin_activations_are_in_the_default_table(plugin_dir):
    proc = subprocess.run([sys.executable, "-m", "fastact", "bench", "--size", "64",
                           "--repeat", "1"], capture_output=True, text=True, timeout=120,
                          env=plugin_env.child_env([plugin_dir]))
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert {("gaussian", "fwd"), ("snake", "bwd x"), ("glu", "fwd")} <= rows
    assert "plugin" in proc.stdout


# -------------------------------------------------------------- the pieces

@pytest.mark.parametrize("text, n", [("1048576", 1 << 20), ("2^20", 1 << 20),
                                     ("2**20", 1 << 20), ("1_024", 1024), ("1e3", 1000)])
def test_sizes(text, n):
    assert cli_bench.parse_size(text) == n


@pytest.mark.parametrize("text", ["0", "-5", "abc", "2^", "1.5", "2^30"])
def test_bad_sizes(text):
    with pytest.raises(argparse.ArgumentTypeError):
        cli_bench.parse_size(text)


def test_progress_bar_draws_on_a_terminal_and_clears():
    stream = io.StringIO()
    bar = timing.Progress(3, stream=stream, enabled=True)
    for label in ("a", "b", "c"):
        bar.step(label)
    bar.close()
    text = stream.getvalue()
    assert "1/3 a" in text and "3/3 c" in text and text.endswith("\r\033[K")
    silent = io.StringIO()                      # StringIO is no terminal
    bar = timing.Progress(2, stream=silent)
    bar.step("a")
    bar.close()
    assert silent.getvalue() == ""


def test_layer_shapes_follow_the_size():
    ops = timing.layer_ops(1 << 20)
    assert ops["softmax"][0].shape == (1024, 1024)
    assert ops["prelu"][0].shape == (16, 64, 1024)
    assert ops["glu"][0].shape == (512, 2048) and ops["maxout"][0].shape == (1024, 1024)
    for size in (1, 3, 100):
        for op in sum(timing.layer_ops(size).values(), []):
            assert op.elements >= 1 and op.shape[-1] >= 1


def test_bench_subcommand_does_not_import_torch():
    proc = plugin_env.run_python("""
        import sys
        from fastact.cli import main
        main(['list'])
        import fastact.cli.bench, fastact.cli.timing
        print('torch' in sys.modules)
    """)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("False")
