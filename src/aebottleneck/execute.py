"""Execute the source notebooks with papermill into book/executed/ (what the book shows).

    python -m aebottleneck.execute --profile quick                  # every notebook, in order
    python -m aebottleneck.execute --profile paper decorrelation -p alphas "[0.02]"

papermill only warns when -p names a parameter the notebook does not declare; here that is an
error, raised before anything runs, as is an unknown profile or notebook name.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from .config import ConfigError, load_profile, project_root

# Execution order: later notebooks reuse the runs cached by earlier ones.
NOTEBOOKS = ("data", "decorrelation", "embeddings")


def declared_parameters(path: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(path)))


def parse_value(text: str):
    """'0.01' -> 0.01, '[0, 1]' -> [0, 1], 'None' -> None, anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def check_request(names: list[str], profile: str, parameters: dict, source_dir: Path) -> None:
    """Every error a request can have, found before the first notebook starts."""
    for name in names:
        if not (source_dir / f"{name}.ipynb").is_file():
            raise ConfigError(f"notebook={name!r} is not allowed: no {source_dir / name}.ipynb; "
                              f"known: {', '.join(NOTEBOOKS)}")
    load_profile(profile)
    for name in names:
        declared = declared_parameters(source_dir / f"{name}.ipynb")
        if "profile" not in declared:
            raise ConfigError(f"notebook {name!r} declares no 'profile' parameter")
        unknown = set(parameters) - declared
        if unknown:
            raise ConfigError(f"notebook {name!r} has no parameter {', '.join(map(repr, sorted(unknown)))}; "
                              f"it declares: {', '.join(sorted(declared))}")


def execute(names: list[str], profile: str, parameters: dict, output_dir: Path) -> None:
    import papermill

    source_dir = project_root() / "notebooks"
    check_request(names, profile, parameters, source_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"[execute] {name} (profile={profile}{''.join(f', {k}={v!r}' for k, v in parameters.items())})",
              flush=True)
        papermill.execute_notebook(
            str(source_dir / f"{name}.ipynb"), str(output_dir / f"{name}.ipynb"),
            parameters={"profile": profile, **parameters}, kernel_name="python3",
            cwd=str(source_dir), progress_bar=False,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help=f"default: all of {', '.join(NOTEBOOKS)}")
    parser.add_argument("--profile", default="paper")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="a notebook parameter (Python literal)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="default: <project>/book/executed")
    args = parser.parse_args(argv)
    parameters = {name: parse_value(value) for name, value in args.parameter}
    output_dir = args.output_dir or project_root() / "book" / "executed"
    try:
        execute(args.notebooks or list(NOTEBOOKS), args.profile, parameters, output_dir)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # papermill's PapermillExecutionError names the cell and the error
        if type(exc).__name__ != "PapermillExecutionError":
            raise
        print(f"error: notebook failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
