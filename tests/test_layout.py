"""The project's shape: layout, one dependency list, clean source notebooks, the book bridge."""
import json
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_top_level_layout():
    for name in ("book", "notebooks", "src", "tests", ".ci"):
        assert (ROOT / name).is_dir(), name
    for name in ("_config.yml", "_toc.yml", "environment.yml", "README.md", "pyproject.toml",
                 "Makefile", ".gitignore", ".ci/run"):
        assert (ROOT / name).is_file(), name


def test_book_toc_is_the_top_level_toc():
    link = ROOT / "book" / "_toc.yml"
    assert link.is_symlink() and link.resolve() == (ROOT / "_toc.yml").resolve()


def test_environment_yml_installs_pyproject_dependencies():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pip_section, inside = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if stripped == "- pip:":
            inside = True
        elif inside and stripped.startswith("- "):
            pip_section.append(stripped[2:].strip())
    assert sorted(pip_section) == sorted([*declared, "-e ."])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_source_notebook_is_clean_and_parameterised(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name} has outputs: run `make strip`"
    tagged = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    assert any(line.startswith("profile =") for line in "".join(tagged[0]["source"]).splitlines())


def test_every_notebook_is_executed_and_in_the_toc():
    from aebottleneck.chapters import in_book_order

    ORDER = in_book_order()

    assert sorted(ORDER) == sorted(p.stem for p in NOTEBOOKS)
    toc = (ROOT / "_toc.yml").read_text()
    for name in ORDER:
        assert f"file: executed/{name}" in toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_papermill_sees_every_parameter(path):
    """papermill's parser skips lines it cannot read (an apostrophe in a comment is enough)."""
    import ast

    from aebottleneck.execute import declared_parameters

    notebook = json.loads(path.read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    assigned = {node.targets[0].id for node in ast.parse("".join(cell["source"])).body}
    assert set(declared_parameters(path)) == assigned


# The shape of the code a researcher extends (issue 22): short functions, imports in one
# direction, notebooks that orchestrate (their tables are built in src and written by pages.publish).
PACKAGE = ROOT / "src" / "aebottleneck"
SOURCE = sorted(PACKAGE.rglob("*.py"))                          # the core and chapters/ (one module per page)
NOTEBOOK_LINES = 483   # 833 code lines when the redesign began, 376 after it, 408 with the confounds chapter (26, 10 of them its parameters), 432 with the explorer page (15), 451 with the speed page's record plan (5) and the referee's fixes, 467 with each page importing its chapter module (issue 35: a line per page), 477 with provenance on every page that trains (7) and the confounds baseline split by code (3), 481 with the compression page's equal joint rate (4), 483 with the referee's fixes of session 21 (the entropy-gap view named once for its runaway mark and its formats): a page grows by moving code to src


def test_no_function_is_longer_than_60_lines():
    import ast

    long = [f"{path.relative_to(PACKAGE)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in SOURCE for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60]
    assert not long


def test_the_package_imports_in_one_direction():
    import ast
    from graphlib import CycleError, TopologicalSorter

    def dotted(path: Path) -> str:                                    # chapters/verdict.py -> chapters.verdict
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {dotted(path) for path in SOURCE}
    imports = {dotted(path): set() for path in SOURCE}
    for path in SOURCE:
        package = dotted(path).split(".")[:-1] if path.name != "__init__.py" else dotted(path).split(".")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:          # from .x import y, from .. import x
                base = package[:len(package) - node.level + 1]
                names = [node.module] if node.module else [alias.name for alias in node.names]
                imports[dotted(path)] |= {m for m in (".".join([*base, *n.split(".")]) for n in names) if m in modules}
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as err:
        pytest.fail(f"modules that import each other, directly or through others: {err.args[1]}")


def code_lines(path: Path) -> list[str]:
    """The code lines of a notebook's code cells, blank lines and comments left out."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return [line for c in cells for line in "".join(c["source"]).splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_notebooks_orchestrate_and_stay_short():
    lines = {path.stem: code_lines(path) for path in NOTEBOOKS}
    assert sum(map(len, lines.values())) <= NOTEBOOK_LINES
    writes = [f"{name}: {line.strip()}" for name, code in lines.items() for line in code if "save_csv(" in line]
    assert not writes, "a page writes its tables with pages.publish, built by a function of src"
