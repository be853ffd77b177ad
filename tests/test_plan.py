"""The chapter graph (chapters.PAGES) says what each page makes; the notebooks and README agree with it."""
import ast
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

from aebottleneck import chapters, plan
from aebottleneck.config import ARCHS, RunConfig, load_profile
from aebottleneck.chapters import in_book_order

ROOT = Path(__file__).resolve().parents[1]
MODULES = {path.stem for path in (ROOT / "src" / "aebottleneck").glob("*.py")} - {"__init__"}
CHAPTERS = {path.stem for path in (ROOT / "src" / "aebottleneck" / "chapters").glob("*.py")} - {"__init__"}


def notebook_tree(name: str) -> ast.Module:
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    return ast.parse("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))


def published(tree: ast.Module) -> set[str]:
    """The CSV names of a notebook's pages.publish calls (the string 'x.csv' in their path argument,
    or in the value assigned to the variable passed as it)."""
    names, assigned = set(), {t.id: n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                              for t in n.targets if isinstance(t, ast.Name)}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        func = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if func == "publish" and len(call.args) > 1:
            path = call.args[1]
            path = assigned.get(path.id, path) if isinstance(path, ast.Name) else path
            names |= {c.value[:-4] for c in ast.walk(path)
                      if isinstance(c, ast.Constant) and str(c.value).endswith(".csv")}
    return names


def called(tree: ast.Module) -> set[str]:
    """'module.function' of every package function the notebook calls as module.function(...), a
    chapter module's as 'chapters.module.function' (as chapters.PAGES names it)."""
    return {f"{'chapters.' if c.func.value.id in CHAPTERS else ''}{c.func.value.id}.{c.func.attr}"
            for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
            and isinstance(c.func.value, ast.Name) and c.func.value.id in MODULES | CHAPTERS}


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(f"aebottleneck.{module}"), name, None)


def test_every_page_of_the_book_is_in_the_graph():
    assert sorted(chapters.PAGES) == sorted(in_book_order())
    steps = {s.chapter for s in plan.STEPS}
    assert all(set(page.steps or ()) <= steps for page in chapters.PAGES.values())


@pytest.mark.parametrize("name", sorted(chapters.PAGES))
def test_a_page_writes_the_tables_and_calls_the_functions_the_graph_names(name):
    page, tree = chapters.PAGES[name], notebook_tree(name)
    assert published(tree) == set(page.tables), "chapters.PAGES and the page's pages.publish calls disagree"
    calls = called(tree)
    reachable = " ".join(inspect.getsource(f) for dotted in calls if callable(f := resolve(dotted))
                         if dotted.split(".")[0] not in ("pages", "plots"))
    for dotted in [*page.tables.values(), *page.figures]:
        assert callable(resolve(dotted)), f"{dotted} is not a function of the package"
        assert dotted in calls or f"{dotted.rpartition('.')[2]}(" in reachable, \
            f"{name} does not call {dotted}, nor does a function it calls"


def test_published_finds_the_csv_of_a_publish_call():
    tree = ast.parse('pages.publish(t, out / "a.csv", "c")\npublish(u, settings.tables_dir() / "b.csv", "c")\n'
                     'frame.to_csv("c.csv")\npath = out / "d.csv"\npublish(v, path, "c")')
    assert published(tree) == {"a", "b", "d"}


def test_the_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    assert chapters.with_readme_table(readme) == readme, "README is out of date: python -m aebottleneck.plan --readme"


def test_the_readme_says_what_the_book_trains_as_the_record_plans_it():
    """Each step's runs, counted once, from the committed record (stage 2 and the confounds follow
    stage 1's selection): README holds that table, and its total is every distinct run."""
    settings, rows = load_profile("paper"), plan.record_rows()
    readme = (ROOT / "README.md").read_text()
    assert plan.with_readme_tables(readme, settings, rows) == readme, "README is out of date: python -m aebottleneck.plan --readme"
    steps = plan.step_runs(settings, rows)
    planned = [c.key() for _, configs in steps for c in configs or []]
    assert len(planned) == len(set(planned)) and f"| all | | {len(planned)} |" in plan.runs_table(settings, rows)


def test_a_step_that_waits_is_said_to_wait():
    settings = load_profile("quick")
    table = plan.runs_table(settings, {})
    assert "| `penalty_variants/table` | stage 2: the variant seeds at the selected alphas | planned once" in table
    assert f"| `decorrelation` | {plan.STEPS[0].reason} | {len(plan._decorrelation(settings, {}))} |" in table


def test_a_readme_without_its_markers_is_refused():
    with pytest.raises(ValueError, match="must hold each of"):
        chapters.with_readme_table("# no markers\n")


def test_the_readme_picture_names_every_module():
    readme = (ROOT / "README.md").read_text()
    picture = readme.split("### The package in one picture", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    named = set(re.findall(r"[a-z_]+", picture))
    assert not (MODULES | CHAPTERS) - named, f"modules missing from README's picture: {sorted((MODULES | CHAPTERS) - named)}"


def test_a_piece_is_estimated_at_its_architectures_cost():
    assert set(plan.ARCH_COST) == set(ARCHS)                       # a new architecture needs its cost
    mlp = RunConfig(epochs=10, train_size=25_000)
    conv = RunConfig(epochs=10, train_size=25_000, arch="conv", hidden=(16, 32))
    assert plan.model_epochs([mlp]) == 5.0
    assert plan.model_epochs([conv]) == 5.0 * plan.ARCH_COST["conv"] > plan.model_epochs([mlp])
