"""The statistics every chapter shares: the alpha-selection rule (chosen on validation, never
preferring a runaway alpha), the paired t interval and test with its minimum detectable effect,
Holm's correction, and Fisher's exact test of runaway rates with Tarone's screen.

The protocol every table follows: alpha is chosen on the validation RMSE of the training split
(the first 50k images; validation is the last 10k of the training images), never on the test
set; the standard loss and each penalty share seeds, so their difference is paired; a standard
deviation is the sample one over seeds (ddof = 1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


SELECTION_GROUP = ["bottleneck", "code_activation", "penalty"]  # one alpha chosen per group
RULE_CLEAN, RULE_FALLBACK = "validation", "fallback"                # the `rule` column's two words
RULES = {RULE_CLEAN: "the lowest mean validation RMSE among the alphas none of whose runs ran away",
         RULE_FALLBACK: "every alpha had a runaway run, so the grid's smallest alpha"}   # stated once, in captions
RULE_CAPTION = "; ".join(f"{word}: {meaning}" for word, meaning in RULES.items())


def alpha_selection(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean validation RMSE per (n, code activation, penalty, alpha) over seeds, and which alpha
    each (n, code activation, penalty) selects. An alpha with a runaway or diverged run is never
    preferred to one without: among the others the lowest mean validation RMSE wins (ties to the
    smallest alpha); when every alpha has one, the smallest alpha of the grid is the stated
    fallback (`rule`). `at_grid_edge`: the selected alpha is the grid's smallest, so the grid did
    not bracket an optimum (the penalty's best setting is "almost off")."""
    penalised = frame[frame.method == "penalty"].copy()
    penalised["val_score"] = penalised.val_rmse.where(~penalised.diverged, np.inf)
    table = (penalised.groupby([*SELECTION_GROUP, "alpha"])
             .agg(val_rmse_mean=("val_score", "mean"), n_seeds=("seed", "nunique"),
                  n_diverged=("diverged", "sum"), n_runaway=("runaway", "sum"))
             .reset_index())
    clean = (table.n_runaway == 0) & (table.n_diverged == 0)
    all_away = ~clean.groupby([table[c] for c in SELECTION_GROUP]).transform("any")
    rank = table.val_rmse_mean.where(clean, np.inf).where(~all_away, 0.0)   # fallback: every alpha ties
    first = table.assign(rank=rank).sort_values(["rank", "alpha"], kind="stable").groupby(SELECTION_GROUP).head(1).index
    table["selected"] = table.index.isin(first)
    table["rule"] = np.where(all_away, RULE_FALLBACK, RULE_CLEAN)
    table["at_grid_edge"] = table.selected & (table.alpha == table.groupby(SELECTION_GROUP).alpha.transform("min"))
    return table.sort_values(["bottleneck", "code_activation", "penalty", "alpha"],
                         ascending=[False, False, True, True], ignore_index=True)


def selected_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The standard runs plus the penalty runs at their selected alpha."""
    chosen = alpha_selection(frame).query("selected")[[*SELECTION_GROUP, "alpha"]]
    penalty = frame[frame.method == "penalty"].merge(chosen, on=[*SELECTION_GROUP, "alpha"])
    return pd.concat([frame[frame.method == "standard"], penalty], ignore_index=True)


POWER, LEVEL = 0.8, 0.05   # the minimum detectable effect: 80% power, two-sided 5% paired t-test


def t_interval(values, level: float = 1 - LEVEL) -> tuple[float, float]:
    """The `level` t interval of a mean over seeds (default 95%)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    half = stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def paired_inference(diff: np.ndarray) -> dict:
    """Paired differences (penalty - standard, one per seed) read the way a referee would: mean,
    95% t interval, paired t-test p, effect size d_z = mean / sd, the smallest |mean difference|
    the design detects with 80% power (mde, at this sd and number of seeds), and the
    equivalence bound: the smallest delta for which TOST at 5% (the 90% interval inside
    +-delta) declares the two losses equivalent, i.e. the largest difference the data still allow."""
    from scipy import stats
    from statsmodels.stats.power import TTestPower

    mean, sd = diff.mean(), diff.std(ddof=1)
    low, high = t_interval(diff)
    d_needed = TTestPower().solve_power(nobs=len(diff), alpha=LEVEL, power=POWER, alternative="two-sided")
    return {"diff_mean": mean, "diff_ci_low": low, "diff_ci_high": high,
            "p_value": stats.ttest_1samp(diff, 0.0).pvalue, "effect_size": mean / sd,
            "mde": d_needed * sd, "equivalence_bound": abs(mean) + (t_interval(diff, 1 - 2 * LEVEL)[1] - mean)}


def paired_cell(ours: pd.Series, standard: pd.Series, runaway: bool) -> dict:
    """One cell against the standard loss, paired by seed (both indexed by seed): paired_inference
    of ours - standard, or only the mean difference when a run ran away (chaotic: no t interval)
    or when one seed is all there is (no spread to test against)."""
    ours = ours.sort_index()
    diff = (ours - standard.reindex(ours.index)).to_numpy()                # the same seeds
    return {"diff_mean": diff.mean()} if runaway or len(diff) < 2 else paired_inference(diff)


def holm_directions(tested: pd.DataFrame) -> tuple[int, int]:
    """How many tested cells (diff_mean, p_holm) are lower, and how many higher, after Holm at LEVEL."""
    significant = tested.p_holm < LEVEL
    return int((significant & (tested.diff_mean < 0)).sum()), int((significant & (tested.diff_mean > 0)).sum())


def holm(p: pd.Series) -> pd.Series:
    """Holm-adjusted p of the cells that have a p (one family); NaN where a cell was not tested."""
    from statsmodels.stats.multitest import multipletests

    adjusted = pd.Series(np.nan, index=p.index)
    tested = p.notna()
    if tested.any():
        adjusted[tested] = multipletests(p[tested], alpha=LEVEL, method="holm")[1]
    return adjusted


RUNAWAY_COLUMNS = ["variant", "runs", "runaway", "standard_runs", "standard_runaway", "p_value", "p_min"]


def fisher_more(away: int, runs: int, base_away: int, base_runs: int) -> tuple[float, float]:
    """Fisher's exact test, one-sided (the first group runs away more often): its p, and the
    smallest p these margins allow (every runaway run in the first group)."""
    from scipy.stats import fisher_exact

    total = away + base_away
    most = min(total, runs)
    p = fisher_exact([[away, runs - away], [base_away, base_runs - base_away]], alternative="greater").pvalue
    p_min = fisher_exact([[most, runs - most], [total - most, base_runs - total + most]], alternative="greater").pvalue
    return float(p), float(p_min)


def testable(runaway: pd.DataFrame) -> pd.Series:
    """The runaway tests' p where their margins let them reach LEVEL, else NaN (Tarone, 1990): a
    test that cannot reject, e.g. no run ran away on either side, leaves the Holm family, so it
    does not dilute the others. Valid because Fisher's test conditions on the margins. `runaway`:
    rows of runaway_table (p_value and p_min as fisher_more gives them)."""
    return runaway.p_value.astype(float).where(runaway.p_min <= LEVEL)


def runaway_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Divergence as an outcome of its own: per penalty, how many of its runs at the selected alpha
    ran away against the standard loss's runs of the same seeds and code sizes, pooled over both,
    and Fisher's exact test (one-sided: the penalty runs away more often; fisher_more), with the
    smallest p its margins allow. Exact at any count, 0 of N standard runs included. `frame`:
    runtable.runs_frame rows of one code activation."""
    chosen = selected_runs(frame)
    standard = chosen[chosen.method == "standard"]
    rows = []
    for penalty, group in chosen[chosen.method == "penalty"].groupby("penalty", sort=False):
        base = standard.merge(group[["bottleneck", "seed"]], on=["bottleneck", "seed"])     # the same cells
        away, n, base_away, base_n = int(group.runaway.sum()), len(group), int(base.runaway.sum()), len(base)
        p, p_min = fisher_more(away, n, base_away, base_n)
        rows.append({"variant": penalty, "runs": n, "runaway": away, "standard_runs": base_n,
                     "standard_runaway": base_away, "p_value": p, "p_min": p_min})
    return pd.DataFrame(rows, columns=RUNAWAY_COLUMNS)
