"""The lecture notes' chapters (PCA vs autoencoders, regularizers): what they train, their tables,
and the numbers their text quotes.

Each chapter's notebook asks for its runs here (trained where missing, through the run cache),
saves and shows the tables built here, and glues the dicts of numbers built here (keys are glue
names without the page's prefix: `pages.glue_numbers(lectures.xxx(...), prefix="pa_")`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import evaluations, report
from .cache import get_runs
from .experiments import class_reconstructions, profile_pca
from .config import CODE_SIZES, Profile, RunConfig, load_profile
from .data import corrupt, noise_draws
from .metrics import pca_codes, pca_rmse, rmse_from_squared_errors
from .model import build
from .train import evaluate


# ------------------------------------------------------------------------ PCA and autoencoders

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
    frames = {"linear AE": report.runs_frame(chapter.linear), "nonlinear AE": report.runs_frame(chapter.nonlinear)}
    return report.pca_vs_ae_table(chapter.pca_rmse, frames)


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
    from .record import decode_images

    rows, shown, noise = [], {}, evaluations.noise_images()[:10]                  # (10, 784)
    for run, found in zip(runs, evaluations.results("overcomplete", runs, splits)):
        cfg = run["config"]
        model = "no penalty" if cfg["penalty"] == "none" else f"L1, alpha={cfg['alpha']:g}"
        rows.append({"model": model, "test_rmse": run["metrics"]["test_rmse"],
                     **{k: found[k] for k in ("noise_rmse", "near_zero_codes", "active_units_per_image")}})
        shown[model] = [noise, decode_images(found["noise_out"])]
    return pd.DataFrame(rows), shown


BLANK_NOISE_RMSE = 3 ** -0.5   # RMSE of an all-black output on uniform noise images: sqrt(E[u^2]) = 1/sqrt(3)


def overcomplete_numbers(over: pd.DataFrame, runs: list[dict]) -> dict:
    """The text's numbers on the overcomplete code (first row: no penalty; `l1`: the L1 alpha with
    the fewest active units) and its two verdicts: does it copy noise, does the penalty make the
    code sparse."""
    ratio = float(over.noise_rmse.iloc[0] / over.test_rmse.iloc[0])     # no penalty: RMSE on noise / on digits
    blank = abs(over.noise_rmse.iloc[0] / BLANK_NOISE_RMSE - 1) <= 0.05
    copies = ("noise comes back about as well as digits: it passes arbitrary images through" if ratio <= 1.25
              else "noise comes back worse than digits but within twice their error: it passes arbitrary images "
              "through in part" if ratio <= 2
              else "it has not learnt to pass arbitrary images through in this training budget, so its low digit error "
              "is not plain copying" + (" (its noise RMSE is within 5% of a blank output's)" if blank else ""))
    sparser = (over.active_units_per_image.iloc[1:] < over.active_units_per_image.iloc[0]).all()   # every L1 alpha listed
    sparsest = 1 + int(np.argmin(over.active_units_per_image.iloc[1:].to_numpy()))
    numbers = {f"{column}_{tag}": float(over[name].iloc[i]) for i, tag in ((0, "none"), (sparsest, "l1"))
               for column, name in (("noise", "noise_rmse"), ("test", "test_rmse"), ("active", "active_units_per_image"))}
    return numbers | {"overcomplete_size": runs[0]["config"]["bottleneck"], "l1_alpha": float(runs[sparsest]["config"]["alpha"]),
                      "noise_ratio": ratio, "copy_verdict": copies,
                      "blank_noise_rmse": BLANK_NOISE_RMSE,
                      "sparse_verdict": "At every alpha listed, the penalty makes the code sparser" if sparser
                      else "The penalty does not make the code sparser at every alpha listed"}


# ------------------------------------------------------------------------------- regularizers

def regularizer_families(l1_alphas, l2_alphas, kl_alphas, rho, topk, gaussian_level, masking_level,
                         conv_channels) -> dict[str, dict]:
    """label -> the RunConfig fields of each model the chapter trains, over the MLP without a penalty."""
    families = {"standard": dict()}
    families |= {f"L1, alpha={a:g}": dict(penalty="l1", alpha=a) for a in l1_alphas}
    families |= {f"L2, alpha={a:g}": dict(penalty="l2", alpha=a) for a in l2_alphas}
    families["sigmoid code"] = dict(code_activation="sigmoid")
    families |= {f"KL rho={rho:g}, alpha={a:g}": dict(code_activation="sigmoid", penalty="kl", alpha=a, rho=rho)
                 for a in kl_alphas}
    families |= {f"{k}-sparse": dict(code_activation="linear", code_topk=k) for k in topk}
    families[f"denoising, gaussian {gaussian_level:g}"] = dict(noise="gaussian", noise_level=gaussian_level)
    families[f"denoising, masking {masking_level:g}"] = dict(noise="masking", noise_level=masking_level)
    families["convolutional"] = dict(arch="conv", hidden=tuple(conv_channels))
    return families


def quoted_models(families: dict[str, dict]) -> dict[str, str]:
    """tag -> label of the model of each family the text quotes: the last-listed L1, L2 and KL
    alpha, the first k, each denoiser; tags as in the glue names (rg_l1_rmse_mean)."""
    def labels(**fields) -> list[str]:
        return [label for label, f in families.items() if all(f.get(k) == v for k, v in fields.items())]

    return {"std": "standard", "sig": "sigmoid code", "conv": "convolutional", "l1": labels(penalty="l1")[-1],
            "l2": labels(penalty="l2")[-1], "kl": labels(penalty="kl")[-1],
            "ks": [label for label, f in families.items() if "code_topk" in f][0],
            "gauss": labels(noise="gaussian")[0], "mask": labels(noise="masking")[0]}


def regularizer_configs(settings: Profile, bottleneck: int, families: dict[str, dict]) -> dict[str, list[RunConfig]]:
    """label -> that model's configs at code size `bottleneck`, one per seed (RunConfig checks every value)."""
    common = dict(bottleneck=bottleneck, **settings.run_fields())
    return {label: [RunConfig(seed=s, **common, **fields) for s in settings.seeds] for label, fields in families.items()}


def regularizer_runs(settings: Profile, bottleneck: int, families: dict[str, dict],
                     device: str | None = None) -> dict[str, list[dict]]:
    """label -> that model's runs at code size `bottleneck`, one per seed; one get_runs call, so
    the runs of one architecture train as one stack (recorded runs serve)."""
    configs = regularizer_configs(settings, bottleneck, families)
    trained = iter(get_runs([c for cs in configs.values() for c in cs], device=device, recorded=True))
    return {label: [next(trained) for _ in cs] for label, cs in configs.items()}


def regularizer_numbers(summary: pd.DataFrame, tags: dict[str, str]) -> dict:
    """The text's numbers from regularizers.csv: test RMSE, near-zero share and mean |corr| of each
    quoted model ({tag}_rmse_mean, ...), and the verdicts on the L1 code and the k-sparse code."""
    by_model = summary.set_index("model")
    numbers = {f"{tag}_{column}": float(by_model.loc[label, column]) for tag, label in tags.items()
               for column in ("rmse_mean", "near_zero", "corr_mean")}
    least, ks = by_model.corr_mean.idxmin(), tags["ks"]
    numbers["least_corr"] = (f"the least correlated of all models (mean |corr| {by_model.corr_mean.min():.3f}; untested)"
                             if least == ks else f"mean |corr| {by_model.loc[ks, 'corr_mean']:.3f}; "
                             f"the least correlated model is {least} ({by_model.corr_mean.min():.3f}; untested)")
    numbers["l1_verdict"] = "more" if numbers["l1_near_zero"] > numbers["std_near_zero"] else "no more"
    return numbers


def code_summaries(runs: dict[str, list[dict]], splits) -> dict[str, list[dict]]:
    """label -> the code_summary evaluation of each of its runs (record or weights)."""
    return {label: evaluations.results("code_summary", group, splits) for label, group in runs.items()}


def first_codes(summaries: dict[str, list[dict]], labels: list[str]) -> dict[str, np.ndarray]:
    """label -> the first ten test codes (10, n) of its first seed's run, for the code heatmaps."""
    from .record import decode_array

    return {label: decode_array(summaries[label][0]["first_codes"]) for label in labels}


def code_numbers(summaries: dict[str, list[dict]], frame: pd.DataFrame, families: dict, tags: dict[str, str]) -> dict:
    """The text's numbers on the sparse codes: the k-sparse code's nonzero units per image (first
    seed), the L2 code's scale against the standard's, the sigmoid codes' mean activation."""
    code_std = frame.groupby("model", sort=False).code_std_mean.mean()   # std of a unit over images, mean over units, seeds
    l2, std = float(code_std[tags["l2"]]), float(code_std["standard"])
    activation = {tag: float(np.mean([found["code_mean"] for found in summaries[tags[tag]]])) for tag in ("kl", "sig")}
    return {"ks_active": float(summaries[tags["ks"]][0]["active_per_image"]),
            "k": families[tags["ks"]]["code_topk"], "l1_alpha": families[tags["l1"]]["alpha"],
            "l2_alpha": families[tags["l2"]]["alpha"], "l2_code_std": l2, "std_code_std": std,
            "l2_shrinks": "shrinks" if l2 < std else "does not shrink",
            "kl_activation": activation["kl"], "sig_activation": activation["sig"]}


def denoising_numbers(denoising: pd.DataFrame, families: dict, tags: dict[str, str]) -> dict:
    """The text's numbers from denoising.csv: for each denoiser, the RMSE of it and of the standard
    model at its training noise level, and at how many noisy levels it beats the standard model."""
    wide = denoising.pivot_table(index=["noise", "level"], columns="model", values="rmse")
    numbers = {}
    for tag in ("gauss", "mask"):
        label = tags[tag]
        kind, level = families[label]["noise"], families[label]["noise_level"]
        noisy = wide.loc[kind].drop(index=0.0)                       # the levels with noise
        numbers |= {f"{tag}_level": level, f"{tag}_at_std": float(wide.loc[(kind, level), "standard"]),
                    f"{tag}_at_dae": float(wide.loc[(kind, level), label]),
                    f"{tag}_better": int((noisy[label] < noisy["standard"]).sum())}
    return numbers


def denoising(runs: dict[str, list[dict]], splits, levels: list[float]) -> tuple[pd.DataFrame, dict]:
    """denoising.csv: test RMSE against the clean images of each model (label -> its runs over
    seeds) on test images corrupted by each noise kind at each level (0 = clean), mean and std
    over seeds, one fixed noise draw (seed 0); and label -> each run's denoising evaluation."""
    found = {label: evaluations.results("denoising", group, splits, {"levels": list(levels)}) for label, group in runs.items()}
    rows = []
    for kind in ("gaussian", "masking"):
        for i, level in enumerate([0.0, *levels]):
            rows += [{"noise": kind, "level": level, "model": label, "rmse": float(np.mean(r := [f[kind][i] for f in each])),
                      "rmse_std": float(np.std(r, ddof=1)) if len(r) > 1 else float("nan")} for label, each in found.items()]
    return pd.DataFrame(rows), found


def denoised_examples(found: dict[str, list[dict]], families: dict, tags: dict[str, str], test: torch.Tensor,
                      count: int = 10) -> dict[str, list[torch.Tensor]]:
    """title -> [noisy, denoised, clean] images (count, 784) per denoiser (first seed), with the
    test set's fixed noise draw (seed 0) at the denoiser's training level (`found`: denoising's)."""
    from .record import decode_images

    normal, uniform = noise_draws(tuple(test.shape), torch.Generator().manual_seed(0))   # (Ntest, 784) each
    panels = {}
    for label in (tags["gauss"], tags["mask"]):
        kind, level = families[label]["noise"], families[label]["noise_level"]
        noisy = corrupt(test[:count], kind, level, normal[:count], uniform[:count])       # (count, 784)
        recon = decode_images(found[label][0]["denoised"])[:count]
        panels[f"{kind.capitalize()} noise {level:g}: noisy / denoised / original"] = [noisy, recon, test[:count]]
    return panels


CONV_PAIR = {"MLP 784-128-64-n": "standard", "convolutional": "convolutional"}   # shown name -> model


def conv_table(runs: dict[str, list[dict]], summary: pd.DataFrame) -> pd.DataFrame:
    """regularizers_conv.csv: the MLP and the convolutional AE, their parameter counts and mean test RMSE."""
    by_model = summary.set_index("model")
    def parameters(run: dict) -> int:                   # counted on the built model: no weights needed
        return sum(p.numel() for p in build(RunConfig.from_dict(run["config"]), seeds=[0]).parameters())

    return pd.DataFrame({"model": list(CONV_PAIR), "parameters": [parameters(runs[m][0]) for m in CONV_PAIR.values()],
                         "test_rmse": [by_model.loc[m, "rmse_mean"] for m in CONV_PAIR.values()]})


def conv_reconstructions(runs: dict[str, list[dict]], test) -> dict[str, list[torch.Tensor]]:
    """title -> [originals, reconstructions] of the first test image of each class by the first
    seed of each model of CONV_PAIR."""
    originals, recon = class_reconstructions({model: runs[model] for model in CONV_PAIR.values()}, test)
    return {f"{name} (n = {runs[model][0]['config']['bottleneck']}): original / reconstruction": [originals, recon[model]]
            for name, model in CONV_PAIR.items()}


def conv_numbers(conv: pd.DataFrame, families: dict) -> dict:
    """The text's numbers on the convolutional AE: its channels, both parameter counts, and whether
    its test RMSE is lower than the MLP's."""
    mlp, cnn = conv.to_dict("records")
    return {"channels": " and ".join(map(str, families["convolutional"]["hidden"])),
            "params_mlp": int(mlp["parameters"]), "params_conv": int(cnn["parameters"]),
            "conv_verdict": "lower" if cnn["test_rmse"] < mlp["test_rmse"] else "higher"}
