"""The paper pages from the committed record: `make pages` executes them, `make check-pages`
checks the committed ones against it.

A page of chapters.PAGES reads only what the record keeps, so once every run and evaluation of its
steps is recorded, the record alone rebuilds it: executed under AEB_FROM_RECORD=1 nothing trains
and the local run cache is not read, so every machine with a clone (and the data) makes the same
page. `make pages` writes the executed pages to book/executed/ and their tables to
results/<profile>/, both committed. `make check-pages` (in `make test`) executes them into a
scratch folder and compares the numbers they glue and the tables they write with the committed
ones; a difference names the page and the command that refreshes it. Pages the record does not
complete yet are listed with what they lack and skipped, so record progress always lands. A
committed page made at another code version (CODE_VERSION) that the record cannot rebuild yet
gets a warning under its title saying so and what the record lacks (`make pages` writes it; CI
fails on a stale page that does not carry it). `make book` runs `--all`: the record's pages, then
every other chapter, training what neither the run cache nor the record holds.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from unittest import mock
from pathlib import Path

import pandas as pd

from . import chapters, plan, record
from .execute import glued
from .config import CODE_VERSION, load_profile, project_root

REFRESH = "make pages"            # the command that rewrites the committed pages and tables
RTOL = 1e-9                       # tables compare to this relative tolerance: sums may round differently on another CPU


def ready_pages(profile: str) -> tuple[list[str], dict[str, list[str]]]:
    """The pages of chapters.PAGES made from the record that it completes (in book order), and what each other page lacks."""

    settings, rows = load_profile(profile), plan.record_rows()
    recorded = [page for page, made in chapters.PAGES.items() if made.steps is not None]
    gaps = {page: plan.page_gaps(settings, rows, page) for page in recorded}
    order = [page for page in chapters.in_book_order() if page in recorded]
    return [page for page in order if not gaps[page]], {page: lines for page, lines in gaps.items() if lines}


def execute_from_record(pages: list[str], profile: str, output_dir: Path, results: Path | None = None) -> None:
    """Execute `pages` with runs from the record only (nothing trains), each stamped with this
    code version; tables go to `results` (AEB_RESULTS_DIR) when given, else to results/."""
    import nbformat

    from .execute import execute

    extra = {"AEB_RESULTS_DIR": str(results)} if results is not None else {}
    with mock.patch.dict(os.environ, {"AEB_FROM_RECORD": "1", **extra}):      # the kernels inherit it
        execute(pages, profile, {}, output_dir)
    for page in pages:
        path = output_dir / f"{page}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata["aebottleneck"] = {"record_code_version": CODE_VERSION}
        nbformat.write(notebook, path)


# ------------------------------------------------------------------------------- stale pages
STALE_TAG = "stale-record"        # the tag of the warning a page made at another code version carries


def committed_page(page: str) -> Path:
    return project_root() / "book" / "executed" / f"{page}.ipynb"


def stale_pages(profile: str) -> dict[str, list[str]]:
    """The committed pages made from the record at another code version that the record cannot
    rebuild at this one yet, with what it lacks (plan.page_gaps)."""
    import nbformat

    pages, gaps = ready_pages(profile)
    stale = {}
    for page in gaps:
        path = committed_page(page)
        if path.is_file():
            made_at = nbformat.read(path, as_version=4).metadata.get("aebottleneck", {}).get("record_code_version")
            if made_at is not None and made_at != CODE_VERSION:
                stale[page] = gaps[page]
    return stale


def stale_marked(path: Path) -> bool:
    import nbformat

    return any(STALE_TAG in cell.metadata.get("tags", []) for cell in nbformat.read(path, as_version=4).cells)


def mark_stale(path: Path, gaps: list[str]) -> None:
    """Put (or renew) a warning under a page's title: made at another code version, and what the
    record lacks at this one before `make pages` can rebuild it."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    made_at = notebook.metadata["aebottleneck"]["record_code_version"]
    notebook.cells = [c for c in notebook.cells if STALE_TAG not in c.metadata.get("tags", [])]
    text = (f"```{{warning}}\nThis page is stale: it was made from the record at code version {made_at}, and the "
            f"code is at version {CODE_VERSION}. At this version the record lacks {'; '.join(gaps)}. "
            "`make record` retrains them; `make pages` then rebuilds this page.\n```")
    first = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown"), -1)
    notebook.cells.insert(first + 1, nbformat.v4.new_markdown_cell(text, metadata={"tags": [STALE_TAG]}, id="stale-record"))
    nbformat.write(notebook, path)


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
    in `new`, in any order: a page re-made alone moves its rows to the end); numbers to RTOL."""
    if not old.is_file():
        return [f"{old} is not committed"]
    fresh, committed = pd.read_csv(new), pd.read_csv(old)
    if new.name == "runs.csv":
        committed = committed[committed.chapter.isin(set(fresh.chapter))]
        fresh, committed = (table.sort_values(["chapter", "key"], ignore_index=True) for table in (fresh, committed))
    try:
        pd.testing.assert_frame_equal(fresh, committed, check_dtype=False, rtol=RTOL)
    except AssertionError as exc:
        return [f"{old}: differs from what the record gives ({' '.join(str(exc).split())[:300]})"]
    return []


def check(profile: str) -> list[str]:
    """Execute the pages the record completes into a scratch folder and compare them with the
    committed pages and tables; the differences found (none: the committed ones are current)."""
    pages, _ = ready_pages(profile)
    problems = [f"{committed_page(page)} is stale (made at another code version) and does not say so"
                for page in stale_pages(profile) if not stale_marked(committed_page(page))]
    if not pages:
        return problems
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
        lines.append(f"  {record.stale()} record files are of another code version (CODE_VERSION {CODE_VERSION}): "
                     f"stale pages: {', '.join(stale_pages(profile)) or 'none'}")
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
    for page, gaps in stale_pages(profile).items():
        mark_stale(committed_page(page), gaps)
        print(f"{page}: marked stale ({'; '.join(gaps)})", flush=True)
    if everything:
        from .execute import execute

        rest = [page for page in chapters.in_book_order() if page not in pages]
        print(f"then, training what neither the run cache nor the record holds: {', '.join(rest)}", flush=True)
        execute(rest, profile, {}, output_dir)
    return 0

if __name__ == "__main__":
    sys.exit(main())
