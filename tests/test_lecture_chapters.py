"""The lecture chapters' tables and quoted numbers (aebottleneck.chapters.pca_vs_ae and regularizers), on small hand-made inputs."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from aebottleneck.chapters import pca_vs_ae, regularizers
from aebottleneck.config import RunConfig, load_profile
from aebottleneck.model import build


def fake_run(seed=0, bottleneck=2, penalty="none", alpha=0.0, test_rmse=0.1, codes=None, state=None):
    """The fields of a cached run that the lecture tables read (its key is in no record)."""
    return {"key": f"fake-{seed}-{bottleneck}-{penalty}-{alpha}", "config": {"seed": seed, "bottleneck": bottleneck,
            "penalty": penalty, "alpha": alpha, "train_size": 4}, "metrics": {"test_rmse": test_rmse},
            "test_codes": codes, "state": state or {"weights": "at hand"}}


# ------------------------------------------------------------------------ PCA and autoencoders

def test_rmse_numbers_from_the_table():
    table = pd.DataFrame({"method": ["PCA", "PCA", "linear AE", "linear AE", "nonlinear AE", "nonlinear AE"],
                          "bottleneck": [2, 4] * 3, "rmse": [0.20, 0.10, 0.21, 0.11, 0.18, 0.12]})
    numbers = pca_vs_ae.rmse_numbers(table)
    assert numbers["pca_2"] == 0.20 and numbers["linear_4"] == 0.11 and numbers["ae_2"] == 0.18
    assert numbers["ae_beats_pca"] == 1 and numbers["n_sizes"] == 2   # better only at n = 2
    assert numbers["ae_gap_2"] == pytest.approx(-0.1) and numbers["ae_gap_4"] == pytest.approx(0.2)
    assert "within the tolerance at 0 of these 2 sizes: here the tolerance does tell" in numbers["ae_tolerance_sentence"]
    close = pca_vs_ae.rmse_numbers(table.assign(rmse=[0.20, 0.10, 0.21, 0.11, 0.199, 0.12]))["ae_tolerance_sentence"]
    assert "at 1 of these 2 sizes: at this training budget the tolerance alone cannot tell" in close
    assert numbers["paper_sentence"] == "n = 4: 0.1200 against 0.1688 (-0.0488); n = 2: 0.1800 against 0.1974 (-0.0174)"


def test_subspace_table_reads_the_first_seeds_decoder(monkeypatch):
    from aebottleneck import metrics

    eye = torch.eye(784)
    monkeypatch.setattr(metrics, "fit_pca", lambda train, k: SimpleNamespace(components_=eye[:k].numpy()))   # e0, e1, ...
    same = {"decoder.0.weight": torch.stack([eye[0] + eye[1], eye[1]])}           # (2, 784): the same span
    other = {"decoder.0.weight": eye[2:4]}                                         # orthogonal to it
    linear = [fake_run(seed=5, test_rmse=0.11, state=same), fake_run(seed=6, test_rmse=0.13, state=other)]
    splits = SimpleNamespace(train=SimpleNamespace(images=torch.zeros(4, 784)))
    chapter = SimpleNamespace(linear=linear, pca_rmse={2: 0.1}, splits=splits)
    row = pca_vs_ae.subspace_table(chapter).iloc[0]
    assert row.bottleneck == 2 and row.pca_rmse == 0.1
    assert row.linear_ae_rmse == pytest.approx(0.12) and row.relative_gap == pytest.approx(0.2)   # mean over seeds
    assert row.median_angle_deg == pytest.approx(0, abs=1e-6) and row.max_angle_deg == pytest.approx(0, abs=1e-6)
    flipped = pca_vs_ae.subspace_table(SimpleNamespace(linear=linear[::-1], pca_rmse={2: 0.1}, splits=splits)).iloc[0]
    assert flipped.max_angle_deg == pytest.approx(90)                              # the other seed comes first


def test_subspace_numbers():
    subspace = pd.DataFrame({"bottleneck": [2, 64], "relative_gap": [0.01, -0.08],
                             "median_angle_deg": [3.0, 5.0], "max_angle_deg": [4.0, 30.0]})
    numbers = pca_vs_ae.subspace_numbers(subspace, {2: 3.0, 64: 9.5}, 0.005)
    assert numbers["within"] == 1 and numbers["gap_min"] == -0.08 and numbers["gap_max"] == 0.01
    assert numbers["angle_median_2"] == 3.0 and numbers["angle_max_64"] == 30.0
    assert (numbers["untrained_ratio_min"], numbers["untrained_ratio_max"]) == (3.0, 9.5)


def test_untrained_ratio_is_the_initial_models_rmse_over_pcas():
    settings = load_profile("quick")
    test = torch.rand(64, 784, generator=torch.Generator().manual_seed(1))
    ratios = pca_vs_ae.untrained_ratios(settings, test, {2: 0.5, 4: 0.25}, lr=0.005)
    for n, pca in ((2, 0.5), (4, 0.25)):
        cfg = pca_vs_ae.linear_config(settings, n, settings.seeds[0], 0.005)
        recon = build(cfg, seeds=[cfg.seed]).eval().reconstructions(test)[0]           # (64, 784)
        assert ratios[n] == pytest.approx(float((recon - test).square().mean().sqrt()) / pca, rel=1e-5)


def test_overcomplete_table_and_numbers(monkeypatch):
    from aebottleneck import evaluations
    from aebottleneck.model import StackedAutoencoder

    codes = torch.tensor([[0.0, 0.5, 0.005, 2.0], [0.0, 0.0, 1.0, 0.0]])          # (2 images, 4 units)
    sparse = torch.tensor([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    runs = [fake_run(bottleneck=4, test_rmse=0.1, codes=codes),
            fake_run(bottleneck=4, penalty="l1", alpha=0.01, test_rmse=0.2, codes=sparse)]
    recon = torch.stack([torch.full((1000, 784), 0.1), torch.full((1000, 784), 0.5)])  # (K, 1000, 784)
    monkeypatch.setattr(evaluations, "noise_images", lambda count=10: torch.zeros(count, 784))
    monkeypatch.setattr(StackedAutoencoder, "from_runs", classmethod(lambda cls, given: SimpleNamespace(
        reconstructions=lambda images: recon[:, :len(images)])))
    over, shown = pca_vs_ae.overcomplete_table(runs, splits=None)
    assert list(over.model) == ["no penalty", "L1, alpha=0.01"]
    assert over.noise_rmse.tolist() == pytest.approx([0.1, 0.5])
    assert over.near_zero_codes.tolist() == pytest.approx([5 / 8, 7 / 8])          # |g| < 0.01
    assert over.active_units_per_image.tolist() == pytest.approx([1.5, 0.5])
    assert shown["L1, alpha=0.01"][1].shape == (10, 784) and float(shown["L1, alpha=0.01"][1].mean()) == pytest.approx(0.5, abs=3e-3)
    numbers = pca_vs_ae.overcomplete_numbers(over, runs)
    assert numbers["noise_ratio"] == pytest.approx(1.0) and numbers["copy_verdict"].startswith("noise comes back about")
    assert (numbers["noise_l1"], numbers["test_l1"], numbers["active_none"]) == pytest.approx((0.5, 0.2, 1.5))
    assert numbers["overcomplete_size"] == 4 and numbers["l1_alpha"] == 0.01
    assert numbers["sparse_verdict"] == "At every alpha listed, the penalty makes the code sparser (2 runs of one seed each, untested)"
    assert numbers["noise_separates"].endswith("for: no penalty")                    # noise 0.1 = its digit error


@pytest.mark.parametrize("noise, verdict", [(0.15, "worse than digits but within twice"), (0.3, "has not learnt")])
def test_overcomplete_copy_verdict_follows_the_noise_ratio(noise, verdict):
    over = pd.DataFrame({"model": ["no penalty", "L1, alpha=0.001"], "test_rmse": [0.1, 0.2], "noise_rmse": [noise, 0.4],
                         "near_zero_codes": [0.0, 0.0], "active_units_per_image": [4.0, 4.0]})
    numbers = pca_vs_ae.overcomplete_numbers(over, [fake_run(), fake_run(penalty="l1", alpha=0.001)])
    assert verdict in numbers["copy_verdict"]
    assert numbers["sparse_verdict"].startswith("The penalty does not make the code sparser at every alpha listed")


# ------------------------------------------------------------------------------- regularizers

FAMILIES = regularizers.regularizer_families(l1_alphas=[0.0001, 0.001], l2_alphas=[0.001], kl_alphas=[0.01], rho=0.05,
                                         topk=[8, 4], gaussian_level=0.3, masking_level=0.5, conv_channels=[16, 32])
TAGS = regularizers.quoted_models(FAMILIES)


def test_families_and_the_models_the_text_quotes():
    assert list(FAMILIES) == ["standard", "L1, alpha=0.0001", "L1, alpha=0.001", "L2, alpha=0.001", "sigmoid code",
                              "KL rho=0.05, alpha=0.01", "8-sparse, linear code", "4-sparse, linear code", "denoising, gaussian 0.3",
                              "denoising, masking 0.5", "convolutional"]
    assert FAMILIES["convolutional"] == dict(arch="conv", hidden=(16, 32))
    assert TAGS == {"std": "standard", "sig": "sigmoid code", "conv": "convolutional", "l1": "L1, alpha=0.001",
                    "l2": "L2, alpha=0.001", "kl": "KL rho=0.05, alpha=0.01", "ks": "8-sparse, linear code",
                    "gauss": "denoising, gaussian 0.3", "mask": "denoising, masking 0.5"}


def summary_of(**corr) -> pd.DataFrame:
    """A regularizers.csv with a row per quoted model; `corr` overrides mean |corr| by tag."""
    models = list(TAGS.values())
    return pd.DataFrame({"model": models, "rmse_mean": np.linspace(0.1, 0.2, len(models)),
                         "near_zero": [0.5 if m == TAGS["l1"] else 0.1 for m in models],
                         "corr_mean": [corr.get(tag, 0.3) for tag in TAGS]})


def test_regularizer_numbers():
    numbers = regularizers.regularizer_numbers(summary_of(ks=0.05), TAGS)
    assert numbers["std_rmse_mean"] == 0.1 and numbers["mask_rmse_mean"] == pytest.approx(0.2)
    assert numbers["l1_near_zero"] == 0.5 and numbers["l1_verdict"] == "more"
    assert numbers["least_corr"] == "the least correlated of all models (mean |corr| 0.050; untested)"
    other = regularizers.regularizer_numbers(summary_of(ks=0.2, sig=0.01), TAGS)["least_corr"]
    assert other == "not the least correlated (mean |corr| 0.200; the least correlated model is sigmoid code, 0.010; untested)"


def test_code_numbers():
    from aebottleneck import evaluations

    runs = {TAGS["ks"]: [fake_run(codes=torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]))],
            TAGS["kl"]: [fake_run(codes=torch.full((2, 3), 0.1)), fake_run(codes=torch.full((2, 3), 0.2))],
            TAGS["sig"]: [fake_run(codes=torch.full((2, 3), 0.5))]}
    summaries = {label: evaluations._code_summary(group, None, {}) for label, group in runs.items()}
    frame = pd.DataFrame({"model": ["standard", "standard", TAGS["l2"]], "code_std_mean": [1.0, 2.0, 0.5],
                          "near_zero": [0.1, 0.2, 0.05]})
    numbers = regularizers.code_numbers(summaries, frame, FAMILIES, TAGS)
    assert numbers["ks_active"] == 1.5 and numbers["k"] == 8
    assert (numbers["l1_alpha"], numbers["l2_alpha"]) == (0.001, 0.001)
    assert (numbers["std_code_std"], numbers["l2_code_std"], numbers["l2_shrinks"]) == (1.5, 0.5, "shrinks")
    assert numbers["kl_activation"] == pytest.approx(0.15) and numbers["sig_activation"] == pytest.approx(0.5)
    assert numbers["l2_sparser"] == ("fewer than the unpenalised model's 15.0% (untested): it shrinks the code "
                                     "without making it sparse")                             # 5% vs 15% near zero
    assert numbers["kl_target"] == ("3.0 times the target: at α = 0.01 the penalty moves the mean activation "
                                    "78% of the way from the unpenalised code's to ρ and stops short of it (untested)")   # 0.35 / 0.45
    sparser = regularizers.code_numbers(summaries, frame.assign(near_zero=[0.1, 0.2, 0.5]), FAMILIES, TAGS)["l2_sparser"]
    assert sparser == "more than the unpenalised model's 15.0% (untested)"
    assert regularizers.first_codes(summaries, [TAGS["ks"]])[TAGS["ks"]].tolist() == [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]


def test_denoising_numbers():
    rows = []
    for kind, label, other, levels in (("gaussian", TAGS["gauss"], TAGS["mask"], [0.0, 0.1, 0.3]),
                                       ("masking", TAGS["mask"], TAGS["gauss"], [0.0, 0.5])):
        for level in levels:
            rows += [{"noise": kind, "level": level, "model": "standard", "rmse": 0.1 + level},
                     {"noise": kind, "level": level, "model": label, "rmse": 0.2 + level / 2},
                     {"noise": kind, "level": level, "model": other, "rmse": 0.3 + level}]    # always worse
    numbers = regularizers.denoising_numbers(pd.DataFrame(rows), FAMILIES, TAGS)
    assert numbers["gauss_level"] == 0.3 and numbers["gauss_at_std"] == pytest.approx(0.4)
    assert numbers["gauss_at_dae"] == pytest.approx(0.35) and numbers["gauss_better"] == 1   # 0.35 < 0.4, not 0.25 < 0.2
    assert (numbers["mask_level"], numbers["mask_better"]) == (0.5, 1) and numbers["mask_at_std"] == pytest.approx(0.6)
    assert numbers["gauss_losing"] == "; the gaussian denoiser is not lower at level 0.1 (0.2500 against 0.2000)"
    assert numbers["mask_losing"] == ""
    assert (numbers["gauss_other_worse"], numbers["mask_other_worse"]) == (1, 2)   # every noisy level of the other kind


def test_conv_table_and_numbers():
    mlp = dict(hidden=(3,), bottleneck=2)                                   # 784-3-2 / 2-3-784
    conv = dict(arch="conv", hidden=(2, 2), bottleneck=2)
    runs = {"standard": [{"config": RunConfig(**mlp).to_dict()}], "convolutional": [{"config": RunConfig(**conv).to_dict()}]}
    summary = pd.DataFrame({"model": ["standard", "convolutional"], "rmse_mean": [0.12, 0.10], "rmse_std": [0.01, 0.02],
                            "n_seeds": [2, 2]})
    table = regularizers.conv_table(runs, summary)
    counted = [sum(p.numel() for p in build(RunConfig(**fields), seeds=[0]).parameters()) for fields in (mlp, conv)]
    assert table.to_dict("list") == {"model": ["MLP 784-128-64-n", "convolutional"], "parameters": counted,
                                     "test_rmse": [0.12, 0.10], "rmse_std": [0.01, 0.02], "n_seeds": [2, 2]}
    assert counted[0] == 784 * 3 + 3 + 3 * 2 + 2 + 2 * 3 + 3 + 3 * 784 + 784         # weights and biases, both halves
    frame = pd.DataFrame({"model": ["standard", "convolutional"] * 2, "seed": [0, 0, 1, 1], "test_rmse": [0.12, 0.09, 0.12, 0.13]})
    assert regularizers.conv_numbers(table, FAMILIES, frame) == {
        "channels": "16 and 32", "params_mlp": counted[0], "params_conv": counted[1], "conv_verdict": "lower",
        "conv_seeds": "lower in 1 of 2 seeds, mean difference -0.0100"}


def test_regularizer_runs_are_grouped_by_label_in_seed_order(results):
    settings = load_profile("quick", epochs=1, train_size=256, seeds=[1, 0])
    families = {"standard": {}, "L1, alpha=0.01": dict(penalty="l1", alpha=0.01)}
    runs = regularizers.regularizer_runs(settings, 4, families, device="cpu")
    assert list(runs) == list(families)
    assert [[run["config"]["seed"] for run in group] for group in runs.values()] == [[1, 0], [1, 0]]
    assert {run["config"]["penalty"] for run in runs["L1, alpha=0.01"]} == {"l1"}
    assert all(run["config"]["bottleneck"] == 4 for group in runs.values() for run in group)


def test_overcomplete_quotes_the_sparsest_alpha_and_blank_noise_only_when_near_it():
    over = pd.DataFrame({"model": ["no penalty", "L1, alpha=0.001", "L1, alpha=0.01"], "test_rmse": [0.1, 0.2, 0.3],
                         "noise_rmse": [0.577, 0.5, 0.5], "near_zero_codes": 0.0, "active_units_per_image": [140.0, 93.0, 137.0]})
    runs = [fake_run(), fake_run(penalty="l1", alpha=0.001), fake_run(penalty="l1", alpha=0.01)]
    numbers = pca_vs_ae.overcomplete_numbers(over, runs)
    assert (numbers["l1_alpha"], numbers["active_l1"]) == (0.001, 93.0)              # not the last-listed alpha
    assert numbers["copy_verdict"].endswith("(its noise RMSE is within 5% of a blank output's)")
    far = pca_vs_ae.overcomplete_numbers(over.assign(noise_rmse=[0.4, 0.5, 0.5]), runs)["copy_verdict"]
    assert "has not learnt" in far and "blank" not in far
    assert numbers["noise_separates"].endswith("for: L1, alpha=0.01")                  # 0.5 within twice 0.3
    apart = pca_vs_ae.overcomplete_numbers(over.assign(test_rmse=0.1), runs)["noise_separates"]
    assert apart.startswith("None of the 3 models passes noise through (the lowest noise RMSE, 0.5000")
