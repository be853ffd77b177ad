"""The lecture notes' PCA chapter (pca_vs_ae page): a linear autoencoder against PCA (test RMSE,
principal angles between their subspaces), and an overcomplete code with and without noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import evaluations
from ..runtable import runs_frame
from ..cache import get_runs
from ..config import CODE_SIZES, Profile, RunConfig, load_profile
from ..data import load_splits
from ..metrics import fit_pca, pca_codes, pca_rmse, rmse_from_squared_errors
from ..model import build
from ..train import evaluate
from .decorrelation import PAPER_BY_N


def profile_pca(settings: Profile, components: int):
    """PCA with `components` components, fitted on the profile's training images; and the splits."""
    splits = load_splits(settings.dataset)
    return fit_pca(splits.train.images[:settings.train_size], components), splits


LINEAR = dict(hidden=(), activation="linear", code_activation="linear", output="linear", loss="mse")   # 784-n-784
TOLERANCE = 0.05                  # relative RMSE gap at which the linear AE counts as converged to PCA


@dataclass
class PcaChapter:
    """What the PCA chapter compares: PCA fitted on the profile's training images, and the linear
    (784-n-784, MSE) and nonlinear (784-128-64-n) autoencoders' runs, n-major then seed."""

    splits: object                 # data.Splits of the profile's data set
    test: torch.Tensor             # (10000, 784)
    labels: np.ndarray             # (10000,) test labels
    pca: object                    # sklearn PCA with max(CODE_SIZES) components
    pca_rmse: dict                 # n -> PCA's pooled test RMSE
    linear: list[dict]
    nonlinear: list[dict]


def linear_config(settings: Profile, n: int, seed: int, lr: float) -> RunConfig:
    """The linear autoencoder 784-n-784 (no activation anywhere, MSE) of the profile."""
    return RunConfig(bottleneck=n, seed=seed, lr=lr, **LINEAR, **settings.run_fields())


def pca_configs(settings: Profile, linear_lr: float) -> tuple[list[RunConfig], list[RunConfig]]:
    """The chapter's nonlinear (784-128-64-n) and linear (784-n-784) runs: every code size of
    CODE_SIZES and seed of the profile, n-major."""
    grid = [(n, s) for n in CODE_SIZES for s in settings.seeds]
    return ([RunConfig(bottleneck=n, seed=s, **settings.run_fields()) for n, s in grid],
            [linear_config(settings, n, s, linear_lr) for n, s in grid])


def pca_chapter(settings: Profile, linear_lr: float, device: str | None = None) -> PcaChapter:
    """PCA and the chapter's runs, trained where missing (recorded runs serve: the page reads
    their evaluations, not their weights)."""
    pca, splits = profile_pca(settings, max(CODE_SIZES))
    test = splits.test.images                                                         # (10000, 784)
    nonlinear, linear = (get_runs(configs, device=device, recorded=True) for configs in pca_configs(settings, linear_lr))
    return PcaChapter(splits, test, splits.test.labels.numpy(), pca, pca_rmse(pca, test, CODE_SIZES), linear, nonlinear)


def rmse_table(chapter: PcaChapter) -> pd.DataFrame:
    """pca_vs_ae.csv: test RMSE per code size of PCA, the linear and the nonlinear autoencoder."""
    frames = {"linear AE": runs_frame(chapter.linear), "nonlinear AE": runs_frame(chapter.nonlinear)}
    return pca_vs_ae_table(chapter.pca_rmse, frames)


def rmse_numbers(table: pd.DataFrame) -> dict:
    """The text's numbers from pca_vs_ae.csv: every RMSE (pca_n, linear_n, ae_n), at how many sizes
    the nonlinear AE beats PCA, its relative gap to PCA at n = 2 and 4, and whether those gaps lie
    within TOLERANCE (then the tolerance cannot tell the two models apart)."""
    wide = table.pivot(index="bottleneck", columns="method", values="rmse")
    numbers = {f"{tag}_{n}": float(wide.loc[n, method]) for n in wide.index
               for method, tag in (("PCA", "pca"), ("linear AE", "linear"), ("nonlinear AE", "ae"))}
    numbers["ae_beats_pca"] = int((wide["nonlinear AE"] < wide["PCA"]).sum())
    numbers["n_sizes"] = len(wide)
    numbers |= {f"ae_gap_{n}": float(wide.loc[n, "nonlinear AE"] / wide.loc[n, "PCA"] - 1) for n in (2, 4)}
    inside = sum(abs(numbers[f"ae_gap_{n}"]) <= TOLERANCE for n in (2, 4))
    numbers["ae_tolerance_sentence"] = (
        f"The nonlinear AE's gaps are within the tolerance at {inside} of these 2 sizes: "
        + ("at this training budget the tolerance alone cannot tell a linear AE from another model." if inside else
           "here the tolerance does tell the nonlinear AE from one that matches PCA."))
    shared = [n for n in PAPER_BY_N.index[::-1] if n in wide.index]                     # the paper's n = 8, 4, 2
    numbers["paper_sentence"] = "; ".join(
        f"n = {n}: {wide.loc[n, 'nonlinear AE']:.4f} against {PAPER_BY_N.standard[n]:.4f} "
        f"({wide.loc[n, 'nonlinear AE'] - PAPER_BY_N.standard[n]:+.4f})" for n in shared)
    return numbers


def codes_2d(chapter: PcaChapter) -> tuple[np.ndarray, np.ndarray]:
    """The test set in two dimensions: PCA's first two scores and the code of the nonlinear AE
    with n = 2 (first seed), each (Ntest, 2)."""
    ae = next(run for run in chapter.nonlinear if run["config"]["bottleneck"] == 2)
    return pca_codes(chapter.pca, chapter.test, 2), ae["test_codes"].numpy()


def subspace_table(chapter: PcaChapter) -> pd.DataFrame:
    """pca_subspace.csv: per code size, the linear AE's mean test RMSE against PCA's, and the
    principal angles between its decoder's span and the top n components (the first run's seed;
    the subspace evaluation, from the record or the weights)."""
    linear, pca_test = chapter.linear, chapter.pca_rmse
    frame = pd.DataFrame([{"bottleneck": run["config"]["bottleneck"], "seed": run["config"]["seed"],
                           "test_rmse": run["metrics"]["test_rmse"]} for run in linear])
    mean = frame.groupby("bottleneck").test_rmse.mean()
    first = {run["config"]["bottleneck"]: run for run in linear if run["config"]["seed"] == linear[0]["config"]["seed"]}
    angles = dict(zip(pca_test, evaluations.results("subspace", [first[n] for n in pca_test], chapter.splits)))
    return pd.DataFrame([{"bottleneck": n, "pca_rmse": pca_test[n], "linear_ae_rmse": mean[n],
                          "relative_gap": mean[n] / pca_test[n] - 1, **angles[n]} for n in pca_test])


def untrained_ratios(settings: Profile, test: torch.Tensor, pca_test: dict, lr: float) -> dict[int, float]:
    """The linear AE at its initial weights (first seed): its test RMSE over PCA's, per code size;
    the scale against which the trained gap is read."""
    ratios = {}
    for n in pca_test:
        cfg = linear_config(settings, n, settings.seeds[0], lr)
        errors, _ = evaluate(build(cfg, seeds=[cfg.seed]).eval(), test)             # (1, Ntest)
        ratios[n] = rmse_from_squared_errors(errors[0])["rmse"] / pca_test[n]
    return ratios


def subspace_numbers(subspace: pd.DataFrame, untrained: dict, linear_lr: float) -> dict:
    """The text's numbers on the linear AE: the tolerance and how many sizes meet it, the range of
    gaps, two principal angles and the untrained ratios' range."""
    by_n = subspace.set_index("bottleneck")
    return {"tolerance": TOLERANCE, "linear_lr": linear_lr, "quick_epochs": load_profile("quick").epochs,
            "within": int((subspace.relative_gap.abs() <= TOLERANCE).sum()),
            "gap_max": float(subspace.relative_gap.max()), "gap_min": float(subspace.relative_gap.min()),
            "angle_median_2": float(by_n.median_angle_deg[2]), "angle_max_64": float(by_n.max_angle_deg[64]),
            "angle_max_low": float(by_n.max_angle_deg.min()), "angle_max_high": float(by_n.max_angle_deg.max()),
            "untrained_ratio_min": min(untrained.values()), "untrained_ratio_max": max(untrained.values())}


def overcomplete_configs(settings: Profile, size: int, alphas: list[float]) -> list[RunConfig]:
    """The overcomplete code 784-size-784 (first seed): without a penalty, then L1 at each alpha."""
    wide_code = dict(hidden=(), bottleneck=size, overcomplete=True, seed=settings.seeds[0], **settings.run_fields())
    return [RunConfig(**wide_code)] + [RunConfig(penalty="l1", alpha=a, **wide_code) for a in alphas]


def overcomplete_runs(settings: Profile, size: int, alphas: list[float], device: str | None = None) -> list[dict]:
    """overcomplete_configs' runs, trained where missing (recorded runs serve)."""
    return get_runs(overcomplete_configs(settings, size, alphas), device=device, recorded=True)


def overcomplete_table(runs: list[dict], splits) -> tuple[pd.DataFrame, dict]:
    """overcomplete.csv: per run, test RMSE on digits and on uniform noise (a model that copies its
    input reconstructs noise too), the share of near-zero code entries (|g| < 0.01) and the active
    units per test image (the overcomplete evaluation); and model -> ten noise images above what
    it returns for them."""
    from ..record import decode_images

    rows, shown, noise = [], {}, evaluations.noise_images()[:10]                  # (10, 784)
    for run, found in zip(runs, evaluations.results("overcomplete", runs, splits)):
        cfg = run["config"]
        model = "no penalty" if cfg["penalty"] == "none" else f"L1, alpha={cfg['alpha']:g}"
        rows.append({"model": model, "test_rmse": run["metrics"]["test_rmse"],
                     **{k: found[k] for k in ("noise_rmse", "near_zero_codes", "active_units_per_image")}})
        shown[model] = [noise, decode_images(found["noise_out"])]
    return pd.DataFrame(rows), shown


BLANK_NOISE_RMSE = 3 ** -0.5   # RMSE of an all-black output on uniform noise images: sqrt(E[u^2]) = 1/sqrt(3)
GREY_NOISE_RMSE = 12 ** -0.5   # the best constant output (0.5 everywhere): the noise's std, 1/sqrt(12)


def overcomplete_numbers(over: pd.DataFrame, runs: list[dict]) -> dict:
    """The text's numbers on the overcomplete code (first row: no penalty; `l1`: the L1 alpha with
    the fewest active units) and its verdicts: does it copy noise, can the noise test separate the
    models (only if some model copies), does the penalty make the code sparse."""
    ratio = float(over.noise_rmse.iloc[0] / over.test_rmse.iloc[0])     # no penalty: RMSE on noise / on digits
    blank = abs(over.noise_rmse.iloc[0] / BLANK_NOISE_RMSE - 1) <= 0.05
    copies = ("noise comes back about as well as digits: it passes arbitrary images through" if ratio <= 1.25
              else "noise comes back worse than digits but within twice their error: it passes arbitrary images "
              "through in part" if ratio <= 2
              else "it has not learnt to pass arbitrary images through in this training budget, so its low digit error "
              "is not plain copying" + (" (its noise RMSE is within 5% of a blank output's)" if blank else ""))
    copiers = over[(over.noise_rmse <= 2 * over.test_rmse) | (over.noise_rmse <= GREY_NOISE_RMSE)]
    separates = (f"None of the {len(over)} models passes noise through (the lowest noise RMSE, "
                 f"{over.noise_rmse.min():.4f}, is above a constant grey output's, {GREY_NOISE_RMSE:.3f}), so in this "
                 "training budget the noise test cannot show a penalty stopping a copy: there is no copy to stop"
                 if copiers.empty else f"Noise comes back within twice the digit error, or better than a constant grey "
                 f"output ({GREY_NOISE_RMSE:.3f}), for: {', '.join(copiers.model)}")
    sparser = (over.active_units_per_image.iloc[1:] < over.active_units_per_image.iloc[0]).all()   # every L1 alpha listed
    sparsest = 1 + int(np.argmin(over.active_units_per_image.iloc[1:].to_numpy()))
    numbers = {f"{column}_{tag}": float(over[name].iloc[i]) for i, tag in ((0, "none"), (sparsest, "l1"))
               for column, name in (("noise", "noise_rmse"), ("test", "test_rmse"), ("active", "active_units_per_image"))}
    return numbers | {"overcomplete_size": runs[0]["config"]["bottleneck"], "l1_alpha": float(runs[sparsest]["config"]["alpha"]),
                      "noise_ratio": ratio, "copy_verdict": copies,
                      "blank_noise_rmse": BLANK_NOISE_RMSE, "grey_noise_rmse": GREY_NOISE_RMSE, "noise_separates": separates,
                      "sparse_verdict": ("At every alpha listed, the penalty makes the code sparser" if sparser
                                         else "The penalty does not make the code sparser at every alpha listed")
                                        + f" ({len(runs)} runs of one seed each, untested)"}


def pca_vs_ae_table(pca_rmse: dict[int, float], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """pca_vs_ae.csv: PCA's test RMSE per code size, then each autoencoder's (name -> runs_frame)
    mean, std and seed count per code size, in the order of pca_rmse. PCA is one deterministic fit:
    it has no std over seeds (NaN, shown as a dash), not a std of 0."""
    sizes = list(pca_rmse)
    rows = [{"method": "PCA", "bottleneck": n, "rmse": pca_rmse[n], "rmse_std": np.nan, "n_seeds": 1} for n in sizes]
    for method, frame in frames.items():
        summary = frame.groupby("bottleneck").test_rmse.agg(["mean", "std", "count"])
        rows += [{"method": method, "bottleneck": n, "rmse": summary.loc[n, "mean"], "rmse_std": summary.loc[n, "std"],
                  "n_seeds": int(summary.loc[n, "count"])} for n in sizes]
    return pd.DataFrame(rows)
