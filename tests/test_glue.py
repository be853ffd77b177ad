"""Every glued value the book's text pastes is one its page declares (chapters.PAGES), checked
from the sources alone, without a build; and the runner refuses a page that glues a name it
does not declare, or prints a Python warning."""
import json
from pathlib import Path

import nbformat
import pytest

from aebottleneck import chapters
from aebottleneck.execute import printed_warnings, undeclared_glue

ROOT = Path(__file__).resolve().parents[1]


def texts():
    """(file, page of a bare name, markdown) of every book page and every notebook's markdown cell."""
    for path in sorted((ROOT / "book").glob("*.md")):
        yield path.name, None, path.read_text()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                yield path.name, path.stem, "".join(cell["source"])


REFERENCES = [(file, page, name) for file, page, text in texts() for page, name in chapters.glue_references(text, page)]


def test_the_book_pastes_glued_values():
    assert len(REFERENCES) > 300                       # the parser finds them (343 when this was written)


@pytest.mark.parametrize("file, page, name", REFERENCES)
def test_each_pasted_value_is_declared_by_its_page(file, page, name):
    assert page in chapters.PAGES, f"{file}: {name!r} names no page of chapters.PAGES ({page!r})"
    assert not chapters.undeclared(page, [name]), f"{file}: {name!r} is not among chapters.PAGES[{page!r}].glue"


@pytest.mark.parametrize("text, expected", [
    ("see {glue:text}`executed/decorrelation.ipynb::rmse_penalty_8:.4f` here", [("decorrelation", "rmse_penalty_8")]),
    ("{glue:text}`ex_n_seeds` seeds", [("explorer", "ex_n_seeds")]),
    ("```{glue:} paired_table1\n:doc: executed/decorrelation.ipynb\n```", [("decorrelation", "paired_table1")]),
    ("```{glue:figure} figure1\n:name: f\n```", [("explorer", "figure1")]),
])
def test_references_are_parsed(text, expected):
    assert chapters.glue_references(text, "explorer") == expected


def test_slots_stand_for_their_values_only():
    assert not chapters.undeclared("decorrelation", ["rmse_penalty_8", "rmse_standard_16", "alpha_2"])
    assert chapters.undeclared("decorrelation", ["rmse_squared_8", "rmse_penalty_x", "rmse_penalty"]) == [
        "rmse_penalty", "rmse_penalty_x", "rmse_squared_8"]
    assert chapters.undeclared("explorer", ["pv_n_runs"]) == ["pv_n_runs"]      # another page's name


def glued_notebook(path: Path, names: list[str]) -> Path:
    cell = nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/plain": "1"}, metadata={"scrapbook": {"name": name, "mime_prefix": ""}})
        for name in names])
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


def test_the_runner_finds_an_undeclared_glue_name(tmp_path):
    path = glued_notebook(tmp_path / "explorer.ipynb", ["ex_n_seeds", "provenance", "ex_typo"])
    assert undeclared_glue("explorer", path) == ["ex_typo"]
    assert undeclared_glue("not_a_page", path) == []            # a notebook outside the book: not checked


def test_the_runner_finds_a_printed_warning(tmp_path):
    stream = [nbformat.v4.new_output("stream", name="stderr", text="progress 3/5\n/x.py:9: PerformanceWarning: slow.\n  f()\n")]
    path = tmp_path / "page.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=stream)]), path)
    assert printed_warnings(path) == ["PerformanceWarning: slow."]
    assert printed_warnings(glued_notebook(tmp_path / "clean.ipynb", ["provenance"])) == []
