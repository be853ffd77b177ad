"""The numbers each page's text quotes, from its tables: one function per page section, each
returning {glue name: value} for `pages.glue_numbers`.

The text around a number says what it means; the function says how it is computed, so a claim
in prose and the number beside it have one home each. Inputs are the tables of `report`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .config import TRAIN_SIZE, Profile
from .data import DATASET_NAMES
from .report import LEVEL, PAPER_TABLE1, RULE_FALLBACK, selected_runs
from .train import CODE_GROWTH, RUNAWAY_RATIO


def dataset(name: str) -> dict:
    """The data set's name, and how the paper's MNIST numbers read next to its results."""
    label = DATASET_NAMES[name]
    note = ("It is the paper's data set, so its numbers are a target." if name == "mnist" else
            f"The paper's numbers are on MNIST: next to {label} results they are shown for scale, not as a target.")
    return {"dataset_name": label, "dataset_note": note}


def protocol(settings: Profile) -> dict:
    """The decorrelation chapter's protocol as its pages quote it."""
    whole = settings.train_size == TRAIN_SIZE
    return {"epochs": settings.epochs, "n_seeds": len(settings.seeds), "train_size": settings.train_size,
            "alpha_grid": "{" + ", ".join(f"{a:g}" for a in settings.alphas) + "}",
            "train_phrase": f"the first {TRAIN_SIZE:,} of the 60,000 official training images" if whole else
                            f"the first {settings.train_size:,} of the {TRAIN_SIZE:,} training images"}


def paper_table1() -> dict:
    """The paper's Table 1 (report.PAPER_TABLE1) as the pages quote it, every code size whatever
    the profile: paper_standard_8, paper_penalty_8, ..."""
    return {f"paper_{row.method}_{row.bottleneck}": row.paper_rmse_mean for row in PAPER_TABLE1.itertuples()}


def provenance(runs: list[dict], settings: Profile) -> dict:
    """Where a page's runs come from, as one sentence: how many, the profile and code version,
    the devices and dates they were trained on, and whether the committed record or this
    machine's run cache supplied them."""
    devices = sorted({run["metrics"].get("device", "an unrecorded device") for run in runs})
    versions = sorted({str(run["code_version"]) for run in runs})
    dates = sorted(run["trained_at"][:10] for run in runs if run.get("trained_at"))
    recorded = sum(run.get("source") == "record" for run in runs)
    where = ("the committed record (record/)" if recorded == len(runs) else
             "this machine's run cache (results/runs/)" if recorded == 0 else
             f"the committed record ({recorded}) and this machine's run cache ({len(runs) - recorded})")
    when = f", {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") if dates else ""
    return {"provenance": f"{len(runs)} runs of the {settings.name} profile at code version {', '.join(versions)}, "
                          f"trained on {'; '.join(devices)}{when}, read from {where}"}


def run_counts(frame: pd.DataFrame) -> dict:
    """How many runs a chapter has, diverged, and (of its penalty runs) ran away, with a sentence
    saying what the runaway runs mean for the tables below it."""
    penalty = frame[frame.method == "penalty"]
    away = penalty[penalty.runaway]
    when = (f", from epoch {away.runaway_epoch.min() + 1} to {away.runaway_epoch.max() + 1}"
            if len(away) and (away.runaway_epoch >= 0).all() else "")
    sentence = ("No penalty run ran away." if away.empty else
                f"Every penalty run ({len(away)} of {len(penalty)}) ran away{when}: the penalty's "
                "numbers in this chapter are those of runaway models, not of the method at a working alpha."
                if len(away) == len(penalty) else
                f"{len(away)} of {len(penalty)} penalty runs ran away{when}; a cell that "
                "holds one says so, and its mean is not an estimate of a working penalty.")
    return {"n_runs": len(frame), "n_diverged": int(frame.diverged.sum()), "n_runaway": len(away),
            "n_penalty_runs": len(penalty), "runaway_sentence": sentence}


def closer_to_paper(table: pd.DataFrame, columns: dict[str, str]) -> tuple[dict[str, float], str]:
    """Mean absolute gap of each column (name -> reader's name) to the `paper` column, and the
    reader's name of the closer one (the first on a tie)."""
    gaps = {column: float((table[column] - table["paper"]).abs().mean()) for column in columns}
    return gaps, columns[min(gaps, key=gaps.get)]


def rmse_kinds(kinds: pd.DataFrame) -> dict:
    """The mean absolute gap of each RMSE (pooled, per-image mean) to the paper's standard column.
    Which is smaller does not identify the paper's metric: the per-image mean is never above the
    pooled RMSE (Jensen), so it is nearer whenever our runs score above the paper's."""
    gaps, _ = closer_to_paper(kinds, {"test_rmse": "pooled", "test_rmse_per_image": "per-image mean"})
    pooled_nearer = (kinds.test_rmse - kinds.paper).abs() < (kinds.test_rmse_per_image - kinds.paper).abs()
    return {"rmse_gap_pooled": gaps["test_rmse"], "rmse_gap_per_image": gaps["test_rmse_per_image"],
            "rmse_per_image_below": int((kinds.test_rmse_per_image <= kinds.test_rmse).sum()), "rmse_rows": len(kinds),
            "rmse_pooled_nearer": int(pooled_nearer.sum())}


def code_activation(table: pd.DataFrame) -> dict:
    """Per code size, which bottleneck activation's standard runs come closer to the paper's
    standard column (absolute gap: where both lie below it, closer is not lower), which has the
    lower RMSE, and the mean gaps; one sentence, untested."""
    names = {"leaky_relu": "LeakyReLU", "linear": "linear"}
    gaps, _ = closer_to_paper(table, names)
    parts = []
    for row in table.itertuples():
        gap = {column: abs(getattr(row, column) - row.paper) for column in names}
        near, far = sorted(names, key=gap.get)
        parts.append(f"n = {row.bottleneck}: {names[near]} ({gap[near]:.4f} against {gap[far]:.4f})")
    lower = int((table.linear < table.leaky_relu).sum())
    return {"activation_sentence": (
        f"Closer to the paper's standard column, by absolute gap: {'; '.join(parts)}; mean absolute gap "
        f"{gaps['leaky_relu']:.4f} for LeakyReLU and {gaps['linear']:.4f} for a linear code. The linear code has the "
        f"lower test RMSE at {lower} of {len(table)} code sizes. No test here: the paper gives one number per cell, "
        "with no spread to test against.")}


def variant_runs(every_run: pd.DataFrame, settings: Profile, variants: list[str]) -> dict:
    """The penalty chapter's design and what happened to its runs."""
    return {"n_runs": len(every_run), "n_selection_seeds": len(settings.selection_seeds),
            "n_seeds": len(settings.variant_seeds), "epochs": settings.epochs,
            "n_alphas": len(settings.variant_alphas), "n_variants": len(variants),
            "n_runaway": int(every_run.runaway.sum()), "n_diverged": int(every_run.diverged.sum()),
            "runaway_ratio": RUNAWAY_RATIO, "code_growth": CODE_GROWTH}


def corr_spread(selection: pd.DataFrame, table_runs: pd.DataFrame, bottleneck: int) -> dict:
    """The standard loss's mean |correlation| at one code size from seed to seed: its range over
    both stages' seeds, and its means over the stage-1 seeds (a figure) and the table's seeds,
    which differ by that spread alone."""
    def standard(frame):
        return frame[(frame.method == "standard") & (frame.code_activation == "leaky_relu") & (frame.bottleneck == bottleneck)]

    first, table = standard(selection), standard(table_runs)
    both = pd.concat([first, table]).drop_duplicates("key")
    single = " (one coefficient per run)" if bottleneck == 2 else ""
    return {"sentence": f"The standard loss's mean |correlation| varies from seed to seed: at n = {bottleneck}{single} it "
                        f"spans {both.corr_mean.min():.3f} to {both.corr_mean.max():.3f} over the {both.seed.nunique()} seeds "
                        f"of both stages, with means {first.corr_mean.mean():.3f} over the stage-1 seeds (this figure) and "
                        f"{table.corr_mean.mean():.3f} over the table's."}


def selection_rule(selection: pd.DataFrame) -> dict:
    """How many of the alphas selected (report.alpha_selection) the fallback set: every alpha of
    that code size had a runaway run."""
    chosen = selection.query("selected")
    validated = chosen[chosen.rule != RULE_FALLBACK]
    n_edge, n_fallback = int(validated.at_grid_edge.sum()), len(chosen) - len(validated)
    sentence = ("No alpha was chosen on validation: at every code size every alpha of the grid had a runaway run, "
                "so the rule's fallback, the grid's smallest alpha, is used throughout." if validated.empty else
                f"The fallback set alpha at {n_fallback} of the {len(chosen)} code sizes. Of the {len(validated)} "
                f"chosen on validation, {n_edge} chose the grid's smallest alpha"
                + (": there the grid did not bracket an optimum, and the penalty's best setting may lie below it "
                   "(almost off)." if n_edge else "."))
    return {"n_fallback": n_fallback, "n_choices": len(chosen), "n_edge": n_edge, "n_validated": len(validated),
            "sentence": sentence}


def alpha_edges(selection: pd.DataFrame, standard_val: pd.Series, alphas: list[float]) -> dict:
    """How often stage 1 chose the grid's smallest alpha, and in how many of those the standard
    loss (alpha = 0; mean validation RMSE per n in `standard_val`) was worse on validation."""
    chosen = selection.query("selected")
    fallback = chosen[chosen.rule == RULE_FALLBACK]                 # set by the rule, not by validation
    validated = chosen[chosen.rule != RULE_FALLBACK]
    at_edge = validated[validated.alpha == min(alphas)]
    above = at_edge[at_edge.bottleneck.map(standard_val) > at_edge.val_rmse_mean]
    return {"n_choices": len(validated), "n_edge": len(at_edge), "n_edge_bracketed": len(above), "min_alpha": min(alphas),
            "n_fallback": len(fallback),
            "edge_list": ", ".join(f"{r.penalty} at n = {r.bottleneck}" for r in at_edge.itertuples()) or "none"}


def paired(paired_table: pd.DataFrame) -> dict:
    """The paired differences (report.paired_summary) as one sentence: in how many (seed, code
    size) pairs the penalty is better, the range of the mean differences, and whether its runs
    ran away (then they measure a diverged penalty, not a working one)."""
    better, pairs = int(paired_table.seeds_penalty_better.sum()), int(paired_table.n_seeds.sum())
    away, low, high = int(paired_table.n_runaway.sum()), paired_table.mean_diff.min(), paired_table.mean_diff.max()
    text = (f"The penalty is better in {better} of the {pairs} (seed, code size) pairs; the mean differences run from "
            f"{low:+.4f} to {high:+.4f}.")
    if away == pairs:
        text += " Every penalty run behind them ran away: they measure a diverged penalty, not the gain of a working one."
    elif away:
        text += f" {away} of the {pairs} penalty runs behind them ran away (the table's runaway column)."
    return {"paired_sentence": text}


def shown_seed(frame: pd.DataFrame, bottleneck: int, seed: int) -> dict:
    """The standard run a figure draws (one seed, one code size) against the mean over seeds: a
    reader sees whether the picture is typical."""
    runs = selected_runs(frame).query("bottleneck == @bottleneck and method == 'standard'")
    one = runs[runs.seed == seed].iloc[0]
    return {"seed": seed, "n": bottleneck, "corr_standard": one.corr_mean, "rmse_standard": one.test_rmse,
            "corr_mean_standard": runs.corr_mean.mean(), "rmse_mean_standard": runs.test_rmse.mean()}


def drawn_seed(frame: pd.DataFrame, bottleneck: int, seed: int) -> dict:
    """One sentence on the seed a figure draws at one code size: its standard and selected-alpha
    penalty runs' test RMSE against the means over seeds (a reader sees whether it is typical)."""
    runs = selected_runs(frame).query("bottleneck == @bottleneck")
    parts = []
    for method, group in runs.groupby("method", sort=False):
        one = group[group.seed == seed].iloc[0]
        name = "standard" if method == "standard" else f"penalty (alpha = {one.alpha:g})"
        parts.append(f"{name} {one.test_rmse:.4f} (mean {group.test_rmse.mean():.4f})")
    return {"sentence": f"The seed drawn (seed {seed}) is the first, not one chosen as typical: its test RMSE at n = "
                        f"{bottleneck}, with the mean over the {runs.seed.nunique()} seeds in brackets: "
                        + "; ".join(sorted(parts, key=lambda part: not part.startswith("standard"))) + "."}


def code_effect(stats: pd.DataFrame) -> dict:
    """The code statistics (report.code_stats) as one sentence: at how many code sizes the
    penalty's mean |correlation| is below the standard loss's, and its code scale against theirs."""
    wide = stats.pivot(index="bottleneck", columns="method", values=["corr_mean", "code_std_mean"]).sort_index(ascending=False)
    lower = int((wide.corr_mean.penalty < wide.corr_mean.standard).sum())
    pairs = "; ".join(f"n = {n}: {r[('corr_mean', 'penalty')]:.3f} against {r[('corr_mean', 'standard')]:.3f}, code std "
                      f"{r[('code_std_mean', 'penalty')]:#.3g} against {r[('code_std_mean', 'standard')]:#.3g}"
                      for n, r in wide.iterrows())
    away = int(stats[stats.method == "penalty"].n_runaway.sum())
    return {"code_sentence": f"The penalty's mean |correlation| is below the standard loss's at {lower} of {len(wide)} "
                             f"code sizes ({pairs}); no test here (the penalty chapter tests it over other seeds)."
                             + (f" {away} penalty runs behind these means ran away." if away else "")}


def silhouettes(compactness: pd.DataFrame) -> dict:
    """Figure 1 in numbers: the mean class silhouette of each method's 2-D codes, in how many
    seeds the penalty's is higher, and how many of its runs ran away."""
    wide = compactness.pivot(index="seed", columns="method", values="silhouette")
    gap = wide.penalty - wide.standard
    away = int(compactness.query("method == 'penalty'").runaway.sum())
    sentence = (f"The penalty's classes are {'more' if gap.mean() > 0 else 'less'} compact on average; "
                f"its silhouette is higher in {int((gap > 0).sum())} of {len(gap)} seeds (untested)."
                + (f" All {away} penalty runs ran away, so this does not test a working penalty." if away == len(gap) else
                   f" {away} of its {len(gap)} runs ran away." if away else ""))
    note = (f"all {away} penalty runs ran away, so the right panel shows a blown-up code, not a working penalty"
            if away == len(gap) else f"{away} of the {len(gap)} penalty runs ran away" if away else "no penalty run ran away")
    return {"silhouette_standard": float(wide.standard.mean()), "silhouette_penalty": float(wide.penalty.mean()),
            "higher": int((gap > 0).sum()), "n_seeds": len(gap), "n_runaway": away, "sentence": sentence,
            "runaway_note": note}


def low_rate(low: pd.DataFrame, table: pd.DataFrame, bits: list[int]) -> dict:
    """The low-rate comparison (report.low_rate_table) in numbers, and how often PCA's quantised
    RMSE is below the standard autoencoder's seed mean at the fewest bits (rate_distortion_table)."""
    tested = low[low.p_value.notna()]
    significant = tested.p_holm < LEVEL
    fewest = table[table.bits_per_dim == min(bits)].pivot_table(index="bottleneck", columns="method", values="rmse")
    span = f"{tested.diff_mean.min():+.4f} to {tested.diff_mean.max():+.4f}" if len(tested) else "none"
    return {"low_bits": min(bits), "low_top": max(bits), "cells": len(low), "tested": len(tested),
            "better": int((significant & (tested.diff_mean < 0)).sum()),
            "worse": int((significant & (tested.diff_mean > 0)).sum()), "gain_span": span,
            "pca_beats_ae_low": int((fewest["PCA"] < fewest["standard"]).sum()), "n_sizes": len(fewest)}


def equal_rate(table: pd.DataFrame, bits: list[int]) -> dict:
    """The equal-rate comparison (report.equal_rate_table) in numbers."""
    tested = table[table.p_value.notna()]
    significant = tested.p_holm < LEVEL
    span = f"{tested.diff_mean.min():+.4f} to {tested.diff_mean.max():+.4f}" if len(tested) else "none"
    return {"bits": ", ".join(map(str, bits)), "cells": len(table), "tested": len(tested), "span": span,
            "better": int((significant & (tested.diff_mean < 0)).sum()),
            "worse": int((significant & (tested.diff_mean > 0)).sum())}


def knn_gains(quality: pd.DataFrame, methods: list[str], bottleneck: int) -> dict:
    """Where a penalised model's codes have a higher mean kNN accuracy than the standard model's
    (untested), among the cells without a runaway run; the largest difference; and the three
    methods at code size `bottleneck`, with the signed penalty's runaway runs there."""
    wide = quality.pivot_table(index="bottleneck", columns="method", values="knn_accuracy")
    away = quality.pivot_table(index="bottleneck", columns="method", values="n_runaway").stack()
    gains = wide[[m for m in methods if m not in ("PCA", "standard")]].sub(wide["standard"], axis=0).stack()
    working = gains[away.reindex(gains.index).fillna(0) == 0]
    best = working.idxmax()
    signed = quality.query("method == 'signed' and bottleneck == @bottleneck").iloc[0]
    return {"better": int((working > 0).sum()), "cells": int(working.size), "away_cells": int(gains.size - working.size),
            "best": f"{best[1]} at n = {best[0]} ({working.max():+.3f}; the kNN accuracy's std over seeds there "
                    f"{quality.query('method == @best[1] and bottleneck == @best[0]').knn_std.iloc[0]:.3f})",
            "n": bottleneck,
            "std_knn": float(wide.loc[bottleneck, "standard"]), "pca_knn": float(wide.loc[bottleneck, "PCA"]),
            "signed_knn": float(wide.loc[bottleneck, "signed"]),
            "signed_runaway": f"{int(signed.n_runaway)} of its {int(signed.n_seeds)} runs ran away"}


def datasets(both: pd.DataFrame) -> dict:
    """Per data set: the penalty's mean minus the standard's over code sizes (smallest, largest),
    how many of the penalty's runs ran away, and at how many code sizes the standard
    autoencoder's mean is below PCA's (untested)."""
    numbers = {"n_sizes": both.bottleneck.nunique()}
    for name, part in both.groupby("dataset"):
        part = part.set_index(["bottleneck", "method"])
        standard = part.xs("standard", level="method")
        penalty = part.xs("penalty", level="method")
        gap = penalty.rmse_mean - standard.rmse_mean
        numbers |= {f"{name}_gap_max": float(gap.max()), f"{name}_gap_min": float(gap.min()),
                    f"{name}_beats_pca": int((standard.rmse_mean < standard.pca_rmse).sum()),
                    f"{name}_runaway": f"{int(penalty.n_runaway.sum())} of its {int(penalty.n_seeds.sum())} runs ran away"}
    return numbers


def activations_losses(table: pd.DataFrame, paired: pd.DataFrame, tags: dict[str, str]) -> dict:
    """The student report's numbers: each variant's mean and std (tags: label -> glue tag), its
    paired difference to sigmoid + BCE, and the best and worst output/loss at the 64-d code."""
    numbers = {}
    for row in table.itertuples():
        numbers |= {f"rmse_{tags[row.label]}": float(row.rmse_mean), f"std_{tags[row.label]}": float(row.rmse_std)}
    for row in paired.itertuples():
        numbers |= {f"diff_{tags[row.variant]}": float(row.mean), f"better_{tags[row.variant]}": int(row.seeds_better)}
    sized = table[table.bottleneck == 64]
    best, worst = sized.loc[sized.rmse_mean.idxmin()], sized.loc[sized.rmse_mean.idxmax()]
    return numbers | {"n_seeds": int(table.n_seeds.max()), "best": best.label, "worst": worst.label,
                      "spread": float(worst.rmse_mean - best.rmse_mean), "seed_std": float(sized.rmse_std.mean())}


def code_size(pca: dict, paper_curve: pd.Series, table: pd.DataFrame) -> dict:
    """The student report's code-size comparison: PCA at 4 and 64 components, and the paper
    chapter's deeper MLP at n = 4 against the tiny model (activations_losses_table)."""
    tiny = table.query("bottleneck == 4").rmse_mean.item()
    blur = (f"The tiny model's mean is above PCA's with the same 4 components ({tiny:.4f} against {pca[4]:.4f}): a "
            "linear map of 4 numbers reconstructs better, so the code's size alone does not explain its blur (its 8 "
            "hidden units or its training may; not tested here)." if tiny > pca[4] else
            f"The tiny model's mean is below PCA's with the same 4 components ({tiny:.4f} against {pca[4]:.4f}), so "
            "its blur is what a 4-d code allows: when four numbers cannot say which of many similar digits an image "
            "is, the reconstruction that minimises the expected squared error, and the cross-entropy too, is their "
            "average, a smooth prototype without the strokes that tell the digits apart (a reading, not a measurement).")
    return {"pca_4": pca[4], "pca_64": pca[64], "paper_4": float(paper_curve.get(4, np.nan)),
            "deeper": "lower" if paper_curve.get(4, np.inf) < tiny else "higher", "blur_sentence": blur}


def confounds(baseline: pd.DataFrame, plug: pd.DataFrame, runaway: pd.DataFrame, silhouettes: pd.DataFrame) -> dict:
    """The confounds page's numbers: per activation and per plug-and-play setting, the cells tested
    and better or worse after Holm; the runaway tests significant after Holm; the silhouettes."""
    def counts(table: pd.DataFrame) -> tuple[int, int, int, int]:
        cells = table[table.variant != "standard"]
        tested = cells[cells.p_value.notna()]
        significant = tested.p_holm < LEVEL
        return (len(cells), len(tested), int((significant & (tested.diff_mean < 0)).sum()),
                int((significant & (tested.diff_mean > 0)).sum()))

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
    numbers |= {"sil_standard": float(silhouettes.set_index("variant").silhouette_mean.get("standard", np.nan)),
                "sil_span": f"{tested.diff_mean.min():+.3f} to {tested.diff_mean.max():+.3f}" if len(tested) else "none",
                "sil_tested": len(tested), "sil_higher": int(((tested.p_holm < LEVEL) & (tested.diff_mean > 0)).sum()),
                "sil_lower": int(((tested.p_holm < LEVEL) & (tested.diff_mean < 0)).sum())}
    return numbers
