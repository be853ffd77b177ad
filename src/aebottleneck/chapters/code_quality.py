"""The code-quality chapter: k-NN and logistic-regression accuracy and trustworthiness of the
codes of the penalty chapter's models and of PCA.
"""
from __future__ import annotations

import pandas as pd

from .. import evaluations, plots
from ..data import CLASS_NAMES
from ..metrics import code_scores, pca_codes
from ..pages import NAMES
from ..runtable import is_runaway, method_order
from .compression import TrainedCodes, runaway_legend


def code_scores_per_run(setup: TrainedCodes, bottlenecks, tsne_size: int) -> pd.DataFrame:
    """k-NN and logistic-regression accuracy and trustworthiness of each model's codes, one row
    per (method, code size, seed), with whether the run ran away: rows of code_quality.code_quality_table."""
    test_images = setup.test.numpy()
    rows = []
    for n in bottlenecks:
        codes = pca_codes(setup.pca, setup.train, n), pca_codes(setup.pca, setup.test, n)
        rows.append({"method": "PCA", "bottleneck": n, "seed": 0,
                     **code_scores(*codes, *setup.labels, test_images, tsne_size)})
    for (n, variant), group in setup.models.items():
        for run, found in zip(group, evaluations.results("code_scores", group, setup.splits, {"tsne_size": tsne_size})):
            rows.append({"method": variant, "bottleneck": n, "seed": run["config"]["seed"],
                         "runaway": is_runaway(run), **found})
    return pd.DataFrame(rows)


CODE_QUALITY_COLUMNS = ["dataset", "method", "bottleneck", "knn_accuracy", "knn_std", "logreg_accuracy", "trustworthiness",
                        "n_seeds", "n_runaway"]


def code_quality_table(per_run: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """code_quality.csv: each score's mean over the seeds of a (method, code size), largest code
    first and methods in first-seen order within it, the kNN accuracy's std over them, and how many of those runs ran away (`runaway`)."""
    table = (per_run.assign(runaway=per_run.get("runaway", False)).groupby(["method", "bottleneck"], sort=False)
             .agg(knn_accuracy=("knn_accuracy", "mean"), knn_std=("knn_accuracy", "std"),
                  logreg_accuracy=("logreg_accuracy", "mean"), trustworthiness=("trustworthiness", "mean"),
                  n_seeds=("seed", "nunique"), n_runaway=("runaway", "sum")).reset_index())
    table = table.sort_values("bottleneck", ascending=False, kind="stable", ignore_index=True)   # PCA beside its n
    return table.assign(dataset=dataset)[CODE_QUALITY_COLUMNS]


def knn_numbers(quality: pd.DataFrame, methods: list[str], bottleneck: int) -> dict:
    """Where a penalised model's codes have a higher mean kNN accuracy than the standard model's
    (untested), among the cells without a runaway run; the largest difference; and the three
    methods at code size `bottleneck`, with the signed penalty's runaway runs there; and in how
    many of the same cells the other two scores are higher."""
    wide = quality.pivot_table(index="bottleneck", columns="method", values="knn_accuracy")
    working = working_gains(quality, methods, "knn_accuracy")
    penalised = quality[quality.method.isin(methods) & ~quality.method.isin(["PCA", "standard"])]
    best = working.idxmax()
    signed = quality.query("method == 'signed' and bottleneck == @bottleneck").iloc[0]
    return {"better": int((working > 0).sum()), "cells": int(working.size), "away_cells": int((penalised.n_runaway > 0).sum()),
            "best": f"{best[1]} at n = {best[0]} ({working.max():+.3f}; the kNN accuracy's std over seeds there "
                    f"{quality.query('method == @best[1] and bottleneck == @best[0]').knn_std.iloc[0]:.3f})",
            "n": bottleneck,
            "std_knn": float(wide.loc[bottleneck, "standard"]), "pca_knn": float(wide.loc[bottleneck, "PCA"]),
            "signed_knn": float(wide.loc[bottleneck, "signed"]),
            "signed_runaway": f"{int(signed.n_runaway)} of its {int(signed.n_seeds)} runs ran away",
            "logreg_better": int((working_gains(quality, methods, "logreg_accuracy") > 0).sum()),
            "trust_better": int((working_gains(quality, methods, "trustworthiness") > 0).sum())}


def working_gains(quality: pd.DataFrame, methods: list[str], column: str) -> pd.Series:
    """Each penalised model's mean `column` minus the standard model's, per (code size, method),
    in the cells without a runaway run; untested."""
    wide = quality.pivot_table(index="bottleneck", columns="method", values=column)
    away = quality.pivot_table(index="bottleneck", columns="method", values="n_runaway").stack()
    gains = wide[[m for m in methods if m not in ("PCA", "standard")]].sub(wide["standard"], axis=0).stack()
    return gains[away.reindex(gains.index).fillna(0) == 0]


def plot_code_quality(quality):
    """kNN accuracy, logistic-regression accuracy and trustworthiness of the test codes against
    code size (code_quality.code_quality_table), one line per method."""
    classes = len(CLASS_NAMES[quality.dataset.iloc[0]])
    fig, axes = plots.figure(ncols=3, width=4, height=3.5)
    for ax, column in zip(axes, ("knn_accuracy", "logreg_accuracy", "trustworthiness")):
        plots.by_code_size(ax, quality, column, method_order(quality), ylabel=NAMES[column], legend=False,
                           suffix=runaway_legend(quality))
        if column != "trustworthiness":
            ax.axhline(1 / classes, linestyle=":", color="grey", label=f"chance ({classes} classes)")
    plots.legend_outside(fig)
    return fig
