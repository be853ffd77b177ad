"""From cached runs to tables: one row per run, alpha selection on validation, Table 1.

The protocol (written down next to every table in the book):
  * split: first 50k training images for training, last 10k of train for validation, 10k test;
  * selection: for each code size n, the alpha with the lowest validation RMSE averaged over
    seeds (runs that diverged count as +inf); test numbers are never looked at to choose;
  * seeds: the same seeds for standard and penalty, so their difference is paired;
  * std: sample standard deviation over seeds (ddof=1).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .data import DATASET_NAMES
from .metrics import correlation_matrix, mean_abs_offdiag, near_zero_fraction, psnr
from .penalties import REGISTRY
from .train import runaway_epoch

# Table 1 of the paper: mean test RMSE over 3 runs. Reference values, not our results.
PAPER_TABLE1 = pd.DataFrame(
    [(8, "standard", 0.1289), (8, "penalty", 0.1284),
     (4, "standard", 0.1688), (4, "penalty", 0.1676),
     (2, "standard", 0.1974), (2, "penalty", 0.1969)],
    columns=["bottleneck", "method", "paper_rmse_mean"],
)
PAPER_BY_N = PAPER_TABLE1.pivot(index="bottleneck", columns="method", values="paper_rmse_mean")  # columns standard, penalty
TABLE1_COLUMNS = ["bottleneck", "method", "alpha", "rmse_mean", "rmse_std", "n_seeds", "n_runaway"]


def is_runaway(run: dict) -> bool:
    """Whether a run ran away (train.runaway_epoch) or ended with non-finite codes."""
    if "row" in run:                                  # a recorded run: as judged when it was recorded
        return bool(run["row"]["runaway"])
    return bool(runaway_epoch(run["history"], run["config"]["alpha"]) >= 0 or not torch.isfinite(run["test_codes"]).all())


def code_correlation(run: dict) -> np.ndarray:
    """The correlation matrix (n, n) of a run's test codes (stored in a recorded run)."""
    return run["correlation"] if "correlation" in run else correlation_matrix(run["test_codes"])


@dataclass(frozen=True)
class RunRow:
    """One trained run as every table reads it (a row of runs_frame; the record keeps it): its
    config's fields, its metrics and the statistics of its test codes."""

    key: str
    dataset: str
    code_version: str
    epochs: int
    hidden: str                   # the hidden widths, "128-64"
    bottleneck: int
    activation: str
    code_activation: str
    output: str
    loss: str
    penalty: str                  # "none": the standard loss
    alpha: float
    seed: int
    method: str                   # "standard" (no penalty) or "penalty"
    device: str                   # "unrecorded" for runs trained before it was recorded
    train_seconds: float          # its share of its stack's training time
    val_rmse: float
    test_rmse: float              # pooled over the test pixels
    test_rmse_per_image: float
    diverged: bool                # a non-finite loss or code
    runaway: bool                 # train.runaway_epoch, or non-finite codes
    runaway_epoch: int            # -1: never
    corr_mean: float              # mean |off-diagonal correlation| of its test codes (NaN if not finite)
    code_std_mean: float
    near_zero: float              # the fraction of near-zero code entries (NaN if not finite)

    @classmethod
    def of(cls, run: dict) -> "RunRow":
        """The row of a run: a recorded run keeps the row made from its full codes."""
        if "row" in run:
            return cls(**run["row"])
        cfg, metrics = run["config"], run["metrics"]
        codes = run["test_codes"].numpy()                                               # (Ntest, n)
        finite = bool(np.isfinite(codes).all())
        return cls(
            key=run["key"], dataset=cfg["dataset"], code_version=run["code_version"], epochs=cfg["epochs"],
            hidden="-".join(map(str, cfg["hidden"])), bottleneck=cfg["bottleneck"], activation=cfg["activation"],
            code_activation=cfg["code_activation"], output=cfg["output"], loss=cfg["loss"], penalty=cfg["penalty"],
            alpha=cfg["alpha"], seed=cfg["seed"], method="standard" if cfg["penalty"] == "none" else "penalty",
            device=metrics.get("device", "unrecorded"),
            train_seconds=metrics["train_seconds_shared"] / metrics["runs_trained_together"],
            val_rmse=metrics["val_rmse"], test_rmse=metrics["test_rmse"], test_rmse_per_image=metrics["test_rmse_per_image"],
            diverged=metrics["diverged_epoch"] >= 0 or not finite, runaway=is_runaway(run),
            runaway_epoch=runaway_epoch(run["history"], cfg["alpha"]),
            corr_mean=mean_abs_offdiag(correlation_matrix(codes)) if finite else np.nan,
            code_std_mean=float(run["code_std"].mean()), near_zero=near_zero_fraction(codes) if finite else np.nan)


FRAME_COLUMNS = [field.name for field in dataclasses.fields(RunRow)]   # runs_frame's columns, in its order


def runs_frame(runs: list[dict]) -> pd.DataFrame:
    """One row per run (RunRow): its config fields, metrics and code statistics."""
    return pd.DataFrame([dataclasses.asdict(RunRow.of(run)) for run in runs], columns=FRAME_COLUMNS)


# results/<profile>/runs.csv: one row per run a chapter used, for audit and for CI's checks of
# runaway runs by their signature (tests/test_quick_numbers.py).
RUN_COLUMNS = ["chapter", "key", "dataset", "code_version", "device", "epochs", "hidden", "bottleneck", "code_activation",
               "output", "loss", "penalty", "alpha", "seed", "val_rmse", "test_rmse", "diverged", "runaway",
               "code_std_mean", "corr_mean", "train_seconds"]


def run_record(frame: pd.DataFrame, chapter: str) -> pd.DataFrame:
    """The rows of runs.csv for one chapter's runs (a runs_frame), one per run key."""
    return frame.drop_duplicates("key").assign(chapter=chapter)[RUN_COLUMNS]


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


VARIANT_COLUMNS = ["bottleneck", "variant", "activation", "alpha", "rmse_mean", "rmse_std", "corr_mean",
                   "diff_mean", "diff_ci_low", "diff_ci_high", "p_value", "p_holm", "effect_size", "mde",
                   "equivalence_bound", "n_seeds", "code_std_mean", "n_runaway"]
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
    of ours - standard, or only the mean difference when a run ran away (chaotic: no t interval)."""
    ours = ours.sort_index()
    diff = (ours - standard.reindex(ours.index)).to_numpy()                # the same seeds
    return {"diff_mean": diff.mean()} if runaway else paired_inference(diff)


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
    does not dilute the others. Valid because Fisher's test conditions on the margins."""
    p_min = [fisher_more(*counts)[1] for counts in
             zip(runaway.runaway, runaway.runs, runaway.standard_runaway, runaway.standard_runs)]
    return runaway.p_value.astype(float).where(pd.Series(p_min, index=runaway.index) <= LEVEL)


def runaway_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Divergence as an outcome of its own: per penalty, how many of its runs at the selected alpha
    ran away against the standard loss's runs of the same seeds and code sizes, pooled over both,
    and Fisher's exact test (one-sided: the penalty runs away more often; fisher_more), with the
    smallest p its margins allow. Exact at any count, 0 of N standard runs included. `frame`:
    runs_frame rows of one code activation."""
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


def runaway_tables(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """runaway_table of each setting's runs (setting -> runs_frame of one code activation), with
    Holm across the rows that can reach LEVEL (testable): one family; the others have no p_holm."""
    table = pd.concat([runaway_table(frame).assign(setting=setting) for setting, frame in frames.items()], ignore_index=True)
    table["p_holm"] = holm(testable(table))
    return table[["setting", *RUNAWAY_COLUMNS, "p_holm"]]


def variant_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (n, variant, code activation) at the selected alpha: test RMSE, code
    correlation and scale, and the paired difference to the standard loss over the same seeds
    (paired_inference; Holm's correction across the penalised cells of each code activation).
    A cell with a runaway run gets its mean difference only: no t interval on chaotic runs."""
    chosen = selected_runs(frame)
    standard = (chosen[chosen.method == "standard"].set_index(["bottleneck", "code_activation", "seed"])
                .test_rmse.sort_index())
    rows = []
    for (n, activation, penalty), group in chosen.groupby(SELECTION_GROUP, sort=False):
        row = {"bottleneck": n, "variant": "standard" if penalty == "none" else penalty,
               "activation": activation, "alpha": group.alpha.iloc[0],
               "rmse_mean": group.test_rmse.mean(), "rmse_std": group.test_rmse.std(),
               "corr_mean": group.corr_mean.mean(), "n_seeds": group.seed.nunique(),
               "code_std_mean": group.code_std_mean.mean(), "n_runaway": int(group.runaway.sum())}
        if penalty != "none":
            row.update(paired_cell(group.set_index("seed").test_rmse, standard.loc[(n, activation)], row["n_runaway"] > 0))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=VARIANT_COLUMNS)
    table["p_holm"] = table.groupby("activation").p_value.transform(holm)   # one family per code activation
    order = {name: i for i, name in enumerate(["standard", *REGISTRY])}      # the registry's order
    return table.sort_values(["bottleneck", "activation", "variant"], ascending=[False, False, True],
                             key=lambda s: s.map(order) if s.name == "variant" else s, ignore_index=True)


def setting_tables(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """variant_table of each setting's runs (setting -> runs_frame; plug and play: another
    autoencoder or data set), one table with a `setting` column; Holm within each setting."""
    tables = [variant_table(frame).assign(setting=setting) for setting, frame in frames.items()]
    return pd.concat(tables, ignore_index=True)[["setting", *VARIANT_COLUMNS]] if tables else \
        pd.DataFrame(columns=["setting", *VARIANT_COLUMNS])


SILHOUETTE_COLUMNS = ["variant", "silhouette_mean", "silhouette_low", "silhouette_high", "diff_mean", "diff_ci_low",
                      "diff_ci_high", "p_value", "p_holm", "n_seeds", "n_runaway"]


def silhouette_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Figure 1's "more compact classes" over every seed: per variant (frame: variant, seed,
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


def selected_models(runs: list[dict]) -> dict[tuple[int, str], list[dict]]:
    """(n, variant) -> that model's runs over seeds (seed order): the standard runs and, for each
    penalty, its runs at the alpha selected on validation (alpha_selection). What the chapters
    that evaluate trained codes (compression, code quality) compare."""
    by_key = {run["key"]: run for run in runs}
    chosen = selected_runs(runs_frame(runs)).sort_values(["bottleneck", "seed"], ascending=[False, True])
    models = {}
    for row in chosen.itertuples():
        variant = "standard" if row.penalty == "none" else row.penalty
        models.setdefault((row.bottleneck, variant), []).append(by_key[row.key])
    return models


def method_order(table: pd.DataFrame) -> list[str]:
    """The methods of a compression or code-quality table as its figures order them: PCA, the
    standard loss, then the penalties by name."""
    return ["PCA", "standard", *sorted(set(table.method) - {"PCA", "standard"})]


RATE_DISTORTION_COLUMNS = ["dataset", "method", "bottleneck", "bits_per_dim", "bits_per_image", "entropy_bits",
                           "joint_bits", "rmse", "psnr", "n_runaway"]
CODE_QUALITY_COLUMNS = ["dataset", "method", "bottleneck", "knn_accuracy", "knn_std", "logreg_accuracy", "trustworthiness",
                        "n_seeds", "n_runaway"]


def rate_distortion_table(curves: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """rate_distortion.csv from quantised test MSEs, one row per seed (method, bottleneck,
    bits_per_dim, seed, mse, entropy_bits, joint_bits): the MSE and entropy-coded rates averaged
    over seeds, then the fixed-length bits per image, RMSE and PSNR, and how many of the runs ran away."""
    mean = (curves.assign(runaway=curves.get("runaway", False)).groupby(["method", "bottleneck", "bits_per_dim"], sort=False)
            .agg(mse=("mse", "mean"), entropy_bits=("entropy_bits", "mean"), joint_bits=("joint_bits", "mean"),
                 n_runaway=("runaway", "sum")).reset_index())
    table = mean.assign(dataset=dataset, bits_per_image=mean.bottleneck * mean.bits_per_dim,
                        rmse=np.sqrt(mean.mse), psnr=mean.mse.map(psnr))
    return table[RATE_DISTORTION_COLUMNS].reset_index(drop=True)


def runaway_marked(table: pd.DataFrame, mark: str = " *") -> dict[str, str]:
    """method -> its name with `mark` where some of its runs ran away (a table with n_runaway):
    a reader sees which curves and columns are means over broken codes."""
    away = table.groupby("method", sort=False).n_runaway.sum()
    return {method: method + mark if count else method for method, count in away.items()}


def rate_distortion_view(table: pd.DataFrame) -> pd.DataFrame:
    """rate_distortion_table as a reader sees it: quantised test RMSE per (n, bits per dimension),
    one column per method, named with runaway_marked's mark where some of its runs ran away."""
    wide = table.pivot_table(index=["bottleneck", "bits_per_dim"], columns="method", values="rmse")[method_order(table)]
    return (wide.rename(columns=runaway_marked(table)).reset_index()
            .sort_values(["bottleneck", "bits_per_dim"], ascending=[False, True], ignore_index=True))


def entropy_gap(table: pd.DataFrame) -> pd.DataFrame:
    """What correlation between code dimensions is worth, in bits per image: the per-dimension
    entropy minus the joint entropy of the quantised training codes (rate_distortion_table's means
    over seeds), per (code size, bits per dimension) where the joint entropy was estimated; one
    column per method."""
    known = table.dropna(subset=["joint_bits"]).assign(gap=lambda f: f.entropy_bits - f.joint_bits)
    wide = known.pivot_table(index=["bottleneck", "bits_per_dim"], columns="method", values="gap", sort=False)
    return wide[[m for m in method_order(table) if m in wide]].sort_index(ascending=[False, True]).reset_index()


LOW_RATE_COLUMNS = ["bottleneck", "bits_per_dim", "method", "diff_mean", "diff_ci_low", "diff_ci_high",
                    "p_value", "p_holm", "n_seeds", "n_runaway"]


def low_rate_table(curves: pd.DataFrame, bits=(2, 3, 4)) -> pd.DataFrame:
    """Where quantisation matters: each penalised model's quantised test RMSE minus the standard
    model's, seed by seed, at each of `bits` (paired_inference, Holm across the table's tested
    cells; a cell with a runaway run gets its mean only)."""
    low = curves[curves.bits_per_dim.isin(bits) & (curves.method != "PCA")].assign(rmse=lambda f: np.sqrt(f.mse))
    standard = low[low.method == "standard"].set_index(["bottleneck", "bits_per_dim", "seed"]).rmse.sort_index()   # .loc[(n, b)]
    rows = []
    for (n, b, method), cell in low[low.method != "standard"].groupby(["bottleneck", "bits_per_dim", "method"], sort=False):
        row = {"bottleneck": n, "bits_per_dim": b, "method": method, "n_seeds": len(cell),
               "n_runaway": int(cell.runaway.sum())}
        row.update(paired_cell(cell.set_index("seed").rmse, standard.loc[(n, b)], row["n_runaway"] > 0))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=LOW_RATE_COLUMNS)
    table["p_holm"] = holm(table.p_value)                                    # the table is one family
    return table.sort_values(["bottleneck", "bits_per_dim", "method"], ascending=[False, True, True], ignore_index=True)


EQUAL_RATE_COLUMNS = ["bottleneck", "rate_bits", "method", "diff_mean", "diff_ci_low", "diff_ci_high",
                      "p_value", "p_holm", "n_seeds", "n_runaway"]


def equal_rate_table(curves: pd.DataFrame, bits_per_dim=(2, 3, 4)) -> pd.DataFrame:
    """Compression at equal entropy-coded rate: each run's quantised test RMSE interpolated (linear
    in rate, between its b = 2..8 points) at n x b bits per image for each b of `bits_per_dim`
    (entropy_bits: each dimension coded alone), minus the standard model's of the same seed and code size;
    paired_inference, Holm across the table's tested cells, no interval on a runaway cell; a rate
    outside a run's range leaves that cell out."""
    ae = curves[curves.method != "PCA"].assign(rmse=lambda f: np.sqrt(f.mse))
    at_rate = []
    for (method, n, seed), run in ae.groupby(["method", "bottleneck", "seed"], sort=False):
        run = run.sort_values("entropy_bits")
        for rate in [n * b for b in bits_per_dim]:
            inside = run.entropy_bits.notna().all() and run.entropy_bits.min() <= rate <= run.entropy_bits.max()
            at_rate.append({"method": method, "bottleneck": n, "seed": seed, "rate_bits": rate, "runaway": run.runaway.any(),
                            "rmse": float(np.interp(rate, run.entropy_bits, run.rmse)) if inside else np.nan})
    at_rate = pd.DataFrame(at_rate)
    standard = at_rate[at_rate.method == "standard"].set_index(["bottleneck", "rate_bits", "seed"]).rmse.sort_index()
    rows = []
    for (n, rate, method), cell in at_rate[at_rate.method != "standard"].groupby(["bottleneck", "rate_bits", "method"], sort=False):
        base = standard.loc[(n, rate)]
        cell = cell[cell.rmse.notna() & cell.seed.map(base.notna())]
        if len(cell) < 2:
            continue
        row = {"bottleneck": n, "rate_bits": rate, "method": method, "n_seeds": len(cell), "n_runaway": int(cell.runaway.sum())}
        row.update(paired_cell(cell.set_index("seed").rmse, base, row["n_runaway"] > 0))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=EQUAL_RATE_COLUMNS)
    table["p_holm"] = holm(table.p_value)
    return table.sort_values(["bottleneck", "rate_bits", "method"], ascending=[False, True, True], ignore_index=True)


def code_quality_table(per_run: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """code_quality.csv: each score's mean over the seeds of a (method, code size), in first-seen
    order, the kNN accuracy's std over them, and how many of those runs ran away (`runaway`)."""
    table = (per_run.assign(runaway=per_run.get("runaway", False)).groupby(["method", "bottleneck"], sort=False)
             .agg(knn_accuracy=("knn_accuracy", "mean"), knn_std=("knn_accuracy", "std"),
                  logreg_accuracy=("logreg_accuracy", "mean"), trustworthiness=("trustworthiness", "mean"),
                  n_seeds=("seed", "nunique"), n_runaway=("runaway", "sum")).reset_index())
    return table.assign(dataset=dataset)[CODE_QUALITY_COLUMNS]


def pca_vs_ae_table(pca_rmse: dict[int, float], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """pca_vs_ae.csv: PCA's test RMSE per code size, then each autoencoder's (name -> runs_frame)
    mean, std and seed count per code size, in the order of pca_rmse."""
    sizes = list(pca_rmse)
    rows = [{"method": "PCA", "bottleneck": n, "rmse": pca_rmse[n], "rmse_std": 0.0, "n_seeds": 1} for n in sizes]
    for method, frame in frames.items():
        stats = frame.groupby("bottleneck").test_rmse.agg(["mean", "std", "count"])
        rows += [{"method": method, "bottleneck": n, "rmse": stats.loc[n, "mean"], "rmse_std": stats.loc[n, "std"],
                  "n_seeds": int(stats.loc[n, "count"])} for n in sizes]
    return pd.DataFrame(rows)


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


def code_activation_table(variants: pd.DataFrame) -> pd.DataFrame:
    """code_activation.csv: the standard loss's mean test RMSE per n with each bottleneck
    activation (a variant_table), next to the paper's standard column."""
    table = variants[variants.variant == "standard"].pivot(index="bottleneck", columns="activation", values="rmse_mean")
    table["paper"] = PAPER_BY_N.standard
    return table.sort_index(ascending=False).reset_index().rename_axis(columns=None)


def labelled_frame(runs: dict[str, list[dict]], column: str = "label") -> pd.DataFrame:
    """One runs_frame for several models (label -> its runs), the label in `column`."""
    return pd.concat([runs_frame(group).assign(**{column: label}) for label, group in runs.items()], ignore_index=True)


ACTIVATIONS_LOSSES_COLUMNS = ["model", "output", "loss", "bottleneck", "rmse_mean", "rmse_std", "n_seeds"]


def activations_losses_table(frame: pd.DataFrame) -> pd.DataFrame:
    """activations_losses.csv from a labelled_frame: per variant, test RMSE mean and std over seeds,
    with its widths as 784-hidden-n; the label column stays (the CSV drops it)."""
    frame = frame.assign(model="784-" + frame.hidden + "-" + frame.bottleneck.astype(str))
    return (frame.groupby(["label", *ACTIVATIONS_LOSSES_COLUMNS[:4]], sort=False)
            .agg(rmse_mean=("test_rmse", "mean"), rmse_std=("test_rmse", "std"), n_seeds=("seed", "nunique"))
            .reset_index())


def paired_against(frame: pd.DataFrame, reference: str, labels: list[str]) -> pd.DataFrame:
    """activations_losses_paired.csv: each label's test RMSE minus the reference label's, seed by
    seed (a labelled_frame), summarised as mean, std, min, max and the seeds where it is lower."""
    wide = frame.pivot_table(index="seed", columns="label", values="test_rmse")
    paired = pd.DataFrame({label: wide[label] - wide[reference] for label in labels})   # (seeds, labels)
    summary = paired.agg(["mean", "std", "min", "max"]).T.rename_axis("variant").reset_index()
    return summary.assign(seeds_better=(paired < 0).sum().to_numpy())


def datasets_view(both: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """datasets.csv side by side for a reader: one row per (n, model), PCA first (its test RMSE
    once, at each n), then each autoencoder; each data set's test RMSE, std, runaway runs and
    alpha in columns; with the columns' names for a reader and formats."""
    values = {"rmse_mean": ("test RMSE", "{:.4f}"), "rmse_std": ("std over seeds", "{:.4f}"),
              "n_runaway": ("runaway runs", "{:.0f}"), "alpha": ("alpha", "alpha")}
    pca = both.drop_duplicates(["bottleneck", "dataset"]).assign(                  # a model of its own, no seeds
        method="PCA", rmse_mean=lambda f: f.pca_rmse, rmse_std=np.nan, n_runaway=np.nan, alpha=np.nan)
    rows = pd.concat([pca, both], ignore_index=True)
    rank = {method: i for i, method in enumerate(method_order(rows))}
    size = {n: i for i, n in enumerate(both.bottleneck.unique())}                    # Table 1's order of n
    rows = rows.assign(size=rows.bottleneck.map(size), rank=rows.method.map(rank)).sort_values(["size", "rank"])
    wide = rows.pivot_table(index=["bottleneck", "method"], columns="dataset", sort=False, values=list(values), dropna=False)
    columns, formats = {"bottleneck": "code size n", "method": "model"}, {}
    for name in both.dataset.unique():
        for value, (what, spec) in values.items():
            columns[f"{value}, {name}"] = f"{DATASET_NAMES[name]}: {what}"
            formats[f"{value}, {name}"] = spec
    return wide, columns, formats
