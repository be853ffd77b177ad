"""The compression chapter: test RMSE after uniform quantisation of the codes of the penalty
chapter's models and of PCA, the rate an entropy coder would reach, and the penalties against the
standard loss at a low fixed rate and at equal entropy-coded rate. Its setup (`evaluation`) is
shared with the code-quality chapter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import evaluations, plots
from ..config import Profile
from ..data import load_splits
from ..metrics import entropy_rates, fit_pca, pca_codes, pca_quantized_mse, psnr
from ..runtable import is_runaway, method_order
from ..stats import holm, holm_directions, paired_cell
from .penalty_variants import penalty_models


@dataclass
class TrainedCodes:
    """What the chapters that evaluate trained codes share: the penalty chapter's models at their
    selected alphas ((n, variant) -> runs over seeds), PCA fitted on the same training images."""

    splits: object                 # data.Splits of the profile's data set
    train: torch.Tensor            # (N, 784) the profile's training images
    test: torch.Tensor             # (10000, 784)
    labels: tuple                  # (train labels (N,), test labels (10000,)) as numpy arrays
    models: dict                   # (n, variant) -> list of runs over the variant seeds
    pca: object                    # sklearn PCA with max(bottlenecks) components


def evaluation(settings: Profile, device: str | None = None) -> TrainedCodes:
    """The shared setup of the compression and code-quality chapters, trained where missing."""
    splits = load_splits(settings.dataset)
    train = splits.train.images[:settings.train_size]
    return TrainedCodes(splits=splits, train=train, test=splits.test.images,
                      labels=(splits.train.labels[:settings.train_size].numpy(), splits.test.labels.numpy()),
                      models=penalty_models(settings, device), pca=fit_pca(train, max(settings.bottlenecks)))


def quantization_curves(setup: TrainedCodes, bottlenecks, bits: list[int]) -> pd.DataFrame:
    """Test MSE after uniform quantisation of each code dimension to `bits`, one row per method,
    code size, bits and seed (PCA: seed 0), with whether the run ran away and the rate an entropy
    coder would reach on its training codes (entropy_bits: each dimension coded alone; joint_bits:
    the whole code, where estimable): the rows of compression.rate_distortion_table, low_rate_table
    and equal_rate_table."""
    rows = []
    for n in bottlenecks:
        mse = pca_quantized_mse(setup.pca, setup.train, setup.test, n, bits)
        rates = entropy_rates(pca_codes(setup.pca, setup.train, n), bits)
        rows += [{"method": "PCA", "bottleneck": n, "bits_per_dim": b, "seed": 0, "mse": m, "runaway": False,
                  "entropy_bits": r[0], "joint_bits": r[1]} for b, m, r in zip(bits, mse, rates)]
    for (n, variant), group in setup.models.items():
        for run, found in zip(group, evaluations.results("quantisation", group, setup.splits, {"bits": bits})):
            rows += [{"method": variant, "bottleneck": n, "bits_per_dim": b, "seed": run["config"]["seed"],
                      "mse": float(m), "runaway": is_runaway(run), "entropy_bits": e, "joint_bits": j}
                     for b, m, e, j in zip(found["bits_per_dim"], found["mse"], found["entropy_bits"], found["joint_bits"])]
    return pd.DataFrame(rows)


RATE_DISTORTION_COLUMNS = ["dataset", "method", "bottleneck", "bits_per_dim", "bits_per_image", "entropy_bits",
                           "joint_bits", "rmse", "psnr", "n_runaway"]


def rate_distortion_table(curves: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """rate_distortion.csv from quantised test MSEs, one row per seed (method, bottleneck,
    bits_per_dim, seed, mse, entropy_bits, joint_bits): the MSE and entropy-coded rates averaged
    over seeds, then the fixed-length bits per image, RMSE and PSNR, and how many of the runs ran away."""
    mean = (curves.assign(runaway=curves.get("runaway", False)).groupby(["method", "bottleneck", "bits_per_dim"], sort=False)
            .agg(mse=("mse", "mean"), entropy_bits=("entropy_bits", "mean"), joint_bits=("joint_bits", "mean"),
                 n_runaway=("runaway", "sum")).reset_index())
    table = mean.assign(dataset=dataset, bits_per_image=mean.bottleneck * mean.bits_per_dim,
                        rmse=np.sqrt(mean.mse), psnr=mean.mse.map(psnr))
    return table[RATE_DISTORTION_COLUMNS].reset_index(drop=True)


def runaway_marked(table: pd.DataFrame, mark: str = " *") -> dict[str, str]:
    """method -> its name with `mark` where some of its runs ran away (a table with n_runaway):
    a reader sees which curves and columns are means over broken codes."""
    away = table.groupby("method", sort=False).n_runaway.sum()
    return {method: method + mark if count else method for method, count in away.items()}


def runaway_legend(table: pd.DataFrame) -> dict[str, str]:
    """method -> the text after its legend label where some of its runs ran away (a table with n_runaway)."""
    return {method: ", with runaway runs" for method, shown in runaway_marked(table).items() if shown != method}


def rate_distortion_view(table: pd.DataFrame) -> pd.DataFrame:
    """rate_distortion_table as a reader sees it: quantised test RMSE per (n, bits per dimension),
    one column per method, named with runaway_marked's mark where some of its runs ran away."""
    wide = table.pivot_table(index=["bottleneck", "bits_per_dim"], columns="method", values="rmse")[method_order(table)]
    return (wide.rename(columns=runaway_marked(table)).reset_index()
            .sort_values(["bottleneck", "bits_per_dim"], ascending=[False, True], ignore_index=True))


def entropy_gap(table: pd.DataFrame) -> pd.DataFrame:
    """What correlation between code dimensions is worth, in bits per image: the per-dimension
    entropy minus the joint entropy of the quantised training codes (rate_distortion_table's means
    over seeds), per (code size, bits per dimension) where the joint entropy was estimated; one
    column per method, marked as runaway_marked marks it."""
    known = table.dropna(subset=["joint_bits"]).assign(gap=lambda f: f.entropy_bits - f.joint_bits)
    wide = known.pivot_table(index=["bottleneck", "bits_per_dim"], columns="method", values="gap", sort=False)
    wide = wide[[m for m in method_order(table) if m in wide]].sort_index(ascending=[False, True])
    return wide.rename(columns=runaway_marked(table)).reset_index()          # * : some of its runs ran away


LOW_RATE_COLUMNS = ["bottleneck", "bits_per_dim", "method", "diff_mean", "diff_ci_low", "diff_ci_high",
                    "p_value", "p_holm", "effect_size", "mde", "equivalence_bound", "n_seeds", "n_runaway"]


def low_rate_table(curves: pd.DataFrame, bits=(2, 3, 4)) -> pd.DataFrame:
    """Where quantisation matters: each penalised model's quantised test RMSE minus the standard
    model's, seed by seed, at each of `bits` (stats.paired_cell, Holm across the table's tested
    cells; a cell with a runaway run gets its mean only)."""
    low = curves[curves.bits_per_dim.isin(bits) & (curves.method != "PCA")].assign(rmse=lambda f: np.sqrt(f.mse))
    standard = low[low.method == "standard"].set_index(["bottleneck", "bits_per_dim", "seed"]).rmse.sort_index()   # .loc[(n, b)]
    rows = []
    for (n, b, method), cell in low[low.method != "standard"].groupby(["bottleneck", "bits_per_dim", "method"], sort=False):
        row = {"bottleneck": n, "bits_per_dim": b, "method": method, "n_seeds": len(cell),
               "n_runaway": int(cell.runaway.sum())}
        row.update(paired_cell(cell.set_index("seed").rmse, standard.loc[(n, b)], row["n_runaway"] > 0))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=LOW_RATE_COLUMNS)
    table["p_holm"] = holm(table.p_value)                                    # the table is one family
    return table.sort_values(["bottleneck", "bits_per_dim", "method"], ascending=[False, True, True], ignore_index=True)


EQUAL_RATE_COLUMNS = ["bottleneck", "rate_bits", "method", "diff_mean", "diff_ci_low", "diff_ci_high",
                      "p_value", "p_holm", "effect_size", "mde", "equivalence_bound", "n_seeds", "complete", "n_runaway"]


def equal_rate_table(curves: pd.DataFrame, bits_per_dim=(2, 3, 4), rate: str = "entropy_bits") -> pd.DataFrame:
    """Compression at equal entropy-coded rate: each run's quantised test RMSE interpolated (linear
    in rate, between its b = 2..8 points) at n x b bits per image for each b of `bits_per_dim`,
    minus the standard model's of the same seed and code size; stats.paired_cell, Holm across the
    table's tested cells, no interval on a runaway cell. A rate outside a run's range drops its seed
    pair; a cell that lost one gets its mean only (whether a run reaches a rate depends on its codes,
    so testing the rest would pick seeds by outcome), and one left with fewer than 2 pairs is left
    out. `rate`: entropy_bits (each dimension coded alone) or joint_bits (the whole code coded at
    once, which correlation does not cost; only the b where it was estimated, so small n)."""
    ae = curves[curves.method != "PCA"].assign(rmse=lambda f: np.sqrt(f.mse))
    at_rate = []
    for (method, n, seed), run in ae.groupby(["method", "bottleneck", "seed"], sort=False):
        run = run.dropna(subset=[rate]).sort_values(rate) if rate == "joint_bits" else run.sort_values(rate)
        for target in [n * b for b in bits_per_dim]:
            inside = len(run) > 1 and run[rate].notna().all() and run[rate].min() <= target <= run[rate].max()
            at_rate.append({"method": method, "bottleneck": n, "seed": seed, "rate_bits": target, "runaway": run.runaway.any(),
                            "rmse": float(np.interp(target, run[rate], run.rmse)) if inside else np.nan})
    at_rate = pd.DataFrame(at_rate)
    standard = at_rate[at_rate.method == "standard"].set_index(["bottleneck", "rate_bits", "seed"]).rmse.sort_index()
    rows = []
    for (n, target, method), cell in at_rate[at_rate.method != "standard"].groupby(["bottleneck", "rate_bits", "method"], sort=False):
        base = standard.loc[(n, target)]
        pairs = cell[cell.rmse.notna() & cell.seed.map(base.notna())]
        if len(pairs) < 2:
            continue
        row = {"bottleneck": n, "rate_bits": target, "method": method, "n_seeds": len(pairs),
               "n_runaway": int(pairs.runaway.sum()), "complete": len(pairs) == len(cell)}
        row.update(paired_cell(pairs.set_index("seed").rmse, base, row["n_runaway"] > 0 or not row["complete"]))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=EQUAL_RATE_COLUMNS)
    table["p_holm"] = holm(table.p_value)
    table = table.sort_values(["bottleneck", "rate_bits", "method"], ascending=[False, True, True], ignore_index=True)
    return table.rename(columns={"rate_bits": RATE_COLUMN[rate]})         # which rate, in the CSV and on the page


RATE_COLUMN = {"entropy_bits": "rate_bits", "joint_bits": "joint_rate_bits"}   # equal_rate_table's rate -> its column


def low_rate_numbers(low: pd.DataFrame, table: pd.DataFrame, bits: list[int]) -> dict:
    """The low-rate comparison (compression.low_rate_table) in numbers, and how often PCA's quantised
    RMSE is below the standard autoencoder's seed mean at the fewest bits (rate_distortion_table)."""
    tested = low[low.p_value.notna()]
    better, worse = holm_directions(tested)
    fewest = table[table.bits_per_dim == min(bits)].pivot_table(index="bottleneck", columns="method", values="rmse")
    span = f"{tested.diff_mean.min():+.4f} to {tested.diff_mean.max():+.4f}" if len(tested) else "none"
    return {"low_bits": min(bits), "low_top": max(bits), "cells": len(low), "tested": len(tested), "mde": median_mde(tested),
            "better": better, "worse": worse, "gain_span": span,
            "pca_beats_ae_low": int((fewest["PCA"] < fewest["standard"]).sum()), "n_sizes": len(fewest)}


def median_mde(tested: pd.DataFrame) -> str:
    """The median smallest difference the tested cells could detect (stats.paired_inference's mde,
    80% power, before Holm) as text: what "none significant" can and cannot rule out."""
    return f"{tested.mde.median():.4f}" if len(tested) else "none"


def equal_rate_numbers(table: pd.DataFrame, bits: list[int]) -> dict:
    """The equal-rate comparison (compression.equal_rate_table) in numbers; `partial`: cells some
    of whose seeds' rates did not reach the target (their mean only)."""
    tested = table[table.p_value.notna()]
    better, worse = holm_directions(tested)
    span = f"{tested.diff_mean.min():+.4f} to {tested.diff_mean.max():+.4f}" if len(tested) else "none"
    return {"bits": ", ".join(map(str, bits)), "cells": len(table), "tested": len(tested), "span": span,
            "partial": int((~table.complete.astype(bool)).sum()), "mde": median_mde(tested),
            "better": better, "worse": worse}


def plot_rate_distortion(table):
    """Test RMSE and PSNR against bits per image (compression.rate_distortion_table), one curve per
    method and code size; a method some of whose runs ran away is marked so in the legend."""
    fig, axes = plots.figure(ncols=2, width=5.5, height=4)
    for ax, column in zip(axes, ("rmse", "psnr")):
        plots.rate_distortion(ax, table, column, method_order(table), suffix=runaway_legend(table))
    plots.legend_outside(fig)
    return fig
