"""What each chapter trains: its grids of runs, and the penalty chapter's two-stage selection.

A chapter's notebook asks for its runs here (trained where missing, through the run cache) and
turns them into tables with `report`. Stage 1 chooses each penalty's alpha on the validation
RMSE of the profile's `selection_seeds`; stage 2 trains the `variant_seeds`, a disjoint set,
at the chosen alphas.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from . import report
from .cache import get_runs
from .config import DECORRELATION_PENALTIES, Profile, RunConfig
from .data import corrupt, load_splits, noise_draws
from .metrics import class_silhouette, code_scores, fit_pca, pca_codes, pca_quantized_mse, quantized_mse
from .model import StackedAutoencoder
from .train import evaluate


def penalty_grid(profile: Profile, bottleneck: int, seeds, penalties, alphas, **fields) -> list[RunConfig]:
    """For one code size: every seed x (the standard loss + every penalty at every alpha).
    `fields` overrides RunConfig fields (e.g. code_activation)."""
    common = dict(bottleneck=bottleneck, **profile.run_fields(), **fields)
    runs = []
    for seed in seeds:
        runs.append(RunConfig(seed=seed, **common))
        runs += [RunConfig(seed=seed, penalty=p, alpha=a, **common) for p in penalties for a in alphas]
    return runs


def decorrelation_grid(profile: Profile, bottleneck: int, **fields) -> list[RunConfig]:
    """The paper's runs: the profile seeds x (standard + eq. 3 at each of the profile alphas).
    Alpha is chosen afterwards on validation from these same runs (report.alpha_selection)."""
    return penalty_grid(profile, bottleneck, profile.seeds, ("signed",), profile.alphas, **fields)


def variant_selection_grid(profile: Profile, bottleneck: int, **fields) -> list[RunConfig]:
    """The penalty chapter, stage 1: the selection seeds x (standard + every decorrelation penalty
    at every variant alpha), on whose validation RMSE each penalty's alpha is chosen. Where the
    seeds and alphas agree, its standard and signed runs are decorrelation_grid's."""
    return penalty_grid(profile, bottleneck, profile.selection_seeds, DECORRELATION_PENALTIES,
                        profile.variant_alphas, **fields)


def variant_grid(profile: Profile, bottleneck: int, selected: dict[str, float], **fields) -> list[RunConfig]:
    """The penalty chapter, stage 2: the variant seeds x (standard + each penalty of `selected`
    at its alpha, the one stage 1 chose). No seed of stage 1 is among them (load_profile)."""
    common = dict(bottleneck=bottleneck, **profile.run_fields(), **fields)
    runs = []
    for seed in profile.variant_seeds:
        runs.append(RunConfig(seed=seed, **common))
        runs += [RunConfig(seed=seed, penalty=p, alpha=float(a), **common) for p, a in selected.items()]
    return runs


FIGURE1_COLUMNS = ["bottleneck", "method", "alpha", "seed", "silhouette", "runaway", "code_std_mean", "key"]


def figure1_table(settings: Profile, labels, bottleneck: int = 2, device: str | None = None) -> tuple[pd.DataFrame, dict]:
    """figure1.csv: the class silhouette (metrics.class_silhouette) of the test codes of the
    paper's standard and selected-alpha penalty runs (decorrelation_grid), one row per run; and
    the runs' test codes by key for the pictures."""
    runs = get_runs(decorrelation_grid(settings, bottleneck), device=device)
    codes = {run["key"]: run["test_codes"].numpy() for run in runs}          # key -> (10000, n)
    chosen = report.selected_runs(report.runs_frame(runs))
    chosen = chosen.assign(silhouette=[class_silhouette(codes[key], labels) for key in chosen.key])
    table = chosen.sort_values(["method", "seed"], ascending=[False, True], ignore_index=True)
    return table[FIGURE1_COLUMNS], codes


def linear_code_grid(profile: Profile, bottleneck: int) -> list[RunConfig]:
    """The penalty chapter's bottleneck-activation check: the standard loss with a linear code
    over the variant seeds (its LeakyReLU counterpart is variant_grid's standard runs)."""
    return variant_grid(profile, bottleneck, {}, code_activation="linear")


def variant_runs(settings, bottleneck: int, device: str | None = None, **fields) -> tuple[list[dict], list[dict]]:
    """The penalty chapter's runs at one code size, trained first where missing, in two stages:
    the selection runs (variant_selection_grid: the selection seeds at every variant alpha)
    and the table runs (variant_grid: the variant seeds at the alphas those select)."""
    selection_runs = get_runs(variant_selection_grid(settings, bottleneck, **fields), device=device)
    chosen = report.alpha_selection(report.runs_frame(selection_runs)).query("selected")
    alphas = dict(zip(chosen.penalty, chosen.alpha))
    selected = {penalty: float(alphas[penalty]) for penalty in DECORRELATION_PENALTIES}   # in chapter order
    return selection_runs, get_runs(variant_grid(settings, bottleneck, selected, **fields), device=device)


def penalty_models(settings, device: str | None = None) -> dict[tuple[int, str], list[dict]]:
    """selected_models of the penalty chapter's table runs (variant_runs) at every code size of
    the profile: the standard loss and each penalty at its selected alpha, over the variant seeds."""
    return report.selected_models([run for n in settings.bottlenecks for run in variant_runs(settings, n, device)[1]])


@dataclass
class Evaluation:
    """What the chapters that evaluate trained codes share: the penalty chapter's models at their
    selected alphas ((n, variant) -> runs over seeds), PCA fitted on the same training images."""

    train: torch.Tensor            # (N, 784) the profile's training images
    test: torch.Tensor             # (10000, 784)
    labels: tuple                  # (train labels (N,), test labels (10000,)) as numpy arrays
    models: dict                   # (n, variant) -> list of runs over the variant seeds
    pca: object                    # sklearn PCA with max(bottlenecks) components


def evaluation(settings: Profile, device: str | None = None) -> Evaluation:
    """The shared setup of the compression and code-quality chapters, trained where missing."""
    splits = load_splits(settings.dataset)
    train = splits.train.images[:settings.train_size]
    return Evaluation(train=train, test=splits.test.images,
                      labels=(splits.train.labels[:settings.train_size].numpy(), splits.test.labels.numpy()),
                      models=penalty_models(settings, device), pca=fit_pca(train, max(settings.bottlenecks)))


def quantization_curves(setup: Evaluation, bottlenecks, bits: list[int]) -> pd.DataFrame:
    """Test MSE after uniform quantisation of each code dimension to `bits`, one row per method,
    code size, bits and seed (PCA: seed 0), with whether the run ran away: the rows of
    report.rate_distortion_table and report.low_rate_table."""
    rows = []
    for n in bottlenecks:
        mse = pca_quantized_mse(setup.pca, setup.train, setup.test, n, bits)
        rows += [{"method": "PCA", "bottleneck": n, "bits_per_dim": b, "seed": 0, "mse": m, "runaway": False}
                 for b, m in zip(bits, mse)]
    for (n, variant), group in setup.models.items():
        mse = quantized_mse(StackedAutoencoder.from_runs(group), setup.train, setup.test, bits)    # (K, B)
        for run, per_bits in zip(group, mse):
            runaway = report.is_runaway(run)
            rows += [{"method": variant, "bottleneck": n, "bits_per_dim": b, "seed": run["config"]["seed"],
                      "mse": float(m), "runaway": runaway} for b, m in zip(bits, per_bits)]
    return pd.DataFrame(rows)


def code_scores_per_run(setup: Evaluation, bottlenecks, tsne_size: int) -> pd.DataFrame:
    """k-NN and logistic-regression accuracy and trustworthiness of each model's codes, one row
    per (method, code size, seed): rows of report.code_quality_table."""
    test_images = setup.test.numpy()
    rows = []
    for n in bottlenecks:
        codes = pca_codes(setup.pca, setup.train, n), pca_codes(setup.pca, setup.test, n)
        rows.append({"method": "PCA", "bottleneck": n, "seed": 0,
                     **code_scores(*codes, *setup.labels, test_images, tsne_size)})
    for (n, variant), group in setup.models.items():
        model = StackedAutoencoder.from_runs(group)
        train_codes, test_codes = model.codes(setup.train).numpy(), model.codes(setup.test).numpy()   # (K, N, n)
        for k, run in enumerate(group):
            rows.append({"method": variant, "bottleneck": n, "seed": run["config"]["seed"],
                         **code_scores(train_codes[k], test_codes[k], *setup.labels, test_images, tsne_size)})
    return pd.DataFrame(rows)


def denoising_sweep(runs: dict[str, list[dict]], test: torch.Tensor, levels: list[float]) -> pd.DataFrame:
    """denoising.csv: test RMSE against the clean images of each model (label -> its runs over
    seeds, all of one architecture) on test images corrupted by each noise kind at each level
    (0 = clean), mean and std over seeds. One noise draw (seed 0) serves every model."""
    labels = list(runs)
    model = StackedAutoencoder.from_runs([run for label in labels for run in runs[label]])
    normal, uniform = noise_draws(tuple(test.shape), torch.Generator().manual_seed(0))
    rows = []
    for kind in ("gaussian", "masking"):
        for level in [0.0, *levels]:
            noisy = corrupt(test, kind, level, normal, uniform) if level > 0 else test
            errors, _ = evaluate(model, noisy, targets=test)                  # (K, Ntest)
            rmse = errors.mean(dim=1).sqrt().view(len(labels), -1)             # (models, seeds)
            rows += [{"noise": kind, "level": level, "model": label, "rmse": float(r.mean()), "rmse_std": float(r.std())}
                     for label, r in zip(labels, rmse)]
    return pd.DataFrame(rows)
