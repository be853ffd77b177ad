"""The numbers the pages' text quotes (each chapter module's *_numbers), on small hand-made tables."""
import math

import pandas as pd
import pytest

from aebottleneck.chapters import activations_losses, code_quality, compression, confounds, datasets, decorrelation, embeddings, penalty_variants


def test_closer_to_paper_names_the_smaller_mean_absolute_gap():
    table = pd.DataFrame({"a": [0.10, 0.30], "b": [0.21, 0.19], "paper": [0.2, 0.2]})
    gaps, closer = decorrelation.closer_to_paper(table, {"a": "first", "b": "second"})
    assert gaps == pytest.approx({"a": 0.1, "b": 0.01}) and closer == "second"
    kinds = pd.DataFrame({"bottleneck": [8], "test_rmse": [0.2], "test_rmse_per_image": [0.18], "paper": [0.185]})
    numbers = decorrelation.rmse_kinds_numbers(kinds)
    assert "rmse_closer" not in numbers                     # nearer by construction (Jensen): not evidence
    assert (numbers["rmse_per_image_below"], numbers["rmse_rows"]) == (int((kinds.test_rmse_per_image <= kinds.test_rmse).sum()), len(kinds))


def test_the_rmse_sentence_says_where_the_pooled_rmse_is_nearer_by_construction():
    """Pooled at or below the paper's: nearer whatever the paper used (Jensen); above it, either can be."""
    kinds = pd.DataFrame({"bottleneck": [8, 4, 2], "test_rmse": [0.136, 0.168, 0.1975],
                          "test_rmse_per_image": [0.129, 0.160, 0.1905], "paper": [0.1289, 0.1688, 0.1974]})
    sentence = decorrelation.rmse_kinds_numbers(kinds)["rmse_sentence"]
    assert "at or below the paper's at n = 4: there the pooled is the nearer by construction" in sentence
    assert "(n = 8, 2), either can be the nearer, and the nearer is the pooled at n = 2; the per-image mean at n = 8." in sentence
    above = decorrelation.rmse_kinds_numbers(kinds.assign(paper=0.1))["rmse_sentence"]
    assert above == "Where it is above (n = 8, 4, 2), either can be the nearer, and the nearer is the per-image mean at n = 8, 4, 2."


def test_run_counts_count_runaway_among_penalty_runs_only():
    frame = pd.DataFrame({"method": ["standard", "penalty", "penalty"], "diverged": [True, False, False],
                          "runaway": [True, True, False], "runaway_epoch": [0, 3, -1]})
    counts = decorrelation.run_numbers(frame)
    assert {k: counts[k] for k in ("n_runs", "n_diverged", "n_runaway", "n_penalty_runs")} == \
        {"n_runs": 3, "n_diverged": 1, "n_runaway": 1, "n_penalty_runs": 2}
    assert counts["runaway_sentence"].startswith("1 of 2 penalty runs ran away, from epoch 4 to 4")
    every = decorrelation.run_numbers(frame.assign(runaway=True, runaway_epoch=[0, 0, 4]))["runaway_sentence"]
    assert every.startswith("Every penalty run (2 of 2) ran away, from epoch 1 to 5")
    assert decorrelation.run_numbers(frame.assign(runaway=False))["runaway_sentence"] == "No penalty run ran away."


def test_the_sentences_beside_the_tables_say_what_the_runs_did():
    paired = pd.DataFrame({"bottleneck": [8, 2], "mean_diff": [0.23, -0.001], "seeds_penalty_better": [0, 2],
                           "n_seeds": [3, 3], "n_runaway": [3, 3]})
    text = decorrelation.paired_numbers(paired)["paired_sentence"]
    assert "better in 2 of the 6" in text and "-0.0010 to +0.2300" in text and "diverged penalty" in text
    assert "diverged" not in decorrelation.paired_numbers(paired.assign(n_runaway=0))["paired_sentence"]
    stats = pd.DataFrame({"bottleneck": [8, 8], "method": ["standard", "penalty"], "corr_mean": [0.25, 0.63],
                          "code_std_mean": [5.3, 3.1e8], "n_runaway": [0, 3]})
    text = decorrelation.code_effect_numbers(stats)["code_sentence"]
    assert "below the standard loss's at 0 of 1" in text and "5.30" in text and "3 penalty runs" in text


def test_alpha_edges_count_choices_at_the_grids_smallest_alpha():
    from aebottleneck.stats import RULE_CLEAN, RULE_FALLBACK

    selection = pd.DataFrame({"bottleneck": [8, 8, 4, 2], "penalty": ["signed", "abs", "abs", "signed"],
                              "alpha": [0.001, 0.01, 0.001, 0.001], "val_rmse_mean": [0.20, 0.21, 0.30, 0.5],
                              "selected": True, "rule": [RULE_CLEAN] * 3 + [RULE_FALLBACK]})
    edges = penalty_variants.alpha_edge_numbers(selection, pd.Series({8: 0.25, 4: 0.29, 2: 0.1}), [0.001, 0.01])
    assert (edges["n_choices"], edges["n_edge"], edges["n_edge_bracketed"]) == (3, 2, 1)   # only n = 8's standard is worse
    assert edges["edge_list"] == "signed at n = 8, abs at n = 4" and edges["n_fallback"] == 1   # a fallback is no choice


def test_silhouettes_pair_seeds():
    table = pd.DataFrame({"seed": [0, 1, 0, 1], "method": ["standard"] * 2 + ["penalty"] * 2,
                          "silhouette": [0.1, 0.2, 0.3, 0.1], "runaway": [False, False, True, False]})
    numbers = embeddings.silhouette_numbers(table)
    assert (numbers["higher"], numbers["n_seeds"], numbers["n_runaway"]) == (1, 2, 1)
    assert numbers["silhouette_penalty"] == pytest.approx(0.2)


def test_low_rate_counts_only_tested_cells_after_holm():
    low = pd.DataFrame({"diff_mean": [-0.01, 0.02, -0.5], "p_value": [0.001, 0.001, float("nan")],
                        "p_holm": [0.002, 0.2, float("nan")], "mde": [0.01, 0.03, float("nan")]})
    table = pd.DataFrame({"bits_per_dim": 2, "bottleneck": [8, 8, 4, 4], "method": ["PCA", "standard"] * 2,
                          "rmse": [0.1, 0.2, 0.3, 0.2]})
    numbers = compression.low_rate_numbers(low, table, [2, 3, 4])
    assert (numbers["cells"], numbers["tested"], numbers["better"], numbers["worse"]) == (3, 2, 1, 0)
    assert numbers["gain_span"] == "-0.0100 to +0.0200" and numbers["pca_beats_ae_low"] == 1
    assert numbers["mde"] == "0.0200"                                   # the median over the tested cells


def test_equal_rate_counts_only_tested_cells_after_holm():
    table = pd.DataFrame({"diff_mean": [-0.01, 0.02, -0.5, 0.03], "p_value": [0.001, 0.001, float("nan"), 0.01],
                          "p_holm": [0.002, 0.003, float("nan"), 0.02], "mde": [0.01, 0.02, float("nan"), 0.04],
                          "complete": [True, True, False, True]})
    numbers = compression.equal_rate_numbers(table, [2, 3])
    assert (numbers["cells"], numbers["tested"], numbers["better"], numbers["worse"]) == (4, 3, 1, 2)
    assert numbers["span"] == "-0.0100 to +0.0300" and numbers["bits"] == "2, 3"
    assert (numbers["partial"], numbers["mde"]) == (1, "0.0200")


def test_knn_gains_compare_each_penalty_with_the_standard_model():
    quality = pd.DataFrame({"bottleneck": [2] * 4, "method": ["PCA", "standard", "signed", "abs"],
                            "knn_accuracy": [0.4, 0.5, 0.65, 0.6], "knn_std": [0.0, 0.01, 0.02, 0.03],
                            "n_seeds": [1, 5, 5, 5], "n_runaway": [0, 0, 4, 0],
                            "logreg_accuracy": [0.5, 0.7, 0.9, 0.6], "trustworthiness": [0.8, 0.8, 0.9, 0.85]})
    numbers = code_quality.knn_numbers(quality, ["PCA", "standard", "abs", "signed"], 2)
    assert (numbers["better"], numbers["cells"], numbers["away_cells"]) == (1, 1, 1)     # the runaway cell apart
    assert numbers["best"] == "abs at n = 2 (+0.100; the kNN accuracy's std over seeds there 0.030)"
    assert numbers["signed_runaway"] == "4 of its 5 runs ran away"
    assert (numbers["logreg_better"], numbers["trust_better"]) == (0, 1)   # abs only: signed's cell ran away


def test_datasets_and_code_size_numbers():
    both = pd.DataFrame({"dataset": ["mnist"] * 2, "bottleneck": [2, 2], "method": ["standard", "penalty"],
                         "rmse_mean": [0.2, 0.25], "pca_rmse": [0.3, 0.3], "n_seeds": 3, "n_runaway": [0, 2]})
    frame = pd.DataFrame({"dataset": ["mnist"] * 7 + ["fashion_mnist"], "method": ["standard"] + ["penalty"] * 7,
                          "alpha": [0] + [0.001] * 3 + [0.01] * 4, "runaway": [False, True, True, False, True] + [False] * 3})
    found = datasets.datasets_numbers(both, frame)
    assert found.pop("mnist_runaway") == "2 of its 3 runs at the alpha shown ran away, 3 of 6 over its 2 alphas"
    assert found.pop("mnist_pca_margin") == "+0.1000 to +0.1000"
    assert found == pytest.approx({"n_sizes": 1, "mnist_gap_max": 0.05, "mnist_gap_min": 0.05, "mnist_beats_pca": 1})
    table = pd.DataFrame({"bottleneck": [64, 4], "rmse_mean": [0.1, 0.2]})
    numbers = activations_losses.code_size_numbers({4: 0.3, 64: 0.05}, pd.Series({8: 0.15}), table)
    assert numbers["blur_sentence"].startswith("The tiny model's mean is below PCA's with the same 4 components (0.2000")
    above = activations_losses.code_size_numbers({4: 0.1, 64: 0.05}, pd.Series({8: 0.15}), table)["blur_sentence"]
    assert "does not explain its blur" in above
    between = activations_losses.code_size_numbers({4: 0.3, 64: 0.05}, pd.Series({4: 0.15}), table)["blur_sentence"]
    assert "but above the deeper MLP's (0.1500, +0.0500; untested)" in between and "not all" in between
    assert math.isnan(numbers["paper_4"]) and numbers["deeper"] == "higher"      # no paper run at n = 4


def test_confounds_count_tested_cells_per_activation_and_setting():
    nan = float("nan")
    baseline = pd.DataFrame({"activation": ["leaky_relu"] * 3 + ["linear"] * 3,
                             "variant": ["standard", "signed", "squared"] * 2,
                             "diff_mean": [nan, 0.2, -0.01, nan, 0.01, -0.02], "p_value": [nan, nan, 0.001, nan, 0.01, 0.2],
                             "p_holm": [nan, nan, 0.002, nan, 0.02, 0.2]})
    plug = pd.DataFrame({"setting": ["conv", "conv"], "variant": ["standard", "abs"], "diff_mean": [nan, 0.05],
                         "p_value": [nan, 0.001], "p_holm": [nan, 0.001]})
    runaway = pd.DataFrame({"setting": ["leaky_relu code", "conv"], "variant": ["signed", "abs"], "p_holm": [1e-6, 0.5]})
    silhouettes = pd.DataFrame({"variant": ["standard", "signed", "squared"], "silhouette_mean": [0.3, 0.1, 0.35],
                                "diff_mean": [nan, -0.2, 0.05], "p_value": [nan, nan, 0.01], "p_holm": [nan, nan, 0.01]})
    numbers = confounds.confound_numbers(baseline, plug, runaway, silhouettes)
    assert [numbers[f"leaky_relu_{k}"] for k in ("cells", "tested", "better", "worse")] == [2, 1, 1, 0]
    assert [numbers[f"linear_{k}"] for k in ("cells", "tested", "better", "worse")] == [2, 2, 0, 1]
    assert (numbers["plug_tested"], numbers["plug_worse"], numbers["plug_settings"]) == (1, 1, "conv")
    assert (numbers["runaway_significant"], numbers["runaway_list"]) == (1, "signed (leaky_relu code)")
    assert (numbers["sil_standard"], numbers["sil_tested"], numbers["sil_higher"], numbers["sil_span"]) == (0.3, 1, 1, "+0.050 to +0.050")


def test_selection_rule_counts_fallbacks_and_grid_edges_apart():
    from aebottleneck.stats import RULE_CLEAN, RULE_FALLBACK

    selection = pd.DataFrame({"selected": [True, True, True, False], "rule": [RULE_FALLBACK, RULE_CLEAN, RULE_CLEAN, RULE_CLEAN],
                              "at_grid_edge": [True, True, False, False]})
    found = decorrelation.selection_numbers(selection)
    assert {k: v for k, v in found.items() if k != "sentence"} == {"n_fallback": 1, "n_choices": 3, "n_edge": 1,
                                                                   "n_validated": 2}
    assert found["sentence"].startswith("The fallback set alpha at 1 of the 3") and "did not bracket" in found["sentence"]
    every = decorrelation.selection_numbers(selection.assign(rule=RULE_FALLBACK))["sentence"]
    assert every.startswith("No alpha was chosen on validation")


def test_the_seed_a_figure_draws_is_set_against_the_mean_over_seeds():
    rows = [{"bottleneck": 8, "code_activation": "leaky_relu", "method": method, "penalty": penalty, "alpha": alpha,
             "seed": seed, "val_rmse": 0.2,
             "test_rmse": 0.14 + 0.01 * seed, "corr_mean": 0.4 - 0.1 * seed, "runaway": False, "diverged": False}
            for seed in range(3) for method, penalty, alpha in (("standard", "none", 0.0), ("penalty", "signed", 0.01))]
    shown = decorrelation.shown_seed_numbers(pd.DataFrame(rows), 8, 0)
    assert shown == pytest.approx({"seed": 0, "n": 8, "corr_standard": 0.4, "rmse_standard": 0.14,
                                   "corr_mean_standard": 0.3, "rmse_mean_standard": 0.15})
    frame = pd.DataFrame(rows)
    frame.loc[frame.method == "penalty", "test_rmse"] += 0.002
    drawn = embeddings.drawn_seed_numbers(frame, 8, 0)["sentence"]
    assert "(seed 0)" in drawn and "over the 3 seeds" in drawn
    assert drawn.endswith("standard 0.1400 (mean 0.1500); penalty (alpha = 0.01) 0.1420 (mean 0.1520).")


def test_the_closer_activation_is_said_per_code_size_by_absolute_gap():
    table = pd.DataFrame({"bottleneck": [8, 2], "leaky_relu": [0.14, 0.195], "linear": [0.13, 0.190], "paper": [0.129, 0.197],
                          "diff_mean": [-0.01, -0.005], "p_value": [0.001, 0.2], "p_holm": [0.002, 0.2]})
    sentence = penalty_variants.code_activation_numbers(table)["activation_sentence"]
    assert "n = 8: linear (0.0010 against 0.0110); n = 2: LeakyReLU (0.0020 against 0.0070)" in sentence
    assert "lower at 1 and higher at 0 of the 2 code sizes tested after Holm" in sentence   # n = 2 lower, not significant


def test_the_standard_correlation_spread_is_over_both_stages_seeds():
    def rows(seeds, corr):
        return pd.DataFrame({"key": [f"k{s}" for s in seeds], "method": "standard", "code_activation": "leaky_relu",
                             "bottleneck": 2, "seed": seeds, "corr_mean": corr})
    found = penalty_variants.corr_spread_numbers(rows([0, 1], [0.1, 0.3]), rows([3, 4, 5], [0.5, 0.7, 0.9]), 2)["sentence"]
    assert "at n = 2 (one coefficient per run) it spans 0.100 to 0.900 over the 5 seeds" in found
    assert found.endswith("means 0.200 over the stage-1 seeds (this figure) and 0.700 over the table's.")


def test_the_penalty_chapter_counts_runaway_runs_per_loss_in_registry_order():
    from aebottleneck.config import load_profile

    runs = pd.DataFrame({"penalty": ["squared", "none", "signed", "signed", "none"], "runaway": [False, False, True, False, False],
                         "diverged": False})
    numbers = penalty_variants.design_numbers(runs, load_profile("quick"), ["signed", "squared"])
    assert numbers["runaway_by_penalty"] == "standard 0 of 2; signed 1 of 2; squared 0 of 1" and numbers["n_runaway"] == 1
