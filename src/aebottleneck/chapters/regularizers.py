"""The lecture notes' regularizers chapter: sparse codes (L1, L2 on the code, k-sparse, KL),
denoising, and a convolutional autoencoder with transposed convolutions against the MLP.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .. import evaluations, plots
from ..cache import get_runs
from ..config import Profile, RunConfig
from ..data import corrupt, noise_draws
from ..evaluations import class_reconstructions
from ..model import build


def regularizer_families(l1_alphas, l2_alphas, kl_alphas, rho, topk, gaussian_level, masking_level,
                         conv_channels) -> dict[str, dict]:
    """label -> the RunConfig fields of each model the chapter trains, over the MLP without a penalty."""
    families = {"standard": dict()}
    families |= {f"L1, alpha={a:g}": dict(penalty="l1", alpha=a) for a in l1_alphas}
    families |= {f"L2, alpha={a:g}": dict(penalty="l2", alpha=a) for a in l2_alphas}
    families["sigmoid code"] = dict(code_activation="sigmoid")
    families |= {f"KL rho={rho:g}, alpha={a:g}": dict(code_activation="sigmoid", penalty="kl", alpha=a, rho=rho)
                 for a in kl_alphas}
    families |= {f"{k}-sparse, linear code": dict(code_activation="linear", code_topk=k) for k in topk}
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
                             if least == ks else f"not the least correlated (mean |corr| {by_model.loc[ks, 'corr_mean']:.3f}; "
                             f"the least correlated model is {least}, {by_model.corr_mean.min():.3f}; untested)")
    numbers["l1_verdict"] = "more" if numbers["l1_near_zero"] > numbers["std_near_zero"] else "no more"
    return numbers


SUMMARY_COLUMNS = ["model", "rmse_mean", "rmse_std", "near_zero", "corr_mean", "n_seeds"]


def model_summary(frame: pd.DataFrame, by: str = "model") -> pd.DataFrame:
    """Per model (a column of `frame` naming it), means over seeds of test RMSE, the fraction of
    near-zero code entries and the mean |correlation| between code units; in first-seen order."""
    table = (frame.groupby(by, sort=False)
             .agg(rmse_mean=("test_rmse", "mean"), rmse_std=("test_rmse", "std"),
                  near_zero=("near_zero", "mean"), corr_mean=("corr_mean", "mean"),
                  n_seeds=("seed", "nunique"))
             .reset_index().rename(columns={by: "model"}))
    return table[SUMMARY_COLUMNS]


def code_summaries(runs: dict[str, list[dict]], splits) -> dict[str, list[dict]]:
    """label -> the code_summary evaluation of each of its runs (record or weights)."""
    return {label: evaluations.results("code_summary", group, splits) for label, group in runs.items()}


def first_codes(summaries: dict[str, list[dict]], labels: list[str]) -> dict[str, np.ndarray]:
    """label -> the first ten test codes (10, n) of its first seed's run, for the code heatmaps."""
    from ..record import decode_array

    return {label: decode_array(summaries[label][0]["first_codes"]) for label in labels}


def code_numbers(summaries: dict[str, list[dict]], frame: pd.DataFrame, families: dict, tags: dict[str, str]) -> dict:
    """The text's numbers on the sparse codes: the k-sparse code's nonzero units per image (first
    seed), the L2 code's scale and near-zero share against the standard's (shrunk is not sparse),
    the sigmoid codes' mean activation and how far the KL penalty takes it towards its target."""
    by_model = frame.groupby("model", sort=False)[["code_std_mean", "near_zero"]].mean()   # means over seeds
    l2, std = float(by_model.code_std_mean[tags["l2"]]), float(by_model.code_std_mean["standard"])
    l2_zero, std_zero = by_model.near_zero[tags["l2"]], by_model.near_zero["standard"]
    activation = {tag: float(np.mean([found["code_mean"] for found in summaries[tags[tag]]])) for tag in ("kl", "sig")}
    kl, rho, alpha = activation["kl"], families[tags["kl"]]["rho"], families[tags["kl"]]["alpha"]
    way = (activation["sig"] - kl) / (activation["sig"] - rho)        # the share of the way from no penalty to the target
    return {"ks_active": float(summaries[tags["ks"]][0]["active_per_image"]),
            "k": families[tags["ks"]]["code_topk"], "l1_alpha": families[tags["l1"]]["alpha"],
            "l2_alpha": families[tags["l2"]]["alpha"], "l2_code_std": l2, "std_code_std": std,
            "l2_shrinks": "shrinks" if l2 < std else "does not shrink",
            "l2_sparser": (f"more than the unpenalised model's {std_zero:.1%} (untested)" if l2_zero > std_zero else
                           f"{'fewer than' if l2_zero < std_zero else 'as many as'} the unpenalised model's {std_zero:.1%} "
                           "(untested): it shrinks the code without making it sparse"),
            "kl_activation": kl, "sig_activation": activation["sig"],
            "kl_target": (f"{kl / rho:.1f} times the target: at α = {alpha:g} the penalty moves the mean activation "
                          f"{way:.0%} of the way from the unpenalised code's to ρ and stops short of it (untested)"
                          if kl > rho else f"at or below the target (α = {alpha:g}; untested)")}


def denoising_numbers(denoising: pd.DataFrame, families: dict, tags: dict[str, str]) -> dict:
    """The text's numbers from denoising.csv: for each denoiser, the RMSE of it and of the standard
    model at its training noise level, at how many noisy levels of its own kind of noise it beats
    the standard model (and at which it does not), and at how many of the other kind it is worse."""
    wide = denoising.pivot_table(index=["noise", "level"], columns="model", values="rmse")
    numbers = {}
    for tag in ("gauss", "mask"):
        label = tags[tag]
        kind, level = families[label]["noise"], families[label]["noise_level"]
        noisy = wide.loc[kind].drop(index=0.0)                       # the levels with noise
        other = wide.drop(index=kind, level="noise").droplevel("noise").drop(index=0.0)
        losing = noisy[noisy[label] >= noisy["standard"]]
        numbers |= {f"{tag}_level": level, f"{tag}_at_std": float(wide.loc[(kind, level), "standard"]),
                    f"{tag}_at_dae": float(wide.loc[(kind, level), label]),
                    f"{tag}_better": int((noisy[label] < noisy["standard"]).sum()),
                    f"{tag}_other_worse": int((other[label] > other["standard"]).sum()),
                    f"{tag}_losing": "".join(f"; the {kind} denoiser is not lower at level {lv:g} "
                                              f"({row[label]:.4f} against {row['standard']:.4f})" for lv, row in losing.iterrows())}
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
    from ..record import decode_images

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
    """regularizers_conv.csv: the MLP and the convolutional AE, their parameter counts and test RMSE
    (mean and std over seeds, and how many seeds)."""
    by_model = summary.set_index("model")
    def parameters(run: dict) -> int:                   # counted on the built model: no weights needed
        return sum(p.numel() for p in build(RunConfig.from_dict(run["config"]), seeds=[0]).parameters())

    return pd.DataFrame({"model": list(CONV_PAIR), "parameters": [parameters(runs[m][0]) for m in CONV_PAIR.values()],
                         "test_rmse": [by_model.loc[m, "rmse_mean"] for m in CONV_PAIR.values()],
                         "rmse_std": [by_model.loc[m, "rmse_std"] for m in CONV_PAIR.values()],
                         "n_seeds": [by_model.loc[m, "n_seeds"] for m in CONV_PAIR.values()]})


def conv_reconstructions(runs: dict[str, list[dict]], test) -> dict[str, list[torch.Tensor]]:
    """title -> [originals, reconstructions] of the first test image of each class by the first
    seed of each model of CONV_PAIR."""
    originals, recon = class_reconstructions({model: runs[model] for model in CONV_PAIR.values()}, test)
    return {f"{name} (n = {runs[model][0]['config']['bottleneck']}): original / reconstruction": [originals, recon[model]]
            for name, model in CONV_PAIR.items()}


def conv_numbers(conv: pd.DataFrame, families: dict, frame: pd.DataFrame) -> dict:
    """The text's numbers on the convolutional AE: its channels, both parameter counts, whether its
    mean test RMSE is lower than the MLP's, and in how many seeds (frame: a labelled runs_frame)."""
    mlp, cnn = conv.to_dict("records")
    wide = frame.pivot_table(index="seed", columns="model", values="test_rmse")[list(CONV_PAIR.values())]
    diff = wide.iloc[:, 1] - wide.iloc[:, 0]                                              # conv - MLP, per seed
    return {"channels": " and ".join(map(str, families["convolutional"]["hidden"])),
            "params_mlp": int(mlp["parameters"]), "params_conv": int(cnn["parameters"]),
            "conv_verdict": "lower" if cnn["test_rmse"] < mlp["test_rmse"] else "higher",
            "conv_seeds": f"lower in {int((diff < 0).sum())} of {len(diff)} seeds, mean difference {diff.mean():+.4f}"}


def plot_code_heatmaps(codes: dict):
    """The codes of a few images (label -> (N, n)) of six models, one heatmap each (plots.code_heatmap)."""
    fig, axes = plots.figure(ncols=3, nrows=2, width=3.6, height=2.6)
    for ax, (label, part) in zip(axes.flat, codes.items()):
        image = plots.code_heatmap(ax, part, title=label)
    fig.colorbar(image, ax=axes, shrink=0.6, label="|code| / the row's largest")
    return fig


def plot_denoising_curves(denoising, models: list[str]):
    """denoising.csv as test RMSE against the clean images per test noise level, one panel per
    noise kind, one line per model (mean over seeds; bars: std)."""
    fig, axes = plots.figure(ncols=2, width=4.5, height=3.5, sharey=True)
    colours = plots.method_colours(models)
    for ax, kind in zip(axes, ("gaussian", "masking")):
        for label in models:
            part = denoising[(denoising.noise == kind) & (denoising.model == label)]
            ax.errorbar(part.level, part.rmse, yerr=part.rmse_std, marker="o", capsize=2, label=label, color=colours[label])
        ax.set(xlabel="std of the Gaussian noise" if kind == "gaussian" else "masking probability",
               title=f"{kind.capitalize()} test noise")
    axes[0].set_ylabel("test RMSE against clean images")
    plots.legend_outside(fig, loc="outside lower center", ncol=3)
    return fig
