"""What each chapter trains: its grids of runs, and the penalty chapter's two-stage selection.

A chapter's notebook asks for its runs here (trained where missing, through the run cache) and
turns them into tables with `report`. Stage 1 chooses each penalty's alpha on the validation
RMSE of the profile's `selection_seeds`; stage 2 trains the `variant_seeds`, a disjoint set,
at the chosen alphas.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import evaluations, plots, report
from .cache import get_runs
from .config import DATASETS, DECORRELATION_PENALTIES, Profile, RunConfig, load_profile
from .data import DATASET_NAMES, first_of_each_class, load_splits
from .metrics import code_scores, entropy_rates, fit_pca, pca_codes, pca_quantized_mse, pca_rmse
from .model import StackedAutoencoder
from .pages import NAMES
from .record import CODES_UP_TO




def profile_pca(settings: Profile, components: int):
    """PCA with `components` components, fitted on the profile's training images; and the splits."""
    splits = load_splits(settings.dataset)
    return fit_pca(splits.train.images[:settings.train_size], components), splits


def class_reconstructions(runs: dict[str, list[dict]], test) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The first test image of each class (10, 784), and label -> its reconstruction (10, 784) by the
    first run of each model: a recorded run keeps these ten (record.as_run), a cached one is run."""
    originals = test.images[first_of_each_class(test.labels, 1)]                      # (10, 784)
    return originals, {label: torch.as_tensor(group[0]["reconstructions"]) if "reconstructions" in group[0]
                       else StackedAutoencoder.from_runs(group[:1]).reconstructions(originals)[0]
                       for label, group in runs.items()}


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
    """figure1.csv: the class silhouette (evaluations.silhouette) of the test codes of the
    paper's standard and selected-alpha penalty runs (decorrelation_grid), one row per run; and
    the runs by key (their test codes, n <= 2, are the pictures)."""
    runs = get_runs(decorrelation_grid(settings, bottleneck), device=device, recorded=bottleneck <= CODES_UP_TO)
    by_key = {run["key"]: run for run in runs}
    chosen = report.selected_runs(report.runs_frame(runs))
    chosen = chosen.assign(silhouette=[evaluations.silhouette(by_key[key], labels) for key in chosen.key])
    table = chosen.sort_values(["method", "seed"], ascending=[False, True], ignore_index=True)
    return table[FIGURE1_COLUMNS], by_key


def datasets_table(profile: str, device: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """datasets.csv: Table 1 of the paper's runs on every data set, with PCA's test RMSE at each n
    (fitted on the same training images); and the runs' frame. Runs are trained where missing."""
    tables, frames = [], []
    for name in DATASETS:
        settings = load_profile(profile, dataset=name)
        sizes = list(settings.bottlenecks)
        runs = [run for n in sizes for run in get_runs(decorrelation_grid(settings, n), device=device, recorded=True)]
        frames.append(report.runs_frame(runs))
        table = report.table1(frames[-1])
        pca, splits = profile_pca(settings, max(sizes))
        pca = pca_rmse(pca, splits.test.images, sizes)
        tables.append(table.assign(pca_rmse=table.bottleneck.map(pca), dataset=name))
    return pd.concat(tables, ignore_index=True), pd.concat(frames, ignore_index=True)


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
    return pca, report.runs_frame(get_runs(standard, device=device, recorded=True)).groupby("bottleneck").test_rmse.mean()


def tsne_maps(settings: Profile, seed: int, perplexity: float, bottleneck: int = 8,
              device: str | None = None) -> tuple[dict, pd.DataFrame]:
    """t-SNE maps (evaluations.tsne_map) of the first tsne_size test codes of one seed's standard
    and selected-alpha penalty runs of the paper's grid at `bottleneck`, keyed by panel title;
    and the frame of every seed's runs there (is the seed drawn a typical one?)."""
    runs = get_runs(decorrelation_grid(settings, bottleneck), device=device, recorded=True)
    by_key, frame = {run["key"]: run for run in runs}, report.runs_frame(runs)
    chosen = report.selected_runs(frame).query("seed == @seed")
    maps = {}
    for row in chosen.sort_values("method", ascending=False).itertuples():          # standard first
        title = "standard" if row.method == "standard" else f"{plots.label(row.method)}, alpha = {row.alpha:g}"
        title += " (ran away)" if row.runaway else ""
        maps[f"t-SNE, {title}"] = evaluations.tsne_map(by_key[row.key], settings.tsne_size, perplexity)   # (size, 2)
    return maps, frame


def linear_code_grid(profile: Profile, bottleneck: int) -> list[RunConfig]:
    """The penalty chapter's bottleneck-activation check: the standard loss with a linear code
    over the variant seeds (its LeakyReLU counterpart is variant_grid's standard runs)."""
    return variant_grid(profile, bottleneck, {}, code_activation="linear")


def variant_runs(settings, bottleneck: int, device: str | None = None, recorded: bool = False,
                 **fields) -> tuple[list[dict], list[dict]]:
    """The penalty chapter's runs at one code size, trained first where missing, in two stages:
    the selection runs (variant_selection_grid: the selection seeds at every variant alpha)
    and the table runs (variant_grid: the variant seeds at the alphas those select); `recorded`:
    the record's runs serve (a caller that reads no weights)."""
    selection_runs = get_runs(variant_selection_grid(settings, bottleneck, **fields), device=device, recorded=recorded)
    chosen = report.alpha_selection(report.runs_frame(selection_runs)).query("selected")
    alphas = dict(zip(chosen.penalty, chosen.alpha))
    selected = {penalty: float(alphas[penalty]) for penalty in DECORRELATION_PENALTIES}   # in chapter order
    return selection_runs, get_runs(variant_grid(settings, bottleneck, selected, **fields), device=device, recorded=recorded)


def penalty_chapter(settings: Profile, device: str | None = None) -> tuple[list[dict], list[dict]]:
    """Every run of the penalty chapter, trained where missing (the record's serve: its pages read
    no weights): stage 1's selection runs, and the table runs (stage 2 with the standard loss's
    linear-code runs), over the profile's code sizes."""
    selection_runs, runs = [], []
    for n in settings.bottlenecks:
        stage1, stage2 = variant_runs(settings, n, device, recorded=True)
        selection_runs += stage1
        runs += stage2 + get_runs(linear_code_grid(settings, n), device=device, recorded=True)
    return selection_runs, runs


def penalty_models(settings, device: str | None = None) -> dict[tuple[int, str], list[dict]]:
    """selected_models of the penalty chapter's table runs (variant_runs) at every code size of
    the profile: the standard loss and each penalty at its selected alpha, over the variant seeds
    (recorded runs serve: their evaluations are in the record)."""
    return report.selected_models([run for n in settings.bottlenecks
                                   for run in variant_runs(settings, n, device, recorded=True)[1]])


# ------------------------------------------------------------------ the confounds (issue 33)
# Plug and play: the penalties at the alpha selected for the MLP on MNIST at this code size,
# unchanged, on another autoencoder (the regularizers chapter's convolutional one) and data set.
PLUG_SIZE = 8
PLUG_CONV = dict(arch="conv", hidden=(16, 32))


def selected_alphas(selection_rows: pd.DataFrame) -> dict[int, dict[str, float]]:
    """n -> penalty -> the alpha stage 1 selected (report.alpha_selection of its runs' rows)."""
    chosen = report.alpha_selection(selection_rows).query("selected")
    return {int(n): {p: float(a) for p, a in zip(at_n.penalty, at_n.alpha)} for n, at_n in chosen.groupby("bottleneck")}


def linear_code_penalty_grid(profile: Profile, selected: dict) -> list[RunConfig]:
    """A better baseline: every penalty on the linear code, at the alpha selected for the LeakyReLU
    code, over the variant seeds (with the linear code's standard runs, linear_code_grid's)."""
    return [c for n in profile.bottlenecks for c in variant_grid(profile, n, selected[n], code_activation="linear")]


def plug_and_play_grid(profile: Profile, selected: dict) -> dict[str, list[RunConfig]]:
    """setting -> the standard loss and every penalty at the MNIST MLP's alphas for PLUG_SIZE, over
    the variant seeds (the convolutional AE on the profile's data set, the MLP on the other data
    set); empty where the profile has no PLUG_SIZE code."""
    if PLUG_SIZE not in selected:
        return {}
    other = dataclasses.replace(profile, dataset=next(d for d in DATASETS if d != profile.dataset))
    return {f"conv AE on {DATASET_NAMES[profile.dataset]}": variant_grid(profile, PLUG_SIZE, selected[PLUG_SIZE], **PLUG_CONV),
            f"MLP on {DATASET_NAMES[other.dataset]}": variant_grid(other, PLUG_SIZE, selected[PLUG_SIZE])}


def confound_runs(settings: Profile, device: str | None = None) -> tuple[list[dict], dict[str, list[dict]]]:
    """The confounds chapter's runs, trained where missing (or recorded): every penalty on the linear code, and
    plug and play (setting -> runs); alphas from the penalty chapter's stage 1 (variant_runs)."""
    stage1 = [run for n in settings.bottlenecks
              for run in get_runs(variant_selection_grid(settings, n), device=device, recorded=True)]
    selected = selected_alphas(report.runs_frame(stage1))
    linear = get_runs(linear_code_penalty_grid(settings, selected), device=device, recorded=True)
    plug = {setting: get_runs(grid, device=device, recorded=True)
            for setting, grid in plug_and_play_grid(settings, selected).items()}
    return linear, plug


def silhouette_rows(runs: list[dict], labels: np.ndarray, bottleneck: int = 2) -> pd.DataFrame:
    """The class silhouette of the test codes of every run at `bottleneck` (variant, seed,
    silhouette, runaway, key): report.silhouette_table's rows. NaN for non-finite codes."""
    rows = []
    for run in runs:
        cfg = run["config"]
        if cfg["bottleneck"] == bottleneck:
            rows.append({"variant": "standard" if cfg["penalty"] == "none" else cfg["penalty"], "seed": cfg["seed"],
                         "silhouette": evaluations.silhouette(run, labels),
                         "runaway": report.is_runaway(run), "key": run["key"]})
    return pd.DataFrame(rows)


def silhouette_maps(runs: list[dict], silhouettes: pd.DataFrame, seed: int, bottleneck: int = 2) -> dict:
    """Panel title -> the test codes (N, 2) of one seed: the standard loss, eq. 3, and the bounded
    penalty (one that never ran away) with the highest mean silhouette (report.silhouette_table)."""
    bounded = silhouettes[~silhouettes.variant.isin(["standard", "signed"]) & (silhouettes.n_runaway == 0)]
    shown = ["standard", "signed"] + ([bounded.loc[bounded.silhouette_mean.idxmax(), "variant"]] if len(bounded) else [])
    maps = {}
    for run in runs:
        cfg = run["config"]
        variant = "standard" if cfg["penalty"] == "none" else cfg["penalty"]
        if (cfg["bottleneck"], cfg["seed"], cfg["code_activation"]) == (bottleneck, seed, "leaky_relu") and variant in shown:
            title = variant if variant == "standard" else f"{plots.label(variant)}, alpha = {cfg['alpha']:g}"
            maps[title + (" (ran away)" if report.is_runaway(run) else "")] = run["test_codes"].numpy()
    return dict(sorted(maps.items(), key=lambda item: shown.index(item[0].split(",")[0].split(" (")[0])))


@dataclass
class Confounds:
    """The confounds chapter: its runs and tables (report's functions on them)."""

    table_runs: list          # the penalty chapter's stage 2 and linear standard runs
    linear: list              # every penalty on the linear code
    plug: dict                # setting -> runs
    baseline: pd.DataFrame    # report.variant_table over both code activations
    plug_table: pd.DataFrame  # report.setting_tables
    runaway: pd.DataFrame     # report.runaway_tables
    silhouettes: pd.DataFrame  # report.silhouette_table of the n = 2 LeakyReLU runs
    labels: np.ndarray        # test labels


def confounds_chapter(settings: Profile, device: str | None = None) -> Confounds:
    """Every run of the confounds chapter, trained where missing, and its tables."""
    _, table_runs = penalty_chapter(settings, device)
    linear, plug = confound_runs(settings, device)
    frame = report.runs_frame(table_runs + linear).drop_duplicates("key")
    plug_frames = {setting: report.runs_frame(runs) for setting, runs in plug.items()}
    labels = load_splits(settings.dataset).test.labels.numpy()
    leaky = [run for run in table_runs if run["config"]["code_activation"] == "leaky_relu"]
    by_code = {NAMES[a]: frame[frame.code_activation == a] for a in ("leaky_relu", "linear")}   # "LeakyReLU code", ...
    return Confounds(table_runs, linear, plug, report.variant_table(frame), report.setting_tables(plug_frames),
                     report.runaway_tables(by_code | plug_frames),
                     report.silhouette_table(silhouette_rows(leaky, labels)), labels)


@dataclass
class Evaluation:
    """What the chapters that evaluate trained codes share: the penalty chapter's models at their
    selected alphas ((n, variant) -> runs over seeds), PCA fitted on the same training images."""

    splits: object                 # data.Splits of the profile's data set
    train: torch.Tensor            # (N, 784) the profile's training images
    test: torch.Tensor             # (10000, 784)
    labels: tuple                  # (train labels (N,), test labels (10000,)) as numpy arrays
    models: dict                   # (n, variant) -> list of runs over the variant seeds
    pca: object                    # sklearn PCA with max(bottlenecks) components


def evaluation(settings: Profile, device: str | None = None) -> Evaluation:
    """The shared setup of the compression and code-quality chapters, trained where missing."""
    splits = load_splits(settings.dataset)
    train = splits.train.images[:settings.train_size]
    return Evaluation(splits=splits, train=train, test=splits.test.images,
                      labels=(splits.train.labels[:settings.train_size].numpy(), splits.test.labels.numpy()),
                      models=penalty_models(settings, device), pca=fit_pca(train, max(settings.bottlenecks)))


def quantization_curves(setup: Evaluation, bottlenecks, bits: list[int]) -> pd.DataFrame:
    """Test MSE after uniform quantisation of each code dimension to `bits`, one row per method,
    code size, bits and seed (PCA: seed 0), with whether the run ran away and the rate an entropy
    coder would reach on its training codes (entropy_bits: each dimension coded alone; joint_bits:
    the whole code, where estimable): the rows of report.rate_distortion_table, low_rate_table
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
                      "mse": float(m), "runaway": report.is_runaway(run), "entropy_bits": e, "joint_bits": j}
                     for b, m, e, j in zip(found["bits_per_dim"], found["mse"], found["entropy_bits"], found["joint_bits"])]
    return pd.DataFrame(rows)


def code_scores_per_run(setup: Evaluation, bottlenecks, tsne_size: int) -> pd.DataFrame:
    """k-NN and logistic-regression accuracy and trustworthiness of each model's codes, one row
    per (method, code size, seed), with whether the run ran away: rows of report.code_quality_table."""
    test_images = setup.test.numpy()
    rows = []
    for n in bottlenecks:
        codes = pca_codes(setup.pca, setup.train, n), pca_codes(setup.pca, setup.test, n)
        rows.append({"method": "PCA", "bottleneck": n, "seed": 0,
                     **code_scores(*codes, *setup.labels, test_images, tsne_size)})
    for (n, variant), group in setup.models.items():
        for run, found in zip(group, evaluations.results("code_scores", group, setup.splits, {"tsne_size": tsne_size})):
            rows.append({"method": variant, "bottleneck": n, "seed": run["config"]["seed"],
                         "runaway": report.is_runaway(run), **found})
    return pd.DataFrame(rows)
