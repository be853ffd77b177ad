"""The paper's reproduction (decorrelation page): its runs (the paper's grid), Table 1 beside the
paper's, the paired differences, what the penalty does to the code, and the page's figures.

Alpha is chosen on the validation RMSE of these same runs (stats.alpha_selection), as the paper
did; the penalty chapter (penalty_variants) chooses on seeds disjoint from those it tests.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import plots
from ..config import Profile, RunConfig, TRAIN_SIZE
from ..runtable import code_correlation
from ..stats import RULE_FALLBACK, alpha_selection, selected_runs


# Table 1 of the paper: mean test RMSE over 3 runs. Reference values, not our results.
PAPER_TABLE1 = pd.DataFrame(
    [(8, "standard", 0.1289), (8, "penalty", 0.1284),
     (4, "standard", 0.1688), (4, "penalty", 0.1676),
     (2, "standard", 0.1974), (2, "penalty", 0.1969)],
    columns=["bottleneck", "method", "paper_rmse_mean"],
)
PAPER_BY_N = PAPER_TABLE1.pivot(index="bottleneck", columns="method", values="paper_rmse_mean")  # columns standard, penalty
PAPER_GAINS = PAPER_BY_N.standard - PAPER_BY_N.penalty      # (n,) the paper's claimed RMSE gains
TABLE1_COLUMNS = ["bottleneck", "method", "alpha", "rmse_mean", "rmse_std", "n_seeds", "n_runaway"]


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
    Alpha is chosen afterwards on validation from these same runs (stats.alpha_selection)."""
    return penalty_grid(profile, bottleneck, profile.seeds, ("signed",), profile.alphas, **fields)


def table1(frame: pd.DataFrame, column: str = "test_rmse") -> pd.DataFrame:
    """Test RMSE mean and std over seeds for standard vs penalty at the selected alpha, and how
    many of those runs ran away (their mean is not an estimate of a working penalty)."""
    chosen = selected_runs(frame)
    table = (chosen.groupby(["bottleneck", "method"])
             .agg(alpha=("alpha", "first"), rmse_mean=(column, "mean"),
                  rmse_std=(column, "std"), n_seeds=("seed", "nunique"), n_runaway=("runaway", "sum"))
             .reset_index())
    order = {"standard": 0, "penalty": 1}
    table = table.sort_values(["bottleneck", "method"], key=lambda s: s.map(order)
                              if s.name == "method" else -s, ignore_index=True)
    return table[TABLE1_COLUMNS]


def compare_with_paper(table: pd.DataFrame) -> pd.DataFrame:
    """Our Table 1 next to the paper's, with the difference (ours - paper); the standard loss has
    no alpha (shown as a dash, not as a penalty at alpha = 0)."""
    merged = table.merge(PAPER_TABLE1, on=["bottleneck", "method"], how="left")
    merged["diff_vs_paper"] = merged.rmse_mean - merged.paper_rmse_mean
    merged["alpha"] = merged.alpha.where(merged.method == "penalty")
    return merged


def paired_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """Per n and seed: test RMSE of the penalty run (selected alpha) minus the standard run."""
    chosen = selected_runs(frame)
    wide = chosen.pivot_table(index=["bottleneck", "seed"], columns="method", values="test_rmse")
    wide["diff"] = wide["penalty"] - wide["standard"]
    return wide.reset_index()


def paired_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """paired_table1.csv: per n, the penalty's test RMSE minus the standard's over seeds (mean,
    std, seeds where the penalty is better, its runs that ran away), next to the paper's difference."""
    summary = (paired_differences(frame).groupby("bottleneck")["diff"]
               .agg(mean_diff="mean", std_diff="std", seeds_penalty_better=lambda d: int((d < 0).sum()),
                    n_seeds="count").reset_index().sort_values("bottleneck", ascending=False, ignore_index=True))
    chosen = selected_runs(frame)
    summary["n_runaway"] = summary.bottleneck.map(chosen[chosen.method == "penalty"].groupby("bottleneck").runaway.sum())
    summary["paper_diff"] = summary.bottleneck.map(PAPER_BY_N.penalty - PAPER_BY_N.standard)
    return summary


def rmse_kinds(frame: pd.DataFrame) -> pd.DataFrame:
    """rmse_kinds.csv: the standard runs' pooled and per-image test RMSE per n (mean over seeds),
    next to the paper's standard column, which of the two it reports."""
    kinds = frame[frame.method == "standard"].groupby("bottleneck")[["test_rmse", "test_rmse_per_image"]].mean()
    kinds["paper"] = PAPER_BY_N.standard
    return kinds.sort_index(ascending=False).reset_index()


def code_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """code_stats_table1.csv: mean |correlation| and std of the test codes of the Table 1 runs
    (the standard runs and the penalty at its selected alpha), mean over seeds, and how many ran away."""
    return (selected_runs(frame).groupby(["bottleneck", "method"])
            .agg(corr_mean=("corr_mean", "mean"), code_std_mean=("code_std_mean", "mean"), n_runaway=("runaway", "sum"))
            .reset_index().sort_values(["bottleneck", "method"], ascending=[False, False], ignore_index=True))


def protocol_numbers(settings: Profile) -> dict:
    """The decorrelation chapter's protocol as its pages quote it."""
    whole = settings.train_size == TRAIN_SIZE
    return {"epochs": settings.epochs, "n_seeds": len(settings.seeds), "train_size": settings.train_size,
            "alpha_grid": "{" + ", ".join(f"{a:g}" for a in settings.alphas) + "}",
            "train_phrase": f"the first {TRAIN_SIZE:,} of the 60,000 official training images" if whole else
                            f"the first {settings.train_size:,} of the {TRAIN_SIZE:,} training images"}


def paper_numbers() -> dict:
    """The paper's Table 1 (decorrelation.PAPER_TABLE1) as the pages quote it, every code size whatever
    the profile: paper_standard_8, paper_penalty_8, ..."""
    return {f"paper_{row.method}_{row.bottleneck}": row.paper_rmse_mean for row in PAPER_TABLE1.itertuples()}


def run_numbers(frame: pd.DataFrame) -> dict:
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


def rmse_kinds_numbers(kinds: pd.DataFrame) -> dict:
    """The mean absolute gap of each RMSE (pooled, per-image mean) to the paper's standard column,
    and per code size which is nearer and whether by construction: the per-image mean is never
    above the pooled RMSE (Jensen), so where the pooled RMSE is at or below the paper's it is the
    nearer whatever the paper used; only the other rows can tell, and only if seeds did not move them."""
    gaps, _ = closer_to_paper(kinds, {"test_rmse": "pooled", "test_rmse_per_image": "per-image mean"})
    pooled_nearer = (kinds.test_rmse - kinds.paper).abs() < (kinds.test_rmse_per_image - kinds.paper).abs()
    forced = kinds.test_rmse <= kinds.paper                                   # pooled nearer by construction
    def sizes(mask):
        return ", ".join(str(n) for n in kinds.bottleneck[mask]) or "none"
    nearer = [f"the {name} at n = {sizes(~forced & mask)}" for name, mask in
              (("pooled", pooled_nearer), ("per-image mean", ~pooled_nearer)) if (~forced & mask).any()]
    sentence = (f"Our pooled RMSE is at or below the paper's at n = {sizes(forced)}: there the pooled is the nearer by "
                f"construction. " if forced.any() else "") + (
        f"Where it is above (n = {sizes(~forced)}), either can be the nearer, and the nearer is {'; '.join(nearer)}."
        if (~forced).any() else "No row is above the paper's, so nearness says nothing here.")
    return {"rmse_gap_pooled": gaps["test_rmse"], "rmse_gap_per_image": gaps["test_rmse_per_image"],
            "rmse_per_image_below": int((kinds.test_rmse_per_image <= kinds.test_rmse).sum()), "rmse_rows": len(kinds),
            "rmse_pooled_nearer": int(pooled_nearer.sum()), "rmse_sentence": sentence}


def selection_numbers(selection: pd.DataFrame) -> dict:
    """How many of the alphas selected (stats.alpha_selection) the fallback set: every alpha of
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


def paired_numbers(paired_table: pd.DataFrame) -> dict:
    """The paired differences (decorrelation.paired_summary) as one sentence: in how many (seed, code
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


def shown_seed_numbers(frame: pd.DataFrame, bottleneck: int, seed: int) -> dict:
    """The standard run a figure draws (one seed, one code size) against the mean over seeds: a
    reader sees whether the picture is typical."""
    runs = selected_runs(frame).query("bottleneck == @bottleneck and method == 'standard'")
    one = runs[runs.seed == seed].iloc[0]
    return {"seed": seed, "n": bottleneck, "corr_standard": one.corr_mean, "rmse_standard": one.test_rmse,
            "corr_mean_standard": runs.corr_mean.mean(), "rmse_mean_standard": runs.test_rmse.mean()}


def code_effect_numbers(table: pd.DataFrame) -> dict:
    """The code statistics (decorrelation.code_stats) as one sentence: at how many code sizes the
    penalty's mean |correlation| is below the standard loss's, and its code scale against theirs."""
    wide = table.pivot(index="bottleneck", columns="method", values=["corr_mean", "code_std_mean"]).sort_index(ascending=False)
    lower = int((wide.corr_mean.penalty < wide.corr_mean.standard).sum())
    pairs = "; ".join(f"n = {n}: {r[('corr_mean', 'penalty')]:.3f} against {r[('corr_mean', 'standard')]:.3f}, code std "
                      f"{r[('code_std_mean', 'penalty')]:#.3g} against {r[('code_std_mean', 'standard')]:#.3g}"
                      for n, r in wide.iterrows())
    away = int(table[table.method == "penalty"].n_runaway.sum())
    return {"code_sentence": f"The penalty's mean |correlation| is below the standard loss's at {lower} of {len(wide)} "
                             f"code sizes ({pairs}); no test here (the penalty chapter tests it over other seeds)."
                             + (f" {away} penalty runs behind these means ran away." if away else "")}


def histories(runs: list[dict], keys) -> list[dict]:
    """The training histories of the runs with these keys, in that order."""
    by_key = {run["key"]: run for run in runs}
    return [by_key[key]["history"] for key in keys]


def plot_training_curves(frame, runs: list[dict], bottlenecks: list[int], alphas: list[float]):
    """Per code size: validation RMSE per epoch, standard against the penalty at its selected
    alpha (top), and the penalty term per epoch at every alpha, in shades of one hue (bottom)."""
    chosen, rules = selected_runs(frame), alpha_selection(frame).query("selected").set_index("bottleneck").rule
    fig, axes = plots.figure(ncols=len(bottlenecks), nrows=2, width=4, height=3.2)
    axes = np.asarray(axes).reshape(2, len(bottlenecks))
    for col, n in enumerate(bottlenecks):
        at_n, all_at_n = chosen[chosen.bottleneck == n], frame[frame.bottleneck == n]
        penalised = at_n[at_n.method == "penalty"]
        away = f"\n{penalised.runaway.sum()} of {len(penalised)} penalty runs ran away" if penalised.runaway.any() else ""
        groups = {"standard": histories(runs, at_n[at_n.method == "standard"].key),
                  f"{plots.label('penalty')}, Table 1's alpha": histories(runs, penalised.key)}
        last = col == len(bottlenecks) - 1                           # one legend per row, beside its last panel
        plots.training_curves(axes[0, col], groups, colors=list(plots.method_colours(["standard", "penalty"]).values()),
                              legend=last)
        fallback = " (fallback)" if rules[n] == RULE_FALLBACK else ""
        axes[0, col].set_title(f"n = {n}, alpha = {penalised.alpha.iloc[0]:g}{fallback}{away}")
        by_alpha = {f"alpha = {a:g}": histories(runs, all_at_n[all_at_n.alpha == a].key) for a in alphas}
        plots.training_curves(axes[1, col], by_alpha, key="train_penalty", ylabel="penalty term (train)",
                              colors=plots.graded(len(alphas)), legend=last)
        plots.symlog_axis(axes[1, col])                             # the term spans 1 to 1e18 when codes blow up
    return fig


def plot_correlation_pair(frame, runs: list[dict], bottleneck: int, seed: int):
    """Correlation matrices of one seed's test codes at one code size: standard, then the penalty
    at its selected alpha."""
    chosen, by_key = selected_runs(frame), {run["key"]: run for run in runs}
    fig, axes = plots.figure(ncols=2, width=4, height=4)
    for ax, method in zip(axes, ("standard", "penalty")):
        row = chosen.query("bottleneck == @bottleneck and method == @method and seed == @seed").iloc[0]
        title = "standard" if method == "standard" else f"{plots.label(method)}, alpha = {row.alpha:g}"
        plots.correlation_heatmap(ax, code_correlation(by_key[row.key]),
                                  title=f"{title}, n = {bottleneck}, seed {seed}" + (" (ran away)" if row.runaway else ""))
        ax.set(xlabel="code dimension", ylabel="code dimension")
    return fig
