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
