"""Per-variant builds of plugins' kernel modules: fastact.build (kernel_extensions, the
build_ext that drops what the compiler cannot build) and fastact.import_kernels (which
variant a plugin gets at run time). The modules here are stand-ins (plain .py files named
like the variant modules), so no compiler is needed; test_plugin_compiled.py builds and
runs the real thing."""

import sys
import textwrap

import pytest

import fastact
import fastact.build
from fastact import _api, _variants
from plugin_env import ROOT, run_python


@pytest.fixture
def fake_plugin(tmp_path, monkeypatch):
    """make(*variants, broken=()) -> the module name of a package 'fakeplug_<n>' whose
    '_kernels_<variant>' modules exist for `variants` (those in `broken` raise on import);
    every module records its import in fakeplug_log."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "fakeplug_log", type(sys)("fakeplug_log"))
    sys.modules["fakeplug_log"].imported = []
    made = []

    def make(*variants, broken=()):
        pkg = tmp_path / f"fakeplug_{len(made)}"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        for v in variants:
            (pkg / f"_kernels_{v}.py").write_text(textwrap.dedent(f"""
                import fakeplug_log
                fakeplug_log.imported.append({v!r})
                if {v in broken!r}:
                    raise RuntimeError("illegal instruction (pretend)")
                VARIANT = {v!r}
                """))
        made.append(pkg.name)
        return f"{pkg.name}._kernels"

    yield make
    for mod in [m for m in sys.modules if m.startswith("fakeplug_")]:
        del sys.modules[mod]


def imported():
    return sys.modules["fakeplug_log"].imported


# ------------------------------------------------------------------- run time
def test_exported():
    assert fastact.import_kernels is _variants.import_kernels
    assert "import_kernels" in fastact.__all__
    assert _api.VARIANTS == tuple(_variants.VARIANTS)
    assert set(_api.runnable_variants()) <= set(_api.cpu_variants())
    assert _api.cpu_variants()[0] == "baseline" and _api.kernels.VARIANT in _api.cpu_variants()


def test_best_built_variant_up_to_fastacts(fake_plugin, monkeypatch):
    monkeypatch.setattr(_api, "cpu_variants", lambda: ("baseline", "avx2", "avx512"))
    monkeypatch.setattr(_api.kernels, "VARIANT", "avx512", raising=False)
    name = fake_plugin("baseline", "avx2", "avx512")
    assert fastact.import_kernels(name).VARIANT == "avx512" and imported() == ["avx512"]
    name = fake_plugin("baseline", "avx2")                  # avx512 not built: the next one
    assert fastact.import_kernels(name).VARIANT == "avx2"


def test_never_above_fastacts_variant(fake_plugin, monkeypatch):
    monkeypatch.setattr(_api, "cpu_variants", lambda: ("baseline", "avx2", "avx512"))
    name = fake_plugin("baseline", "avx2", "avx512")
    for fastacts in ("baseline", "avx2"):
        monkeypatch.setattr(_api.kernels, "VARIANT", fastacts, raising=False)
        assert fastact.import_kernels(name).VARIANT == fastacts
    assert imported() == ["baseline", "avx2"]


def test_cpu_checked_before_importing(fake_plugin, monkeypatch):
    """A variant the CPU cannot run is never imported, even if fastact's were higher."""
    monkeypatch.setattr(_api, "cpu_variants", lambda: ("baseline",))
    monkeypatch.setattr(_api.kernels, "VARIANT", "avx512", raising=False)
    name = fake_plugin("baseline", "avx2", "avx512", broken=("avx2", "avx512"))
    assert fastact.import_kernels(name).VARIANT == "baseline"
    assert imported() == ["baseline"]


def test_a_built_variant_that_fails_to_import_raises(fake_plugin, monkeypatch):
    """Only a variant that was not built is skipped: a broken one is not hidden."""
    monkeypatch.setattr(_api, "cpu_variants", lambda: ("baseline", "avx2"))
    monkeypatch.setattr(_api.kernels, "VARIANT", "avx2", raising=False)
    name = fake_plugin("baseline", "avx2", broken=("avx2",))
    with pytest.raises(RuntimeError, match="pretend"):
        fastact.import_kernels(name)


def test_import_error_when_no_allowed_variant_was_built(fake_plugin, monkeypatch):
    monkeypatch.setattr(_api, "cpu_variants", lambda: ("baseline", "avx2", "avx512"))
    monkeypatch.setattr(_api.kernels, "VARIANT", "avx2", raising=False)
    name = fake_plugin("avx512")                 # only above fastact's variant
    with pytest.raises(ImportError) as info:
        fastact.import_kernels(name)
    msg = str(info.value)
    assert name in msg and f"{name}_avx2" in msg and f"{name}_baseline" in msg
    assert f"{name}_avx512," not in msg.split("built:")[0]      # not looked for
    assert "built: avx512" in msg and "'avx2'" in msg and info.value.name == name
    assert imported() == []
    with pytest.raises(ImportError, match="built: none"):
        fastact.import_kernels(fake_plugin())
    with pytest.raises(ModuleNotFoundError):
        fastact.import_kernels("no_such_fastact_plugin._kernels")
    with pytest.raises(TypeError):
        fastact.import_kernels(None)


def test_fastact_kernels_lowers_plugins_in_a_fresh_process(tmp_path):
    for v in ("baseline", "avx2", "avx512"):
        (tmp_path / "fakeplug_env").mkdir(exist_ok=True)
        (tmp_path / "fakeplug_env" / "__init__.py").write_text("")
        (tmp_path / "fakeplug_env" / f"_kernels_{v}.py").write_text(f"VARIANT = {v!r}\n")
    for wanted in _api.runnable_variants():
        proc = run_python("""
            import fastact
            m = fastact.import_kernels("fakeplug_env._kernels")
            print(fastact._api.kernels.VARIANT, m.__name__)
            """, extra_path=[tmp_path], FASTACT_KERNELS=wanted)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [wanted, f"fakeplug_env._kernels_{wanted}"]


# ----------------------------------------------------------------- build side
def test_one_definition_of_the_variant_flags():
    sys.path.insert(0, str(ROOT / "pyx"))
    try:
        import codegen
    finally:
        sys.path.remove(str(ROOT / "pyx"))
    assert codegen.VARIANTS == _variants.VARIANTS and fastact.build.VARIANTS is _variants.VARIANTS
    assert list(_variants.VARIANTS) == ["baseline", "avx2", "avx512"]
    assert _variants.VARIANTS["avx2"] == ["-march=x86-64-v3"]
    assert _variants.VARIANTS["avx512"] == ["-march=x86-64-v4", "-mprefer-vector-width=512"]
    assert "codegen.VARIANTS" in (ROOT / "setup.py").read_text()
    for flags in _variants.VARIANTS.values():
        assert "-march=native" not in flags and "-ffast-math" not in flags
    assert fastact.compile_args() == _variants.compile_args()


def test_kernel_extensions(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTACT_VARIANTS", raising=False)
    monkeypatch.setattr(_variants.platform, "machine", lambda: "x86_64")
    src = tmp_path / "plug" / "_kernels.pyx"
    src.parent.mkdir()
    src.write_text("# cython: language_level=3\nX = 1\n")
    exts = fastact.build.kernel_extensions("plug._kernels", [str(src), "plug/helper.c"],
                                           include_dirs=["inc"], extra_compile_args=["-g0"],
                                           define_macros=[("A", "1")])
    assert [e.name for e in exts] == ["plug._kernels_baseline", "plug._kernels_avx2",
                                      "plug._kernels_avx512"]
    for ext, (variant, flags) in zip(exts, _variants.VARIANTS.items()):
        copy = src.with_name(f"_kernels_{variant}.pyx")
        assert ext.sources == [str(copy), "plug/helper.c"]
        assert copy.read_text().endswith(src.read_text()) and copy.read_text().startswith("# Generated")
        assert ext.include_dirs == ["inc", fastact.get_include()]
        assert ext.extra_compile_args == fastact.compile_args() + flags + ["-g0"]
        assert ext.define_macros == [("A", "1"), ("FASTACT_BUILD_VARIANT", f'"{variant}"')]
        assert fastact.build.variant_of(ext) == variant
    mtime = src.with_name("_kernels_avx2.pyx").stat().st_mtime_ns
    fastact.build.kernel_extensions("plug._kernels", [src])          # unchanged: not rewritten
    assert src.with_name("_kernels_avx2.pyx").stat().st_mtime_ns == mtime
    assert [e.name for e in fastact.build.kernel_extensions("plug._kernels", [src],
                                                              variants=["baseline"])] == [
        "plug._kernels_baseline"]
    monkeypatch.setattr(_variants.platform, "machine", lambda: "aarch64")
    assert [e.name for e in fastact.build.kernel_extensions("plug._kernels", [src])] == [
        "plug._kernels_baseline"]
    for bad in ([], [str(src), str(src)], ["a.c"]):
        with pytest.raises(ValueError, match=r"\.pyx"):
            fastact.build.kernel_extensions("plug._kernels", bad)
    with pytest.raises(ValueError, match="unknown"):
        fastact.build.kernel_extensions("plug._kernels", [src], variants=["sse9"])


def test_build_ext_drops_what_the_compiler_cannot_build(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTACT_VARIANTS", raising=False)
    monkeypatch.setattr(_variants.platform, "machine", lambda: "x86_64")
    src = tmp_path / "_kernels.pyx"
    src.write_text("X = 1\n")
    from setuptools import Extension

    class Compiler:
        """Knows -march=x86-64-v3 but not x86-64-v4."""
        def compile(self, sources, output_dir=None, extra_postargs=()):
            if "-march=x86-64-v4" in extra_postargs:
                raise RuntimeError("unknown -march")
            return []

    class Command:
        compiler = Compiler()
        announced = []

        def announce(self, msg, level=1):
            self.announced.append(msg)

    cmd = Command()
    cmd.extensions = fastact.build.kernel_extensions("p._kernels", [src]) + [Extension("p._other", ["o.c"])]
    assert fastact.build.drop_unbuildable(cmd) == ["baseline", "avx2"]
    assert [e.name for e in cmd.extensions] == ["p._kernels_baseline", "p._kernels_avx2", "p._other"]
    assert "p._kernels_avx512" in cmd.announced[0]
    assert issubclass(fastact.build.build_ext, __import__("setuptools").Command)
