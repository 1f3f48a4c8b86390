"""Review of the plugin registry (issue 4): confirmed defects as failing tests, plus
passing tests for behaviours that lacked coverage.

Defects (these tests FAIL until fixed):
  * test_registry_queries_are_thread_safe
  * test_an_interrupted_load_is_not_marked_complete (SystemExit at import)
  * test_plugin_warning_as_error_does_not_disable_later_plugins
  * test_unregister_removes_an_activation_the_plugin_registered_twice
  * test_a_shadowed_distribution_is_not_loaded
  * test_an_activation_cannot_take_the_name_of_a_fastact_submodule
  * test_importing_the_build_submodule_does_not_load_plugins
  * test_register_after_the_hook_returned_is_not_silently_dropped
  * test_a_check_raising_a_value_error_subclass_keeps_it
  * test_compiled_hyper_parameter_defaults_accept_numpy_scalars
  * test_gelu_float64_does_not_depend_on_the_position_in_the_run
  * test_thread_split_is_bitwise_identical_for_builtins[16384-float64] (same cause)

Everything else passes and covers behaviour verified in the review.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
import types
import warnings

import numpy as np
import pytest

import fastact
import plugin_env
from reference import CASES

pytestmark = pytest.mark.filterwarnings("ignore::fastact.PluginWarning")


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def module_plugin(name, hook):
    """An in-process plugin module whose register_activations is `hook`."""
    module = types.ModuleType(name)
    module.register_activations = fastact.hookimpl(hook)
    return module


def numpy_hook(*names, override=False):
    def hook(register):
        for n in names:
            register(n, numpy_forward=np.tanh, numpy_derivative=np.cos, override=override)
    return hook


# ---------------------------------------------------------------- a kernel table by hand

class FaKernel(ctypes.Structure):
    """fastact/include/fastact_kernel.h's fa_kernel."""
    _fields_ = [("name", ctypes.c_char_p), ("grain", ctypes.c_ssize_t),
                ("forward", ctypes.c_void_p * 2), ("backward_x", ctypes.c_void_p * 2),
                ("backward_y", ctypes.c_void_p * 2)]


_KEEP = []          # tables and capsule names must outlive the capsules


def builtin_entry(name):
    """A copy of fastact's own fa_kernel entry `name` (its function pointers)."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    addr = get(fastact._api.kernels.KERNELS, b"fastact.kernel_table.v1")
    while True:
        entry = FaKernel.from_address(addr)
        if entry.name is None:
            raise KeyError(name)
        if entry.name == name.encode():
            copy = FaKernel()
            ctypes.pointer(copy)[0] = entry
            return copy
        addr += ctypes.sizeof(FaKernel)


def table_capsule(*entries):
    """A NULL-terminated table of `entries` in a capsule named like fastact's."""
    table = (FaKernel * (len(entries) + 1))(*entries)
    table[len(entries)].name = None
    cap_name = ctypes.create_string_buffer(b"fastact.kernel_table.v1")
    _KEEP.extend([table, cap_name, entries])
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    return new(ctypes.addressof(table), ctypes.addressof(cap_name), None)


def softplus_entry(name=b"mysoftplus", grain=None):
    entry = builtin_entry("softplus")
    entry.name = name
    _KEEP.append(name)
    if grain is not None:
        entry.grain = grain
    return entry


SOFTPLUS_PARAMS = {"beta": 1.0, "threshold": 20.0}


# =============================================================== DEFECTS (failing tests)

def test_registry_queries_are_thread_safe(fresh_registry):
    """registry.py:335 available() (and __dir__, get()'s hint, attribute_clash) iterate
    REGISTRY.activations / .plugins without the lock while register_plugin /
    unregister_plugin mutate them under it: 'dictionary changed size during iteration'."""
    fastact.available()
    errors, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                fastact.available()
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        k = 0
        while time.monotonic() < deadline and not errors:
            names = [f"race{k}_{j}" for j in range(30)]
            fastact.register_plugin(module_plugin(f"race{k}", numpy_hook(*names)), name=f"race{k}")
            fastact.unregister_plugin(f"race{k}")
            k += 1
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    assert not errors, errors[0]


def test_an_interrupted_load_is_not_marked_complete(tmp_path):
    """registry.py:86-98: ensure_loaded sets loaded=True in `finally`, and load() catches
    only Exception. A plugin that raises SystemExit at import (`sys.exit("needs X")`)
    makes fastact.available() exit the program, and even when caught the registry stays
    half-loaded for good: the plugins after it never load, with no warning."""
    site = plugin_env.install_plugins(_mkdir(tmp_path / "site"), "fastact-numpy-example")
    plugin_env.write_distribution(tmp_path / "site", "aaa-exits", "aaa_exits",
                                  'import sys\nsys.exit("aaa_exits needs libfoo")\n')
    proc = plugin_env.run_python("""
        import warnings, fastact
        try:
            fastact.available()
            print("first: ok")
        except BaseException as e:
            print("first: raised", type(e).__name__)
        print("gaussian:", "gaussian" in fastact.available())
        print("failed:", [p.name for p in fastact.plugins() if p.error])
    """, extra_path=[site], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    assert "gaussian: True" in proc.stdout, proc.stdout
    assert "aaa_exits" in proc.stdout.split("failed:")[1], proc.stdout


def test_plugin_warning_as_error_does_not_disable_later_plugins(tmp_path):
    """Same root cause (registry.py:86-98): with warnings as errors (pytest -W error,
    filterwarnings=error), the PluginWarning of one broken plugin escapes from inside
    load(); the registry is then marked loaded and every later plugin is missing for the
    rest of the process, although the caller handled the exception."""
    site = plugin_env.install_plugins(_mkdir(tmp_path / "site"), "fastact-numpy-example")
    plugin_env.write_distribution(tmp_path / "site", "aaa-dup", "aaa_dup", """
        import numpy as np, fastact
        @fastact.hookimpl
        def register_activations(register):
            register("relu", numpy_forward=np.tanh, numpy_derivative=np.cos)
    """)
    proc = plugin_env.run_python("""
        import warnings, fastact
        warnings.simplefilter("error", fastact.PluginWarning)
        try:
            fastact.available()
        except fastact.PluginWarning as e:
            print("warned:", e)
        warnings.simplefilter("ignore", fastact.PluginWarning)
        print("gaussian:", "gaussian" in fastact.available())
    """, extra_path=[site], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    assert "warned:" in proc.stdout
    assert "gaussian: True" in proc.stdout, proc.stdout


def test_unregister_removes_an_activation_the_plugin_registered_twice(fresh_registry):
    """registry.py:202-203 + 290-296: a plugin registering a name twice in its hook, the
    second time with override=True (e.g. replacing its own default), records its OWN first
    registration as what it overrode; unregister_plugin then 'restores' it. The
    activation of the unregistered plugin stays, and a built-in it overrode this way
    (fastact.relu) never comes back."""
    builtin_relu = fastact.relu

    def hook(register):
        register("twice", numpy_forward=np.tanh, numpy_derivative=np.cos)
        register("twice", numpy_forward=np.sin, numpy_derivative=np.cos, override=True)
        register("relu", numpy_forward=np.sin, numpy_derivative=np.cos, override=True)
        register("relu", numpy_forward=np.tanh, numpy_derivative=np.cos, override=True)

    fastact.register_plugin(module_plugin("twice", hook), name="twice")
    assert fastact.get("relu").plugin == "twice"
    fastact.unregister_plugin("twice")
    assert "twice" not in fastact.available()
    assert fastact.get("relu").builtin
    assert fastact.relu is builtin_relu


def test_a_shadowed_distribution_is_not_loaded(tmp_path):
    """registry.py:124-147: the de-duplication 'the same distribution twice on sys.path'
    only considers distributions that HAVE fastact entry points. When the active copy of a
    distribution (first on sys.path) has no plugin, a stale copy further down sys.path
    that has one is loaded, although importlib.metadata.entry_points() (which
    de-duplicates all distributions) reports no fastact plugin at all."""
    old, new = tmp_path / "old", tmp_path / "new"
    plugin_env.write_distribution(old, "shadowed-dist", "shadowed_old", """
        import numpy as np, fastact
        @fastact.hookimpl
        def register_activations(register):
            register("staleact", numpy_forward=np.tanh, numpy_derivative=np.cos)
    """, version="1.0")
    info = new / "shadowed_dist-2.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadowed-dist\nVersion: 2.0\n")
    proc = plugin_env.run_python("""
        import importlib.metadata as md, fastact
        print("active:", md.version("shadowed-dist"),
              [ep.name for ep in md.entry_points(group="fastact")])
        print("loaded:", "staleact" in fastact.available())
    """, extra_path=[new, old], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    assert "active: 2.0 []" in proc.stdout
    assert "loaded: False" in proc.stdout, proc.stdout


def test_an_activation_cannot_take_the_name_of_a_fastact_submodule(fresh_registry):
    """registry.py:223-230 (attribute_clash) checks only attributes already in
    vars(fastact). fastact.build is a submodule that is not imported at `import
    fastact`, so an activation named "build" is accepted: `from fastact import build`
    then returns the activation instead of the module, and `import fastact.build`
    later silently shadows fastact.build (the activation). Names of fastact's
    submodules (build, and the .pxd-only kernel/vmath, include) should be refused."""
    saved = sys.modules.pop("fastact.build", None)
    vars(fastact).pop("build", None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fastact.register_plugin(module_plugin("b", numpy_hook("build")), name="b")
            fastact.available()
        assert "build" not in fastact.available(), "an activation named 'build' was accepted"
        assert any("build" in str(w.message) for w in caught)
    finally:
        if saved is not None:
            sys.modules["fastact.build"] = saved
            vars(fastact)["build"] = saved


def test_importing_the_build_submodule_does_not_load_plugins(tmp_path):
    """`from fastact import build` (as a plugin's setup.py might write it) goes through
    fastact.__getattr__('build') before the submodule is imported
    (fastact/__init__.py:38-45), which loads every installed plugin, importing their
    (compiled) modules: a laziness violation for a pure build-time import."""
    site = plugin_env.install_plugins(_mkdir(tmp_path / "site"), "fastact-numpy-example")
    proc = plugin_env.run_python("""
        import sys, fastact
        from fastact import build
        from fastact.registry import REGISTRY
        print("module:", type(build).__name__)
        print("loaded:", REGISTRY.loaded, "fastact_numpy_example" in sys.modules)
    """, extra_path=[site], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    assert "module: module" in proc.stdout
    assert "loaded: False False" in proc.stdout, proc.stdout


def test_register_after_the_hook_returned_is_not_silently_dropped(fresh_registry):
    """_describe.py:71-74 / registry.py:194-198: the Registrar appends to a staging list
    that is only read while the hook runs. A plugin that keeps `register` and calls it
    later (lazily, from a callback) gets no activation, no error and no warning."""
    kept = []

    def hook(register):
        kept.append(register)
        register("early", numpy_forward=np.tanh, numpy_derivative=np.cos)

    fastact.available()
    fastact.register_plugin(module_plugin("late", hook), name="late")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kept[0]("lateact", numpy_forward=np.tanh, numpy_derivative=np.cos)
        except Exception:  # noqa: BLE001  (an error is an acceptable answer)
            return
    assert "lateact" in fastact.available() or caught, \
        "register() called after the hook returned was silently ignored"


def test_a_check_raising_a_value_error_subclass_keeps_it(fresh_registry):
    """_wrap.py:47-51 re-raises the check's error as type(exc)(f"{func}: {exc}"): an
    exception class whose constructor takes other arguments turns into an unrelated
    TypeError ("__init__() missing 1 required positional argument") that hides the
    plugin's message."""
    class HyperError(ValueError):
        def __init__(self, name, value):
            super().__init__(f"{name}={value!r} is refused")

    def check(a):
        if a < 0:
            raise HyperError("a", a)

    def hook(register):
        register("chk", numpy_forward=lambda x, a: x * a,
                 numpy_derivative=lambda x, a: np.full(x.shape, a),
                 params={"a": 1.0}, check=check)

    fastact.register_plugin(module_plugin("chk", hook), name="chk")
    with pytest.raises(ValueError, match="a=-1.0 is refused"):
        fastact.chk(np.ones(3), a=-1.0)


def test_compiled_hyper_parameter_defaults_accept_numpy_scalars(fresh_registry):
    """_describe.py:148-151 requires compiled-kernel defaults to be int/float, while a
    call accepts any numbers.Real (_wrap.py:43): a default of np.float32(1.0) (natural
    when the constants come from NumPy) makes the activation unavailable."""
    cap = table_capsule(softplus_entry(b"sp32"))

    def hook(register):
        register("sp32", kernels=cap, params={"beta": np.float32(1.0), "threshold": 20.0})

    fastact.register_plugin(module_plugin("sp32", hook), name="sp32")
    x = np.linspace(-5, 5, 11)
    assert fastact.get("sp32").params["threshold"] == 20.0
    np.testing.assert_array_equal(fastact.sp32(x), fastact.softplus(x))


GELU_X = float.fromhex("-0x1.560ec18952262p-1")       # -0.6680813293579144


def test_gelu_float64_does_not_depend_on_the_position_in_the_run(restore_threads):
    """The claim of pyx/_kernels.pyx.tp:13-16 ("the split never changes a result, so
    results are bitwise independent of the thread count") fails for gelu (exact) in
    float64 on the avx512 build (FASTACT_VARIANTS=avx512; other variants not checked):
    the vectorized body and the scalar remainder of
    gelu_forward_f64 / gelu_backward_x_f64 round differently (1 ULP), so a result
    depends on where the element falls relative to the end of its run (n mod 8). One
    thread: gelu(np.full(9, v)) holds two different values. With threads, moving the
    block boundary moves elements between body and remainder: 1 and 2 threads differ
    (test_thread_split_is_bitwise_identical_for_builtins[16384-float64]: gelu, n=49151,
    reversed view)."""
    fastact.set_num_threads(1)
    for n in (1, 7, 8, 9, 17):
        x = np.full(n, GELU_X)
        assert len({v.hex() for v in fastact.gelu(x)}) == 1, n
        assert len({v.hex() for v in fastact.gelu_backward(np.ones(n), x)}) == 1, n
    x = np.full(2 * 16384 + 7, GELU_X)
    fastact.set_num_threads(2)
    two = fastact.gelu(x)
    fastact.set_num_threads(1)
    assert two.tobytes() == fastact.gelu(x).tobytes()


# ===================================================== verified behaviour (passing tests)

# FASTACT_GRAIN_TRANSCENDENTAL, an intermediate size, FASTACT_GRAIN_CHEAP (cheap kernels only)
THREAD_GRAINS = (16384, 131072, 1048576)


def _acts():
    seen, result = set(), []
    for c in CASES:
        if c.act.name not in seen:
            seen.add(c.act.name)
            result.append(c)
    return result


def _layouts(n, dtype, rng):
    base = (rng.standard_normal(3 * n + 7) * 6).astype(dtype)
    yield "reversed", base[:n][::-1]
    yield "step-3", base[::-3][:n]
    yield "step2", base[:2 * n:2]
    m = n // 2
    yield "2d-transposed", base[:2 * m].reshape(2, m).T
    yield "2d-both-reversed", base[:2 * m].reshape(m, 2)[::-1, ::-1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("grain", THREAD_GRAINS)
def test_thread_split_is_bitwise_identical_for_builtins(dtype, grain, restore_threads):
    """The dispatch splits a run into blocks (x + lo*sx*itemsize, negative strides
    included); 1, 2 and 3 threads give the same bits for every elementwise built-in,
    forward, in place, backward from x and y, on views around multiples of the grain."""
    rng = np.random.default_rng(grain)
    cheap_only = grain == 1048576        # 2M-element runs: only where they split
    ks = (1, 2, 3) if grain == 16384 else ((2,) if cheap_only else (2, 3))
    acts = [c for c in _acts() if c.act.cheap] if cheap_only else _acts()
    bad = []
    for k in ks:
        for n in (grain * k - 1, grain * k + 1):
            layouts = list(_layouts(n, dtype, rng))
            for lname, x in (layouts[:2] if cheap_only else layouts):
                g = np.full(x.shape, 1.5, dtype)
                for case in acts:
                    name, kw = case.act.name, case.kwargs
                    results = []
                    for t in (1, 2, 3):
                        fastact.set_num_threads(t)
                        y = getattr(fastact, name)(x, **kw)
                        xi = x.copy(order="K")[...]
                        getattr(fastact, name + "_")(xi, **kw)
                        d = getattr(fastact, name + "_backward")(g, x, **kw)
                        gi = g.copy()
                        getattr(fastact, name + "_backward_")(gi, x, **kw)
                        r = [y.tobytes(), xi.tobytes(), d.tobytes(), gi.tobytes()]
                        if case.act.backward_from_y:
                            r.append(getattr(fastact, name + "_backward")(g, y=y, **kw).tobytes())
                        results.append(r)
                    if not results[0] == results[1] == results[2]:
                        bad.append((name, n, lname))
    assert not bad, bad[:10]


def test_a_kernel_table_by_hand_runs_like_the_builtin(fresh_registry, restore_threads):
    """A compiled plugin whose kernels are fastact's own softplus entry goes through the
    same dispatch: same bits as fastact.softplus in all four forms, any thread count,
    reversed and strided views, and the y-backward."""
    cap = table_capsule(softplus_entry())
    fastact.register_plugin(module_plugin("hand", lambda register: register(
        "mysoftplus", kernels=cap, params=SOFTPLUS_PARAMS)), name="hand")
    rng = np.random.default_rng(3)
    for t in (1, 2, 3):
        fastact.set_num_threads(t)
        for n in (1, 16383, 16385, 3 * 16384 + 1):
            x = (rng.standard_normal(2 * n) * 8).astype(np.float32)[::-2]
            g = np.ones_like(x)
            for sfx in ("", "_backward"):
                args = (x,) if not sfx else (g, x)
                a = getattr(fastact, "mysoftplus" + sfx)(*args, beta=2.0)
                b = getattr(fastact, "softplus" + sfx)(*args, beta=2.0)
                assert a.tobytes() == b.tobytes()
            y = fastact.softplus(x)
            assert fastact.mysoftplus_backward(g, y=y).tobytes() == \
                fastact.softplus_backward(g, y=y).tobytes()


@pytest.mark.parametrize("grain", [0, 1, 7])
def test_tiny_grains_split_into_at_most_the_thread_count(fresh_registry, grain, restore_threads):
    """grain 0 (no minimum) and tiny grains: every n from 0 to 40 and 3 threads give the
    built-in's bits (block_count never divides by zero nor exceeds n)."""
    cap = table_capsule(softplus_entry(b"tiny", grain=grain))
    fastact.register_plugin(module_plugin("tiny", lambda register: register(
        "tiny", kernels=cap, params=SOFTPLUS_PARAMS)), name="tiny")
    fastact.set_num_threads(3)
    for n in range(41):
        x = np.linspace(-30, 30, 2 * n + 1)[::-2]
        assert fastact.tiny(x).tobytes() == fastact.softplus(x).tobytes()
        g = x.copy()
        fastact.tiny_backward_(g, g)
        assert g.tobytes() == fastact.softplus_backward(x, x).tobytes()


@pytest.mark.parametrize("field, slot, message", [
    ("backward_y", 1, "backward_y is set for one dtype only"),
    ("forward", 0, "forward and backward_x must be set for float32 and float64"),
    ("backward_x", 1, "forward and backward_x must be set for float32 and float64"),
    ("grain", None, "grain must be >= 0"),
])
def test_incomplete_kernel_entries_are_refused_not_called(fresh_registry, field, slot, message):
    """A NULL kernel for one dtype (which would be called as a NULL pointer) or a
    negative grain makes the activation unavailable, with the reason."""
    entry = softplus_entry(b"holey")
    if field == "grain":
        entry.grain = -1
    else:
        getattr(entry, field)[slot] = None
    cap = table_capsule(entry)
    with pytest.warns(fastact.PluginWarning, match=message):
        fastact.register_plugin(module_plugin("holey", lambda register: register(
            "holey", kernels=cap, params=SOFTPLUS_PARAMS)), name="holey")
        fastact.available()
    with pytest.raises(LookupError, match=message):
        fastact.get("holey")


def test_no_backward_y_on_both_dtypes_refuses_y(fresh_registry):
    entry = softplus_entry(b"noy")
    entry.backward_y[0] = entry.backward_y[1] = None
    cap = table_capsule(entry)
    fastact.register_plugin(module_plugin("noy", lambda register: register(
        "noy", kernels=cap, params=SOFTPLUS_PARAMS)), name="noy")
    assert not fastact.get("noy").backward_from_y
    x = np.ones(3, np.float32)
    for form in (fastact.noy_backward, fastact.noy_backward_):
        with pytest.raises(TypeError, match="noy has no backward from the output y"):
            form(x.copy(), y=x)


def test_kernel_name_missing_from_the_table(fresh_registry):
    cap = table_capsule(softplus_entry(b"present"))
    fastact.register_plugin(module_plugin("missing", lambda register: register(
        "absent", kernels=cap)), name="missing")
    with pytest.raises(LookupError, match="the kernel table has no entry named 'absent'"):
        fastact.get("absent")


def _probe(fn, name, *args, **kw):
    try:
        r = fn(*args, **kw)
        return ("ok", type(r).__name__, getattr(r, "dtype", None), getattr(r, "shape", None))
    except Exception as exc:  # noqa: BLE001
        return ("error", type(exc).__name__, str(exc).replace(name, "NAME"))


def _ro(a):
    a = a.copy()
    a.flags.writeable = False
    return a


_F = np.linspace(-3, 3, 10, dtype=np.float32)
CONTRACT_CALLS = {
    "python float": ("", (1.5,), {}), "bool": ("", (np.array([True, False]),), {}),
    "float16": ("", (_F.astype(np.float16),), {}), "complex": ("", (_F.astype(complex),), {}),
    "longdouble": ("", (_F.astype(np.longdouble),), {}), "str": ("", ("abc",), {}),
    "big-endian": ("", (_F.astype(">f4"),), {}),
    "out dtype": ("", (_F,), {"out": np.empty(10)}),
    "out shape": ("", (_F,), {"out": np.empty(11, np.float32)}),
    "out list": ("", (_F,), {"out": [0.0] * 10}),
    "out read-only": ("", (_F,), {"out": _ro(np.empty(10, np.float32))}),
    "out broadcast": ("", (_F,), {"out": np.broadcast_to(np.empty(1, np.float32), (10,))}),
    "in place int": ("_", (np.arange(3),), {}), "in place list": ("_", ([1.0],), {}),
    "in place read-only": ("_", (_ro(_F),), {}),
    "in place float16": ("_", (_F.astype(np.float16),), {}),
    "in place big-endian": ("_", (_F.astype(">f4"),), {}),
    "in place 0-d": ("_", (np.array(1.0),), {}),
    "backward no x": ("_backward", (_F,), {}),
    "backward x and y": ("_backward", (_F, _F), {"y": _F}),
    "backward shapes": ("_backward", (_F, _F[:5]), {}),
    "backward mixed": ("_backward", (_F, _F.astype(np.float64)), {}),
    "backward ints": ("_backward", (np.arange(3), np.arange(3)), {}),
    "backward float16+int8": ("_backward", (_F.astype(np.float16), np.arange(10, dtype=np.int8)), {}),
    "backward scalars": ("_backward", (1.0, 2.0), {}),
    "backward bad out": ("_backward", (_F, _F), {"out": np.empty(10)}),
    "backward_ int grad": ("_backward_", (np.arange(3), np.arange(3.0)), {}),
    "backward_ read-only": ("_backward_", (_ro(_F), _F), {}),
    "backward_ x float64": ("_backward_", (_F.copy(), _F.astype(np.float64)), {}),
    "backward_ shapes": ("_backward_", (_F.copy(), _F[:3]), {}),
    "backward_ 0-d": ("_backward_", (np.array(1.0), 1.0), {}),
}


@pytest.mark.parametrize("call", list(CONTRACT_CALLS))
def test_plugin_forms_match_the_builtin_side_by_side(fresh_registry, call):
    """A NumPy plugin and a hand-made compiled plugin answer every call like
    fastact.softplus: the same result type/dtype/shape or the same error type and
    message (the function's name aside)."""
    cap = table_capsule(softplus_entry(b"ksp"))

    def hook(register):
        register("ksp", kernels=cap, params=SOFTPLUS_PARAMS)
        register("nsp", numpy_forward=lambda x: np.logaddexp(0, x),
                 numpy_derivative=lambda x: 1 / (1 + np.exp(-x)),
                 numpy_derivative_from_y=lambda y: -np.expm1(-y))

    fastact.register_plugin(module_plugin("side", hook), name="side")
    sfx, args, kw = CONTRACT_CALLS[call]
    want = _probe(getattr(fastact, "softplus" + sfx), "softplus",
                  *[a.copy() if isinstance(a, np.ndarray) and a.flags.writeable else a
                    for a in args], **kw)
    for name in ("ksp", "nsp"):
        got = _probe(getattr(fastact, name + sfx), name,
                     *[a.copy() if isinstance(a, np.ndarray) and a.flags.writeable else a
                       for a in args], **kw)
        assert got == want, (name, got, want)


def test_overlapping_out_and_in_place_with_aliasing_views(fresh_registry):
    """out= a reversed view of x, backward_ with x a reversed view of grad: the result is
    what non-overlapping arrays give, for compiled and NumPy plugins alike."""
    cap = table_capsule(softplus_entry(b"ksp"))

    def hook(register):
        register("ksp", kernels=cap, params=SOFTPLUS_PARAMS)
        register("nsp", numpy_forward=lambda x: np.logaddexp(0, x),
                 numpy_derivative=lambda x: 1 / (1 + np.exp(-x)))

    fastact.register_plugin(module_plugin("alias", hook), name="alias")
    base = np.linspace(-4, 4, 40001)
    for name in ("ksp", "nsp"):
        fwd, bwd_ = getattr(fastact, name), getattr(fastact, name + "_backward_")
        x = base.copy()
        expected = fwd(x.copy())[::-1]
        fwd(x, out=x[::-1])
        np.testing.assert_allclose(x, expected, rtol=1e-15)
        g = base.copy()
        expected = g * fastact.softplus_backward(np.ones_like(g), g[::-1])
        bwd_(g, g[::-1])
        np.testing.assert_allclose(g, expected, rtol=1e-15)


def test_load_plugins_env_of_only_separators_loads_none_silently(tmp_path):
    site = plugin_env.install_plugins(_mkdir(tmp_path / "site"), "fastact-numpy-example")
    for value in (",", " , ", " "):
        proc = plugin_env.run_python("""
            import warnings, fastact
            warnings.simplefilter("error")
            print("gaussian" in fastact.available(), fastact.plugins())
        """, extra_path=[site], FASTACT_LOAD_PLUGINS=value)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "False []", (value, proc.stdout)


def test_plugin_functions_pickle_across_processes(tmp_path):
    """fastact.NAME of a plugin pickles by reference (module fastact, its name) and
    unpickles in a fresh process, where it loads the plugins on first use."""
    site = plugin_env.install_plugins(_mkdir(tmp_path / "site"), "fastact-numpy-example")
    blob = tmp_path / "f.pkl"
    proc = plugin_env.run_python(f"""
        import pickle, fastact
        from fastact.registry import REGISTRY
        pickle.dump(fastact.snake_backward, open({str(blob)!r}, "wb"))
    """, extra_path=[site], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    proc = plugin_env.run_python(f"""
        import pickle, numpy as np, fastact
        from fastact.registry import REGISTRY
        assert not REGISTRY.loaded
        f = pickle.load(open({str(blob)!r}, "rb"))
        print(f is fastact.snake_backward, f(np.ones(2), np.zeros(2), a=2.0))
    """, extra_path=[site], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("True [1. 1.]"), proc.stdout


def test_import_fastact_and_builtins_do_not_load_plugins(tmp_path):
    site = plugin_env.install_plugins(_mkdir(tmp_path / "site"), "fastact-numpy-example")
    proc = plugin_env.run_python("""
        import sys, numpy as np, fastact
        from fastact.registry import REGISTRY
        fastact.relu(np.ones(3)); fastact.softplus_backward(np.ones(3), np.ones(3))
        fastact.set_num_threads(1); fastact.get_include(); fastact.hookimpl
        print(REGISTRY.loaded, "fastact_numpy_example" in sys.modules,
              "importlib.metadata" in sys.modules)
        fastact.gaussian
        print(REGISTRY.loaded, "fastact_numpy_example" in sys.modules)
    """, extra_path=[site], FASTACT_LOAD_PLUGINS=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["False False False", "True True"], proc.stdout


def test_override_chain_and_unregister_in_any_order_leave_no_trace(fresh_registry):
    """Two plugins overriding the same built-in and each other, unregistered in either
    order: the built-in comes back, module attributes are exactly as before."""
    saved = dict(vars(fastact))
    for order in (("a", "b"), ("b", "a")):
        fastact.register_plugin(module_plugin("a", numpy_hook("relu", "gelu", override=True)), name="a")
        fastact.register_plugin(module_plugin("b", numpy_hook("relu", override=True)), name="b")
        assert fastact.get("relu").plugin == "b" and fastact.get("gelu").plugin == "a"
        for name in order:
            fastact.unregister_plugin(name)
        assert fastact.get("relu").builtin and fastact.get("gelu").builtin
        now = vars(fastact)
        changed = [k for k in set(saved) | set(now)
                   if k not in ("_wrap",) and saved.get(k) is not now.get(k)]
        assert not changed, changed
