"""Execute the source notebooks with papermill into book/executed/ (what the book shows).

    python -m aebottleneck.execute --profile quick                  # every notebook, in order
    python -m aebottleneck.execute --profile paper decorrelation -p alphas "[0.02]"

Checked before any notebook runs (exit code 2): notebook and profile names, the output folder,
parameter names (papermill itself only warns when -p names a parameter a notebook does not
declare), every value against its entry in aebottleneck.parameters, the device, and the data
files. A notebook executes into a hidden file beside its page and replaces the page only when
every cell ran: a failing or interrupted one is kept as <name>.failed.ipynb, the last good page
stays, and the run stops with exit code 1 and a message naming the notebook, the cell and the error.

The executed copy is made for readers (`prepare_page`): every code cell but the parameters
folds its code behind a toggle (tag `hide-input`), and a figure's image gets its caption as alt
text. The source notebooks are not changed.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import re
import sys
from pathlib import Path

from .chapters import PAGES, in_book_order, undeclared
from .config import ConfigError, Profile, data_dir, env_flag, load_profile, project_root
from .data import DataError

def declared_parameters(path: Path) -> dict:
    """name -> default value of each parameter the notebook's `parameters` cell declares."""
    import papermill

    return {name: parse_value(p["default"]) for name, p in papermill.inspect_notebook(str(path)).items()}


def parse_value(text: str):
    """'0.01' -> 0.01, '[0, 1]' -> [0, 1], 'None' -> None, anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def check_output_dir(output_dir: Path, source_dir: Path) -> None:
    """The output folder is a folder (or can become one) and not the sources' folder or inside it."""
    resolved, sources = output_dir.resolve(), source_dir.resolve()
    if resolved == sources or sources in resolved.parents:
        raise ConfigError(f"--output-dir={str(output_dir)!r} is not allowed: it would overwrite the source "
                          f"notebooks in {sources}; use book/executed or another folder")
    if resolved.exists() and not resolved.is_dir():
        raise ConfigError(f"--output-dir={str(output_dir)!r} is not allowed: it is a file, not a folder")


def check_request(names: list[str], profile: str, parameters: dict, source_dir: Path) -> None:
    """Every error a request can have, found before the first notebook starts."""
    from .parameters import check_parameters

    available = sorted(path.stem for path in source_dir.glob("*.ipynb"))
    for name in names:
        if name not in available:   # also refuses a path such as ../notebooks/data
            raise ConfigError(f"notebook={name!r} is not allowed: no {source_dir / name}.ipynb; "
                              f"known: {', '.join(available)}")
    load_profile(profile)
    for name in names:
        declared = declared_parameters(source_dir / f"{name}.ipynb")
        if "profile" not in declared:
            raise ConfigError(f"notebook {name!r} declares no 'profile' parameter")
        unknown = set(parameters) - set(declared)
        if unknown:
            raise ConfigError(f"notebook {name!r} has no parameter {', '.join(map(repr, sorted(unknown)))}; "
                              f"it declares: {', '.join(sorted(declared))}")
        check_parameters({**declared, **parameters, "profile": profile})
    # Values, not only names: profile settings, the device and the data folder are checked here,
    # so a typo fails in a second instead of after the first notebook has trained for an hour.
    settings = {f.name for f in dataclasses.fields(Profile)} - {"name", "overrides"}
    load_profile(profile, **{k: v for k, v in parameters.items() if k in settings})
    if parameters.get("device") is not None:
        from .train import pick_device

        pick_device(parameters["device"])
    data_dir()
    env_flag("AEB_DOWNLOAD", default=True)
    if any(name in in_book_order() for name in names):  # every project notebook reads the data
        from .config import DATASETS
        from .data import load_splits

        needed = DATASETS if "datasets" in names else (parameters.get("dataset", "mnist"),)  # `datasets` reads both
        for dataset in needed:
            load_splits(dataset)  # DataError: missing, truncated, corrupt


VISIBLE_CODE = {"parameters", "injected-parameters"}   # a reader sees what to tweak, and what was set


def prepare_page(path: Path) -> None:
    """Make an executed notebook a page: drop its timings and paths, fold the code of every code
    cell except the parameters cells (tag `hide-input`), and give each figure alt text (`mystnb.image.alt`): the cell's
    figure caption (`mystnb.figure.caption`), else the last paragraph of the markdown above it
    (if no figure came between)."""
    import nbformat

    from .plots import alt_text

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["papermill"] = {"parameters": notebook.metadata.get("papermill", {}).get("parameters", {})}
    text_above = ""
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"                    # no timings, paths or random ids: an unchanged page is the same file
        for volatile in ("execution", "papermill"):
            cell.metadata.pop(volatile, None)
        if cell.cell_type == "markdown":
            paragraphs = [p for p in re.split(r"\n\s*\n|^#.*$", cell.source, flags=re.M) if p.strip()]
            text_above = paragraphs[-1] if paragraphs else text_above
            continue
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        if not VISIBLE_CODE & set(tags) and "hide-input" not in tags:
            tags.append("hide-input")
        has_image = any(key.startswith("image/") for out in cell.get("outputs", []) for key in out.get("data", {}))
        options = cell.metadata.setdefault("mystnb", {})
        caption = options.get("figure", {}).get("caption") or text_above
        if has_image and caption and "alt" not in options.get("image", {}):
            options.setdefault("image", {})["alt"] = alt_text(caption)
        if has_image:
            text_above = ""   # a paragraph describes the one figure below it, not the next ones
        if not options:
            del cell.metadata["mystnb"]
    nbformat.write(notebook, path)


REQUEST_FILE = ".request.json"   # in an output folder: the one request whose pages it holds


def overrides_of(names: list[str], parameters: dict, source_dir: Path) -> dict:
    """The parameters that differ from the default of a notebook that declares them: what makes a
    request other than the profile as is (the data set and device are not overrides: a data set's
    pages get a site of their own, and a run's key does not name the device)."""
    declared = {}
    for name in names:
        declared |= declared_parameters(source_dir / f"{name}.ipynb")
    return {k: v for k, v in parameters.items() if k not in ("dataset", "device") and v != declared.get(k)}


def claim_output_dir(output_dir: Path, request: dict) -> None:
    """An output folder holds the pages of one request (profile, data set, overrides): executing
    another request into it is refused, so one site never mixes two (its verdict and the numbers
    its pages quote come from one request)."""
    import json

    path = output_dir / REQUEST_FILE
    text = json.dumps(request, sort_keys=True)
    if path.is_file() and path.read_text() != text:
        raise ConfigError(f"--output-dir={str(output_dir)!r} holds the pages of another request ({path.read_text()}); "
                          f"this one is {text}. One site never mixes two: pass another --output-dir, or delete "
                          f"{output_dir} to build it again for this request")
    from .files import save_text

    save_text(text, path)


def override_banner(path: Path, profile: str, overrides: dict) -> None:
    """Say on an executed page, below its title, which overrides made it."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    listed = ", ".join(f"`{k} = {v!r}`" for k, v in overrides.items())
    cell = nbformat.v4.new_markdown_cell(f"```{{note}}\nThis page was executed with overrides of the `{profile}` profile: "
                                         f"{listed}. Its tables are those of this request, not the profile's.\n```")
    first = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown"), -1)
    notebook.cells.insert(first + 1, cell)
    nbformat.write(notebook, path)


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


def undeclared_glue(name: str, path: Path) -> list[str]:
    """The names the executed notebook at `path` glues that its page (chapters.PAGES) does not declare."""
    return undeclared(name, glued(path)) if name in PAGES else []


WARNING_LINE = re.compile(r"\b\w*Warning: .*")      # how Python's warnings module prints one


def printed_warnings(path: Path) -> list[str]:
    """The Python warnings an executed notebook printed in its cells' streams: a page shows its
    readers no warning, as `jupyter-book build -W` lets no Sphinx warning pass."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return [match.group(0) for cell in notebook.cells for output in cell.get("outputs", [])
            if output.get("output_type") == "stream" for match in WARNING_LINE.finditer(output.get("text", ""))]


class NotebookError(RuntimeError):
    """A cell raised: names the notebook, the cell and the error, and where the traceback is."""


def execute(names: list[str], profile: str, parameters: dict, output_dir: Path) -> None:
    import papermill

    source_dir = project_root() / "notebooks"
    check_output_dir(output_dir, source_dir)
    check_request(names, profile, parameters, source_dir)
    overrides = overrides_of(names, parameters, source_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    claim_output_dir(output_dir, {"profile": profile, "dataset": parameters.get("dataset", "mnist"), "overrides": overrides})
    for name in names:
        page, running, failed = (output_dir / f"{stem}.ipynb" for stem in (name, f".{name}.running", f"{name}.failed"))
        print(f"[execute] {name} (profile={profile}{''.join(f', {k}={v!r}' for k, v in parameters.items())})",
              flush=True)
        try:
            papermill.execute_notebook(
                str(source_dir / f"{name}.ipynb"), str(running),
                parameters={"profile": profile, **parameters}, kernel_name="python3",
                cwd=str(source_dir), progress_bar=False,
            )
        except BaseException as exc:   # a failed cell, Ctrl-C, a dead kernel: the last good page stays
            if running.is_file():
                os.replace(running, failed)
            if isinstance(exc, papermill.PapermillExecutionError):
                raise NotebookError(
                    f"notebook {name!r} failed at In [{exc.exec_count}] ({exc.ename}: {exc.evalue}); the "
                    f"executed copy with the full traceback is {failed}; {page} was left as it was") from exc
            raise
        if stray := undeclared_glue(name, running):
            os.replace(running, failed)
            raise NotebookError(f"notebook {name!r} glues {', '.join(stray)}, which chapters.PAGES[{name!r}].glue does "
                                f"not declare: declare them there (the book's text is checked against it); the "
                                f"executed copy is {failed}; {page} was left as it was")
        if shown := printed_warnings(running):
            os.replace(running, failed)
            raise NotebookError(f"notebook {name!r} printed {len(shown)} warning(s), first: {shown[0]!r}; fix the "
                                f"cause (a page shows its readers no warning); the executed copy is {failed}; "
                                f"{page} was left as it was")
        prepare_page(running)
        if overrides:
            override_banner(running, profile, overrides)
        os.replace(running, page)
        failed.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="default: every chapter of _toc.yml, in its order")
    parser.add_argument("--profile", default="paper")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="a notebook parameter (Python literal)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="default: <project>/book/executed")
    args = parser.parse_args(argv)
    parameters = {name: parse_value(value) for name, value in args.parameter}
    output_dir = args.output_dir or project_root() / "book" / "executed"
    return exit_code(lambda: execute(args.notebooks or in_book_order(), args.profile, parameters, output_dir))


def exit_code(work, refused: tuple = ()) -> int:
    """Run `work` as a command does: 2 for a bad request (ConfigError, DataError or `refused`,
    found before any notebook ran), 1 for a failed notebook, each with its message; else
    `work`'s own code, or 0."""
    try:
        return work() or 0
    except (ConfigError, DataError, *refused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NotebookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
