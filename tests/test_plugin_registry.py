"""The plugin registry with a pure-NumPy plugin: discovery through the entry point
(plugins/fastact-numpy-example), lazy loading, FASTACT_LOAD_PLUGINS, every fault of a
deliberately broken plugin (a PluginWarning naming the plugin and the problem, the rest
still usable, get() saying why), the full contract on the NumPy-wrapped activations
(reusing tests/test_contract.py), and thread-safe loading."""

from __future__ import annotations

import inspect
import itertools
import json
import sys
import threading
import time
import types
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import fastact
import fastact.registry as registry
import plugin_env
import test_contract as tc
from conftest import Api, dtype_params, same_bits, sample_inputs

EXAMPLE = "fastact-numpy-example"
EXAMPLE_EP = "numpy_example"
EXAMPLE_LABEL = f"distribution {EXAMPLE} 0.1.0, entry point '{EXAMPLE_EP}'"


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    """plugins/fastact-numpy-example pip-installed (with its entry point) into a
    private directory."""
    return plugin_env.install_plugins(tmp_path_factory.mktemp("site"), EXAMPLE)


@pytest.fixture
def example(plugin_dir, fresh_registry, monkeypatch):
    """A fresh registry that discovers the installed example plugin (and whatever else
    the test puts on sys.path); FASTACT_LOAD_PLUGINS unset."""
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.delenv(registry.LOAD_PLUGINS_ENV, raising=False)
    return fresh_registry


def plugin_warnings(call):
    """Run call() recording warnings: (its result, the PluginWarning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, fastact.PluginWarning)]


_counter = itertools.count()


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """write(source, dist=..., entry_points=...): a throw-away plugin distribution on
    sys.path (a fresh module name each time); returns (dist, entry point, module)."""
    made = []

    def write(source, dist=None, entry_points=None, module=None):
        n = next(_counter)
        module = module or f"fastact_broken_{n}"
        dist = dist or f"fastact-broken-{n}"
        where = tmp_path / f"site{n}"
        plugin_env.write_distribution(where, dist, module, source, entry_points)
        monkeypatch.syspath_prepend(str(where))
        made.append(module)
        ep = next(iter(entry_points)) if entry_points else module
        return dist, ep, module

    yield write
    for module in made:
        sys.modules.pop(module, None)


def assert_everything_else_works():
    x = np.array([-1.5, 0.0, 2.0])
    assert same_bits(fastact.relu(x), np.array([0.0, 0.0, 2.0]))
    assert fastact.get("relu").builtin and fastact.relu is fastact._api.relu
    assert {"relu", "tanh", "softmax", "gaussian", "snake"} <= set(fastact.available())
    assert fastact.get("snake").distribution == EXAMPLE
    assert np.isfinite(fastact.snake(x, a=0.5)).all()
    assert np.isfinite(fastact.gaussian_backward(np.ones(3), x)).all()


PLUGIN_HEAD = """
import ctypes
import numpy as np
import fastact

def f(x, **params):
    return np.asarray(x) * 2.0

def df(x, **params):
    return np.full(np.shape(x), 2.0)

def check_a(a=1.0):
    if a == 0:
        raise ValueError("a must be nonzero")

_names = []
def capsule(name):
    buf = ctypes.create_string_buffer(name.encode())
    _names.append(buf)                      # the capsule's name must outlive it
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    return new(ctypes.addressof(buf), ctypes.addressof(buf), None)
"""


def hook(*calls):
    """A plugin module's source whose hook makes `calls` (lines of Python)."""
    body = "".join(f"    {c}\n" for c in calls)
    return PLUGIN_HEAD + f"\n@fastact.hookimpl\ndef register_activations(register):\n{body}"


# ------------------------------------------------------- discovery and laziness
def test_fresh_interpreter_discovers_the_example_lazily(plugin_dir):
    """In a new process: import fastact neither imports the plugin nor scans entry
    points; the first available() does both, once; then every form works."""
    proc = plugin_env.run_python(r"""
        import importlib.metadata as md, json, sys
        scans = []
        real = md.distributions
        def spy(*a, **k):
            scans.append(1)
            return real(*a, **k)
        md.distributions = spy
        import numpy as np, fastact
        from fastact.registry import REGISTRY
        before = dict(module="fastact_numpy_example" in sys.modules, scans=len(scans),
                      loaded=REGISTRY.loaded)
        names = fastact.available()
        after = dict(module="fastact_numpy_example" in sys.modules, scans=len(scans),
                     loaded=REGISTRY.loaded)
        fastact.available(); fastact.get("snake")
        info = fastact.get("snake")
        x = np.linspace(-3, 3, 7)
        g = np.ones(7)
        y_, gb_ = x.copy(), g.copy()
        fastact.snake_(y_, a=0.5); fastact.snake_backward_(gb_, x, a=0.5)
        print(json.dumps(dict(
            before=before, after=after, scans_total=len(scans), names=names,
            source=info.source, plugin=info.plugin, distribution=info.distribution,
            implementation=info.implementation, params=info.params,
            from_y=info.backward_from_y, formula=info.formula, derivative=info.derivative,
            output_range=info.output_range, monotonic=info.monotonic,
            forward=fastact.snake(x, a=0.5).tolist(), forward_=y_.tolist(),
            backward=fastact.snake_backward(g, x, a=0.5).tolist(), backward_=gb_.tolist(),
            dir=[n for n in dir(fastact) if n.startswith(("snake", "gaussian"))],
            plugins=[(p.name, p.distribution, p.version, p.entry_point, p.activations,
                      p.error) for p in fastact.plugins()])))
        """, extra_path=[plugin_dir], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["before"] == dict(module=False, scans=0, loaded=False)
    assert r["after"] == dict(module=True, scans=1, loaded=True)
    assert r["scans_total"] == 1
    assert r["names"][-2:] == ["gaussian", "snake"] and "relu" in r["names"]
    assert EXAMPLE in r["source"] and f"entry point '{EXAMPLE_EP}'" in r["source"]
    assert (r["plugin"], r["distribution"]) == (EXAMPLE_EP, EXAMPLE)
    assert r["implementation"] == "numpy functions" and r["params"] == {"a": 1.0}
    assert r["from_y"] is False and r["monotonic"] is True
    assert (r["formula"], r["derivative"]) == ("x + sin(a x)^2 / a", "1 + sin(2 a x)")
    sys.path.insert(0, str(plugin_dir))
    try:
        import fastact_numpy_example as ex
    finally:
        sys.path.remove(str(plugin_dir))
    x = np.linspace(-3, 3, 7)
    assert r["forward"] == r["forward_"] == ex.snake(x, a=0.5).tolist()
    assert r["backward"] == r["backward_"] == ex.snake_derivative(x, a=0.5).tolist()
    assert set(r["dir"]) == {f"{n}{s}" for n in ("snake", "gaussian") for s in registry.SUFFIXES}
    assert r["plugins"] == [[EXAMPLE_EP, EXAMPLE, "0.1.0", EXAMPLE_EP, ["gaussian", "snake"], None]]


def test_fresh_interpreter_with_load_plugins_empty_loads_none(plugin_dir):
    proc = plugin_env.run_python("""
        import sys, fastact
        names = fastact.available()
        assert "fastact_numpy_example" not in sys.modules
        assert "snake" not in names and "relu" in names, names
        assert fastact.plugins() == []
        try:
            fastact.snake
        except AttributeError as exc:
            print("AttributeError:", exc)
        """, extra_path=[plugin_dir], FASTACT_LOAD_PLUGINS="")
    assert proc.returncode == 0, proc.stderr
    assert "no attribute 'snake'" in proc.stdout


def test_in_process_discovery_and_description(example):
    assert not example.loaded
    names = fastact.available()
    assert example.loaded and names[-2:] == ["gaussian", "snake"]
    assert fastact.available("elementwise")[-2:] == ["gaussian", "snake"]
    assert "snake" not in fastact.available("per-channel")
    info = fastact.get("snake")
    assert isinstance(info, fastact.ActivationInfo) and not info.builtin
    assert info.source == f"plugin '{EXAMPLE_EP}' ({EXAMPLE_LABEL})"
    assert (info.plugin, info.distribution, info.kind) == (EXAMPLE_EP, EXAMPLE, "elementwise")
    assert info.signature == "snake(x, a=1.0)" and info.params == {"a": 1.0}
    assert info.output_range == "(-inf, inf)" and info.smooth and info.zero_centred
    ex = sys.modules["fastact_numpy_example"]
    assert info.reference is ex.snake and info.reference_derivative is ex.snake_derivative
    g = fastact.get("gaussian")
    assert (g.formula, g.derivative, g.output_range) == ("exp(-x^2)", "-2 x exp(-x^2)", "(0, 1]")
    assert g.monotonic is False and g.saturating == "both" and g.params == {}
    assert info.forms() == {"snake": fastact.snake, "snake_": fastact.snake_,
                            "snake_backward": fastact.snake_backward,
                            "snake_backward_": fastact.snake_backward_}
    assert {f"{n}{s}" for n in ("snake", "gaussian") for s in registry.SUFFIXES} <= set(dir(fastact))
    assert fastact.snake.__module__ == "fastact" and "Ziyin" not in fastact.snake.__doc__
    assert "x + sin(a x)^2 / a" in fastact.snake.__doc__ and EXAMPLE in fastact.snake.__doc__
    [rec] = fastact.plugins()
    assert (rec.name, rec.distribution, rec.version, rec.entry_point, rec.activations,
            rec.error) == (EXAMPLE_EP, EXAMPLE, "0.1.0", EXAMPLE_EP, ["gaussian", "snake"], None)


def test_signatures_are_those_of_a_builtin(example):
    sig = lambda f: str(inspect.signature(f))  # noqa: E731
    assert sig(fastact.snake) == "(x, *, out=None, a=1.0)"
    assert sig(fastact.snake_) == "(x, *, a=1.0)"
    assert sig(fastact.snake_backward) == "(grad, x=None, *, y=None, out=None, a=1.0)"
    assert sig(fastact.snake_backward_) == "(grad, x=None, *, y=None, a=1.0)"
    assert sig(fastact.gaussian) == sig(fastact.relu) == "(x, *, out=None)"
    assert sig(fastact.gaussian_) == "(x)"


def test_unregistering_the_example_removes_its_activations(example):
    fastact.available()
    fastact.unregister_plugin(EXAMPLE_EP)
    assert "snake" not in fastact.available() and fastact.plugins() == []
    with pytest.raises(AttributeError, match="snake"):
        fastact.snake
    with pytest.raises(LookupError, match="no activation named 'snake'"):
        fastact.get("snake")
    with pytest.raises(ValueError, match="no plugin named"):
        fastact.unregister_plugin(EXAMPLE_EP)
    with pytest.raises(ValueError, match="built-in"):
        fastact.unregister_plugin("fastact")
    assert fastact.relu is fastact._api.relu


def test_get_of_a_non_string_is_a_type_error(example):
    for bad in (None, 3, ["snake"]):
        with pytest.raises(TypeError, match="must be a str"):
            fastact.get(bad)


# --------------------------------------------------------- FASTACT_LOAD_PLUGINS
OTHER = hook("register('otheract', numpy_forward=f, numpy_derivative=df)")


@pytest.mark.parametrize("value, loaded", [
    (None, {"snake", "otheract"}),
    ("", set()),
    (EXAMPLE, {"snake"}),
    ("FASTACT_NUMPY_EXAMPLE", {"snake"}),
    (" Fastact.Numpy_Example , ", {"snake"}),
    ("fastact-other-plugin,fastact-numpy-example", {"snake", "otheract"}),
    ("fastact_other_plugin", {"otheract"}),
], ids=["unset", "empty", "example", "upper-underscores", "dots-spaces", "both", "other"])
def test_load_plugins_env(example, broken, monkeypatch, value, loaded):
    broken(OTHER, dist="fastact-other-plugin")
    if value is not None:
        monkeypatch.setenv("FASTACT_LOAD_PLUGINS", value)
    names, warned = plugin_warnings(fastact.available)
    assert warned == []
    assert {"snake", "otheract"} & set(names) == loaded
    assert ("fastact_numpy_example" in sys.modules) >= ("snake" in loaded)
    assert {"relu", "softmax"} <= set(names)


def test_load_plugins_env_naming_an_unknown_distribution_warns(example, monkeypatch):
    monkeypatch.setenv("FASTACT_LOAD_PLUGINS", "fastact-numpy-example, no-such_plugin")
    names, warned = plugin_warnings(fastact.available)
    assert "snake" in names
    [message] = warned
    assert "FASTACT_LOAD_PLUGINS" in message and "'no-such-plugin'" in message
    assert "not an installed fastact plugin" in message


# ----------------------------------------------------------------- faults
def check_fault(warned, dist, ep, *fragments):
    """Exactly one PluginWarning, naming the distribution, the entry point and the
    problem; everything else still works."""
    assert len(warned) == 1, warned
    [message] = warned
    assert f"plugin '{ep}' (distribution {dist} 0.1, entry point '{ep}')" in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert_everything_else_works()
    return message


def test_import_error(example, broken):
    dist, ep, _ = broken("import numpy\nimport no_such_module_for_fastact\n")
    _, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "failed to import: ModuleNotFoundError",
                "no_such_module_for_fastact")
    [rec] = [r for r in fastact.plugins() if r.name == ep]
    assert rec.error.startswith("failed to import") and rec.activations == []
    with pytest.raises(LookupError, match="failed to import"):
        fastact.get("anything_it_would_have_had")


def test_entry_point_naming_a_missing_object(example, broken):
    dist, ep, _ = broken(hook("pass"), entry_points={"missing": "fastact_broken_x:nothing_here"},
                         module="fastact_broken_x")
    _, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "failed to import: AttributeError", "nothing_here")


def test_exception_in_the_hook_drops_everything_it_registered(example, broken):
    dist, ep, _ = broken(hook("register('before_boom', numpy_forward=f, numpy_derivative=df)",
                              "register('relu', numpy_forward=f, numpy_derivative=df, override=True)",
                              "raise RuntimeError('boom')"))
    names, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "raised in register_activations: RuntimeError: boom")
    assert "before_boom" not in names
    with pytest.raises(LookupError, match=r"'before_boom'.*RuntimeError: boom"):
        fastact.get("before_boom")
    with pytest.raises(AttributeError):
        fastact.before_boom
    assert fastact.get("relu").builtin        # its override did not survive either


def test_module_without_a_hook(example, broken):
    dist, ep, _ = broken("import fastact\ndef register_activations(register):\n"
                         "    register('forgot', numpy_forward=abs, numpy_derivative=abs)\n")
    _, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "has no register_activations hook", "@fastact.hookimpl")


def test_hook_with_wrong_arguments(example, broken):
    dist, ep, _ = broken("import fastact\n@fastact.hookimpl\n"
                         "def register_activations(register, extra):\n    pass\n")
    _, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "is not a valid fastact plugin", "extra")


def test_name_taken_by_a_builtin(example, broken):
    dist, ep, _ = broken(hook("register('relu', numpy_forward=f, numpy_derivative=df)",
                              "register('fine_one', numpy_forward=f, numpy_derivative=df)"))
    names, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "registered activation 'relu'", "taken by built-in",
                "override=True")
    assert fastact.get("relu").builtin
    assert "fine_one" in names and same_bits(fastact.fine_one(np.ones(2)), np.full(2, 2.0))


def test_name_taken_by_another_plugin(example, broken):
    broken(hook("register('twin', numpy_forward=f, numpy_derivative=df)"), dist="fastact-twin-a",
           entry_points={"twin_a": "fastact_twin_a"}, module="fastact_twin_a")
    dist, ep, _ = broken(hook("register('twin', numpy_forward=df, numpy_derivative=f)"),
                         dist="fastact-twin-b", entry_points={"twin_b": "fastact_twin_b"},
                         module="fastact_twin_b")
    names, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "registered activation 'twin'",
                "taken by plugin 'twin_a' (distribution fastact-twin-a")
    assert fastact.get("twin").distribution == "fastact-twin-a"
    assert names.count("twin") == 1


def test_name_taken_by_a_module_attribute(example, broken):
    dist, ep, _ = broken(hook("register('available', numpy_forward=f, numpy_derivative=df)"))
    _, warned = plugin_warnings(fastact.available)
    check_fault(warned, dist, ep, "'available'", "fastact.available is already something else")
    assert fastact.available is registry.available
    with pytest.raises(LookupError, match="already something else"):
        fastact.get("available")


def test_override_replaces_a_builtin_until_unregistered(example, broken):
    dist, ep, _ = broken(hook("register('relu', numpy_forward=f, numpy_derivative=df, "
                              "override=True, formula='2 x')"))
    names, warned = plugin_warnings(fastact.available)
    assert warned == [] and names.count("relu") == 1
    info = fastact.get("relu")
    assert not info.builtin and info.distribution == dist and info.formula == "2 x"
    assert fastact.relu is info.forward and fastact.relu is not fastact._api.relu
    assert fastact.relu_backward_ is info.backward_
    x = np.array([-1.0, 3.0])
    assert same_bits(fastact.relu(x), np.array([-2.0, 6.0]))
    assert same_bits(fastact.relu_backward(np.ones(2), x), np.full(2, 2.0))
    assert [r.overridden["relu"].source for r in fastact.plugins() if r.name == ep] == ["built-in"]
    fastact.unregister_plugin(ep)
    assert fastact.get("relu").builtin and fastact.relu is fastact._api.relu
    assert fastact.relu_backward_ is fastact._api.relu_backward_
    assert fastact.available().index("relu") == names.index("relu")   # its place is kept
    assert_everything_else_works()


def make_plugin(name, calls):
    """An in-process plugin (a module) whose hook runs `calls(register)`."""
    plugin = types.ModuleType(name)
    plugin.register_activations = fastact.hookimpl(lambda register: calls(register))
    return plugin


def test_an_unhashable_plugin_is_refused_and_breaks_nothing(example):
    fastact.available()
    bad = types.SimpleNamespace(register_activations=fastact.hookimpl(lambda register: None))
    _, warned = plugin_warnings(lambda: fastact.register_plugin(bad, "unhashable"))
    assert len(warned) == 1 and "plugin 'unhashable' is not a valid fastact plugin" in warned[0]
    assert "unhashable" in warned[0]
    fastact.register_plugin(make_plugin("later", lambda r: r("later_act", numpy_forward=np.abs,
                                                               numpy_derivative=np.sign)))
    assert "later_act" in fastact.available()
    assert_everything_else_works()


def twice(register, **kw):
    register("chain", numpy_forward=lambda x: np.asarray(x) * kw["k"],
             numpy_derivative=lambda x: np.full(np.shape(x), kw["k"]), override=True)


@pytest.mark.parametrize("first_out", ["a", "b"])
def test_overrides_of_a_plugin_activation_chain_back(example, first_out):
    fastact.available()
    fastact.register_plugin(make_plugin("a", lambda r: twice(r, k=2.0)))
    fastact.register_plugin(make_plugin("b", lambda r: twice(r, k=3.0)))
    assert fastact.chain(np.ones(1))[0] == 3.0 and fastact.get("chain").plugin == "b"
    fastact.unregister_plugin(first_out)
    assert fastact.chain(np.ones(1))[0] == (2.0 if first_out == "b" else 3.0)
    fastact.unregister_plugin("b" if first_out == "a" else "a")
    assert "chain" not in fastact.available()
    with pytest.raises(AttributeError):
        fastact.chain


def test_register_plugin_twice_and_a_plugin_that_raises_in_process(example):
    fastact.available()
    fastact.register_plugin(make_plugin("dup", lambda r: None))
    with pytest.raises(ValueError, match="already registered"):
        fastact.register_plugin(make_plugin("dup", lambda r: None))

    def boom(register):
        register("half", numpy_forward=np.abs, numpy_derivative=np.sign)
        raise KeyError("oops")
    _, warned = plugin_warnings(lambda: fastact.register_plugin(make_plugin("boomer", boom)))
    assert len(warned) == 1 and "plugin 'boomer' raised in register_activations: KeyError" in warned[0]
    with pytest.raises(LookupError, match="boomer"):
        fastact.get("half")
    fastact.unregister_plugin("boomer")
    with pytest.raises(LookupError, match="no activation named 'half'"):
        fastact.get("half")


REG = "register({name!r}, numpy_forward=f, numpy_derivative=df, {extra})"
MALFORMED = [
    # (id, register call, name to look up, fragments of the reason)
    ("bad-name", REG.format(name="Bad-Name", extra=""), "Bad-Name", "not a valid activation name"),
    ("name-ends-backward", REG.format(name="foo_backward", extra=""), "foo_backward",
     "not a valid activation name"),
    ("keyword-name", REG.format(name="lambda", extra=""), "lambda", "not a valid activation name"),
    ("no-implementation", "register('noimpl', formula='x')", "noimpl",
     "give exactly one of kernels=, numpy_forward=", "got none"),
    ("two-implementations", REG.format(name="twoimpl", extra="functions=(f, f, f, f)"), "twoimpl",
     "give exactly one", "['numpy_forward', 'functions']"),
    ("derivative-missing", "register('noderiv', numpy_forward=f)", "noderiv",
     "numpy_forward and numpy_derivative must both be callables"),
    ("derivative-alone", "register('onlyderiv', numpy_derivative=df)", "onlyderiv",
     "numpy_derivative= and numpy_derivative_from_y= go with numpy_forward="),
    ("forward-not-callable", "register('noncall', numpy_forward=1.5, numpy_derivative=df)",
     "noncall", "must both be callables"),
    ("from-y-not-callable", REG.format(name="badfromy", extra="numpy_derivative_from_y='y'"),
     "badfromy", "numpy_derivative_from_y must be callable"),
    ("check-not-callable", REG.format(name="badcheck", extra="check=3"), "badcheck",
     "check must be callable"),
    ("check-refuses-defaults", REG.format(name="baddefault", extra="params={'a': 0.0}, check=check_a"),
     "baddefault", "check refuses the default hyper-parameters", "a must be nonzero"),
    ("params-not-a-dict", REG.format(name="badparams", extra="params=[('a', 1.0)]"), "badparams",
     "params must be a dict", "list"),
    ("param-not-identifier", REG.format(name="badkey", extra="params={'1a': 1.0}"), "badkey",
     "hyper-parameter name '1a' is not an identifier"),
    ("param-reserved", REG.format(name="outparam", extra="params={'out': 1.0}"), "outparam",
     "'out' is taken by the forms' arguments"),
    ("param-underscore", REG.format(name="underparam", extra="params={'_fa_impl': 1.0}"),
     "underparam", "starts with _"),
    ("unknown-keyword", REG.format(name="unknownkw", extra="colour='red', size=2"), "unknownkw",
     "unknown keyword(s) colour, size"),
    ("positional-arguments", "register('posargs', f, df)", "posargs", "positionally"),
    ("bad-kind", REG.format(name="badkind", extra="kind='sideways'"), "badkind",
     "kind must be one of"),
    ("numpy-not-elementwise", REG.format(name="perchan", extra="kind='per-channel'"), "perchan",
     "make elementwise activations"),
    ("bad-flag", REG.format(name="badflag", extra="monotonic='yes'"), "badflag",
     "monotonic must be True, False or None"),
    ("bad-saturating", REG.format(name="badsat", extra="saturating='up'"), "badsat",
     "saturating must be"),
    ("from-y-flag-with-numpy", REG.format(name="fromyflag", extra="backward_from_y=True"),
     "fromyflag", "backward_from_y= goes with functions="),
    ("functions-not-four", "register('fewfuncs', functions=(f, df))", "fewfuncs",
     "functions must be (forward, forward_, backward, backward_)"),
    ("kernels-not-a-capsule", "register('notcap', kernels=object())", "notcap",
     "kernels must be the capsule of a fa_kernel table", "got object"),
    ("capsule-of-another-name", "register('othercap', kernels=capsule('other.capsule'))",
     "othercap", "capsule named 'other.capsule', not a fastact kernel table"),
    ("capsule-of-another-abi", "register('oldabi', kernels=capsule('fastact.kernel_table.v0'))",
     "oldabi", "'fastact.kernel_table.v0'", "rebuild the plugin"),
    ("kernel-name-without-kernels", REG.format(name="stray", extra="kernel_name='k'"), "stray",
     "kernel_name= goes with kernels="),
]


@pytest.mark.parametrize("call, name, fragments",
                         [pytest.param(c, n, f, id=i) for i, c, n, *f in MALFORMED])
def test_malformed_description(example, broken, call, name, fragments):
    dist, ep, _ = broken(hook(call, "register('wellformed', numpy_forward=f, numpy_derivative=df)"))
    names, warned = plugin_warnings(fastact.available)
    message = check_fault(warned, dist, ep, f"registered activation {name!r}",
                          "which is unavailable: malformed description", *fragments)
    assert name not in names and "wellformed" in names     # the rest of the plugin is loaded
    with pytest.raises(LookupError) as info:
        fastact.get(name)
    assert str(info.value) == f"fastact.get: {message.removeprefix('fastact: ')}"
    assert [r.activations for r in fastact.plugins() if r.name == ep] == [["wellformed"]]


# --------------------------------------------------------------- thread safety
def test_eight_threads_load_plugins_exactly_once(example, monkeypatch):
    loads, hooks = [], []
    real_load = example.load

    def slow_load():
        loads.append(threading.get_ident())
        time.sleep(0.2)            # the other threads arrive while this one loads
        real_load()
    monkeypatch.setattr(example, "load", slow_load)

    def counting(register):
        hooks.append(1)
        register("counted", numpy_forward=np.abs, numpy_derivative=np.sign)
    fastact.register_plugin(make_plugin("counting", counting))     # queued until loading
    barrier, results, errors = threading.Barrier(8), [None] * 8, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = fastact.available()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(loads) == 1 and hooks == [1]
    assert all(r == results[0] for r in results), "a thread saw a half-loaded registry"
    assert {"relu", "snake", "gaussian", "counted"} <= set(results[0])
    assert len(fastact.plugins()) == 2


def test_a_hook_may_query_the_registry_while_loading(example):
    seen = []

    def curious(register):
        seen.append(list(fastact.available()))
        register("curious_act", numpy_forward=np.abs, numpy_derivative=np.sign)
    fastact.register_plugin(make_plugin("curious", curious))
    names = fastact.available()
    assert "relu" in seen[0] and "curious_act" not in seen[0] and "curious_act" in names


# ------------------------------------------------ the contract of NumPy plugins
def sigmoid(x):
    with np.errstate(all="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


class ContractPlugin:
    """A test plugin with a derivative from y (the example's have none)."""

    @fastact.hookimpl
    def register_activations(self, register):
        register("npsigmoid", numpy_forward=sigmoid,
                 numpy_derivative=lambda x: sigmoid(x) * sigmoid(-np.asarray(x)),
                 numpy_derivative_from_y=lambda y: y * (1.0 - y))
        register("wrongshape", numpy_forward=lambda x: np.ravel(x)[:-1],
                 numpy_derivative=lambda x: np.float64(1.0))
        register("complexout", numpy_forward=lambda x: x + 1j, numpy_derivative=lambda x: x + 1j)
        register("writer", numpy_forward=self.writer, numpy_derivative=self.writer)
        register("unlocker", numpy_forward=self.unlocker, numpy_derivative=self.unlocker)
        register("ident", numpy_forward=lambda x: x, numpy_derivative=lambda x: x,
                 numpy_derivative_from_y=lambda y: y)
        register("raiser", numpy_forward=self.raiser, numpy_derivative=self.raiser,
                 params={"func": 1.0})

    @staticmethod
    def writer(x):
        x[...] = 0.0
        return x

    @staticmethod
    def unlocker(x):
        x.flags.writeable = True
        x[...] = 0.0
        return x

    @staticmethod
    def raiser(x, func):
        raise ZeroDivisionError(f"plugin bug (func={func})")


@pytest.fixture(scope="module")
def contract(plugin_dir):
    """One registry for the contract tests: the example plugin through its entry point
    (FASTACT_LOAD_PLUGINS naming it) and ContractPlugin in-process."""
    saved = dict(vars(fastact))
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(plugin_dir))
        mp.setenv(registry.LOAD_PLUGINS_ENV, EXAMPLE)
        mp.setattr(registry, "REGISTRY", registry.Registry())
        fastact.register_plugin(ContractPlugin(), "contract")
        _, warned = plugin_warnings(fastact.available)
        assert warned == []
        yield registry.REGISTRY
    module = vars(fastact)
    for key in set(module) - set(saved):
        del module[key]
    module.update(saved)


@dataclass(frozen=True)
class P:
    """What test_contract needs of a catalog Param."""
    name: str
    default: float
    check: str = ""
    choices: tuple = ()


@dataclass(frozen=True)
class A:
    """What test_contract needs of a catalog Activation."""
    name: str
    backward_from_y: bool = False
    params: tuple = ()
    constraint: str = ""
    variants: tuple = ()

    @property
    def numeric_params(self):
        return self.params


@dataclass(frozen=True)
class Case:
    """A plugin activation as a tests/reference.py Case (no kinks)."""
    act: A
    params: tuple = ()
    default: bool = True

    kwargs = property(lambda self: dict(self.params))
    numeric = property(lambda self: dict(self.params))
    id = property(lambda self: self.act.name + "".join(f"[{k}={v}]" for k, v in self.params))

    def kinks(self, params=None):
        return ()


SNAKE = A("snake", params=(P("a", 1.0, "nonzero"),))
CASES = [Case(A("gaussian")), Case(SNAKE, (("a", 1.0),)), Case(SNAKE, (("a", -2.5),), False),
         Case(A("npsigmoid", backward_from_y=True)), Case(A("ident", backward_from_y=True))]
PARAMETRIC = [c for c in CASES if c.act.params]


def cases(which=CASES):
    return [pytest.param(c, id=c.id) for c in which]


# The contract tests of the built-ins, run unchanged on the plugin activations.
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", cases())
def test_forward_returns_a_new_array_of_the_same_dtype(contract, case, dtype):
    tc.test_forward_returns_a_new_array_of_the_same_dtype(case, dtype)


@pytest.mark.parametrize("case", cases())
def test_float16_is_computed_in_float32(contract, case):
    tc.test_float16_is_computed_in_float32(case)


@pytest.mark.parametrize("itype", [np.int8, np.int32, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("case", cases())
def test_integer_and_bool_inputs_are_computed_in_float64(contract, case, itype):
    tc.test_integer_and_bool_inputs_are_computed_in_float64(case, itype)


@pytest.mark.parametrize("case", cases())
def test_array_likes_and_scalars(contract, case):
    tc.test_array_likes_and_scalars(case)


@pytest.mark.parametrize("gt, xt", tc.MIXED, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("case", cases())
def test_backward_result_dtype_of_mixed_inputs(contract, case, gt, xt):
    tc.test_backward_result_dtype_of_mixed_inputs(case, gt, xt)


@pytest.mark.parametrize("bad, name", tc.BAD_DTYPES, ids=["c128", "c64", "object", "str"])
@pytest.mark.parametrize("case", cases())
def test_unsupported_dtypes_raise_type_error_naming_the_dtype(contract, case, bad, name):
    tc.test_unsupported_dtypes_raise_type_error_naming_the_dtype(case, bad, name)


@pytest.mark.parametrize("case", cases())
def test_in_place_forms_accept_only_writeable_float_ndarrays(contract, case):
    tc.test_in_place_forms_accept_only_writeable_float_ndarrays(case)


@pytest.mark.parametrize("xt", [np.float64, np.float32, np.float16, np.int64, np.bool_])
@pytest.mark.parametrize("dtype", dtype_params())
@pytest.mark.parametrize("case", cases())
def test_in_place_backward_converts_x_and_y_to_the_grad_dtype(contract, case, dtype, xt):
    tc.test_in_place_backward_converts_x_and_y_to_the_grad_dtype(case, dtype, xt)


@pytest.mark.parametrize("case", cases())
def test_mismatched_shapes_raise_value_error(contract, case):
    tc.test_mismatched_shapes_raise_value_error(case)


@pytest.mark.parametrize("case", cases())
def test_backward_needs_exactly_one_of_x_and_y(contract, case):
    tc.test_backward_needs_exactly_one_of_x_and_y(case)


@pytest.mark.parametrize("dtype", dtype_params() + [pytest.param(np.dtype(np.float16), id="f16")])
@pytest.mark.parametrize("case", cases())
def test_out_is_filled_and_returned(contract, case, dtype):
    tc.test_out_is_filled_and_returned(case, dtype)


@pytest.mark.parametrize("case", cases())
def test_bad_out_raises_and_is_untouched(contract, case):
    tc.test_bad_out_raises_and_is_untouched(case)


@pytest.mark.parametrize("case", cases(PARAMETRIC))
def test_non_number_hyper_parameters_raise_type_error(contract, case):
    tc.test_non_number_hyper_parameters_raise_type_error(case)


@pytest.mark.parametrize("case", cases(PARAMETRIC))
def test_checked_hyper_parameters_raise_value_error(contract, case):
    tc.test_checked_hyper_parameters_raise_value_error(case)


@pytest.mark.parametrize("case", cases())
def test_hyper_parameters_are_keyword_only_and_names_checked(contract, case):
    tc.test_hyper_parameters_are_keyword_only_and_names_checked(case)


@pytest.mark.parametrize("case", cases(PARAMETRIC))
def test_numeric_hyper_parameters_accept_ints_and_numpy_scalars(contract, case):
    tc.test_numeric_hyper_parameters_accept_ints_and_numpy_scalars(case)


# Beyond the shared tests: values, views, edge cases and misbehaving plugin functions.
@pytest.mark.parametrize("case", cases())
def test_values_are_the_plugin_functions_rounded(contract, case):
    """float64: exactly the NumPy functions (times grad); float32: those rounded."""
    info = fastact.get(case.act.name)
    api, kw = Api(case), case.kwargs
    x = sample_inputs(case, np.float64, n=200)
    g = np.linspace(-2, 2, x.size)
    f, df = info.reference, info.reference_derivative
    for dt in (np.float64, np.float32):
        xd, gd = x.astype(dt), g.astype(dt)
        want = np.asarray(f(xd.astype(np.float64), **kw)).astype(dt)
        assert same_bits(api.forward(xd), want)
        dwant = (gd * np.asarray(df(xd.astype(np.float64), **kw)).astype(dt)).astype(dt)
        assert same_bits(api.backward(gd, xd), dwant)
        x_, g_ = xd.copy(), gd.copy()
        assert api.forward_(x_) is x_ and same_bits(x_, want)
        assert api.backward_(g_, xd) is g_ and same_bits(g_, dwant)


def test_npsigmoid_from_y_matches_the_builtin(contract):
    x = np.linspace(-10, 10, 101)
    g = np.linspace(-1, 1, 101)
    y = fastact.npsigmoid(x)
    np.testing.assert_allclose(y, fastact.sigmoid(x), rtol=1e-15)
    np.testing.assert_allclose(fastact.npsigmoid_backward(g, y=y),
                               fastact.sigmoid_backward(g, y=y), rtol=1e-15, atol=1e-300)
    g_ = g.copy()
    fastact.npsigmoid_backward_(g_, y=y)
    assert same_bits(g_, fastact.npsigmoid_backward(g, y=y))


def test_nan_and_inf_without_warnings(contract):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1e300, -1e300, 30.0])
    with np.errstate(over="ignore"):
        inputs = [x.astype(dt) for dt in (np.float64, np.float32, np.float16)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for xd in inputs:
            dt = xd.dtype
            gauss = fastact.gaussian(xd)
            assert same_bits(gauss[:4], np.array([np.nan, 0, 0, 1], dt))
            assert (gauss[4:] == 0).all()
            dg = fastact.gaussian_backward(np.ones_like(xd), xd)
            assert np.isnan(dg[0]) and (dg[1:] == 0).all()
            snake = fastact.snake(xd, a=0.5)
            assert np.isnan(snake[0]) and same_bits(snake[1:3], xd[1:3])
            ds = fastact.snake_backward(np.ones_like(xd), xd, a=0.5)
            assert np.isnan(ds[:3]).all() and ds[3] == 1
            assert same_bits(fastact.snake(xd, a=1e300)[3:6], xd[3:6])  # a x overflows: x


@pytest.mark.parametrize("name", ["gaussian", "snake", "npsigmoid"])
def test_strided_and_negative_stride_views(contract, name):
    base = np.linspace(-4, 4, 60).reshape(6, 10)
    f, b = getattr(fastact, name), getattr(fastact, name + "_backward")
    f_, b_ = getattr(fastact, name + "_"), getattr(fastact, name + "_backward_")
    for view in (base[::2, ::-3], base[::-1], base.T, base[:, ::-1][1:5, 2:9:2]):
        dense = np.ascontiguousarray(view)
        assert same_bits(f(view), f(dense))
        assert same_bits(b(view[::-1], view), b(np.ascontiguousarray(view[::-1]), dense))
        out = np.zeros((view.shape[1], view.shape[0])).T      # an F-ordered out
        assert f(view, out=out) is out and same_bits(out, f(dense))
        work = base.copy()
        sub = work[::-1, ::2]
        before = work.copy()
        assert f_(sub) is sub and same_bits(sub, f(base[::-1, ::2]))
        untouched = np.ones_like(before, dtype=bool)
        untouched[::-1, ::2] = False
        assert same_bits(work[untouched], before[untouched])
        grad = base.copy()[:, ::-1]
        assert b_(grad, base) is grad and same_bits(grad, b(base[:, ::-1], base))


@pytest.mark.parametrize("name", ["gaussian", "snake", "npsigmoid"])
def test_zero_d_and_empty_arrays(contract, name):
    f, b = getattr(fastact, name), getattr(fastact, name + "_backward")
    f_, b_ = getattr(fastact, name + "_"), getattr(fastact, name + "_backward_")
    for dt in (np.float64, np.float32, np.float16):
        x = np.array(0.75, dt)
        y = f(x)
        assert type(y) is np.ndarray and y.shape == () and y.dtype == dt
        d = b(np.array(2.0, dt), x)
        assert type(d) is np.ndarray and d.shape == () and d.dtype == dt
        assert same_bits(d, b(np.array([2.0], dt), x.reshape(1))[0])
        for shape in [(0,), (3, 0), (0, 4, 2)]:
            e = np.zeros(shape, dt)
            assert f(e).shape == shape and f(e).dtype == dt
            assert b(e, e).shape == shape and b(e, e).dtype == dt
    x, g = np.array(0.75), np.array(2.0)
    assert f_(x) is x and same_bits(x, f(np.array(0.75)))
    assert b_(g, np.array(0.75)) is g and same_bits(g, b(np.array(2.0), np.array(0.75)))
    e = np.zeros((2, 0), np.float32)
    assert f_(e) is e and b_(e, e) is e


def test_hyper_parameter_errors_name_the_function(contract):
    x, g = np.linspace(-1, 1, 5), np.ones(5)
    x0 = x.copy()
    calls = {"snake": lambda a: fastact.snake(x, a=a),
             "snake_": lambda a: fastact.snake_(x, a=a),
             "snake_backward": lambda a: fastact.snake_backward(g, x, a=a),
             "snake_backward_": lambda a: fastact.snake_backward_(g, x, a=a)}
    for func, call in calls.items():
        for bad in (0.0, -0.0, np.inf, np.nan):
            with pytest.raises(ValueError, match=rf"^{func}: a must be finite and nonzero"):
                call(bad)
        for bad in ("1", True, None):
            with pytest.raises(TypeError, match=rf"^{func}: a must be a real number"):
                call(bad)
    assert same_bits(x, x0) and (g == 1).all()
    with pytest.raises(TypeError, match="unexpected keyword argument 'b'"):
        fastact.snake(x, b=1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'a'"):
        fastact.gaussian(x, a=1.0)


def test_wrong_shape_from_the_plugin_is_a_value_error(contract):
    x, g, out = np.linspace(-1, 1, 6), np.ones(6), np.full(6, 7.0)
    x0 = x.copy()
    calls = [("wrongshape", "forward", lambda: fastact.wrongshape(x)),
             ("wrongshape", "forward", lambda: fastact.wrongshape(x, out=out)),
             ("wrongshape_", "forward", lambda: fastact.wrongshape_(x)),
             ("wrongshape_backward", "derivative", lambda: fastact.wrongshape_backward(g, x, out=out)),
             ("wrongshape_backward_", "derivative", lambda: fastact.wrongshape_backward_(g, x))]
    for func, what, call in calls:
        with pytest.raises(ValueError, match=rf"^{func}: the plugin's {what} returned shape "
                                             rf"\((5,)?\) for an input of shape \(6,\)"):
            call()
    assert same_bits(x, x0) and (g == 1).all() and (out == 7).all()
    with pytest.raises(TypeError, match="^complexout: the plugin's forward returned dtype complex128"):
        fastact.complexout(x)


@pytest.mark.parametrize("name", ["writer", "unlocker"])
def test_the_plugin_cannot_modify_the_callers_arrays(contract, name):
    x = np.linspace(-1, 1, 6)
    x0, g = x.copy(), np.ones(6)
    for call in (lambda: getattr(fastact, name)(x), lambda: getattr(fastact, name + "_")(x),
                 lambda: getattr(fastact, name + "_backward")(g, x),
                 lambda: getattr(fastact, name + "_backward_")(g, x)):
        with pytest.raises(ValueError, match="read-only|WRITEABLE") as info:
            call()
        assert any(f"{name}" in n and "raised by the plugin's" in n
                   for n in getattr(info.value, "__notes__", [])), info.value
        assert same_bits(x, x0) and (g == 1).all()


def test_a_plugin_returning_its_input_still_gives_a_new_array(contract):
    for x in (np.linspace(-1, 1, 4), np.linspace(-1, 1, 4, dtype=np.float32), np.array(0.5)):
        x0 = x.copy()
        y = fastact.ident(x)
        assert not np.shares_memory(x, y) and y.flags.writeable and y.flags.owndata
        y[...] = 9
        assert same_bits(x, x0)
        d = fastact.ident_backward(np.ones_like(x), y=x)
        assert not np.shares_memory(d, x) and same_bits(d, x0)


def test_plugin_exceptions_propagate_with_a_note(contract):
    x = np.ones(3)
    with pytest.raises(ZeroDivisionError, match=r"plugin bug \(func=2.0\)") as info:
        fastact.raiser(x, func=2.0)
    assert any("raiser: raised by the plugin's forward" in n for n in info.value.__notes__)
    with pytest.raises(ZeroDivisionError):
        fastact.raiser_backward_(np.ones(3), x)
    assert (x == 1).all()



def test_two_distributions_with_one_entry_point_name_both_load(tmp_path):
    """Entry-point names are chosen by each distribution: a clash between two of them is
    no fault; the second plugin is named distribution:entry point."""
    src = """
    import numpy as np, fastact
    @fastact.hookimpl
    def register_activations(register):
        register("{name}", numpy_forward=np.tanh, numpy_derivative=np.cos)
    """
    plugin_env.write_distribution(tmp_path, "dist-a", "clash_a", src.format(name="clash_a"),
                                  {"same": "clash_a"})
    plugin_env.write_distribution(tmp_path, "dist-b", "clash_b", src.format(name="clash_b"),
                                  {"same": "clash_b"})
    result = plugin_env.run_python("""
        import warnings, fastact
        warnings.simplefilter("error")
        print(sorted(p.name for p in fastact.plugins()), fastact.clash_a.__name__,
              fastact.clash_b.__name__)
    """, extra_path=[tmp_path], FASTACT_LOAD_PLUGINS=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['dist-b:same',", "'same']", "clash_a", "clash_b"]
