"""The benchmark tools run end to end on tiny inputs: bench.py's JSON feeds plot.py,
mlp.py --quick checks its gradients and writes its table, targets.py judges a
hand-made JSON. No timing is asserted: figures on a shared machine are noise."""

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_script(script, *args, blocked=(), timeout=120):
    """Run bench/<script> with args in a fresh interpreter; the modules in ``blocked``
    fail to import there (as if not installed). Returns stdout; fails with stderr."""
    code = ("import runpy, sys\n"
            f"for name in {list(blocked)!r}: sys.modules[name] = None\n"
            f"sys.argv = [{str(BENCH / script)!r}] + {[str(a) for a in args]!r}\n"
            f"runpy.run_path(sys.argv[0], run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, f"bench/{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "relu.json"
    run_script("bench.py", "--sizes", "10", "--names", "relu", "--threads", "1",
               "--repeat", "3", "--json", path)
    return path


def test_bench_json_has_every_competitor(bench_json):
    data = json.loads(bench_json.read_text())
    found = {(r["competitor"], r["direction"]) for r in data["results"]}
    assert {("fastact", d) for d in ("fwd", "bwd_x", "bwd_y")} <= found
    assert {("numpy", "fwd"), ("floor", "fwd"), ("floor", "bwd_x")} <= found
    assert all(r["size"] == 1024 and r["ns_per_elem"] > 0 for r in data["results"])


def test_plot_writes_a_png(bench_json, tmp_path):
    pytest.importorskip("matplotlib", reason="bench/plot.py needs matplotlib "
                        "(pip install matplotlib), an optional dependency")
    import matplotlib.image

    png = tmp_path / "speed.png"
    out = run_script("plot.py", bench_json, "--out", png)
    assert "plot written" in out
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 20_000
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width >= 600 and height >= 300
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[:2] == (height, width) and pixels.std() > 0.05  # not a blank page


def test_plot_without_matplotlib_says_how_to_get_it(bench_json, tmp_path):
    code = ("import runpy, sys\nsys.modules['matplotlib'] = None\n"
            f"sys.argv = ['plot.py', {str(bench_json)!r}, '--out', {str(tmp_path / 'x.png')!r}]\n"
            f"runpy.run_path({str(BENCH / 'plot.py')!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0 and "pip install matplotlib" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_mlp_quick_checks_gradients_and_reports(tmp_path):
    path = tmp_path / "mlp.json"
    # relu: in place, backward from y; silu: out= and backward from x (its NumPy peer needs
    # no SciPy, which the test extra does not install)
    out = run_script("mlp.py", "--quick", "--acts", "relu,silu", "--json", path)
    assert "speedup" in out and "BLAS" in out
    data = json.loads(path.read_text())
    rows = {r["activation"]: r for r in data["results"]}
    assert set(rows) == {"relu", "silu"}
    for row in rows.values():
        assert row["dtype"] == "float32" and row["threads"] == 1
        assert row["grad_difference"]["fastact"] <= 1e-4
        for competitor in ("numpy", "fastact"):
            step, in_act = row[competitor]["step_ms"], row[competitor]["activation_ms"]
            assert 0 < in_act < step
    assert data["blas_threads"]["1"]


def test_mlp_without_threadpoolctl_says_blas_is_not_pinned():
    out = run_script("mlp.py", "--quick", "--acts", "tanh", "--no-torch",
                     blocked=["threadpoolctl"])
    assert "not pinned" in out and "pip install threadpoolctl" in out


def record(label, direction, dtype, exp, threads, competitor, ns):
    name = label.split("(")[0] if label else None
    return dict(name=name, label=label, kernel=name, params={}, direction=direction,
                dtype=dtype, log2_size=exp, size=1 << exp, threads=threads,
                competitor=competitor, ns_per_elem=ns, median_s=ns * (1 << exp) * 1e-9,
                min_s=0.0, runs=3, wall_s=0.0, note="")


def test_targets_report_a_known_met_and_a_known_miss(tmp_path):
    results = [
        # (a): forward 1.0 vs torch 1.5 is met (0.67x); backward 1.0 vs numpy 1.1 is not
        record("sigmoid", "fwd", "float32", 20, 1, "fastact", 1.0),
        record("sigmoid", "fwd", "float32", 20, 1, "torch", 1.5),
        record("sigmoid", "fwd", "float32", 20, 1, "numpy", 2.0),
        record("sigmoid", "bwd_x", "float32", 20, 1, "fastact", 1.0),
        record("sigmoid", "bwd_x", "float32", 20, 1, "numpy", 1.1),
        # (b): relu at 1.05x the floor is met, its backward at 2x is not
        record("relu", "fwd", "float32", 20, 1, "fastact", 0.105),
        record("relu", "bwd_x", "float32", 20, 1, "fastact", 0.2),
        record(None, "fwd", "float32", 20, 1, "floor", 0.1),
        record(None, "bwd_x", "float32", 20, 1, "floor", 0.1),
        # (c): 2.0x from one thread to two is met
        record("sigmoid", "fwd", "float32", 24, 1, "fastact", 2.0),
        record("sigmoid", "fwd", "float32", 24, 2, "fastact", 1.0),
        # (d): 16 elements, float32 met (0.25x), float64 missed (0.75x)
        record("relu", "fwd", "float32", 4, 1, "fastact", 5.0),
        record("relu", "fwd", "float32", 4, 1, "numpy", 20.0),
        record("relu", "fwd", "float64", 4, 1, "fastact", 15.0),
        record("relu", "fwd", "float64", 4, 1, "numpy", 20.0),
        {"op": "softmax", "name": "softmax", "dtype": "float32", "threads": 1,  # layers.py
         "competitor": "fastact", "median_s": 1e-3},
    ]
    path = tmp_path / "hand.json"
    path.write_text(json.dumps({"machine": {"cpu": "test"}, "results": results}))
    out = run_script("targets.py", path)
    sections = {s[0]: s for s in out.split("\n(")[1:]}  # keyed by the target's letter
    a, b, c, d = (sections[k] for k in "abcd")
    assert "NOT MET: 1 of 2 checks met" in a
    assert "sigmoid bwd x" in a and "0.91x (numpy)" in a and "0.67x" not in a
    assert "NOT MET: 1 of 2 checks met" in b and "relu bwd x" in b and "2.00x" in b
    assert "MET where measured: 1 of 1 checks met" in c and "2.00x" in c
    assert "NOT MET: 1 of 2 checks met" in d and "f64 16 el 0.75x" in d
    assert "bench JSON" in d and "measured here" not in d
