"""What a book page shows a reader, beside figures (those are `plots`): tables, glued numbers, and the
sentences every page glues (provenance: where its runs come from; dataset_numbers).

    from aebottleneck.pages import show_table
    show_table(table, out_dir / "pca_vs_ae.csv",
               {"bottleneck": "code size n", "rmse_mean": "test RMSE"},
               caption="Test RMSE per code size, mean over seeds.",
               formats={"rmse_mean": "{:.4f}"})

Each table is shown once, as one HTML output: its caption, the columns named for a reader, no
index, missing values as a dash (never `nan`), and a link that downloads its CSV (the bytes of
the file, embedded, so the link works in any copy of the site, offline). A table longer than
`max_rows` shows its first rows and folds the whole table behind a "show all" toggle.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

MISSING = "\u2013"   # how a missing value reads in a table (an en dash)


def data_uri(payload: bytes, mime: str) -> str:
    """`payload` as a data URI, so a page carries its figures and downloads with no file beside it."""
    return f"data:{mime};base64," + base64.b64encode(payload).decode("ascii")


# The one home of what a reader sees for a column the package's tables share, and how it is
# printed: `columns` given as a list of raw names is looked up here (a dict overrides it).
NAMES = {
    "bottleneck": "n", "method": "method", "variant": "loss", "activation": "code", "penalty": "penalty",
    "alpha": "alpha", "seed": "seed", "rmse_mean": "test RMSE", "rmse_std": "std over seeds",
    "val_rmse_mean": "validation RMSE (mean)", "n_seeds": "seeds", "n_runaway": "runaway runs",
    "diff_mean": "diff", "diff_ci_low": "95% CI low (per cell)", "diff_ci_high": "95% CI high (per cell)", "p_value": "p",
    "p_holm": "p (Holm)", "p_min": "smallest attainable p", "effect_size": "d_z", "mde": "mde", "equivalence_bound": "equivalence bound",
    "corr_mean": "mean |corr|", "code_std_mean": "code std", "selected": "selected", "runaway": "ran away",
    "rule": "selection rule", "at_grid_edge": "smallest alpha of the grid",
    "bits_per_dim": "bits per dimension", "rate_bits": "per-dimension entropy-coded rate (bits per image)",
    "joint_rate_bits": "joint entropy-coded rate (bits per image)", "complete": "every seed reached it",
    "entropy_bits": "entropy, per dimension (bits)", "joint_bits": "joint entropy (bits)", "knn_accuracy": "kNN accuracy", "knn_std": "kNN std",
    "logreg_accuracy": "logistic-regression accuracy", "trustworthiness": "trustworthiness",
    "paper_rmse_mean": "paper", "diff_vs_paper": "ours - paper", "mean_diff": "penalty - standard (mean)",
    "std_diff": "std over seeds", "seeds_penalty_better": "seeds where the penalty is better",
    "paper_diff": "paper's difference", "test_rmse": "pooled RMSE", "test_rmse_per_image": "per-image RMSE (mean)",
    "paper": "paper (standard)", "leaky_relu": "LeakyReLU code", "linear": "linear code", "pca_rmse": "PCA", "label": "variant",
}
FORMATS = {
    "alpha": "alpha", "rmse_mean": "{:.4f}", "rmse_std": "{:.4f}", "val_rmse_mean": "{:.4f}", "diff_mean": "{:+.4f}",
    "diff_ci_low": "{:+.4f}", "diff_ci_high": "{:+.4f}", "p_value": "p", "p_holm": "p", "p_min": "p",
    "effect_size": "{:+.2f}", "mde": "{:.4f}", "equivalence_bound": "{:.4f}", "corr_mean": "{:.3f}",
    "code_std_mean": "{:#.3g}", "knn_accuracy": "{:.3f}", "knn_std": "{:.3f}", "logreg_accuracy": "{:.3f}", "trustworthiness": "{:.3f}",
    "paper_rmse_mean": "{:.4f}", "diff_vs_paper": "{:+.4f}", "mean_diff": "{:+.4f}", "std_diff": "{:.4f}",
    "paper_diff": "{:+.4f}", "test_rmse": "{:.4f}", "test_rmse_per_image": "{:.4f}", "paper": "{:.4f}",
    "leaky_relu": "{:.4f}", "linear": "{:.4f}", "pca_rmse": "{:.4f}", "silhouette": "{:.3f}",
    "silhouette_mean": "{:+.3f}", "silhouette_low": "{:+.3f}", "silhouette_high": "{:+.3f}",
}


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The index as columns, and a pivot's column levels joined: 'rmse_mean, mnist'."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.set_axis([", ".join(str(p) for p in col if str(p)) for col in frame.columns], axis=1)
    return frame


def _shown_path(path: Path) -> str:
    """The CSV's path as the repository names it (results/quick/x.csv), else its file name."""
    from .config import project_root

    try:
        return path.resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return path.name


def _format(value, spec: str | None) -> str:
    """A cell as text: a number by its column's format (a text cell as it is), missing as a dash."""
    if isinstance(value, str):
        return value
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if spec == "p":                                       # a p-value: three decimals, never "0.000", and
        return "<0.001" if value < 0.0005 else _p_text(value)  # never rounded across the 5% level
    if spec == "alpha":                                   # alpha 0 is the standard loss: no penalty weight to show
        return MISSING if value == 0 else f"{value:g}"
    text = spec.format(value) if spec else f"{value:.4g}" if isinstance(value, float) else str(value)
    if re.fullmatch(r"[-+]0(\.0*)?", text):               # rounds to zero: a zero shows no sign, a
        return text[1:] if value == 0 else f"{value:+.1e}"  # signed value its sign and size (-6.0e-06)
    return text


def _p_text(p: float, decimals: int = 3) -> str:
    """`p` to `decimals` places, or more where rounding would carry it across LEVEL (0.0499, not 0.050)."""
    from .stats import LEVEL

    text = f"{p:.{decimals}f}"
    return text if (float(text) < LEVEL) == (p < LEVEL) or decimals >= 8 else _p_text(p, decimals + 1)


def table_html(frame: pd.DataFrame, csv_path: str | Path, columns: dict[str, str] | list[str] | None = None,
               caption: str = "", formats: dict[str, str] | None = None, max_rows: int = 30) -> str:
    """The HTML `show_table` displays (see there); the CSV file must exist."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"show_table: no CSV at {csv_path} (save the table first)")
    frame = _flat(frame)
    columns = columns or list(frame.columns)
    if not isinstance(columns, dict):        # raw names: their names for a reader from NAMES
        columns = {c: NAMES.get(c, str(c).replace("_", " ")) for c in columns}
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise KeyError(f"show_table: no column {', '.join(map(repr, unknown))}; the table has "
                       f"{', '.join(map(repr, map(str, frame.columns)))}")
    formats = {**FORMATS, **(formats or {})}
    head = "".join(f'<th scope="col">{html.escape(name)}</th>' for name in columns.values())

    def body(rows: pd.DataFrame) -> str:
        return "".join("<tr>" + "".join(f"<td>{html.escape(_format(row[c], formats.get(c)))}</td>" for c in columns)
                       + "</tr>" for _, row in rows.iterrows())

    def table(rows: pd.DataFrame, with_caption: bool) -> str:
        cap = f"<caption>{html.escape(caption)}</caption>" if caption and with_caption else ""
        return (f'<table class="table aeb-table">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body(rows)}</tbody></table>")

    link = (f'<p class="aeb-table-source"><a href="{data_uri(csv_path.read_bytes(), "text/csv")}" download="{html.escape(csv_path.name)}">'
            f"Download this table as CSV</a> (<code>{html.escape(_shown_path(csv_path))}</code>)</p>")
    if len(frame) <= max_rows:
        shown = table(frame, True)
    else:
        shown = (table(frame.head(max_rows), True)
                 + f"<p>The first {max_rows} of {len(frame)} rows.</p>"
                 + f"<details><summary>Show all {len(frame)} rows</summary>{table(frame, False)}</details>")
    slug = re.sub(r"[^a-z0-9]+", "-", csv_path.stem.lower()).strip("-")
    return f'<div class="aeb-table-block" id="table-{slug}">{shown}{link}</div>'


def show_table(frame: pd.DataFrame, csv_path: str | Path, columns: dict[str, str] | list[str] | None = None,
               caption: str = "", formats: dict[str, str] | None = None, max_rows: int = 30) -> None:
    """Display `frame` once, for a reader, with a link to its CSV.

    frame:    the table; an index other than 0..N-1 becomes columns, pivot column levels are joined
              with ", " ("rmse_mean, mnist").
    csv_path: the CSV it was saved to (e.g. `out_dir / "pca_vs_ae.csv"`, written before this call);
              the link downloads that file's bytes. It need not hold exactly the shown columns.
    columns:  raw column name -> the name a reader sees, or a list of raw names (named from
              NAMES); only these columns are shown, in this order. None: every column.
    caption:  one sentence above the table (plain text).
    formats:  raw column name -> format spec such as "{:.4f}" or "{:.1%}", "p" (a p-value, never
              "0.000") or "alpha" (0, the standard loss, as a dash), over FORMATS; other
              floats show 4 significant digits. Missing values (NaN, None) show as a dash.
    max_rows: longer tables show their first max_rows rows, the whole table folded below.
    """
    from IPython.display import HTML, display

    display(HTML(table_html(frame, csv_path, columns, caption, formats, max_rows)))


def _plain(value):
    """A NumPy scalar as the Python number it holds: a glued text is formatted from its repr."""
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value


def glue_numbers(numbers: dict, prefix: str = "") -> None:
    """Glue every value of `numbers` for the page's text, under `prefix + name`, not displayed."""
    from myst_nb import glue

    for name, value in numbers.items():
        glue(f"{prefix}{name}", _plain(value), display=False)


def glue_rows(frame: pd.DataFrame, keys: list[str], values: dict[str, str], prefix: str = "") -> None:
    """Glue one number per row and column: column `c` of a row with keys (8, 'penalty') is glued as
    `prefix + values[c] + '_8_penalty'`, the keys in the order given."""
    for row in frame.to_dict("records"):
        tag = "_".join(str(row[k]) for k in keys)
        glue_numbers({f"{name}_{tag}": row[column] for column, name in values.items()}, prefix)


def glue_figure(name: str, fig, alt: str) -> None:
    """Glue `fig` for another page to paste (```{glue:} name``` with :doc:) as an image with alt
    text `alt`: a pasted matplotlib figure would have none. Not displayed here."""
    import io

    from IPython.display import HTML
    from myst_nb import glue

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    uri = data_uri(buffer.getvalue(), "image/png")
    glue(name, HTML(f'<img src="{uri}" alt="{html.escape(alt)}" class="aeb-glued-figure" style="max-width:100%">'),
         display=False)


def publish(frame: pd.DataFrame, csv_path: str | Path, caption: str, columns: dict[str, str] | list[str] | None = None,
            formats: dict[str, str] | None = None, shown: pd.DataFrame | None = None, glue_as: str | None = None) -> None:
    """Save `frame` as the CSV at `csv_path` (atomically), then show it (or the view `shown` of it)
    as `show_table` does; the one call a page makes for a table it writes. `glue_as` also glues the
    shown table under that name, for another page to paste."""
    from IPython.display import HTML
    from myst_nb import glue

    from .files import save_csv

    save_csv(frame, Path(csv_path))
    view = frame if shown is None else shown
    if glue_as:
        glue(glue_as, HTML(table_html(view, csv_path, columns, caption, formats)))     # shown here, pasted there
    else:
        show_table(view, csv_path, columns, caption, formats)


def record_runs(runs: pd.DataFrame | list[dict], chapter: str, folder: Path) -> None:
    """Replace this chapter's rows of `folder`/runs.csv by its runs (a runs_frame, or the runs):
    one row per run (runtable.run_record), for audit and CI's checks of runaway runs."""
    from .files import save_chapter_rows
    from .runtable import run_record, runs_frame

    frame = runs if isinstance(runs, pd.DataFrame) else runs_frame(runs)
    if len(frame):                                  # a chapter with nothing to train here (plug and play without n = 8)
        save_chapter_rows(run_record(frame, chapter), Path(folder) / "runs.csv")


def provenance(runs: list[dict] | dict, settings) -> dict:
    """Where a page's runs come from, as one sentence: how many, the profile and code version,
    the devices and dates they were trained on, and whether the committed record or this
    machine's run cache supplied them. `runs`: a list, or a dict of lists (model -> its runs); a
    run listed twice counts once."""
    groups = runs.values() if isinstance(runs, dict) else [runs]
    runs = list({run["key"]: run for group in groups for run in group}.values())
    devices = sorted({run["metrics"].get("device", "an unrecorded device") for run in runs})
    versions = sorted({str(run["code_version"]) for run in runs})
    dates = sorted(run["trained_at"][:10] for run in runs if run.get("trained_at"))
    recorded = sum(run.get("source") == "record" for run in runs)
    where = ("the committed record (record/)" if recorded == len(runs) else
             "this machine's run cache (results/runs/)" if recorded == 0 else
             f"the committed record ({recorded}) and this machine's run cache ({len(runs) - recorded})")
    when = f", {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") if dates else ""
    return {"provenance": f"{len(runs)} runs of the {settings.name} profile at code version {', '.join(versions)}, "
                          f"trained on {'; '.join(devices)}{when}, read from {where}"}


def dataset_numbers(name: str) -> dict:
    """The data set's name, and how the paper's MNIST numbers read next to its results."""
    from .data import DATASET_NAMES

    label = DATASET_NAMES[name]
    note = ("It is the paper's data set, so its numbers are a target." if name == "mnist" else
            f"The paper's numbers are on MNIST: next to {label} results they are shown for scale, not as a target.")
    return {"dataset_name": label, "dataset_note": note}
