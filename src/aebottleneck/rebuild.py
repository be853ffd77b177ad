"""The paper pages from the committed record: `make pages` executes them, `make check-pages`
checks the committed ones against it.

A page of plan.PAGES reads only what the record keeps, so once every run and evaluation of its
steps is recorded, the record alone rebuilds it: executed under AEB_FROM_RECORD=1 nothing trains
and the local run cache is not read, so every machine with a clone (and the data) makes the same
page. `make pages` writes the executed pages to book/executed/ and their tables to
results/<profile>/, both committed. `make check-pages` (in `make test`) executes them into a
scratch folder and compares the numbers they glue and the tables they write with the committed
ones; a difference names the page and the command that refreshes it. Pages the record does not
complete yet are listed with what they lack and skipped, so record progress always lands.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from . import plan, record
from .config import load_profile, project_root

REFRESH = "make pages"            # the command that rewrites the committed pages and tables
RTOL = 1e-9                       # tables compare to this relative tolerance: sums may round differently on another CPU


def ready_pages(profile: str) -> tuple[list[str], dict[str, list[str]]]:
    """The pages of plan.PAGES the record completes (in book order), and what each other page lacks."""
    from .execute import chapters

    settings, rows = load_profile(profile), plan.record_rows()
    gaps = {page: plan.page_gaps(settings, rows, page) for page in plan.PAGES}
    order = [page for page in chapters() if page in plan.PAGES]
    return [page for page in order if not gaps[page]], {page: lines for page, lines in gaps.items() if lines}


@contextlib.contextmanager
def environment(**values: str):
    """os.environ with `values` set (the notebooks' kernels inherit it), restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute_from_record(pages: list[str], profile: str, output_dir: Path, results: Path | None = None) -> None:
    """Execute `pages` with runs from the record only (nothing trains); tables go to `results`
    (AEB_RESULTS_DIR) when given, else to the project's results/."""
    from .execute import execute

    extra = {"AEB_RESULTS_DIR": str(results)} if results is not None else {}
    with environment(AEB_FROM_RECORD="1", **extra):
        execute(pages, profile, {}, output_dir)


def glued(path: Path) -> dict[str, str]:
    """name -> the plain text (a repr) of each value an executed notebook glues."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap:
                values[scrap["name"]] = output.get("data", {}).get(scrap.get("mime_prefix", "") + "text/plain", "")
    return values


def same_value(a: str | None, b: str | None) -> bool:
    """Two glued reprs agree: numbers to RTOL, anything else exactly."""
    import ast
    import math

    try:
        x, y = ast.literal_eval(a), ast.literal_eval(b)
    except (ValueError, SyntaxError, TypeError):
        return a == b
    numbers = (int, float)
    if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
        return math.isclose(x, y, rel_tol=RTOL) or (math.isnan(x) and math.isnan(y))
    return a == b


def compare_glue(new: Path, old: Path) -> list[str]:
    """The glued values in which two executed copies of a page differ (a missing page is one)."""
    if not old.is_file():
        return [f"{old} is not committed"]
    fresh, committed = glued(new), glued(old)
    return [f"{old.name}: glued {name!r} is {committed.get(name, '(absent)')} in the committed page, "
            f"{fresh.get(name, '(absent)')} from the record"
            for name in sorted(set(fresh) | set(committed)) if not same_value(fresh.get(name), committed.get(name))]


def compare_table(new: Path, old: Path) -> list[str]:
    """Whether a committed table holds what the record gives (runs.csv: the rows of the chapters
    in `new`); numbers to RTOL."""
    if not old.is_file():
        return [f"{old} is not committed"]
    fresh, committed = pd.read_csv(new), pd.read_csv(old)
    if new.name == "runs.csv":
        committed = committed[committed.chapter.isin(set(fresh.chapter))].reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(fresh, committed, check_dtype=False, rtol=RTOL)
    except AssertionError as exc:
        return [f"{old}: differs from what the record gives ({' '.join(str(exc).split())[:300]})"]
    return []


def check(profile: str) -> list[str]:
    """Execute the pages the record completes into a scratch folder and compare them with the
    committed pages and tables; the differences found (none: the committed ones are current)."""
    pages, _ = ready_pages(profile)
    if not pages:
        return []
    problems = []
    with tempfile.TemporaryDirectory(prefix="aeb-pages-") as scratch:
        scratch = Path(scratch)
        execute_from_record(pages, profile, scratch / "executed", scratch / "results")
        for page in pages:
            problems += compare_glue(scratch / "executed" / f"{page}.ipynb",
                                     project_root() / "book" / "executed" / f"{page}.ipynb")
        for table in sorted((scratch / "results" / profile).glob("*.csv")):
            problems += compare_table(table, project_root() / "results" / profile / table.name)
    return problems


def summary(profile: str) -> str:
    """Which pages the record completes and what the others lack."""
    pages, gaps = ready_pages(profile)
    lines = [f"pages from the record ({profile} profile, {len(plan.record_rows())} runs recorded at this code version): "
             f"{', '.join(pages) or 'none yet'}"]
    lines += [f"  skipped {page}: {'; '.join(lines)}" for page, lines in gaps.items()]
    if record.stale():
        lines.append(f"  {record.stale()} record files are of another code version: the pages made from them are stale")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--check", action="store_true", help="compare the committed pages with the record; write nothing")
    parser.add_argument("--all", action="store_true", help="then execute every other chapter too (make book: "
                        "training what neither the run cache nor the record holds)")
    args = parser.parse_args(argv)
    from .execute import exit_code

    return exit_code(lambda: run(args.profile, args.check, args.all), refused=(record.RecordError,))


def run(profile: str, check_only: bool, everything: bool) -> int:
    """`make check-pages` (check_only), `make pages`, or with `everything` `make book`'s notebooks."""
    load_profile(profile)
    print(summary(profile), flush=True)
    if check_only:
        problems = check(profile)
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        if problems:
            print(f"error: the committed pages disagree with the record; run `{REFRESH}` and commit "
                  "book/executed/ and results/", file=sys.stderr)
        return 1 if problems else 0
    pages, _ = ready_pages(profile)
    output_dir = project_root() / "book" / "executed"
    if pages:
        execute_from_record(pages, profile, output_dir)
    if everything:
        from .execute import chapters, execute

        rest = [page for page in chapters() if page not in pages]
        print(f"then, training what neither the run cache nor the record holds: {', '.join(rest)}", flush=True)
        execute(rest, profile, {}, output_dir)
    return 0

if __name__ == "__main__":
    sys.exit(main())
