"""The verdict's rules on small hand-made tables: each claim's word follows from its numbers."""
import numpy as np
import pandas as pd
import pytest

from aebottleneck.chapters import penalty_variants, verdict
from aebottleneck.config import ConfigError
from aebottleneck.chapters.decorrelation import PAPER_BY_N


def paper_runs(standard_shift=0.0, penalty_shift=0.0, runaway=False, spread=0.002):
    """runs.csv rows of the decorrelation chapter: 3 seeds around the paper's means (+ shifts)."""
    rows = []
    for n, paper in PAPER_BY_N.iterrows():
        for seed, noise in enumerate((-spread, 0.0, spread)):
            common = dict(chapter="decorrelation", key=f"{n}-{seed}", bottleneck=n, code_activation="leaky_relu", seed=seed)
            rows.append({**common, "penalty": "none", "alpha": 0.0, "runaway": False,
                         "test_rmse": paper.standard + standard_shift + noise})
            rows.append({**common, "key": f"{n}-{seed}-p", "penalty": "signed", "alpha": 0.01, "runaway": runaway,
                         "test_rmse": paper.penalty + penalty_shift + noise})
    return pd.DataFrame(rows)


def table1_of(runs):
    grouped = runs.assign(method=np.where(runs.penalty == "none", "standard", "penalty"))
    return grouped.groupby(["bottleneck", "method"]).agg(alpha=("alpha", "first"), rmse_mean=("test_rmse", "mean")).reset_index()


@pytest.mark.parametrize("kwargs, word, shown", [
    (dict(spread=0.0005), "reproduced", "Inside it at 6 of 6 cells"),
    (dict(standard_shift=0.01), "not reproduced", "wholly outside (or runaway) at 3"),
    (dict(runaway=True), "not reproduced", "(3 runaway runs)"),                   # the right means, but chaotic runs
    (dict(spread=0.004), "inconclusive", "Inside it at 0 of 6 cells, wholly outside (or runaway) at 0, neither at 6 (n = 8 standard"),
])
def test_table1_is_reproduced_only_by_equivalence_within_the_stated_margin(kwargs, word, shown):
    runs = paper_runs(**kwargs)
    row = verdict.table1_claim(table1_of(runs), runs)
    assert row["verdict"] == word and shown in row["evidence"]
    assert "] vs +-0.00" in row["evidence"] or kwargs.get("runaway")          # the intervals the rule uses, each with its margin


def test_a_profile_that_is_not_the_papers_protocol_is_not_comparable():
    runs = paper_runs()
    assert verdict.table1_claim(table1_of(runs), runs, paper_protocol=False)["verdict"] == "not comparable"


def variants(diffs, p_holm, runaway=(0, 0, 0), corr=(0.1, 0.1, 0.1), std_scale=1.0):
    """A penalty_variants table at n = 8, 4, 2: standard rows plus eq. 3 with the given paired
    differences, Holm-adjusted p (nan = untested) and runaway counts."""
    rows = []
    for i, n in enumerate((8, 4, 2)):
        rows.append(dict(bottleneck=n, variant="standard", activation="leaky_relu", corr_mean=0.2, code_std_mean=1.0,
                         n_seeds=5, n_runaway=0, diff_mean=np.nan, p_value=np.nan, p_holm=np.nan))
        rows.append(dict(bottleneck=n, variant="signed", activation="leaky_relu", corr_mean=corr[i],
                         code_std_mean=std_scale, n_seeds=5, n_runaway=runaway[i], diff_mean=diffs[i],
                         p_value=p_holm[i], p_holm=p_holm[i], mde=0.004, equivalence_bound=0.003))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("diffs, p_holm, runaway, word", [
    ((-0.001, -0.002, -0.001), (0.01, 0.02, 0.04), (0, 0, 0), "supported"),
    ((-0.001, -0.002, -0.001), (0.01, 0.02, 0.06), (0, 0, 0), "not supported"),   # one cell fails after Holm
    ((0.2, 0.1, 0.05), (0.01, 0.01, 0.02), (0, 0, 0), "contradicted"),
    ((0.2, 0.1, 0.05), (np.nan,) * 3, (5, 5, 5), "not tested"),                   # worse, but runaway: untested
    ((0.2, -0.001, 0.05), (np.nan, 0.5, np.nan), (5, 0, 5), "not supported"),
])
def test_consistent_gain_needs_every_cell_better_after_holm(diffs, p_holm, runaway, word):
    row = verdict.boost_claim(variants(diffs, p_holm, runaway))
    assert row["verdict"] == word
    assert "0.0005 to 0.0012" in row["evidence"] or all(np.isnan(p_holm))   # the paper's gains, beside the design's reach


def test_a_runaway_cell_is_never_counted_better_even_with_a_small_p():
    for p_first in (0.001, np.nan):     # whether or not a p was (wrongly) given to the runaway cell
        table = variants((-0.01, -0.01, -0.01), (p_first, 0.001, 0.001), runaway=(1, 0, 0))
        assert verdict.boost_claim(table)["verdict"] == "not supported"


def runaway_rows(signed_away, standard_away=0, runs=15):
    """stats.runaway_table's rows: eq. 3 and a bounded penalty against the standard loss."""
    return pd.DataFrame([("signed", runs, signed_away, runs, standard_away), ("squared", runs, 0, runs, standard_away)],
                        columns=["variant", "runs", "runaway", "standard_runs", "standard_runaway"])


@pytest.mark.parametrize("signed_away, word", [(15, "contradicted"), (3, "not tested")])
def test_divergence_is_an_outcome_tested_exactly(signed_away, word):
    """Issue 33: every eq. 3 run ran away and no standard run did: Fisher's exact test (Holm with
    the table's cells) contradicts the claim on that ground; 3 of 15 is not enough, and with every
    RMSE cell untested the word is "not tested"."""
    from scipy.stats import fisher_exact

    from aebottleneck import stats

    rows = runaway_rows(signed_away)
    rows["p_value"] = [fisher_exact([[a, n - a], [b, m - b]], alternative="greater").pvalue
                       for a, n, b, m in zip(rows.runaway, rows.runs, rows.standard_runaway, rows.standard_runs)]
    rows["p_min"] = [stats.fisher_more(*counts)[1] for counts in
                     zip(rows.runaway, rows.runs, rows.standard_runaway, rows.standard_runs)]   # what the margins allow
    row = verdict.boost_claim(variants((0.2, 0.1, 0.05), (np.nan,) * 3, (5, 5, 5)), rows)
    assert row["verdict"] == word
    assert row["evidence"].startswith("Ground: divergence" if word == "contradicted" else "Ground: none")
    assert f"ran away in {signed_away} of 15 runs, the standard loss in 0 of 15" in row["evidence"]
    assert "None of its 3 code sizes could be t-tested (each holds a runaway run)" in row["evidence"]


def test_the_runaway_table_pools_seeds_and_sizes_against_the_same_standard_cells():
    from aebottleneck import stats

    rows = []
    for n in (8, 4):
        for seed in (3, 4, 5):
            rows.append(dict(bottleneck=n, seed=seed, penalty="none", alpha=0.0, val_rmse=0.2, test_rmse=0.2, runaway=False))
            rows.append(dict(bottleneck=n, seed=seed, penalty="signed", alpha=0.01, val_rmse=0.3, test_rmse=0.4, runaway=True))
            rows.append(dict(bottleneck=n, seed=seed, penalty="squared", alpha=0.1, val_rmse=0.2, test_rmse=0.2,
                             runaway=seed == 3 and n == 8))
    frame = pd.DataFrame(rows).assign(code_activation="leaky_relu", diverged=False)
    table = stats.runaway_table(frame.assign(method=np.where(frame.penalty == "none", "standard", "penalty"))).set_index("variant")
    assert table.loc["signed", ["runs", "runaway", "standard_runs", "standard_runaway"]].tolist() == [6, 6, 6, 0]
    assert table.loc["signed", "p_value"] == pytest.approx(1 / 924)          # C(12, 6): all six away by chance
    assert table.loc["squared", "runaway"] == 1 and table.loc["squared", "p_value"] == pytest.approx(0.5)

    from aebottleneck.chapters import confounds

    method = np.where(frame.penalty == "none", "standard", "penalty")
    backwards = frame.assign(method=method).iloc[::-1]                      # squared met before signed
    both = confounds.runaway_tables({"b setting": backwards, "a setting": frame.assign(method=method)})
    assert both.setting.tolist() == ["b setting"] * 2 + ["a setting"] * 2   # settings as given
    assert both.variant.tolist() == ["signed", "squared"] * 2                 # each in registry order


def penalty_runs(corr_gap, runaway=False, seeds=(3, 4, 5, 6)):
    """runs.csv rows of the penalty chapter at n = 8, 4, 2: standard and eq. 3 at alpha 0.01 over
    `seeds`, eq. 3's code correlation `corr_gap[i]` (+ seed noise) above the standard's; plus a
    selection-seed run that must be ignored."""
    rows = []
    for i, n in enumerate((8, 4, 2)):
        for seed in (0, *seeds):
            noise = 0.001 * seed
            common = dict(chapter="penalty_variants", bottleneck=n, code_activation="leaky_relu", seed=seed)
            rows.append({**common, "key": f"s{n}{seed}", "penalty": "none", "alpha": 0.0, "runaway": False, "corr_mean": 0.3})
            rows.append({**common, "key": f"p{n}{seed}", "penalty": "signed", "alpha": 0.01, "runaway": runaway,
                         "corr_mean": 0.3 + (5.0 if seed == 0 else corr_gap[i] + noise)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("gap, runaway, word", [((-0.1, -0.2, -0.1), False, "supported"),
                                                ((0.2, 0.3, 0.1), False, "contradicted"),
                                                ((-0.1, 0.2, -0.1), False, "not supported"),
                                                ((-0.1, -0.2, -0.1), True, "not tested")])   # chaotic: untested
def test_diverse_codes_tests_code_correlation_seed_by_seed_on_the_table_seeds(gap, runaway, word):
    table = variants((0.1,) * 3, (np.nan,) * 3).assign(alpha=0.01)
    row = verdict.diversity_claim(table, penalty_runs(gap, runaway), variant_seeds=(3, 4, 5, 6))
    assert row["verdict"] == word
    assert f"{0.3 + gap[0] + 0.0045:.3f} vs 0.300 (n = 8)" in row["evidence"]      # seed 0 (selection) left out
    assert f"{3 if runaway else 0} cells hold a runaway run" in row["evidence"]


def figure1(penalty_minus_standard, runaway=False):
    rows = [dict(method="standard", seed=s, silhouette=0.3, runaway=False) for s in range(4)]
    rows += [dict(method="penalty", seed=s, silhouette=0.3 + d, runaway=runaway) for s, d in enumerate(penalty_minus_standard)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("gaps, runaway, word", [((0.1, 0.11, 0.12, 0.1), False, "supported"),
                                                 ((-0.1, -0.12, -0.1, -0.11), False, "contradicted"),
                                                 ((0.1, -0.1, 0.0, 0.01), False, "not supported"),
                                                 ((0.1, 0.11, 0.12, 0.1), True, "not tested")])
def test_compact_classes_tests_silhouettes_seed_by_seed(gaps, runaway, word):
    quality = pd.DataFrame({"method": ["standard", "signed"], "bottleneck": [2, 2], "knn_accuracy": [0.7, 0.4],
                            "n_seeds": [5, 5], "n_runaway": [0, 4 if runaway else 0]})
    row = verdict.compact_classes_claim(figure1(gaps, runaway), quality)
    knn = "0.400 (eq. 3; 4 of its 5 runs ran away)" if runaway else "0.400 (eq. 3)"
    assert row["verdict"] == word and f"{knn} vs 0.700 (standard)" in row["evidence"]
    assert ("not tested: 4 of 4 penalty runs ran away" in row["evidence"]) == runaway


def test_plug_and_play_counts_the_paper_grid_and_the_wider_grid_apart():
    runs = pd.DataFrame({"chapter": ["decorrelation", "penalty_variants", "penalty_variants", "penalty_variants", "datasets"],
                         "key": ["a", "a", "b", "c", "d"], "penalty": ["signed", "signed", "signed", "squared", "signed"],
                         "alpha": [0.01, 0.01, 1.0, 0.1, 0.01], "runaway": [True, True, False, False, True]})
    row = verdict.plug_and_play_claim(runs)
    assert row["verdict"] == "not tested"                        # no penalty trained on another autoencoder
    assert "1 of 1 runs of the paper's MLP at the paper's alphas (0.01) and in 0 of 1 runs of the penalty chapter's wider grid" in row["evidence"]



def plug_rows(diffs, p_holm, runaway=(0, 0)):
    return pd.DataFrame({"setting": ["conv AE on MNIST", "MLP on Fashion-MNIST"], "variant": "signed", "diff_mean": diffs,
                         "p_holm": p_holm, "n_runaway": runaway})


def runaway_rows_of(away, p_holm):
    return pd.DataFrame({"setting": ["conv AE on MNIST", "MLP on Fashion-MNIST"], "variant": "signed", "runs": 5,
                         "runaway": away, "standard_runs": 5, "standard_runaway": 0, "p_holm": p_holm})


@pytest.mark.parametrize("plug, away, word, ground", [
    (plug_rows((-0.01, -0.02), (0.01, 0.02)), runaway_rows_of((0, 0), (1.0, 1.0)), "supported", "test RMSE"),
    (plug_rows((0.01, -0.02), (0.01, 0.02)), runaway_rows_of((0, 0), (1.0, 1.0)), "not supported", "test RMSE"),
    (plug_rows((0.3, 0.2), (np.nan, np.nan), (5, 5)), runaway_rows_of((5, 5), (0.02, 0.02)), "contradicted", "divergence"),
    (plug_rows((0.3, 0.2), (np.nan, np.nan), (1, 1)), runaway_rows_of((1, 1), (1.0, 1.0)), "not tested", "none"),
])
def test_plug_and_play_rests_on_the_penalties_trained_elsewhere(plug, away, word, ground):
    runs = pd.DataFrame({"chapter": ["decorrelation"], "key": ["a"], "penalty": ["signed"], "alpha": [0.01], "runaway": [True]})
    row = verdict.plug_and_play_claim(runs, plug, away)
    assert row["verdict"] == word and row["evidence"].startswith(f"Ground: {ground}")


def test_paired_cells_correct_across_cells_and_skip_runaway_ones():
    clear, weak = np.array([-0.10, -0.11, -0.12, -0.10]), np.array([-0.1, 0.05, -0.2, 0.02])
    assert verdict.paired_cells([(clear, False), (clear, False)]) == (2, 0)
    assert verdict.paired_cells([(clear, False), (weak, False)]) == (1, 0)
    assert verdict.paired_cells([(clear, True), (-clear, False)]) == (0, 1)
    assert verdict.paired_cells([(clear, True)]) == (0, 0)


def test_missing_tables_are_named_with_the_notebook_that_writes_them(tmp_path):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "table1.csv")
    with pytest.raises(ConfigError, match=r"lacks runs.csv \(written by decorrelation and penalty_variants\), "
                                          r"penalty_variants.csv \(written by penalty_variants\)"):
        verdict.read_tables(tmp_path)


def test_t_interval_is_the_textbook_one():
    low, high = verdict.t_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 4.302653 / np.sqrt(3), 2 + 4.302653 / np.sqrt(3)))


def test_variant_findings_count_after_holm_and_pick_the_best_among_tested_cells():
    table = variants((0.2, -0.001, 0.05), (np.nan, 0.5, np.nan), runaway=(5, 0, 5), std_scale=1e6)
    table = pd.concat([table, table[table.variant == "signed"].assign(
        variant="correlation", corr_mean=0.05, diff_mean=-0.003, p_value=0.001, p_holm=0.003, n_runaway=0, code_std_mean=1.0)])
    table = table.assign(activation="leaky_relu")
    found = penalty_variants.variant_numbers(table)
    assert (found["n_cells"], found["n_tested"], found["n_significant_better"], found["n_significant_worse"]) == (6, 4, 3, 0)
    assert (found["best_variant"], found["best_diff"]) == ("correlation", -0.003)     # never an untested runaway cell
    assert found["signed_runaway"] == 10 and found["signed_verdict"].startswith("lowered the mean |correlation| of the codes and inflated them (untested: ")
    assert "1e+06 times" in found["signed_mechanism"]
    assert found["bounded_sentence"].startswith("1 of the 1 bounded variants lowered the mean |correlation|")
    assert "correlation 0.050 (code std 1, 1.00 of the standard's)." in found["bounded_sentence"]
    assert found["significant_list"].startswith(" (") and "1e+06 times" in found["signed_mechanism"]
