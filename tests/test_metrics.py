"""Metrics: PCA reconstruction error, RMSE definitions, code correlations."""
import numpy as np
import pytest
import torch

from aebottleneck.metrics import (correlation_matrix, fit_pca, mean_abs_offdiag, pca_rmse, principal_angles,
                                  rmse_from_squared_errors)


def test_pca_rmse_matches_the_measured_reference():
    """../shared/README.md: PCA fit on the first 50k training images, test RMSE (unclipped)
    n=2 0.2359, n=8 0.1935, n=64 0.0951, measured there with an independent script."""
    from aebottleneck.data import load_splits

    splits = load_splits("mnist")
    rmse = pca_rmse(fit_pca(splits.train.images, 64), splits.test.images, [2, 8, 64])
    assert rmse == pytest.approx({2: 0.2359, 8: 0.1935, 64: 0.0951}, abs=5e-4)


def test_pooled_and_per_image_rmse():
    per_image_mse = torch.tensor([0.01, 0.04])
    out = rmse_from_squared_errors(per_image_mse)
    assert out["rmse"] == pytest.approx(np.sqrt(0.025))
    assert out["rmse_per_image"] == pytest.approx(0.15)
    assert out["rmse_per_image"] <= out["rmse"]


def test_correlation_matrix_against_numpy():
    codes = np.random.default_rng(0).normal(size=(200, 4))
    codes[:, 3] = 2 * codes[:, 0] + 0.1 * codes[:, 3]
    np.testing.assert_allclose(correlation_matrix(codes), np.corrcoef(codes, rowvar=False), atol=1e-12)
    constant = np.hstack([codes[:, :2], np.ones((200, 1))])
    assert correlation_matrix(constant)[2, :2].tolist() == [0.0, 0.0]
    assert mean_abs_offdiag(np.eye(3)) == 0.0


def test_principal_angles():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(784, 3))
    mixed = a @ rng.normal(size=(3, 3))                    # same column space, other basis
    np.testing.assert_allclose(principal_angles(a, mixed), 0.0, atol=1e-5)
    other = np.linalg.qr(np.hstack([a, rng.normal(size=(784, 3))]))[0][:, 3:]  # orthogonal to a
    np.testing.assert_allclose(principal_angles(a, other), 90.0, atol=1e-5)


def test_quantize_by_hand():
    from aebottleneck.metrics import quantize

    codes = torch.tensor([[0.0, 0.26, 0.5, 1.0, 1.7, -0.3]])
    # 2 bits on [0, 1]: levels 0, 1/3, 2/3, 1; values outside the range are clipped
    expected = torch.tensor([[0.0, 1 / 3, 2 / 3, 1.0, 1.0, 0.0]])
    torch.testing.assert_close(quantize(codes, torch.tensor(0.0), torch.tensor(1.0), 2), expected)
    fine = quantize(codes.clamp(0, 1), torch.tensor(0.0), torch.tensor(1.0), 8)
    assert (fine - codes.clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-7


def test_quantized_error_falls_with_bits_and_pca_matches_unquantised_at_high_rate():
    from aebottleneck.metrics import fit_pca, pca_quantized_mse, pca_rmse, psnr

    generator = torch.Generator().manual_seed(0)
    train, test = torch.rand(300, 784, generator=generator), torch.rand(100, 784, generator=generator)
    pca = fit_pca(train, 4)
    mse = pca_quantized_mse(pca, train, test, 4, [2, 4, 8, 16])
    assert mse[0] > mse[1] > mse[2] >= mse[3] - 1e-9
    assert abs(mse[3] ** 0.5 - pca_rmse(pca, test, [4])[4]) < 1e-4
    assert psnr(0.01) == pytest.approx(20.0)


def test_code_scores_on_separable_codes():
    from aebottleneck.metrics import code_scores

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    codes = np.eye(3)[labels] * 10 + rng.normal(size=(120, 3))            # three far-apart clusters
    images = np.concatenate([codes, rng.normal(size=(120, 5)) * 0.01], axis=1)
    scores = code_scores(codes, codes, labels, labels, images, 60)
    assert scores["knn_accuracy"] == 1.0 and scores["logreg_accuracy"] == 1.0
    assert scores["trustworthiness"] > 0.95
    codes[0, 0] = np.inf
    assert all(np.isnan(v) for v in code_scores(codes, codes, labels, labels, images, 60).values())
