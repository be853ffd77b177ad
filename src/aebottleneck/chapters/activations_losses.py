"""The student report's chapter (activations_losses page): the 784-128-64 model with sigmoid +
MSE, ReLU + MSE and sigmoid + BCE, and a tiny 8/4 model, against PCA and the paper's MLP.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import evaluations, plots
from ..runtable import runs_frame
from ..cache import get_runs
from ..config import Profile, RunConfig
from ..evaluations import class_reconstructions
from ..metrics import pca_rmse
from ..stats import holm, paired_cell
from .decorrelation import decorrelation_grid
from .pca_vs_ae import profile_pca


# The student report's models: label -> the fields that make the variant; and each label's glue tag.
STUDENT_MODELS = {
    "sigmoid + MSE": dict(hidden=(128,), bottleneck=64, output="sigmoid", loss="mse"),
    "ReLU + MSE": dict(hidden=(128,), bottleneck=64, output="relu", loss="mse"),
    "sigmoid + BCE": dict(hidden=(128,), bottleneck=64, output="sigmoid", loss="bce"),
    "tiny, sigmoid + MSE": dict(hidden=(8,), bottleneck=4, output="sigmoid", loss="mse"),
}
STUDENT_TAGS = {"sigmoid + MSE": "sigmoid_mse", "ReLU + MSE": "relu_mse", "sigmoid + BCE": "sigmoid_bce",
                "tiny, sigmoid + MSE": "tiny"}


def student_runs(settings: Profile, device: str | None = None) -> dict[str, list[dict]]:
    """The student report's models (STUDENT_MODELS) over the profile's seeds, trained where missing
    (recorded runs serve: the page reads their evaluations)."""
    return {label: get_runs([RunConfig(seed=s, **fields, **settings.run_fields()) for s in settings.seeds], device=device,
                            recorded=True)
            for label, fields in STUDENT_MODELS.items()}


def output_statistics(runs: dict[str, list[dict]], splits) -> dict:
    """What each 64-d student model's output does on the background (pixels exactly 0): its RMSE
    there over every seed, and how far the unbounded ReLU output goes above 1 (the output_stats
    evaluation of each run, from the record or the weights)."""
    numbers = {"background_share": float((splits.test.images == 0).float().mean())}
    for label in ("sigmoid + MSE", "ReLU + MSE", "sigmoid + BCE"):
        found = evaluations.results("output_stats", runs[label], splits)
        numbers[f"background_{STUDENT_TAGS[label]}"] = float(np.sqrt(np.mean([f["background_ms"] for f in found])))
        if label == "ReLU + MSE":
            numbers |= {"relu_above_1": float(np.mean([f["above_1"] for f in found])),
                        "relu_max": float(max(f["max"] for f in found))}
    return numbers


def code_size_references(settings: Profile, sizes: list[int], device: str | None = None) -> tuple[dict, pd.Series]:
    """PCA's test RMSE at each of `sizes` (fitted on the profile's training images), and the mean
    test RMSE per n of the paper chapter's standard runs (decorrelation_grid, trained where missing)."""
    pca, splits = profile_pca(settings, max(sizes))
    pca = pca_rmse(pca, splits.test.images, sizes)
    standard = [c for n in settings.bottlenecks for c in decorrelation_grid(settings, n) if c.penalty == "none"]
    return pca, runs_frame(get_runs(standard, device=device, recorded=True)).groupby("bottleneck").test_rmse.mean()


PAIRED_COLUMNS = {"variant": "variant", "mean": "mean", "std": "std", "min": "min", "max": "max",   # the paired
                  "seeds_better": "seeds better", "p_value": "p", "p_holm": "p (Holm)",           # table's
                  "effect_size": "d_z", "mde": "mde"}                                               # columns shown
ACTIVATIONS_LOSSES_COLUMNS = ["model", "output", "loss", "bottleneck", "rmse_mean", "rmse_std", "n_seeds"]


def activations_losses_table(frame: pd.DataFrame) -> pd.DataFrame:
    """activations_losses.csv from a runtable.labelled_frame: per variant, test RMSE mean and std over seeds,
    with its widths as 784-hidden-n; the label column stays (the CSV drops it)."""
    frame = frame.assign(model="784-" + frame.hidden + "-" + frame.bottleneck.astype(str))
    return (frame.groupby(["label", *ACTIVATIONS_LOSSES_COLUMNS[:4]], sort=False)
            .agg(rmse_mean=("test_rmse", "mean"), rmse_std=("test_rmse", "std"), n_seeds=("seed", "nunique"))
            .reset_index())


def paired_against(frame: pd.DataFrame, reference: str, labels: list[str]) -> pd.DataFrame:
    """activations_losses_paired.csv: each label's test RMSE minus the reference label's, seed by
    seed (a runtable.labelled_frame): mean, std, min, max, the seeds where it is lower, and the
    paired t-test (stats.paired_cell; Holm across the labels, one family). A label whose runs or
    the reference's ran away, or with one seed, keeps its summary only (no t-test on a chaotic cell)."""
    wide = frame.pivot_table(index="seed", columns="label", values="test_rmse")
    away = frame.groupby("label").runaway.any()
    paired = pd.DataFrame({label: wide[label] - wide[reference] for label in labels})   # (seeds, labels)
    summary = paired.agg(["mean", "std", "min", "max"]).T.rename_axis("variant").reset_index()
    tests = pd.DataFrame([paired_cell(wide[label], wide[reference], bool(away[label] or away[reference]))
                          for label in labels], columns=["p_value", "effect_size", "mde"])
    return summary.assign(seeds_better=(paired < 0).sum().to_numpy(), p_value=tests.p_value.to_numpy(),
                          p_holm=holm(tests.p_value).to_numpy(), effect_size=tests.effect_size.to_numpy(),
                          mde=tests.mde.to_numpy())


def student_numbers(table: pd.DataFrame, paired: pd.DataFrame, tags: dict[str, str]) -> dict:
    """The student report's numbers: each variant's mean and std (tags: label -> glue tag), its
    paired difference to sigmoid + BCE, and the best and worst output/loss at the 64-d code."""
    numbers = {}
    for row in table.itertuples():
        numbers |= {f"rmse_{tags[row.label]}": float(row.rmse_mean), f"std_{tags[row.label]}": float(row.rmse_std)}
    for row in paired.itertuples():
        numbers |= {f"diff_{tags[row.variant]}": float(row.mean), f"better_{tags[row.variant]}": int(row.seeds_better),
                    f"test_{tags[row.variant]}": (f"paired t-test, Holm over the {len(paired)} variants: p = {row.p_holm:.2g}, "
                                                  f"smallest detectable difference {row.mde:.4f}" if pd.notna(row.p_holm)
                                                  else "not t-tested: a run ran away, or one seed")}
    sized = table[table.bottleneck == 64]
    best, worst = sized.loc[sized.rmse_mean.idxmin()], sized.loc[sized.rmse_mean.idxmax()]
    return numbers | {"n_seeds": int(table.n_seeds.max()), "best": best.label, "worst": worst.label,
                      "spread": float(worst.rmse_mean - best.rmse_mean)}


def code_size_numbers(pca: dict, paper_curve: pd.Series, table: pd.DataFrame) -> dict:
    """The student report's code-size comparison: PCA at 4 and 64 components, and the paper
    chapter's deeper MLP at n = 4 against the tiny model (activations_losses_table); the blur
    sentence says what a 4-d code is shown to allow: PCA's and the deeper MLP's 4-d codes bound it."""
    tiny, deeper = table.query("bottleneck == 4").rmse_mean.item(), float(paper_curve.get(4, np.nan))
    if tiny > pca[4]:
        blur = (f"The tiny model's mean is above PCA's with the same 4 components ({tiny:.4f} against {pca[4]:.4f}): "
                "a linear map of 4 numbers reconstructs better, so the code's size alone does not explain its blur "
                "(its 8 hidden units or its training may; not tested here).")
    elif tiny > deeper:
        blur = (f"The tiny model's mean is below PCA's with the same 4 components ({tiny:.4f} against {pca[4]:.4f}) "
                f"but above the deeper MLP's ({deeper:.4f}, {tiny - deeper:+.4f}; untested): a 4-d code can do at least that "
                "well, so not all of the tiny model's blur is its code's size; its 8 hidden units or its loss "
                "may account for the rest (not tested here).")
    else:
        blur = (f"The tiny model's mean is below PCA's with the same 4 components ({tiny:.4f} against {pca[4]:.4f})"
                + (" and below the deeper MLP's" if np.isfinite(deeper) else "") + ": when four numbers cannot say which "
                "of many similar digits an image is, "
                "the reconstruction that minimises the expected squared error, and the cross-entropy too, is their "
                "average, a smooth prototype without the strokes that tell the digits apart (a reading, not a measurement).")
    return {"pca_4": pca[4], "pca_64": pca[64], "paper_4": deeper,
            "deeper": "lower" if deeper < tiny else "higher", "blur_sentence": blur}


def plot_reconstructions(runs: dict, test):
    """The first test image of each class (top row of each grid) and its reconstruction by the
    first seed of each model (label -> runs), one grid per model."""
    originals, recon = class_reconstructions(runs, test)                             # (10, 784) each
    fig, axes = plots.figure(nrows=len(runs), width=7, height=1.7)
    for ax, (label, group) in zip(np.atleast_1d(axes), runs.items()):
        plots.reconstruction_grid(ax, originals, recon[label], title=f"{label} (n={group[0]['config']['bottleneck']})")
    return fig


def plot_code_size_curve(pca: dict, paper_curve, table):
    """Test RMSE against code size: PCA, the paper chapter's MLP (mean per n) and the student
    report's models (activations_losses_table: mean and std over seeds)."""
    sizes, colours = list(pca), plots.method_colours(["PCA", "standard", *table.label])
    fig, ax = plots.figure(width=6.5, height=4.5)
    ax.plot(sizes, [pca[n] for n in sizes], "o-", color=colours["PCA"], label="PCA")
    ax.plot(paper_curve.index, paper_curve.values, "s-", color=colours["standard"],
            label="784-128-64-n, sigmoid + BCE (paper chapter)")
    for i, row in enumerate(table.itertuples()):           # nudged apart: two models can share a code size
        ax.errorbar(row.bottleneck * 1.04 ** (i - (len(table) - 1) / 2), row.rmse_mean, yerr=row.rmse_std,
                    fmt=plots.MARKERS[(i + 2) % len(plots.MARKERS)], capsize=3, color=colours[row.label],
                    label=f"{row.model} (n = {row.bottleneck}), {row.label}")
    plots.code_size_axis(ax, sizes)
    ax.set_ylabel("test RMSE")
    plots.legend_outside(fig, loc="outside lower center", ncol=2)
    return fig
