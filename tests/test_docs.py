"""The examples of the README and of docs/ run, the README's activation table matches
the catalog, and the `python -m fastact` overview works."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastact

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("page", ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                                       for p in (ROOT / "docs").glob("*.md"))])
def test_python_examples_run(page):
    """Every ```python block of the page runs (blocks of one page share a namespace)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), re.S)
    assert blocks, f"{page} has no python example"
    namespace = {}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)


def test_readme_quick_start_is_two_commands():
    block = re.search(r"## Quick start\n.*?```sh\n(.*?)```", README, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "python -m fastact" in commands[0] and "pytest" in commands[1]


def test_readme_activation_table_matches_catalog():
    sys.path.insert(0, str(ROOT / "pyx"))
    try:
        import codegen
    finally:
        sys.path.pop(0)
    assert codegen.readme_with_table(README, codegen.load_catalog()) == README, \
        "README's activation table is stale: run `python pyx/codegen.py --readme`"


def test_every_public_function_documents_its_formula():
    for act in fastact.ACTIVATIONS:
        for suffix in ("", "_", "_backward", "_backward_"):
            doc = getattr(fastact, act.name + suffix).__doc__
            assert act.name in doc and "Range" in doc


def test_every_layer_activation_has_its_forms_and_docs():
    """The learnable, random and axis-wise activations of the catalog are exported with
    the forms their entry promises, each documented, and documented in docs/."""
    from fastact._catalog import LAYER_ACTIVATIONS

    docs = "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    for act in LAYER_ACTIVATIONS:
        suffixes = ("", "_", "_backward", "_backward_") if act.in_place else ("", "_backward")
        for suffix in suffixes:
            assert getattr(fastact, act.name + suffix).__doc__, act.name + suffix
        if not act.in_place:
            assert not hasattr(fastact, act.name + "_"), f"{act.name} has no in-place form"
        assert act.signature.split("(")[0] + "(" in docs, f"docs/ do not show {act.signature}"


def test_python_m_fastact_prints_every_activation():
    out = subprocess.run([sys.executable, "-m", "fastact"], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    assert "openmp" in out
    for act in fastact.ACTIVATIONS:
        assert re.search(rf"^{act.name}\b", out, re.M), act.name


def test_type_stub_matches_the_runtime_signatures():
    import ast
    import inspect

    stub = ast.parse((ROOT / "fastact" / "_api.pyi").read_text())
    declared = {node.name: [a.arg for a in node.args.args + node.args.kwonlyargs]
                for node in stub.body if isinstance(node, ast.FunctionDef)}
    for name in fastact._api.__all__:
        runtime = list(inspect.signature(getattr(fastact, name)).parameters)
        assert declared.get(name) == runtime, name


def test_plugin_guide_excerpts_are_the_example_plugin():
    """The compiled-plugin code shown in docs/plugins.md is the code of
    plugins/fastact-squareplus (built and tested by test_plugin_compiled.py): every
    block after "## A compiled plugin" appears verbatim in one of its files, a line
    "..." separating excerpts of the same file."""
    guide = (ROOT / "docs" / "plugins.md").read_text()
    section = guide.split("## A compiled plugin", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:cython|py|toml)\n(.*?)```", section, re.S)
    assert len(blocks) >= 4, "the compiled-plugin section shows its code"
    plugin = ROOT / "plugins" / "fastact-squareplus"
    sources = [p.read_text() for p in plugin.rglob("*") if p.suffix in (".pyx", ".py", ".toml")]
    for block in blocks:
        for excerpt in re.split(r"^\.\.\.\n", block, flags=re.M):
            assert any(excerpt.strip() in src for src in sources), \
                f"docs/plugins.md shows code that is not in {plugin}:\n{excerpt}"
