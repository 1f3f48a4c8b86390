"""fastact plot: the PNGs of every activation (decoded and checked), the gallery, a
plugin's activations, the output-range parser, the numerical kink finder, and the
one-line errors (unknown name, bad -o, bad --xlim, matplotlib missing)."""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest

import fastact
import plugin_env
from fastact.cli import main
from fastact.cli.common import default_params
from fastact.cli.plot_curves import Skip, doc_constants, find_kinks, parse_range, subject

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

EXAMPLE = "fastact-numpy-example"
NON_ELEMENTWISE = ("prelu", "srelu", "apl", "rrelu", "softmax", "log_softmax", "maxout", "glu")


def check_png(path, min_w=400, min_h=250):
    """path is a PNG that decodes to a real picture: big enough, many colours, not
    flat."""
    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(str(path))
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h, (path, img.shape)
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.05, path
    assert len(np.unique(rgb[::29], axis=0)) > 30, path        # lines, text, antialiasing
    assert (rgb.min(axis=1) < 0.5).mean() > 0.005, path       # a fair share of ink
    return img


# ------------------------------------------------------------------ the whole command
@pytest.fixture(scope="module")
def all_plots(tmp_path_factory):
    """`fastact plot -o DIR` over every registered activation, in-process, once."""
    out = tmp_path_factory.mktemp("plots")
    capture = pytest.MonkeyPatch()
    stdout, stderr = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stdout", stdout)
    capture.setattr(sys, "stderr", stderr)
    try:
        status = main(["plot", "-o", str(out)])
    finally:
        capture.undo()
    return out, status, stdout.getvalue(), stderr.getvalue()


def test_every_activation_gets_a_png_and_the_gallery(all_plots):
    out, status, stdout, stderr = all_plots
    assert status == 0, stderr
    lines = stdout.splitlines()
    names = fastact.available()
    expected = [str(out / f"{n}.png") for n in names] + [str(out / "gallery.png")]
    assert lines[:-1] == expected            # one path per line, then the summary
    assert lines[-1].startswith(f"fastact plot: {len(names)} activation plot(s)")
    for name in names:
        check_png(out / f"{name}.png", min_w=900, min_h=400)
    gallery = check_png(out / "gallery.png", min_w=1000, min_h=800)
    assert gallery.shape[0] > 1.5 * 400      # several rows of panels
    assert "Traceback" not in stderr


def test_kinked_plots_differ_from_smooth_ones(all_plots):
    out = all_plots[0]
    relu, sigmoid = imread(str(out / "relu.png")), imread(str(out / "sigmoid.png"))
    if relu.shape == sigmoid.shape:
        assert np.abs(relu - sigmoid).mean() > 0.001


def test_summary_counts_kinks(all_plots):
    assert "with kinks or jumps" in all_plots[2].splitlines()[-1]


def test_subprocess_python_m_leaves_pyplot_alone(tmp_path):
    result = plugin_env.run_python(f"""
        import sys
        import fastact, fastact.cli, fastact.cli.plot
        assert "matplotlib" not in sys.modules, "import fastact pulled in matplotlib"
        from fastact.cli import main
        status = main(["plot", "relu", "gelu", "-o", {str(tmp_path / 'out')!r},
                       "--xlim", "-3", "3", "--dtype", "float64"])
        assert "matplotlib.pyplot" not in sys.modules
        print("status", status)
    """)
    assert result.returncode == 0, result.stderr
    assert "status 0" in result.stdout
    check_png(tmp_path / "out" / "relu.png")
    check_png(tmp_path / "out" / "gelu.png")
    check_png(tmp_path / "out" / "gallery.png", min_w=300, min_h=150)


def test_python_m_fastact_plot(tmp_path):
    import subprocess
    out = tmp_path / "new" / "dir"                    # created, parents too
    result = subprocess.run([sys.executable, "-m", "fastact", "plot", "hardshrink", "softmax",
                             "-o", str(out)], capture_output=True, text=True, timeout=120,
                            env=plugin_env.child_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [str(out / "hardshrink.png"),
                                              str(out / "softmax.png"),
                                              str(out / "gallery.png")]
    check_png(out / "hardshrink.png")
    check_png(out / "softmax.png")


# ------------------------------------------------------------------ plugins
@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    site = plugin_env.install_plugins(tmp_path_factory.mktemp("site"), EXAMPLE)
    # and a plugin of a non-elementwise kind, which plot cannot draw (skipped with a note)
    plugin_env.write_distribution(site, "fastact-rowscale", "rowscale_plugin", """
        import numpy as np, fastact
        def fwd(x, *, axis=-1):
            return x / np.abs(x).sum(axis=axis, keepdims=True)
        def bwd(grad, x, *, axis=-1):
            return grad
        @fastact.hookimpl
        def register_activations(register):
            register("rowscale", functions=(fwd, None, bwd, None), kind="along an axis",
                     formula="x / sum |x|", output_range="[-1, 1]")
            register("broken", numpy_forward=np.tanh, numpy_derivative=boom,
                     output_range="(-1, 1)")
        def boom(x):
            raise RuntimeError("this derivative is broken\\nsecond line")
    """)
    return site


def test_plugin_activations_are_plotted(plugin_dir, tmp_path):
    result = plugin_env.run_python(f"""
        import sys
        from fastact.cli import main
        sys.exit(main(["plot", "gaussian", "snake", "rowscale", "relu", "-o",
                       {str(tmp_path)!r}]))
    """, extra_path=[plugin_dir], FASTACT_LOAD_PLUGINS=None)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("gaussian", "snake", "relu", "gallery"):
        check_png(tmp_path / f"{name}.png", min_w=300, min_h=150)
    assert not (tmp_path / "rowscale.png").exists()
    notes = [line for line in result.stderr.splitlines() if "rowscale" in line]
    assert len(notes) == 1 and "skipped" in notes[0] and "along an axis" in notes[0]
    assert "1 skipped (rowscale)" in result.stdout.splitlines()[-1]


def test_a_failing_plugin_is_reported_and_the_rest_plotted(plugin_dir, tmp_path):
    result = plugin_env.run_python(f"""
        import sys
        from fastact.cli import main
        sys.exit(main(["plot", "broken", "relu", "-o", {str(tmp_path)!r}]))
    """, extra_path=[plugin_dir], FASTACT_LOAD_PLUGINS=None)
    assert result.returncode == 1                       # not a usage error: exit 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "fastact plot: skipped broken: calling it failed (RuntimeError: this derivative "
        "is broken)"]
    check_png(tmp_path / "relu.png")
    assert not (tmp_path / "broken.png").exists()


def test_all_includes_plugins(plugin_dir, tmp_path):
    """Without names, the plugins' activations are plotted too (checked cheaply: the
    subject and kinks of each, as the command computes them)."""
    result = plugin_env.run_python("""
        import fastact
        from fastact.cli.common import select
        from fastact.cli.plot_curves import Skip, find_kinks, subject
        for info in select([]):
            try:
                s = subject(info)
                c = s.curves[0]
                print(info.name, [k.x for k in find_kinks(c.f, c.df, -7, 7)])
            except Skip:
                print(info.name, "skip")
            except RuntimeError:
                print(info.name, "fails")
    """, extra_path=[plugin_dir], FASTACT_LOAD_PLUGINS=None)
    assert result.returncode == 0, result.stderr
    rows = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert rows["gaussian"] == "[]" and rows["snake"] == "[]"
    assert rows["rowscale"] == "skip" and rows["relu"] == "[0.0]" and "broken" in rows


# ------------------------------------------------------------------ errors
def run_cli(capsys, *argv):
    status = main(["plot", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(status, err, *fragments):
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("fastact: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_unknown_name(capsys, tmp_path):
    status, out, err = run_cli(capsys, "relu", "sigmod", "-o", str(tmp_path / "x"))
    one_line_error(status, err, "unknown activation 'sigmod'", "sigmoid")
    assert not (tmp_path / "x").exists()                 # nothing written


def test_output_is_a_file(capsys, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("keep me")
    status, out, err = run_cli(capsys, "relu", "-o", str(f))
    one_line_error(status, err, "-o", "not a directory")
    assert f.read_text() == "keep me"
    status, out, err = run_cli(capsys, "relu", "-o", str(f / "sub"))
    one_line_error(status, err, "cannot write there")


def test_output_png_name_taken_by_a_directory(capsys, tmp_path):
    (tmp_path / "relu.png").mkdir()
    status, out, err = run_cli(capsys, "relu", "sigmoid", "-o", str(tmp_path))
    one_line_error(status, err, "relu.png", "not a file")
    assert not (tmp_path / "sigmoid.png").exists()       # checked before plotting


@pytest.mark.parametrize("argv, fragment", [
    (["--xlim", "1", "0"], "--xlim"),
    (["--xlim", "0", "inf"], "--xlim"),
    (["--xlim", "1"], "--xlim"),
    (["--dtype", "float16"], "float16"),
    (["--frobnicate"], "--frobnicate"),
])
def test_bad_options(capsys, tmp_path, argv, fragment):
    status, out, err = run_cli(capsys, "relu", "-o", str(tmp_path / "o"), *argv)
    one_line_error(status, err, fragment)


def test_without_matplotlib(tmp_path):
    result = plugin_env.run_python(f"""
        import sys
        sys.modules["matplotlib"] = None          # as if not installed
        from fastact.cli import main
        sys.exit(main(["plot", "relu", "-o", {str(tmp_path / 'o')!r}]))
    """)
    assert result.returncode == 2
    assert result.stderr == ("fastact: error: fastact plot needs matplotlib: "
                             "pip install 'fastact[plot]'\n")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ output ranges
@pytest.mark.parametrize("text, names, expected", [
    ("(0, 1)", {}, (0, 1, False, False)),
    ("(-alpha, inf)", {"alpha": 2.0}, (-2, math.inf, False, False)),
    ("[min_val, max_val]", {"min_val": -1.0, "max_val": 1.0}, (-1, 1, True, True)),
    ("[0, 6]", {}, (0, 6, True, True)),
    ("(-inf, 0]", {}, (-math.inf, 0, False, True)),
    ("[-0.27846..., inf)", {}, (-0.27846, math.inf, True, False)),
    ("{0, 1}", {}, (0, 1, True, True)),
    ("[0, 1], rows sum to 1", {}, (0, 1, True, True)),
    ("(-1/sqrt(alpha), 1/sqrt(alpha))", {"alpha": 4.0}, (-0.5, 0.5, False, False)),
])
def test_parse_range(text, names, expected):
    assert tuple(parse_range(text, names)) == pytest.approx(expected)


@pytest.mark.parametrize("text, names", [
    ("depends on beta", {"beta": 1.0}), ("depends", {}), ("", {}), (None, {}),
    ("(-alpha, inf)", {}),                        # alpha unknown
    ("[1, 0]", {}), ("(0, 1", {}), ("(__import__('os'), 1)", {}), ("(2**2**2**2**2, 1)", {}),
    ("(-1/sqrt(alpha), 1)", {"alpha": -1.0}),
])
def test_parse_range_says_nothing_rather_than_guess(text, names):
    assert parse_range(text, names) is None


def test_selu_range_uses_its_documented_constants():
    info = fastact.get("selu")
    r = parse_range(info.output_range, doc_constants(info.doc))
    assert r.lo == pytest.approx(-1.0507009873554805 * 1.6732632423543772)


def test_every_builtin_range_parses_or_is_said_to_depend():
    for name in fastact.available():
        info = fastact.get(name)
        if info.builtin:
            s = subject(info)
            r = parse_range(s.output_range, s.names)
            assert (r is None) == info.output_range.startswith("depends"), name


# ------------------------------------------------------------------ kinks
def kinks_of(name, params=None, lo=-7.0, hi=7.0):
    info = fastact.get(name)
    if params is not None:
        f = lambda x: info.forward(x, **params)                   # noqa: E731
        df = lambda x: info.backward(np.ones_like(x), x, **params)  # noqa: E731
    else:
        curve = subject(info).curves[0]
        f, df = curve.f, curve.df
    return find_kinks(f, df, lo, hi)


EXPECTED_KINKS = {
    "relu": [0], "relu6": [0, 6], "hardtanh": [-1, 1], "hardswish": [-3, 3],
    "hardsigmoid": [-3, 3], "softshrink": [-0.5, 0.5], "hardshrink": [-0.5, 0.5],
    "leaky_relu": [0], "selu": [0],          # selu' jumps from scale*alpha to scale
    "binary_step": [0], "threshold": [0.5],  # example params: threshold=0.5, value=-1
    "elu": [],            # alpha = 1: elu' = exp(x) -> 1 = 1 at 0, continuous (C^1)
    "celu": [], "sigmoid": [], "tanh": [], "softplus": [], "silu": [], "swish": [],
    "gelu": [], "mish": [], "softsign": [], "logsigmoid": [], "identity": [],
    # the non-elementwise ones, along the slice the plot draws
    "prelu": [0], "srelu": [-1, 1.5], "apl": [-1, 0, 1], "rrelu": [0], "maxout": [0],
    "softmax": [], "log_softmax": [], "glu": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_KINKS))
def test_kinks_of_builtins(name):
    found = kinks_of(name)
    assert [k.x for k in found] == pytest.approx(EXPECTED_KINKS[name], abs=1e-9)


def test_jumps_are_told_from_kinks():
    assert [k.what for k in kinks_of("binary_step")] == ["jump"]
    assert [k.what for k in kinks_of("hardshrink")] == ["jump", "jump"]
    (t,) = kinks_of("threshold")
    assert t.what == "jump" and t.f_jump == pytest.approx(1.5)   # from -1 to 0.5
    assert [k.what for k in kinks_of("relu6")] == ["kink", "kink"]
    assert [k.df_jump for k in kinks_of("hardswish")] == pytest.approx([0.5, 0.5])


def test_kinks_follow_the_hyper_parameters():
    assert [k.x for k in kinks_of("elu", {"alpha": 2.0})] == pytest.approx([0])
    assert kinks_of("elu", {"alpha": 1.0}) == []
    assert [k.x for k in kinks_of("hardtanh", {"min_val": -2.5, "max_val": 0.75})] == \
        pytest.approx([-2.5, 0.75])
    assert [k.x for k in kinks_of("softshrink", {"lambd": 1.25})] == pytest.approx([-1.25, 1.25])
    # softplus switches to x where beta * x > threshold: at the default 20 a 2e-9 step
    # (below the tolerance), at 5 a real one of log1p(exp(-5)) = 0.0067 in f and f'
    assert kinks_of("softplus", {"beta": 1.0, "threshold": 20.0}) == []
    (k,) = kinks_of("softplus", {"beta": 1.0, "threshold": 5.0})
    assert k.x == pytest.approx(5) and k.what == "jump"
    assert k.f_jump == pytest.approx(math.log1p(math.exp(-5)), rel=1e-6)
    # only those inside the window
    assert [k.x for k in kinks_of("relu6", {}, lo=-1, hi=5)] == [0]


def test_find_kinks_on_plain_functions():
    steep = find_kinks(lambda x: np.tanh(1000 * x), lambda x: 1000 / np.cosh(1000 * x) ** 2, -3, 3)
    assert steep == []                                     # steep but smooth
    assert [k.x for k in find_kinks(np.abs, np.sign, -3, 3)] == [0]
    cubic = find_kinks(lambda x: np.where(x > 1, x ** 3, 1.0), lambda x: np.where(x > 1, 3 * x * x, 0.0),
                       -3, 3)
    assert [k.x for k in cubic] == pytest.approx([1])
    floor = find_kinks(np.floor, np.zeros_like, -2.5, 2.5)
    assert [k.x for k in floor] == pytest.approx([-2, -1, 0, 1, 2])
    assert all(k.what == "jump" for k in floor)
    nan_half = find_kinks(lambda x: np.where(x > 0, np.nan, x), lambda x: np.where(x > 0, np.nan, 1.0),
                          -3, 3)
    assert nan_half == []                                  # never crashes on NaN


def test_subjects_of_the_non_elementwise_builtins_say_what_is_plotted():
    x = np.linspace(-4, 4, 81)
    for name in NON_ELEMENTWISE:
        s = subject(fastact.get(name))
        assert s.note and len(s.curves) == 1, name
        y, dy = s.curves[0].f(x), s.curves[0].df(x)
        assert y.shape == dy.shape == x.shape and np.isfinite(y).all() and np.isfinite(dy).all()
    sig = 1 / (1 + np.exp(-x))
    assert subject(fastact.get("softmax")).curves[0].f(x) == pytest.approx(sig)
    assert subject(fastact.get("softmax")).curves[0].df(x) == pytest.approx(sig * (1 - sig))
    assert subject(fastact.get("glu")).curves[0].f(x) == pytest.approx(x * sig)
    assert subject(fastact.get("maxout")).curves[0].f(x) == pytest.approx(np.maximum(x, 0))
    assert subject(fastact.get("log_softmax")).curves[0].df(x) == pytest.approx(1 - sig)


def test_gelu_is_one_subject_with_both_approximations():
    s = subject(fastact.get("gelu"))
    assert [c.label for c in s.curves] == ["gelu(approximate='none')", "gelu(approximate='tanh')"]


def test_threshold_uses_the_example_parameters():
    s = subject(fastact.get("threshold"))
    assert default_params(fastact.get("threshold")) == {"threshold": 0.5, "value": -1.0}
    assert s.curves[0].f(np.array([0.0, 1.0])) == pytest.approx([-1.0, 1.0])


def test_float32_subject_keeps_the_dtype():
    s = subject(fastact.get("relu"), np.float32)
    assert s.curves[0].f(np.linspace(-1, 1, 5)).dtype == np.float32


def test_non_elementwise_plugins_and_required_params_are_skipped():
    import dataclasses
    import inspect
    as_plugin = dataclasses.replace(fastact.get("softmax"), plugin="someplugin")
    with pytest.raises(Skip, match="along an axis activation from plugin someplugin"):
        subject(as_plugin)
    needs = dataclasses.replace(fastact.get("elu"), name="needy",
                                params={"alpha": inspect.Parameter.empty})
    with pytest.raises(Skip, match="alpha have no default"):
        subject(needs)
