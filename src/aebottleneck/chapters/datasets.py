"""The datasets page: Table 1 of the paper's runs on every data set, beside PCA's test RMSE.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..cache import get_runs
from ..config import DATASETS, load_profile
from ..data import DATASET_NAMES
from ..metrics import pca_rmse
from ..runtable import method_order, runs_frame
from ..stats import RULE_CAPTION, RULE_FALLBACK, alpha_selection
from .decorrelation import decorrelation_grid, table1
from .pca_vs_ae import profile_pca

CAPTION = ("Test RMSE per code size and model on both data sets: mean and std over seeds, runaway runs of the "
           f"seeds, the penalty's alpha by the selection rule ({RULE_CAPTION}), PCA with n components.")


def datasets_table(profile: str, device: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """datasets.csv: Table 1 of the paper's runs on every data set, with PCA's test RMSE at each n
    (fitted on the same training images) and the selection rule that set each penalty's alpha
    (stats.RULES); and the runs' frame. Runs are trained where missing."""
    tables, frames = [], []
    for name in DATASETS:
        settings = load_profile(profile, dataset=name)
        sizes = list(settings.bottlenecks)
        runs = [run for n in sizes for run in get_runs(decorrelation_grid(settings, n), device=device, recorded=True)]
        frames.append(runs_frame(runs))
        rule = alpha_selection(frames[-1]).query("selected").set_index("bottleneck").rule
        table = table1(frames[-1]).assign(rule=lambda t: t.bottleneck.map(rule).where(t.method == "penalty"))
        pca, splits = profile_pca(settings, max(sizes))
        pca = pca_rmse(pca, splits.test.images, sizes)
        tables.append(table.assign(pca_rmse=table.bottleneck.map(pca), dataset=name))
    return pd.concat(tables, ignore_index=True), pd.concat(frames, ignore_index=True)


def datasets_view(both: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """datasets.csv side by side for a reader: one row per (n, model), PCA first (its test RMSE
    once, at each n), then each autoencoder; each data set's test RMSE, std, runaway runs and
    alpha in columns; with the columns' names for a reader and formats."""
    values = {"rmse_mean": ("test RMSE", "{:.4f}"), "rmse_std": ("std over seeds", "{:.4f}"),
              "runaway": ("runaway runs", None), "alpha": ("alpha", None)}
    both = both.assign(runaway=[f"{a} of {s}" for a, s in zip(both.n_runaway, both.n_seeds)],
                       alpha=[np.nan if pd.isna(r) else f"{a:g}" + (f" ({r})" if r == RULE_FALLBACK else "")
                              for a, r in zip(both.alpha, both.rule)])
    pca = both.drop_duplicates(["bottleneck", "dataset"]).assign(                  # a model of its own, no seeds
        method="PCA", rmse_mean=lambda f: f.pca_rmse, rmse_std=np.nan, runaway=np.nan, alpha=np.nan)
    rows = pd.concat([pca, both], ignore_index=True)
    rank = {method: i for i, method in enumerate(method_order(rows))}
    size = {n: i for i, n in enumerate(both.bottleneck.unique())}                    # Table 1's order of n
    rows = rows.assign(size=rows.bottleneck.map(size), rank=rows.method.map(rank)).sort_values(["size", "rank"])
    wide = rows.pivot_table(index=["bottleneck", "method"], columns="dataset", sort=False, values=list(values),
                            aggfunc="first", dropna=False)
    columns, formats = {"bottleneck": "code size n", "method": "model"}, {}
    for name in both.dataset.unique():
        for value, (what, spec) in values.items():
            columns[f"{value}, {name}"] = f"{DATASET_NAMES[name]}: {what}"
            formats |= {f"{value}, {name}": spec} if spec else {}
    return wide, columns, formats


def datasets_numbers(both: pd.DataFrame, frame: pd.DataFrame) -> dict:
    """Per data set: the penalty's mean minus the standard's over code sizes (smallest, largest),
    how many of the penalty's runs ran away (at the alpha shown, and at every alpha of the grid),
    and at how many code sizes the standard autoencoder's mean is below PCA's and by how much
    (untested)."""
    numbers = {"n_sizes": both.bottleneck.nunique()}
    for name, part in both.groupby("dataset"):
        part = part.set_index(["bottleneck", "method"])
        standard = part.xs("standard", level="method")
        penalty = part.xs("penalty", level="method")
        gap, margin = penalty.rmse_mean - standard.rmse_mean, standard.pca_rmse - standard.rmse_mean
        grid = frame[(frame.dataset == name) & (frame.method == "penalty")]
        numbers |= {f"{name}_gap_max": float(gap.max()), f"{name}_gap_min": float(gap.min()),
                    f"{name}_beats_pca": int((margin > 0).sum()),
                    f"{name}_pca_margin": f"{margin.min():+.4f} to {margin.max():+.4f}",
                    f"{name}_runaway": (f"{int(penalty.n_runaway.sum())} of its {int(penalty.n_seeds.sum())} runs at the "
                                        f"alpha shown ran away, {int(grid.runaway.sum())} of {len(grid)} over its "
                                        f"{grid.alpha.nunique()} alphas")}
    return numbers
