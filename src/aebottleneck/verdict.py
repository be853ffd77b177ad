"""The verdict: one row per claim of the paper, its verdict in a word and the numbers behind it.

Each claim is a function of the tables the chapters write to results/<profile>/ (read_tables
says which notebook writes which), so the verdict page only glues what these functions return
and the unit tests (tests/test_verdict.py) pin every rule on small hand-made tables. Verdicts:
"reproduced" / "supported" when every cell agrees, "contradicted" when every cell points the
other way, "not supported" otherwise, "not reproduced" for a table whose numbers differ.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .config import ConfigError
from .report import LEVEL, PAPER_BY_N

# table -> the notebook that writes it into results/<profile>/
SOURCES = {"table1": "decorrelation", "runs": "decorrelation and penalty_variants",
           "penalty_variants": "penalty_variants", "code_quality": "code_quality", "figure1": "embeddings"}
CLAIM_COLUMNS = ["claim", "paper", "verdict", "evidence"]
PAPER_GAINS = PAPER_BY_N.standard - PAPER_BY_N.penalty      # (n,) the paper's claimed RMSE gains


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The chapters' tables the verdict reads, or ConfigError naming each missing one and its notebook."""
    missing = [f"{name}.csv (written by {notebook})" for name, notebook in SOURCES.items()
               if not (Path(folder) / f"{name}.csv").is_file()]
    if missing:
        raise ConfigError(f"{folder} lacks {', '.join(missing)}: execute those notebooks first "
                          "(the verdict notebook runs after them in `python -m aebottleneck.execute`)")
    return {name: pd.read_csv(Path(folder) / f"{name}.csv") for name in SOURCES}


def t_interval(values) -> tuple[float, float]:
    """95% t interval of a mean over seeds."""
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(1 - LEVEL / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def _span(values, fmt: str = "+.4f") -> str:
    """'a' or 'a to b' for the smallest and largest of values."""
    low, high = min(values), max(values)
    return f"{low:{fmt}}" if np.isclose(low, high) else f"{low:{fmt}} to {high:{fmt}}"


def _direction(better: int, worse: int, cells: int) -> str:
    """The verdict word of `cells` comparisons: all for the claim, all against, or neither."""
    return "supported" if better == cells else "contradicted" if worse == cells else "not supported"


def table1_claim(table1: pd.DataFrame, runs: pd.DataFrame) -> dict:
    """Table 1 as written: a column is reproduced where the paper's mean lies in the 95% t
    interval of our seeds at every code size. A runaway run is chaotic, so a column holding
    one is not reproduced whatever its mean."""
    paper_runs = runs[(runs.chapter == "decorrelation") & (runs.code_activation == "leaky_relu")]
    selected = {n: table1[(table1.bottleneck == n) & (table1.method == "penalty")].alpha.iloc[0] for n in PAPER_BY_N.index}
    inside, gaps, runaway = {"standard": 0, "penalty": 0}, {"standard": [], "penalty": []}, []
    for n, paper in PAPER_BY_N.iterrows():
        at_n = paper_runs[paper_runs.bottleneck == n]
        for method, group in (("standard", at_n[at_n.penalty == "none"]),
                              ("penalty", at_n[(at_n.penalty == "signed") & np.isclose(at_n.alpha, selected[n])])):
            low, high = t_interval(group.test_rmse)
            inside[method] += int(low <= paper[method] <= high)
            gaps[method].append(group.test_rmse.mean() - paper[method])
        runaway += list(group.runaway)
    sizes = len(PAPER_BY_N)
    reproduced = inside["standard"] == inside["penalty"] == sizes and not any(runaway)
    evidence = (f"Ours minus the paper's: standard {_span(gaps['standard'])}, penalty {_span(gaps['penalty'])}. "
                f"The paper's mean lies in our 95% seed interval at {inside['standard']} (standard) and "
                f"{inside['penalty']} (penalty) of {sizes} code sizes; {sum(runaway)} of the penalty column's "
                f"{len(runaway)} runs ran away.")
    return {"claim": "Table 1", "paper": "test RMSE 0.1289/0.1284, 0.1688/0.1676, 0.1974/0.1969 (standard/penalty, n = 8, 4, 2)",
            "verdict": "reproduced" if reproduced else "not reproduced", "evidence": evidence}


def boost_claim(variants: pd.DataFrame) -> dict:
    """'The penalty consistently boosts performance': eq. 3's cells on seeds disjoint from those
    that chose alpha, Holm-corrected; and what the design could have seen (median minimum
    detectable effect and equivalence bound of the tested cells, against the paper's gains)."""
    leaky = variants[(variants.activation == "leaky_relu") & (variants.variant != "standard")]
    signed = leaky[leaky.variant == "signed"]
    significant = (signed.p_holm < LEVEL) & (signed.n_runaway == 0)       # a runaway cell is never tested
    better = int((significant & (signed.diff_mean < 0)).sum())
    worse = int(((significant | (signed.n_runaway > 0)) & (signed.diff_mean > 0)).sum())   # runaway: untested
    tested = leaky[leaky.p_value.notna()]
    others_better = int(((tested.p_holm < LEVEL) & (tested.diff_mean < 0) & (tested.variant != "signed")).sum())
    evidence = (f"Eq. 3 minus standard, test RMSE over {int(signed.n_seeds.min())} fresh seeds: "
                f"{_span(signed.diff_mean)}; better after Holm at {better} and worse at {worse} of "
                f"{len(signed)} code sizes (worse: Holm-significant, or a mean over runaway runs, which are not "
                f"t-tested; {int((signed.n_runaway > 0).sum())} cells hold one). ")
    if len(tested):
        evidence += (f"Bounded variants better after Holm: {others_better} of {len(tested[tested.variant != 'signed'])} "
                     f"tested cells. Median smallest detectable difference {tested.mde.median():.4f}, median "
                     f"equivalence bound {tested.equivalence_bound.median():.4f}, against claimed gains of "
                     f"{PAPER_GAINS.min():.4f} to {PAPER_GAINS.max():.4f}.")
    return {"claim": "Consistent gain", "paper": "the penalty consistently boosts reconstruction",
            "verdict": _direction(better, worse, len(signed)), "evidence": evidence}


def diversity_claim(variants: pd.DataFrame) -> dict:
    """'More diverse (decorrelated) codes': the mean |correlation| of eq. 3's test codes against
    the standard loss's, per code size of the penalty chapter's table."""
    leaky = variants[variants.activation == "leaky_relu"].set_index(["bottleneck", "variant"])
    sizes = sorted({n for n, _ in leaky.index}, reverse=True)
    pairs = [(leaky.loc[(n, "signed")].corr_mean, leaky.loc[(n, "standard")].corr_mean) for n in sizes
             if n > 1]
    lower = sum(ours < base for ours, base in pairs)
    scale = [leaky.loc[(n, "signed")].code_std_mean / leaky.loc[(n, "standard")].code_std_mean for n in sizes]
    evidence = (f"Mean |correlation| of the test codes, eq. 3 against standard: "
                + ", ".join(f"{a:.3f} vs {b:.3f}" for a, b in pairs) + f" (n = {', '.join(map(str, sizes))}); "
                f"lower at {lower} of {len(pairs)}. Its codes' std is {_span(scale, '.3g')} times the standard loss's.")
    return {"claim": "Diverse codes", "paper": "the penalty makes the bottleneck features less correlated",
            "verdict": _direction(lower, len(pairs) - lower, len(pairs)), "evidence": evidence}


def compact_classes_claim(figure1: pd.DataFrame, code_quality: pd.DataFrame) -> dict:
    """Figure 1's 'more compact classes': the silhouette of the classes in the 2-D test codes,
    penalty against standard seed by seed (same initial weights), and k-NN accuracy on them."""
    wide = figure1.pivot(index="seed", columns="method", values="silhouette")
    higher = int((wide.penalty > wide.standard).sum())
    knn = code_quality[code_quality.bottleneck == 2].set_index("method").knn_accuracy
    runaway = figure1[figure1.method == "penalty"].runaway
    evidence = (f"Class silhouette of the n = 2 test codes, penalty minus standard: {_span(wide.penalty - wide.standard, '+.3f')} "
                f"(higher in {higher} of {len(wide)} seeds; {int(runaway.sum())} of {len(runaway)} penalty runs ran away). "
                f"k-NN accuracy on them: {knn.get('signed', np.nan):.3f} (eq. 3) vs {knn.get('standard', np.nan):.3f}.")
    return {"claim": "Figure 1", "paper": "the penalty's 2-D codes show more compact classes",
            "verdict": _direction(higher, len(wide) - higher, len(wide)), "evidence": evidence}


def plug_and_play_claim(runs: pd.DataFrame) -> dict:
    """'Plug and play into any autoencoder': untested beyond the paper's MLP here, so the row says
    how often eq. 3 ran away in that very model at any alpha of any chapter."""
    signed = runs[runs.penalty == "signed"].drop_duplicates("key")
    alphas = ", ".join(f"{a:g}" for a in sorted(signed.alpha.unique()))
    share = signed.runaway.mean() if len(signed) else np.nan
    evidence = (f"Only the paper's MLP was trained here. In it, eq. 3 ran away in {int(signed.runaway.sum())} of "
                f"{len(signed)} runs ({share:.0%}) over alpha = {alphas}.")
    return {"claim": "Plug and play", "paper": "the penalty can be added to any autoencoder",
            "verdict": "not supported" if share > 0 else "not tested", "evidence": evidence}


def claims(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The verdict table: one row per claim, in the paper's order."""
    rows = [table1_claim(tables["table1"], tables["runs"]), boost_claim(tables["penalty_variants"]),
            diversity_claim(tables["penalty_variants"]),
            compact_classes_claim(tables["figure1"], tables["code_quality"]), plug_and_play_claim(tables["runs"])]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def variant_findings(table: pd.DataFrame) -> dict:
    """The numbers the penalty chapter's text cites, from its table (report.variant_table): the
    LeakyReLU-code cells tested and significant after Holm, the design's reach, and what eq. 3 and
    the scale-free correlation penalty do to the codes. Names are the page's glue names."""
    leaky = table[table.activation == "leaky_relu"]
    standard, penalised = leaky[leaky.variant == "standard"], leaky[leaky.variant != "standard"]
    signed, tested = penalised[penalised.variant == "signed"], penalised[penalised.p_value.notna()]
    better = tested[(tested.p_holm < LEVEL) & (tested.diff_mean < 0)]
    pool = tested if len(tested) else penalised        # the largest gain among cells that have a p
    best = pool.loc[pool.diff_mean.idxmin()]
    corr, scale = signed.corr_mean.mean(), signed.code_std_mean.mean()
    inflated = scale > 10 * standard.code_std_mean.mean()
    return {
        "n_cells": len(penalised), "n_tested": len(tested), "n_raw_significant": int((tested.p_value < LEVEL).sum()),
        "n_significant_better": len(better), "n_significant_worse": int(((tested.p_holm < LEVEL) & (tested.diff_mean > 0)).sum()),
        "significant_list": ", ".join(f"{r.variant} at n = {r.bottleneck}" for r in better.itertuples()) or "none",
        "best_variant": best.variant, "best_n": int(best.bottleneck), "best_diff": float(best.diff_mean),
        "best_p": float(best.p_value), "best_p_holm": float(best.p_holm),
        "mde_median": float(tested.mde.median()), "equivalence_median": float(tested.equivalence_bound.median()),
        "signed_runaway": int(signed.n_runaway.sum()), "signed_cells_runs": int(signed.n_seeds.sum()),
        "signed_code_std": float(scale), "standard_code_std": float(standard.code_std_mean.mean()),
        "signed_corr": float(corr), "standard_corr": float(standard.corr_mean.mean()),
        "corr_variant_corr": float(penalised[penalised.variant == "correlation"].corr_mean.mean()),
        "signed_verdict": ("does not decorrelate" if corr >= standard.corr_mean.mean() else "lowers the code correlation")
        + (", and it inflates the codes" if inflated else ""),
        "signed_mechanism": f"Nothing bounds its signed sum from below, and its codes grew to {scale / standard.code_std_mean.mean():.3g} "
        "times the standard loss's scale." if inflated else "Its codes stay within 10 times the scale of the standard loss.",
        "corr_verdict": "decorrelates" if penalised[penalised.variant == "correlation"].corr_mean.mean() < standard.corr_mean.mean()
        else "does not decorrelate either",
        "paper_gain_min": float(PAPER_GAINS.min()), "paper_gain_max": float(PAPER_GAINS.max()),
    }
