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
    from aebottleneck.execute import chapters

    ORDER = chapters()

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
