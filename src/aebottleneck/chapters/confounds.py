"""The confounds (issue 33): every penalty on a linear code (a second baseline), plug and play
(the penalties at the MNIST MLP's alphas on the convolutional AE and on the other data set),
divergence as an outcome (Fisher's test of runaway rates), and Figure 1's claim over the variant seeds.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import evaluations, plots
from ..runtable import is_runaway, runs_frame
from ..cache import get_runs
from ..config import DATASETS, Profile, RunConfig
from ..data import DATASET_NAMES, load_splits
from ..pages import NAMES
from ..penalties import REGISTRY
from ..stats import LEVEL, RUNAWAY_COLUMNS, holm, holm_directions, paired_cell, runaway_table, t_interval, testable
from .penalty_variants import VARIANT_COLUMNS, penalty_chapter, selected_alphas, variant_grid, variant_selection_grid, variant_table


# Plug and play: the penalties at the alpha selected for the MLP on MNIST at this code size,
# unchanged, on another autoencoder (the regularizers chapter's convolutional one) and data set.
PLUG_SIZE = 8
PLUG_CONV = dict(arch="conv", hidden=(16, 32))


def linear_code_penalty_grid(profile: Profile, selected: dict) -> list[RunConfig]:
    """A linear-code baseline: every penalty on the linear code, at the alpha selected for the LeakyReLU
    code, over the variant seeds (with the linear code's standard runs, penalty_variants.linear_code_grid's)."""
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
    plug and play (setting -> runs); alphas from the penalty chapter's stage 1 (penalty_variants.variant_selection_grid, selected_alphas)."""
    stage1 = [run for n in settings.bottlenecks
              for run in get_runs(variant_selection_grid(settings, n), device=device, recorded=True)]
    selected = selected_alphas(runs_frame(stage1))
    linear = get_runs(linear_code_penalty_grid(settings, selected), device=device, recorded=True)
    plug = {setting: get_runs(grid, device=device, recorded=True)
            for setting, grid in plug_and_play_grid(settings, selected).items()}
    return linear, plug


def silhouette_rows(runs: list[dict], labels: np.ndarray, bottleneck: int = 2) -> pd.DataFrame:
    """The class silhouette of the test codes of every run at `bottleneck` (variant, seed,
    silhouette, runaway, key): confounds.silhouette_table's rows. NaN for non-finite codes."""
    rows = []
    for run in runs:
        cfg = run["config"]
        if cfg["bottleneck"] == bottleneck:
            rows.append({"variant": "standard" if cfg["penalty"] == "none" else cfg["penalty"], "seed": cfg["seed"],
                         "silhouette": evaluations.silhouette(run, labels),
                         "runaway": is_runaway(run), "key": run["key"]})
    return pd.DataFrame(rows)


def silhouette_maps(runs: list[dict], silhouettes: pd.DataFrame, seed: int, bottleneck: int = 2) -> dict:
    """Panel title -> the test codes (N, 2) of one seed: the standard loss, eq. 3, and the bounded
    penalty (one that never ran away) with the highest mean silhouette (confounds.silhouette_table)."""
    bounded = silhouettes[~silhouettes.variant.isin(["standard", "signed"]) & (silhouettes.n_runaway == 0)]
    shown = ["standard", "signed"] + ([bounded.loc[bounded.silhouette_mean.idxmax(), "variant"]] if len(bounded) else [])
    maps = {}
    for run in runs:
        cfg = run["config"]
        variant = "standard" if cfg["penalty"] == "none" else cfg["penalty"]
        if (cfg["bottleneck"], cfg["seed"], cfg["code_activation"]) == (bottleneck, seed, "leaky_relu") and variant in shown:
            title = variant if variant == "standard" else f"{plots.label(variant)}, alpha = {cfg['alpha']:g}"
            maps[title + (" (ran away)" if is_runaway(run) else "")] = run["test_codes"].numpy()
    return dict(sorted(maps.items(), key=lambda item: shown.index(item[0].split(",")[0].split(" (")[0])))


@dataclass
class Confounds:
    """The confounds chapter: its runs and tables."""

    table_runs: list          # the penalty chapter's stage 2 and linear standard runs
    linear: list              # every penalty on the linear code
    plug: dict                # setting -> runs
    baseline: pd.DataFrame    # penalty_variants.variant_table over both code activations
    plug_table: pd.DataFrame  # confounds.setting_tables
    runaway: pd.DataFrame     # confounds.runaway_tables
    silhouettes: pd.DataFrame  # confounds.silhouette_table of the n = 2 LeakyReLU runs
    labels: np.ndarray        # test labels


def confounds_chapter(settings: Profile, device: str | None = None) -> Confounds:
    """Every run of the confounds chapter, trained where missing, and its tables."""
    _, table_runs = penalty_chapter(settings, device)
    linear, plug = confound_runs(settings, device)
    frame = runs_frame(table_runs + linear).drop_duplicates("key")
    plug_frames = {setting: runs_frame(runs) for setting, runs in plug.items()}
    labels = load_splits(settings.dataset).test.labels.numpy()
    leaky = [run for run in table_runs if run["config"]["code_activation"] == "leaky_relu"]
    by_code = {NAMES[a]: frame[frame.code_activation == a] for a in ("leaky_relu", "linear")}   # "LeakyReLU code", ...
    return Confounds(table_runs, linear, plug, variant_table(frame), setting_tables(plug_frames),
                     runaway_tables(by_code | plug_frames),
                     silhouette_table(silhouette_rows(leaky, labels)), labels)


def runaway_tables(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """runaway_table of each setting's runs (setting -> runs_frame of one code activation), with
    Holm across the rows that can reach LEVEL (testable): one family; the others have no p_holm."""
    table = pd.concat([runaway_table(frame).assign(setting=setting) for setting, frame in frames.items()], ignore_index=True)
    order = {name: i for i, name in enumerate(REGISTRY)}                    # each setting's rows in registry order
    table = table.sort_values("variant", key=lambda v: v.map(order), kind="stable").sort_values(
        "setting", key=lambda s: s.map(list(frames).index), kind="stable", ignore_index=True)
    table["p_holm"] = holm(testable(table))
    return table[["setting", *RUNAWAY_COLUMNS, "p_holm"]]


def setting_tables(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """variant_table of each setting's runs (setting -> runs_frame; plug and play: another
    autoencoder or data set), one table with a `setting` column; Holm within each setting."""
    tables = [variant_table(frame).assign(setting=setting) for setting, frame in frames.items()]
    return pd.concat(tables, ignore_index=True)[["setting", *VARIANT_COLUMNS]] if tables else \
        pd.DataFrame(columns=["setting", *VARIANT_COLUMNS])


SILHOUETTE_COLUMNS = ["variant", "silhouette_mean", "silhouette_low", "silhouette_high", "diff_mean", "diff_ci_low",
                      "diff_ci_high", "p_value", "p_holm", "n_seeds", "n_runaway"]


def silhouette_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Figure 1's "more compact classes" over the variant seeds: per variant (frame: variant, seed,
    silhouette, runaway), the mean class silhouette with its 95% t interval, and the paired
    difference to the standard loss (Holm across the penalised cells); no interval on a cell with
    a runaway run."""
    standard = frame[frame.variant == "standard"].set_index("seed").silhouette
    rows = []
    for variant, cell in frame.groupby("variant", sort=False):
        away = int(cell.runaway.sum())
        low, high = t_interval(cell.silhouette) if not away else (np.nan, np.nan)
        row = {"variant": variant, "silhouette_mean": cell.silhouette.mean(), "silhouette_low": low,
               "silhouette_high": high, "n_seeds": len(cell), "n_runaway": away}
        if variant != "standard":
            row.update(paired_cell(cell.set_index("seed").silhouette, standard, away > 0))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=SILHOUETTE_COLUMNS)
    table["p_holm"] = holm(table.p_value)
    return table


# The silhouette table at one precision: its differences and bounds to 3 decimals like the silhouettes.
SILHOUETTE_FORMATS = {**{c: "{:+.3f}" for c in ("diff_mean", "diff_ci_low", "diff_ci_high")},
                      "mde": "{:.3f}", "equivalence_bound": "{:.3f}"}


def confound_numbers(baseline: pd.DataFrame, plug: pd.DataFrame, runaway: pd.DataFrame, silhouettes: pd.DataFrame) -> dict:
    """The confounds page's numbers: per activation and per plug-and-play setting, the cells tested
    and better or worse after Holm; the runaway tests significant after Holm; the silhouettes."""
    def counts(table: pd.DataFrame) -> tuple[int, int, int, int]:
        cells = table[table.variant != "standard"]
        tested = cells[cells.p_value.notna()]
        return (len(cells), len(tested), *holm_directions(tested))

    numbers = {}
    for activation, part in baseline.groupby("activation"):
        numbers |= dict(zip([f"{activation}_{k}" for k in ("cells", "tested", "better", "worse")], counts(part)))
    numbers |= dict(zip(["plug_cells", "plug_tested", "plug_better", "plug_worse"], counts(plug)))
    numbers["plug_settings"] = " and ".join(plug.setting.unique())
    away = runaway[runaway.p_holm < LEVEL]
    numbers |= {"runaway_tests": len(runaway), "runaway_significant": len(away),
                "runaway_family": int(runaway.p_holm.notna().sum()),
                "runaway_list": ", ".join(f"{r.variant} ({r.setting})" for r in away.itertuples()) or "none"}
    penalised = silhouettes[silhouettes.variant != "standard"]
    tested = penalised[penalised.p_value.notna()]
    lower, higher = holm_directions(tested)
    numbers |= {"sil_standard": float(silhouettes.set_index("variant").silhouette_mean.get("standard", np.nan)),
                "sil_span": f"{tested.diff_mean.min():+.3f} to {tested.diff_mean.max():+.3f}" if len(tested) else "none",
                "sil_tested": len(tested), "sil_higher": higher, "sil_lower": lower}
    return numbers
