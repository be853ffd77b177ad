"""The statistics (stats) and the tables of the chapters (chapters/*.py) on hand-made runs."""
import numpy as np
import pandas as pd
import pytest

from aebottleneck.chapters import activations_losses, code_quality, compression, confounds, datasets, decorrelation, pca_vs_ae, penalty_variants
from aebottleneck import runtable, stats


# The protocol rules, on small hand-made frames of runs (runtable.runs_frame's columns).
def runs(rows):
    """rows: (bottleneck, penalty, alpha, seed, val_rmse, test_rmse[, diverged])."""
    frame = pd.DataFrame([(*r, False)[:7] for r in rows],
                         columns=["bottleneck", "penalty", "alpha", "seed", "val_rmse", "test_rmse", "diverged"])
    frame["method"] = frame.penalty.map(lambda p: "standard" if p == "none" else "penalty")
    return frame.assign(code_activation="leaky_relu", runaway=frame.diverged, corr_mean=0.5, code_std_mean=1.0)


STANDARD = [(2, "none", 0.0, s, 0.20, 0.20 + s / 100) for s in (0, 1)]


def test_alpha_is_chosen_on_mean_validation_rmse_never_on_test():
    frame = runs(STANDARD + [(2, "signed", 0.1, 0, 0.10, 0.90), (2, "signed", 0.1, 1, 0.12, 0.90),
                             (2, "signed", 0.5, 0, 0.30, 0.01), (2, "signed", 0.5, 1, 0.02, 0.01)])
    selection = stats.alpha_selection(frame)
    assert selection.query("selected").alpha.tolist() == [0.1]       # mean val 0.11 < 0.16; test ignored
    assert selection.set_index("alpha").val_rmse_mean.to_dict() == pytest.approx({0.1: 0.11, 0.5: 0.16})
    assert decorrelation.table1(frame).query("method == 'penalty'").rmse_mean.item() == pytest.approx(0.90)


def test_a_diverged_run_makes_its_alpha_lose_and_ties_go_to_the_smallest_alpha():
    diverged = runs(STANDARD + [(2, "signed", 0.1, 0, 0.10, 0.5, True), (2, "signed", 0.1, 1, 0.10, 0.5),
                                (2, "signed", 0.5, 0, 0.30, 0.5), (2, "signed", 0.5, 1, 0.30, 0.5)])
    assert stats.alpha_selection(diverged).query("selected").alpha.tolist() == [0.5]
    tied = runs(STANDARD + [(2, "signed", a, s, 0.3, 0.5, True) for a in (0.5, 0.1) for s in (0, 1)])
    assert stats.alpha_selection(tied).query("selected").alpha.tolist() == [0.1]


def test_an_alpha_with_a_runaway_run_never_beats_one_without():
    """Issue 36: a lower mean validation RMSE does not win when one of its runs ran away."""
    frame = runs(STANDARD + [(2, "signed", 0.1, 0, 0.30, 0.5), (2, "signed", 0.1, 1, 0.30, 0.5),
                             (2, "signed", 1.0, 0, 0.10, 0.5), (2, "signed", 1.0, 1, 0.10, 0.5)])
    frame.loc[(frame.alpha == 1.0) & (frame.seed == 1), "runaway"] = True          # finite, but ran away
    selection = stats.alpha_selection(frame)
    assert selection.query("selected").alpha.tolist() == [0.1]
    assert (selection.rule == stats.RULE_CLEAN).all() and selection.query("selected").at_grid_edge.all()


def test_when_every_alpha_ran_away_the_smallest_is_the_stated_fallback():
    frame = runs(STANDARD + [(2, "signed", a, s, v, 0.5) for a, v in ((0.01, 0.4), (1.0, 0.1)) for s in (0, 1)])
    frame.loc[frame.penalty == "signed", "runaway"] = True
    selection = stats.alpha_selection(frame)
    assert selection.query("selected").alpha.tolist() == [0.01]                     # not 1.0, the best val
    assert (selection.rule == stats.RULE_FALLBACK).all()


def test_an_optimum_inside_the_grid_is_not_at_its_edge():
    frame = runs(STANDARD + [(2, "squared", a, s, v, 0.5) for a, v in ((0.01, 0.3), (0.1, 0.2), (1.0, 0.4)) for s in (0, 1)])
    selection = stats.alpha_selection(frame)
    assert selection.query("selected").alpha.tolist() == [0.1] and not selection.at_grid_edge.any()


def test_table1_is_the_mean_and_sample_std_over_seeds():
    frame = runs(STANDARD + [(2, "signed", 0.1, s, 0.1, t) for s, t in ((0, 0.1), (1, 0.3))])
    table = decorrelation.table1(frame).set_index("method")
    assert list(decorrelation.table1(frame).columns) == decorrelation.TABLE1_COLUMNS
    assert table.loc["penalty", "rmse_mean"] == pytest.approx(0.2)
    assert table.loc["penalty", "rmse_std"] == pytest.approx(0.1 * 2 ** 0.5)          # ddof = 1
    assert table.loc["standard", "n_seeds"] == 2


def test_variant_table_pairs_seeds_and_gives_a_t_interval():
    from scipy import stats as scipy_stats

    frame = runs([(2, "none", 0.0, s, 0.2, 0.2) for s in (0, 1, 2)]                   # listed out of seed order
                 + [(2, "squared", 0.1, s, 0.1, 0.2 + d) for s, d in ((2, -0.01), (0, 0.01), (1, 0.03))])
    row = penalty_variants.variant_table(frame).query("variant == 'squared'").iloc[0]
    paired = [0.01, 0.03, -0.01]                                      # seeds 0, 1, 2
    half = scipy_stats.t.ppf(0.975, 2) * pd.Series(paired).std() / 3 ** 0.5
    assert row.diff_mean == pytest.approx(0.01)
    assert (row.diff_ci_low, row.diff_ci_high) == pytest.approx((0.01 - half, 0.01 + half))
    assert row.p_value == pytest.approx(scipy_stats.ttest_rel([0.2 + d for d in paired], [0.2] * 3).pvalue)


def test_run_record_and_chapter_rows(tmp_path):
    from aebottleneck.files import save_chapter_rows

    frame = runs(STANDARD).assign(key=["a", "b"], dataset="mnist", code_version="2", device="cpu: x", train_seconds=1.0, epochs=5, hidden="128-64",
                                  output="sigmoid", loss="bce")
    path = tmp_path / "runs.csv"
    save_chapter_rows(runtable.run_record(frame, "one"), path)
    save_chapter_rows(runtable.run_record(frame.iloc[:1], "two"), path)
    save_chapter_rows(runtable.run_record(frame.iloc[1:], "one"), path)      # replaces chapter one's rows
    saved = pd.read_csv(path)
    assert list(saved.columns) == runtable.RUN_COLUMNS
    assert sorted(zip(saved.chapter, saved.key)) == [("one", "b"), ("two", "a")]
    from aebottleneck import pages

    pages.record_runs(pd.concat([frame, frame]), "two", tmp_path)                   # each run once
    assert sorted(zip(*pd.read_csv(path)[["chapter", "key"]].T.values)) == [("one", "b"), ("two", "a"), ("two", "b")]
    named = runtable.run_record(frame.assign(model=["standard", "8-sparse, linear code"]), "three")
    assert named.model.tolist() == ["standard", "8-sparse, linear code"]                  # the page's name for each run
    assert runtable.run_record(frame.assign(label=["x", "y"]), "four").model.tolist() == ["x", "y"]
    assert (runtable.run_record(frame, "five").model == "").all()                          # a chapter without names
    pd.read_csv(path).drop(columns="model").assign(extra=1).to_csv(path, index=False)      # a file from older code
    save_chapter_rows(runtable.run_record(frame, "one"), path)
    assert list(pd.read_csv(path).columns) == runtable.RUN_COLUMNS                        # the code's columns, in order


def test_rate_distortion_table_from_quantised_mse():
    curves = pd.DataFrame({"method": ["PCA", "standard", "standard"], "bottleneck": [4, 2, 2], "bits_per_dim": [3, 8, 8],
                           "seed": [0, 0, 1], "mse": [0.01, 0.00005, 0.00015], "entropy_bits": [9.0, 10.0, 12.0],
                           "joint_bits": [np.nan, 9.0, 11.0], "runaway": [False, True, False]})
    table = compression.rate_distortion_table(curves, "mnist")
    assert table.n_runaway.tolist() == [0, 1] and compression.runaway_marked(table) == {"PCA": "PCA", "standard": "standard *"}
    assert list(compression.rate_distortion_view(table).columns) == ["bottleneck", "bits_per_dim", "PCA", "standard *"]
    assert table.entropy_bits.tolist() == [9.0, 11.0] and table.joint_bits.tolist()[1] == 10.0
    assert list(table.columns) == compression.RATE_DISTORTION_COLUMNS
    assert table.bits_per_image.tolist() == [12, 16]
    assert table.rmse.tolist() == pytest.approx([0.1, 0.01])      # the root of the mean MSE over seeds
    assert table.psnr.tolist() == pytest.approx([20.0, 40.0])
    assert set(table.dataset) == {"mnist"}


def test_low_rate_table_pairs_seeds_corrects_across_cells_and_skips_runaway_cells():
    rows = []
    for bits in (2, 3, 8):
        for seed in range(4):
            rows.append({"method": "standard", "bottleneck": 4, "bits_per_dim": bits, "seed": seed, "mse": 0.04, "runaway": False})
            rows.append({"method": "squared", "bottleneck": 4, "bits_per_dim": bits, "seed": seed,
                         "mse": (0.2 - 0.01 - 0.001 * seed) ** 2, "runaway": False})
            rows.append({"method": "signed", "bottleneck": 4, "bits_per_dim": bits, "seed": seed, "mse": 0.09, "runaway": seed == 0})
    rows.append({"method": "PCA", "bottleneck": 4, "bits_per_dim": 2, "seed": 0, "mse": 0.05, "runaway": False})
    table = compression.low_rate_table(pd.DataFrame(rows), bits=(2, 3))
    assert list(table.columns) == compression.LOW_RATE_COLUMNS and set(table.bits_per_dim) == {2, 3}
    squared = table[table.method == "squared"]
    assert squared.diff_mean.tolist() == pytest.approx([-0.0115] * 2)          # paired by seed, PCA left out
    assert (squared.diff_ci_high < 0).all() and (squared.p_holm >= squared.p_value).all()
    signed = table[table.method == "signed"]
    assert signed.diff_mean.tolist() == pytest.approx([0.1] * 2) and signed.p_value.isna().all()
    assert signed.n_runaway.tolist() == [1, 1]


def test_code_quality_table_means_over_seeds_in_first_seen_order():
    per_run = pd.DataFrame({"method": ["standard", "standard", "PCA"], "bottleneck": [2, 2, 2], "seed": [0, 1, 0],
                            "knn_accuracy": [0.5, 0.7, 0.4], "logreg_accuracy": [0.2, 0.4, 0.3],
                            "trustworthiness": [0.9, 0.8, 0.7], "runaway": [True, False, False]})
    table = code_quality.code_quality_table(per_run, "fashion_mnist")
    assert list(table.columns) == code_quality.CODE_QUALITY_COLUMNS
    assert table.method.tolist() == ["standard", "PCA"] and table.n_seeds.tolist() == [2, 1]
    assert table.n_runaway.tolist() == [1, 0] and table.knn_std.iloc[0] == pytest.approx(0.1414, abs=1e-4)
    assert table.knn_accuracy.tolist() == pytest.approx([0.6, 0.4])
    assert table.trustworthiness.tolist() == pytest.approx([0.85, 0.7])


def test_pca_vs_ae_table_puts_pca_first_then_each_autoencoder():
    frame = pd.DataFrame({"bottleneck": [2, 2, 4, 4], "test_rmse": [0.2, 0.4, 0.1, 0.1], "seed": [0, 1, 0, 1]})
    table = pca_vs_ae.pca_vs_ae_table({4: 0.15, 2: 0.25}, {"linear AE": frame})
    assert list(zip(table.method, table.bottleneck)) == [("PCA", 4), ("PCA", 2), ("linear AE", 4), ("linear AE", 2)]
    assert table.rmse.tolist() == pytest.approx([0.15, 0.25, 0.1, 0.3])
    assert table.rmse_std.tolist()[2:] == pytest.approx([0.0, 0.2 / 2 ** 0.5])           # ddof = 1
    assert table.rmse_std[:2].isna().all()                                                # PCA: one fit, no seeds
    assert table.n_seeds.tolist() == [1, 1, 2, 2]


def test_paired_inference_effect_size_mde_and_equivalence_bound():
    from scipy import stats as scipy_stats
    from statsmodels.stats.power import TTestPower

    diff = pd.Series([0.01, 0.03, -0.01, 0.02, 0.0]).to_numpy()
    out = stats.paired_inference(diff)
    sd = diff.std(ddof=1)
    assert out["effect_size"] == pytest.approx(0.01 / sd)
    d80 = TTestPower().solve_power(nobs=5, alpha=0.05, power=0.8)
    assert out["mde"] == pytest.approx(d80 * sd) and out["mde"] > abs(out["diff_mean"])   # not detectable here
    ci90 = scipy_stats.t.interval(0.90, 4, loc=0.01, scale=sd / 5 ** 0.5)
    assert out["equivalence_bound"] == pytest.approx(max(abs(ci90[0]), abs(ci90[1])))
    # TOST at that bound is just significant at 5%: both one-sided tests at p = 0.05
    from statsmodels.stats.weightstats import ttost_paired
    p_tost = ttost_paired(diff, 0 * diff, -out["equivalence_bound"], out["equivalence_bound"])[0]
    assert p_tost == pytest.approx(0.05, abs=1e-6)


def test_runaway_cells_get_no_interval_and_holm_adjusts_the_rest():
    base = [(2, "none", 0.0, s, 0.2, 0.2) for s in (0, 1, 2)]
    cells = [(2, "squared", 0.1, s, 0.1, 0.2 + d) for s, d in ((0, 0.01), (1, 0.012), (2, 0.011))]
    cells += [(2, "abs", 0.1, s, 0.1, 0.2 + d) for s, d in ((0, 0.001), (1, -0.002), (2, 0.004))]
    frame = runs(base + cells + [(2, "signed", 0.1, s, 0.1, 0.5) for s in (0, 1, 2)])
    frame.loc[frame.penalty == "signed", "runaway"] = [True, False, False]
    table = penalty_variants.variant_table(frame).set_index("variant")
    assert list(penalty_variants.variant_table(frame).columns) == penalty_variants.VARIANT_COLUMNS
    assert table.loc["signed", "diff_mean"] == pytest.approx(0.3)
    assert table.loc["signed", ["diff_ci_low", "p_value", "p_holm", "mde"]].isna().all()   # chaotic: no t interval
    from statsmodels.stats.multitest import multipletests
    raw = table.loc[["squared", "abs"], "p_value"]
    assert table.loc[["squared", "abs"], "p_holm"].tolist() == pytest.approx(list(multipletests(raw, method="holm")[1]))
    assert (table.loc[["squared", "abs"], "p_holm"] >= raw).all()


# Tables the chapters used to build in their notebooks.
PAIRED = STANDARD + [(2, "signed", 0.1, 0, 0.1, 0.19), (2, "signed", 0.1, 1, 0.1, 0.23)]   # diffs -0.01, +0.02


def test_paired_summary_is_penalty_minus_standard_per_seed_next_to_the_papers():
    row = decorrelation.paired_summary(runs(PAIRED)).iloc[0]
    assert row.mean_diff == pytest.approx(0.005) and row.std_diff == pytest.approx(0.03 / 2 ** 0.5)
    assert (row.seeds_penalty_better, row.n_seeds) == (1, 2)
    assert row.paper_diff == pytest.approx(0.1969 - 0.1974)


def test_rmse_kinds_and_code_stats_use_the_standard_and_selected_runs():
    frame = runs(PAIRED + [(2, "signed", 0.5, s, 0.9, 0.9) for s in (0, 1)])       # alpha 0.5 loses on validation
    frame["test_rmse_per_image"] = frame.test_rmse - 0.01
    frame.loc[frame.alpha == 0.5, "corr_mean"] = 9.0
    kinds = decorrelation.rmse_kinds(frame).iloc[0]
    assert (kinds.test_rmse, kinds.test_rmse_per_image, kinds.paper) == pytest.approx((0.205, 0.195, 0.1974))
    stats = decorrelation.code_stats(frame).set_index("method")
    assert stats.corr_mean.to_dict() == {"standard": 0.5, "penalty": 0.5}           # alpha 0.5's 9.0 is not selected


def test_code_activation_table_puts_each_activation_next_to_the_paper():
    variants = pd.DataFrame({"bottleneck": [8, 8, 8], "variant": ["standard", "standard", "signed"],
                             "activation": ["leaky_relu", "linear", "leaky_relu"], "rmse_mean": [0.13, 0.14, 0.5]})
    frame = pd.DataFrame({"bottleneck": 8, "method": "standard", "seed": [0, 1, 2] * 2, "runaway": False,
                          "code_activation": ["leaky_relu"] * 3 + ["linear"] * 3,
                          "test_rmse": [0.12, 0.13, 0.14, 0.131, 0.142, 0.147]})              # linear: +0.011, +0.012, +0.007
    table = penalty_variants.code_activation_table(variants, frame)
    assert list(table.columns) == ["bottleneck", "leaky_relu", "linear", "paper", "diff_mean", "diff_ci_low", "diff_ci_high",
                                   "p_value", "p_holm"]
    assert table.iloc[0, :4].tolist() == pytest.approx([8, 0.13, 0.14, 0.1289])
    assert table.diff_mean.iloc[0] == pytest.approx(0.01) and table.p_holm.iloc[0] == table.p_value.iloc[0] < 0.05


def test_student_tables_keep_variants_in_order_and_pair_by_seed():
    frame = pd.DataFrame({"label": ["b", "b", "a", "a"], "seed": [0, 1, 1, 0], "hidden": "128", "bottleneck": 64,
                          "output": "sigmoid", "loss": ["bce", "bce", "mse", "mse"], "test_rmse": [0.2, 0.3, 0.25, 0.1],
                          "runaway": False})
    table = activations_losses.activations_losses_table(frame)
    assert table.label.tolist() == ["b", "a"] and table.model.tolist() == ["784-128-64"] * 2
    assert table.rmse_mean.tolist() == pytest.approx([0.25, 0.175])
    paired = activations_losses.paired_against(frame, "b", ["a"]).iloc[0]                       # a - b: -0.1, -0.05
    assert (paired["mean"], paired["min"], paired["max"], paired.seeds_better) == pytest.approx((-0.075, -0.1, -0.05, 2))
    assert paired.p_holm == pytest.approx(paired.p_value) and 0 < paired.p_value < 1 and paired.mde > 0   # a family of one
    away = activations_losses.paired_against(frame.assign(runaway=[False, False, True, False]), "b", ["a"]).iloc[0]
    assert away["mean"] == pytest.approx(-0.075) and pd.isna(away.p_value) and pd.isna(away.p_holm)   # chaotic: no t-test
    one = activations_losses.paired_against(frame[frame.seed == 0], "b", ["a"]).iloc[0]                # one seed: a - b = -0.1
    assert one["mean"] == pytest.approx(-0.1) and pd.isna(one.p_value) and pd.isna(one.mde)          # nothing to test against


def test_paired_cell_tests_only_a_calm_cell_of_several_seeds():
    standard = pd.Series([0.20, 0.21, 0.22], index=[2, 0, 1])                                      # indexed by seed
    ours = pd.Series([0.215, 0.19, 0.205], index=[0, 1, 2])                                        # diffs +0.005, -0.03, +0.005
    assert stats.paired_cell(ours, standard, False)["diff_mean"] == pytest.approx(-0.02 / 3)
    assert 0 < stats.paired_cell(ours, standard, False)["p_value"] < 1
    assert stats.paired_cell(ours, standard, True) == pytest.approx({"diff_mean": -0.02 / 3})      # runaway: mean only
    assert stats.paired_cell(ours.loc[[1]], standard, False) == pytest.approx({"diff_mean": -0.03})   # one seed: mean only


def test_method_order_and_datasets_view():
    assert runtable.method_order(pd.DataFrame({"method": ["squared", "standard", "PCA", "abs"]})) == \
        ["PCA", "standard", "abs", "squared"]
    nan = float("nan")
    both = pd.DataFrame({"bottleneck": [2] * 4, "method": ["standard", "standard", "penalty", "penalty"],
                         "alpha": [0.0, 0.0, 0.001, 0.005], "rmse_mean": [0.2, 0.3, 0.4, 0.25],
                         "rmse_std": [0.01, 0.02, 0.03, 0.02], "n_seeds": 3, "n_runaway": [0, 1, 3, 0],
                         "pca_rmse": [0.25, 0.35, 0.25, 0.35], "rule": [nan, nan, "fallback", "validation"],
                         "dataset": ["mnist", "fashion_mnist"] * 2})
    view, columns, formats = datasets.datasets_view(both)
    assert columns["rmse_mean, fashion_mnist"] == "Fashion-MNIST: test RMSE" and "alpha, mnist" not in formats
    assert columns["runaway, mnist"] == "MNIST: runaway runs" and view.loc[(2, "standard"), ("runaway", "fashion_mnist")] == "1 of 3"
    assert view.loc[(2, "penalty"), ("alpha", "mnist")] == "0.001 (fallback)"          # the rule a reader must see
    assert view.loc[(2, "penalty"), ("alpha", "fashion_mnist")] == "0.005"
    assert view.index.tolist() == [(2, "PCA"), (2, "standard"), (2, "penalty")] and ("pca_rmse", "mnist") not in view
    assert view.loc[(2, "PCA"), ("rmse_mean", "fashion_mnist")] == 0.35                 # PCA once, a row of its own
    assert pd.isna(view.loc[(2, "PCA"), ("runaway", "mnist")]) and pd.isna(view.loc[(2, "standard"), ("alpha", "mnist")])


def test_glue_helpers_name_each_number_and_publish_writes_then_shows(tmp_path, monkeypatch):
    import numpy as np

    from aebottleneck import pages

    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display=True: glued.update({name: (value, display)}))
    pages.glue_numbers({"x": np.float64(0.5)}, prefix="p_")
    pages.glue_rows(pd.DataFrame({"n": [8], "method": ["standard"], "rmse_mean": [0.2]}), ["method", "n"], {"rmse_mean": "rmse"})
    assert glued == {"p_x": (0.5, False), "rmse_standard_8": (0.2, False)}
    assert type(glued["p_x"][0]) is float                       # a NumPy scalar's repr would spoil the text
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    pages.publish(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", "A table.", shown=pd.DataFrame({"b": [2]}))
    assert (tmp_path / "t.csv").read_text() == "a\n1\n" and ">b</th>" in shown[0]
    pages.publish(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", "A table.", glue_as="t_table")
    assert glued["t_table"][1] is True and ">a</th>" in glued["t_table"][0].data and len(shown) == 1


def test_a_text_cell_is_shown_as_it_is_whatever_the_format_of_its_column(tmp_path):
    from aebottleneck import pages

    (tmp_path / "t.csv").write_text("x\n")
    shown = pages.table_html(pd.DataFrame({"paper": ["a claim", 0.12], "rmse_mean": [0.12345, None]}), tmp_path / "t.csv")
    assert ">a claim<" in shown and ">0.1200<" in shown and ">0.1235<" in shown and pages.MISSING in shown


def test_a_signed_value_that_rounds_to_zero_keeps_its_sign_and_a_zero_shows_none(tmp_path):
    from aebottleneck import pages

    (tmp_path / "t.csv").write_text("x\n")
    shown = pages.table_html(pd.DataFrame({"diff_ci_high": [-0.000006, 0.0, -0.0]}), tmp_path / "t.csv")
    assert ">-6.0e-06<" in shown and shown.count(">0.0000<") == 2 and "-0.0000" not in shown


def test_a_p_value_shows_three_decimals_and_never_zero(tmp_path):
    from aebottleneck import pages

    (tmp_path / "t.csv").write_text("x\n")
    shown = pages.table_html(pd.DataFrame({"p_value": [0.0123, 0.0004, 1.0], "p_holm": [None, 0.0006, 0.5]}), tmp_path / "t.csv")
    assert all(f">{t}<" in shown for t in ("0.012", "&lt;0.001", "1.000", "0.001", "0.500")) and ">0.000<" not in shown


def test_a_p_value_is_never_rounded_across_the_five_percent_level(tmp_path):
    from aebottleneck import pages

    (tmp_path / "t.csv").write_text("x\n")
    shown = pages.table_html(pd.DataFrame({"p_holm": [0.0499, 0.04996, 0.0504, 0.0500]}), tmp_path / "t.csv")
    assert all(f">{t}<" in shown for t in ("0.0499", "0.04996", "0.050")) and shown.count(">0.050<") == 2
    alphas = pages.table_html(pd.DataFrame({"alpha": [0.0, 0.005]}), tmp_path / "t.csv")
    assert f">{pages.MISSING}<" in alphas and ">0.005<" in alphas


def test_entropy_rates_see_what_a_fixed_length_rate_cannot():
    """Two perfectly correlated dimensions: the sum of their entropies counts the shared bit
    twice, their joint entropy once; n b counts 2 b whatever the codes."""
    from aebottleneck.metrics import code_entropies

    g = np.repeat([0.0, 1.0], 500)
    marginal, joint = code_entropies(np.stack([g, g], axis=1), np.zeros(2), np.ones(2), bits=1)
    assert marginal == pytest.approx(2.0) and joint == pytest.approx(1.0)
    _, too_many = code_entropies(np.stack([g, g], axis=1), np.zeros(2), np.ones(2), bits=8)   # 65536 cells > N / 10
    assert np.isnan(too_many)


def test_equal_rate_compares_runs_where_their_entropy_rates_meet():
    rows = []
    for seed in (0, 1, 2):
        for b in (2, 3, 4, 5):
            rows.append(dict(method="standard", bottleneck=2, seed=seed, bits_per_dim=b, runaway=False,
                             entropy_bits=2.0 * b, mse=(0.3 - 0.02 * b) ** 2))
            rows.append(dict(method="squared", bottleneck=2, seed=seed, bits_per_dim=b, runaway=False,    # cheaper codes:
                             entropy_bits=2.0 * b - 1, mse=(0.3 - 0.02 * b - 0.001 * seed) ** 2))     # 1 bit less
    table = compression.equal_rate_table(pd.DataFrame(rows), bits_per_dim=(3,))
    (row,) = table.itertuples()
    assert row.rate_bits == 6 and row.n_seeds == 3
    # at 6 bits the penalty's codes are at b = 3.5: RMSE 0.23 - 0.001 seed, against the standard's 0.24
    assert row.diff_mean == pytest.approx(-0.011) and row.p_holm == row.p_value


def test_equal_joint_rate_uses_only_the_bits_where_the_joint_entropy_was_estimated():
    rows = []
    for seed in (0, 1, 2):
        for b in (2, 3, 4, 5):
            known = b <= 3                                          # joint entropy estimated at b = 2, 3 only
            rows.append(dict(method="standard", bottleneck=2, seed=seed, bits_per_dim=b, runaway=False, entropy_bits=2.0 * b,
                             joint_bits=2.0 * b - 1 if known else np.nan, mse=(0.3 - 0.02 * b) ** 2))
            rows.append(dict(method="squared", bottleneck=2, seed=seed, bits_per_dim=b, runaway=False, entropy_bits=2.0 * b,
                             joint_bits=2.0 * b - 2 if known else np.nan, mse=(0.3 - 0.02 * b - 0.001 * seed) ** 2))
    curves = pd.DataFrame(rows)
    joint = compression.equal_rate_table(curves, bits_per_dim=(2, 3), rate="joint_bits")
    (row,) = joint.itertuples()                     # 6 bits is past the standard's joint range (3 to 5): left out
    # at 4 joint bits: the penalty at b = 3 (RMSE 0.24 - 0.001 seed), the standard at b = 2.5 (0.25)
    assert row.joint_rate_bits == 4 and row.diff_mean == pytest.approx(-0.011)
    assert len(compression.equal_rate_table(curves, bits_per_dim=(2, 3))) == 2     # per-dimension rates: both


def test_a_cell_some_of_whose_seeds_miss_the_rate_gets_its_mean_only():
    """Whether a run reaches a rate depends on its codes: testing the seeds that do would pick them by outcome."""
    rows = []
    for seed in (0, 1, 2, 3):
        short = seed == 3                                       # this run's joint rate stops below 6 bits
        for b in (2, 3, 4):
            rows.append(dict(method="standard", bottleneck=2, seed=seed, bits_per_dim=b, runaway=False, entropy_bits=2.0 * b,
                             joint_bits=2.0 * b, mse=(0.3 - 0.02 * b) ** 2))
            rows.append(dict(method="squared", bottleneck=2, seed=seed, bits_per_dim=b, runaway=False, entropy_bits=2.0 * b,
                             joint_bits=(1.2 if short else 2.0) * b, mse=(0.3 - 0.02 * b - 0.001 * seed) ** 2))
    table = compression.equal_rate_table(pd.DataFrame(rows), bits_per_dim=(2, 3), rate="joint_bits").set_index("joint_rate_bits")
    assert table.loc[4, "complete"] and table.loc[4, "n_seeds"] == 4 and not np.isnan(table.loc[4, "p_value"])
    assert not table.loc[6, "complete"] and table.loc[6, "n_seeds"] == 3                 # seed 3 reaches 4.8 bits at most
    assert np.isnan(table.loc[6, "p_value"]) and np.isnan(table.loc[6, "mde"]) and not np.isnan(table.loc[6, "diff_mean"])
    numbers = compression.equal_rate_numbers(table.reset_index(), [2, 3])
    assert (numbers["tested"], numbers["partial"]) == (1, 1) and numbers["mde"] == f"{table.loc[4, 'mde']:.4f}"


def test_setting_tables_test_each_setting_against_its_own_standard_runs():
    rows = []
    for setting, shift in (("conv", 0.0), ("fashion", 0.1)):
        for seed in (3, 4, 5):
            rows.append((setting, dict(bottleneck=8, penalty="none", alpha=0.0, seed=seed, val_rmse=0.2, test_rmse=0.2 + shift + seed / 1000)))
            rows.append((setting, dict(bottleneck=8, penalty="squared", alpha=0.1, seed=seed, val_rmse=0.2,
                                       test_rmse=0.21 + shift + seed / 1000 + (seed == 4) / 10000)))
    frames = {name: pd.DataFrame([r for s, r in rows if s == name]).assign(
        method=lambda f: np.where(f.penalty == "none", "standard", "penalty"), code_activation="leaky_relu",
        diverged=False, runaway=False, corr_mean=0.5, code_std_mean=1.0) for name in ("conv", "fashion")}
    table = confounds.setting_tables(frames)
    squared = table[table.variant == "squared"].set_index("setting")
    assert squared.diff_mean.to_dict() == pytest.approx({"conv": 0.01 + 1 / 30000, "fashion": 0.01 + 1 / 30000})
    assert list(table.columns[:2]) == ["setting", "bottleneck"]


def test_silhouette_table_pairs_seeds_and_gives_no_interval_to_runaway_cells():
    frame = pd.DataFrame({"variant": ["standard"] * 3 + ["signed"] * 3 + ["squared"] * 3, "seed": [3, 4, 5] * 3,
                          "silhouette": [0.30, 0.32, 0.34, 0.1, 0.2, 0.3, 0.35, 0.36, 0.40],
                          "runaway": [False] * 3 + [True] * 3 + [False] * 3})
    table = confounds.silhouette_table(frame).set_index("variant")
    assert table.loc["squared", "diff_mean"] == pytest.approx(0.05) and table.loc["squared", "p_holm"] == table.loc["squared", "p_value"]
    assert np.isnan(table.loc["signed", "silhouette_low"]) and np.isnan(table.loc["signed", "p_value"])
    assert table.loc["standard", "silhouette_low"] < 0.32 < table.loc["standard", "silhouette_high"]


def test_a_runaway_test_that_cannot_reach_the_level_leaves_the_holm_family():
    """Tarone: 0 of 5 against 0 of 5 can never reject, so it does not dilute 5 of 5 against 0 of 5."""
    assert stats.fisher_more(5, 5, 0, 5) == pytest.approx((1 / 252, 1 / 252))        # C(10, 5) = 252
    assert stats.fisher_more(0, 5, 0, 5) == (1.0, 1.0) and stats.fisher_more(1, 5, 1, 5)[1] == pytest.approx(2 / 9)
    table = pd.DataFrame({"runaway": [5, 0, 1], "runs": 5, "standard_runaway": [0, 0, 1], "standard_runs": 5})
    table[["p_value", "p_min"]] = [stats.fisher_more(*row) for row in zip(table.runaway, table.runs, table.standard_runaway,
                                                                           table.standard_runs)]
    kept = stats.testable(table)
    assert kept.notna().tolist() == [True, False, False]
    assert stats.holm(kept).iloc[0] == pytest.approx(1 / 252)                       # a family of one


def test_holm_directions_count_only_cells_significant_after_holm():
    tested = pd.DataFrame({"diff_mean": [-0.01, -0.02, 0.03, 0.01], "p_holm": [0.01, 0.2, 0.04, 0.05]})
    assert stats.holm_directions(tested) == (1, 1)                     # p_holm 0.05 is not below the level
